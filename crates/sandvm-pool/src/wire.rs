//! What the pool hands a worker and what comes back, and the length-prefixed binary frames
//! that carry both to and from worker processes (postcard payloads; JSON values travel as
//! JSON text, since postcard is not self-describing).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use sandvm::{Limits, Report, Stats};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[cfg(feature = "test-faults")]
use crate::job::Fault;
use crate::job::JobOptions;

/// The largest frame accepted either way (a frame carries at most one source of
/// [`sandvm::MAX_SOURCE`] bytes plus a little).
pub(crate) const MAX_FRAME: usize = sandvm::MAX_SOURCE + 16 * 1024 * 1024;

/// Serialises any serde value as JSON text (for payloads that hold `serde_json::Value`).
pub(crate) mod json_text {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(S::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }
}

/// A registered script as sent to a worker process the first time it needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScriptDef {
    pub(crate) source: Arc<str>,
    pub(crate) filename: String,
    pub(crate) strict: bool,
    /// Cached data authenticated with the pool's key (sent in the hello frame).
    pub(crate) cached: Arc<Vec<u8>>,
}

/// What a worker runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ExecKind {
    Source {
        source: Arc<str>,
        filename: String,
    },
    Script {
        id: u64,
        def: Option<ScriptDef>,
    },
    Module {
        source: Arc<str>,
        name: String,
        /// The tenant's importable in-memory modules.
        modules: Arc<BTreeMap<String, String>>,
    },
    Call {
        function: String,
        #[serde(with = "json_text")]
        args: Vec<Json>,
    },
    /// A template render (see [`crate::TemplateJob`]).
    Template(Box<crate::template::TemplateJob>),
    /// A test fault (last, so the other variants keep their wire tags without the feature).
    #[cfg(feature = "test-faults")]
    Fault(Fault),
}

impl ExecKind {
    /// True for a test fault job (never without the `test-faults` feature).
    pub(crate) fn is_fault(&self) -> bool {
        #[cfg(feature = "test-faults")]
        if matches!(self, ExecKind::Fault(_)) {
            return true;
        }
        false
    }
}

/// One job as a worker sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecJob {
    pub(crate) id: u64,
    pub(crate) tenant: Arc<str>,
    pub(crate) kind: ExecKind,
    /// The job's limits (`sandvm::Limits`' compact binary form: every field, exact).
    pub(crate) limits: Limits,
    #[serde(with = "json_text")]
    pub(crate) globals: Option<Json>,
    pub(crate) options: JobOptions,
    pub(crate) persistent: Option<String>,
}

/// What a worker reports for one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecResult {
    pub(crate) id: u64,
    #[serde(with = "json_text")]
    pub(crate) report: Report,
    pub(crate) stats: Stats,
    /// Heap the tenant's runtime on this worker holds after the job.
    pub(crate) heap_after: u64,
    /// Runtimes retired since the last report, with the reason (`limit`, `jobs`, `heap`,
    /// `spent`, `stale_cancel`), each with its tenant.
    pub(crate) recycled: Vec<(String, String)>,
}

/// Settings a worker process gets in its first frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Hello {
    pub(crate) magic: u32,
    pub(crate) cache_key: [u8; 32],
    pub(crate) exec: crate::exec::ExecSettings,
    pub(crate) address_space: u64,
    pub(crate) cpu_seconds: u64,
}

pub(crate) const HELLO_MAGIC: u32 = 0x5356_4d50; // "SVMP"

/// Pool → worker process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    Hello(Hello),
    Run(ExecJob),
    Cancel(u64),
    Shutdown,
}

/// Worker process → pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    Ready { pid: u32 },
    Done(Box<ExecResult>),
    Fatal(String),
}

/// Why a frame could not be read or written.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The other side closed the stream before a frame started.
    Eof,
    Io(std::io::Error),
    Oversized(usize),
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Eof => f.write_str("end of stream"),
            FrameError::Io(e) => write!(f, "i/o error: {e}"),
            FrameError::Oversized(n) => write!(f, "frame of {n} bytes is over the {MAX_FRAME}-byte limit"),
            FrameError::Malformed(m) => write!(f, "malformed frame: {m}"),
        }
    }
}

/// Writes one frame: a little-endian u32 length, then the postcard payload.
pub(crate) fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let bytes = postcard::to_allocvec(msg).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_FRAME {
        return Err(FrameError::Oversized(bytes.len()));
    }
    let len = u32::try_from(bytes.len()).map_err(|_| FrameError::Oversized(bytes.len()))?;
    w.write_all(&len.to_le_bytes()).map_err(FrameError::Io)?;
    w.write_all(&bytes).map_err(FrameError::Io)?;
    w.flush().map_err(FrameError::Io)
}

