//! Capability packs a host grants one by one: timers, text encoding, base64, URL,
//! `structuredClone`, `queueMicrotask`, and a `fetch` that calls a host callback. None is
//! granted by default (the captured `console` is governed by [`crate::ContextOptions::console`]).

use std::sync::Arc;

/// A request made by guest code through the `fetch` capability.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchRequest {
    /// The URL, as the guest gave it (resolved by the host, which decides what is reachable).
    pub url: String,
    /// The method, upper-cased. By default, `GET`.
    pub method: String,
    /// Request headers, in order.
    pub headers: Vec<(String, String)>,
    /// The request body as text, if any.
    pub body: Option<String>,
}

/// What the host answers to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The response body as text.
    pub body: String,
}

/// The host side of `fetch`: an `Err` rejects the guest's promise with a `TypeError`.
pub type FetchHandler = Arc<dyn Fn(FetchRequest) -> std::result::Result<FetchResponse, String> + Send + Sync>;

/// The capability packs granted to a context. Nothing by default.
///
/// | pack | what the guest gets |
/// | --- | --- |
/// | `timers` | `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval`, run inside the run's time budget: the run lasts until no timer is pending (or the timeout); timers never outlive the run |
/// | `text_encoding` | `TextEncoder`, `TextDecoder` (every encoding of the WHATWG Encoding Standard, streaming; on `encoding_rs`) |
/// | `base64` | `atob`, `btoa` |
/// | `url` | `URL`, `URLSearchParams` (the WHATWG URL Standard with IDNA; on the `url` crate) |
/// | `structured_clone` | `structuredClone` (plain data, Date, RegExp, Map, Set, ArrayBuffer (resizable kept, `transfer`), views sharing one buffer, boxed primitives, errors; cycles kept; `DataCloneError`) |
/// | `queue_microtask` | `queueMicrotask` |
/// | `fetch` | `fetch(input, init)`, `Headers`, `Request`, `Response`, answered by the host's [`FetchHandler`] |
///
/// ```
/// let caps = sandvm::Capabilities::none().timers(true).url(true);
/// let opts = sandvm::ContextOptions::default().capabilities(caps);
/// # let _ = opts;
/// ```
#[derive(Clone, Default)]
pub struct Capabilities {
    pub(crate) timers: bool,
    pub(crate) text_encoding: bool,
    pub(crate) base64: bool,
    pub(crate) url: bool,
    pub(crate) structured_clone: bool,
    pub(crate) queue_microtask: bool,
    pub(crate) fetch: Option<FetchHandler>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("timers", &self.timers)
            .field("text_encoding", &self.text_encoding)
            .field("base64", &self.base64)
            .field("url", &self.url)
            .field("structured_clone", &self.structured_clone)
            .field("queue_microtask", &self.queue_microtask)
            .field("fetch", &self.fetch.is_some())
            .finish()
    }
}

/// The names accepted by [`Capabilities::grant`], for command lines and configuration files.
pub const PACK_NAMES: &[&str] = &["timers", "text", "base64", "url", "structured-clone", "queue-microtask"];

impl Capabilities {
    /// No capability (the default).
    pub fn none() -> Capabilities {
        Capabilities::default()
    }

    /// Every pack except `fetch` (which needs a handler).
    pub fn all() -> Capabilities {
        Capabilities {
            timers: true,
            text_encoding: true,
            base64: true,
            url: true,
            structured_clone: true,
            queue_microtask: true,
            fetch: None,
        }
    }

    /// Grants a pack by name (see [`PACK_NAMES`]; `all` grants every one of them).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] naming an unknown pack.
    pub fn grant(mut self, name: &str) -> crate::Result<Capabilities> {
        match name {
            "timers" => self.timers = true,
            "text" | "text-encoding" => self.text_encoding = true,
            "base64" => self.base64 = true,
            "url" => self.url = true,
            "structured-clone" | "structuredClone" => self.structured_clone = true,
            "queue-microtask" | "queueMicrotask" => self.queue_microtask = true,
            "console" => {}
            "all" => {
                let fetch = self.fetch.take();
                self = Capabilities { fetch, ..Capabilities::all() };
            }
            other => {
                return Err(crate::Error::InvalidArgument {
                    what: "capability".into(),
                    message: format!("unknown capability '{other}' (known: {}, all)", PACK_NAMES.join(", ")),
                })
            }
        }
        Ok(self)
    }

    /// Timers. By default, off.
    pub fn timers(mut self, on: bool) -> Self {
        self.timers = on;
        self
    }
    /// `TextEncoder`/`TextDecoder`. By default, off.
    pub fn text_encoding(mut self, on: bool) -> Self {
        self.text_encoding = on;
        self
    }
    /// `atob`/`btoa`. By default, off.
    pub fn base64(mut self, on: bool) -> Self {
        self.base64 = on;
        self
    }
    /// `URL`/`URLSearchParams`. By default, off.
    pub fn url(mut self, on: bool) -> Self {
        self.url = on;
        self
    }
    /// `structuredClone`. By default, off.
    pub fn structured_clone(mut self, on: bool) -> Self {
        self.structured_clone = on;
        self
    }
    /// `queueMicrotask`. By default, off.
    pub fn queue_microtask(mut self, on: bool) -> Self {
        self.queue_microtask = on;
        self
    }
    /// `fetch`, answered by `handler` (which decides what, if anything, is reachable). By
    /// default, off.
    pub fn fetch(mut self, handler: FetchHandler) -> Self {
        self.fetch = Some(handler);
        self
    }
}

/// Timers: the bookkeeping lives in the guest realm (callbacks never leave it); the host drives
/// time. Called with `now()` (milliseconds on the run's clock); returns the control object
/// `{ next(), fire(now), clear() }`.
pub(crate) const TIMERS: &str = r#"(function (now) {
  'use strict';
  const timers = new Map();
  let nextId = 1, seq = 0;
  const delay = (ms) => { ms = Number(ms); return ms > 0 && ms < 2147483648 ? ms : 0; };
  const add = (fn, ms, args, repeat) => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
    const id = nextId++;
    const d = delay(ms);
    timers.set(id, { fn, args, due: now() + d, interval: repeat ? Math.max(1, d) : -1, seq: seq++ });
    return id;
  };
  const def = (name, f) => Object.defineProperty(globalThis, name, { value: f, writable: true, configurable: true, enumerable: false });
  def('setTimeout', function setTimeout(fn, ms, ...args) { return add(fn, ms, args, false); });
  def('setInterval', function setInterval(fn, ms, ...args) { return add(fn, ms, args, true); });
  def('clearTimeout', function clearTimeout(id) { timers.delete(id); });
  def('clearInterval', function clearInterval(id) { timers.delete(id); });
  const earliest = () => {
    let best = null;
    for (const [id, t] of timers) if (best === null || t.due < best[1].due || (t.due === best[1].due && t.seq < best[1].seq)) best = [id, t];
    return best;
  };
  return {
    next() { const b = earliest(); return b === null ? -1 : b[1].due; },
    fire(at) {
      const b = earliest();
      if (b === null || b[1].due > at) return false;
      const [id, t] = b;
      if (t.interval >= 0) { t.due = Math.max(at, t.due) + t.interval; t.seq = seq++; } else timers.delete(id);
      Reflect.apply(t.fn, undefined, t.args);
      return true;
    },
    clear() { timers.clear(); },
  };
})"#;

/// `atob` / `btoa`: the engine's own, behind the WebIDL check for a missing argument (the
/// engine converts it to `"undefined"`; the Standard throws a `TypeError`).
pub(crate) const BASE64: &str = r#"(function () {
  'use strict';
  const { apply } = Reflect;
  for (const name of ['atob', 'btoa']) {
    const native = globalThis[name];
    if (typeof native !== 'function') continue;
    const f = { [name](data) {
      if (arguments.length === 0) throw new TypeError(`Failed to execute '${name}': 1 argument required, but only 0 present.`);
      return apply(native, undefined, [data]);
    } }[name];
    Object.defineProperty(globalThis, name, { value: f, writable: true, configurable: true, enumerable: false });
  }
})"#;

/// `TextEncoder` / `TextDecoder` (every WHATWG encoding, on `encoding_rs`): called with the host
/// functions of [`crate::web::encoding::host_functions`].
pub(crate) const TEXT: &str = include_str!("web/text.js");

/// `URL` and `URLSearchParams` (the WHATWG URL Standard, on the `url` crate): called with the
/// host functions of [`crate::web::url::host_functions`].
pub(crate) const URL: &str = include_str!("web/url.js");

/// `structuredClone(value, { transfer })`: the HTML structured clone algorithm in the guest
/// realm, on builtins captured before guest code runs (brand checks, not `instanceof`), with an
/// explicit work stack (a deep graph costs heap under the memory limit, not engine stack).
pub(crate) const STRUCTURED_CLONE: &str = include_str!("web/structured_clone.js");

/// `fetch`, `Headers`, `Request` and `Response`, answered synchronously by a host function passed
/// in as `call` (never a global).
pub(crate) const FETCH: &str = include_str!("web/fetch.js");