/// Reads one frame. Never allocates more than the bytes that actually arrived (plus a
/// bounded chunk), so a lying length cannot make the reader reserve gigabytes.
pub(crate) fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(r: &mut R) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Eof),
            Ok(0) => return Err(FrameError::Malformed("stream ended inside a frame header".into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::Oversized(len));
    }
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    r.take(len as u64).read_to_end(&mut buf).map_err(FrameError::Io)?;
    if buf.len() != len {
        return Err(FrameError::Malformed(format!("stream ended after {} of {len} bytes", buf.len())));
    }
    postcard::from_bytes(&buf).map_err(|e| FrameError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ExecJob {
        ExecJob {
            id: 7,
            tenant: "t".into(),
            kind: ExecKind::Call { function: "f".into(), args: vec![serde_json::json!({"a": [1, "x", null]})] },
            limits: Limits::default(),
            globals: Some(serde_json::json!({"x": 1.5})),
            options: JobOptions {
                strict: true,
                freeze: false,
                deterministic: Some(3),
                capabilities: vec!["timers".into(), "url".into()],
            },
            persistent: Some("p".into()),
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &ToWorker::Run(job())).map_err(|e| e.to_string()).unwrap();
        let back: ToWorker = read_frame(&mut buf.as_slice()).map_err(|e| e.to_string()).unwrap();
        let ToWorker::Run(j) = back else { panic!("wrong frame") };
        assert_eq!(j.id, 7);
        assert_eq!(j.globals, Some(serde_json::json!({"x": 1.5})));
        assert!(matches!(j.kind, ExecKind::Call { ref args, .. } if args[0]["a"][1] == "x"));
        assert_eq!(j.limits, Limits::default());
        assert_eq!(j.options.capabilities, ["timers", "url"]);
    }

    #[test]
    fn module_jobs_round_trip() {
        let mut j = job();
        let modules: BTreeMap<String, String> = [("lib.mjs".to_string(), "export const x = 1;".to_string())].into();
        j.kind = ExecKind::Module {
            source: "export default 1;".into(),
            name: "main.mjs".into(),
            modules: Arc::new(modules),
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &ToWorker::Run(j)).map_err(|e| e.to_string()).unwrap();
        let back: ToWorker = read_frame(&mut buf.as_slice()).map_err(|e| e.to_string()).unwrap();
        let ToWorker::Run(j) = back else { panic!("wrong frame") };
        let ExecKind::Module { source, name, modules } = j.kind else { panic!("wrong kind") };
        assert_eq!(&*source, "export default 1;");
        assert_eq!(name, "main.mjs");
        assert_eq!(modules.get("lib.mjs").map(String::as_str), Some("export const x = 1;"));
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        // Empty stream.
        assert!(matches!(read_frame::<_, ToWorker>(&mut [].as_slice()), Err(FrameError::Eof)));
        // Truncated header.
        assert!(matches!(read_frame::<_, ToWorker>(&mut [1u8, 0].as_slice()), Err(FrameError::Malformed(_))));
        // Oversized length.
        let huge = (u32::MAX).to_le_bytes();
        assert!(matches!(read_frame::<_, ToWorker>(&mut huge.as_slice()), Err(FrameError::Oversized(_))));
        // Length larger than the data.
        let mut short = 100u32.to_le_bytes().to_vec();
        short.extend_from_slice(&[0; 10]);
        assert!(matches!(read_frame::<_, ToWorker>(&mut short.as_slice()), Err(FrameError::Malformed(_))));
        // Garbage payload.
        let mut garbage = 8u32.to_le_bytes().to_vec();
        garbage.extend_from_slice(&[0xff; 8]);
        assert!(matches!(read_frame::<_, ToWorker>(&mut garbage.as_slice()), Err(FrameError::Malformed(_))));
        // Every truncation of a valid frame fails cleanly.
        let mut buf = Vec::new();
        write_frame(&mut buf, &ToWorker::Run(job())).map_err(|e| e.to_string()).unwrap();
        for cut in 0..buf.len() {
            assert!(read_frame::<_, ToWorker>(&mut &buf[..cut]).is_err(), "cut at {cut}");
        }
        // Random bytes never panic.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let mut b = Vec::new();
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b.push(x as u8);
            }
            let mut framed = (b.len() as u32).to_le_bytes().to_vec();
            framed.extend_from_slice(&b);
            let _ = read_frame::<_, ToWorker>(&mut framed.as_slice());
            let _ = read_frame::<_, FromWorker>(&mut framed.as_slice());
        }
    }
}
