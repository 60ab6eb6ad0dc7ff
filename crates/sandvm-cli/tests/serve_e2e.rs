//! End to end: starts the real `sandvm serve` on a free loopback port, drives it over HTTP
//! (a tiny blocking HTTP/1.1 client on std's TcpStream), then SIGTERM and a clean exit after
//! draining an in-flight request.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sandvm_testkit::{wait_exit, wait_until};
use serde_json::{json, Value};

const KEY: &str = "e2e-secret-key-1";
const SECRET_MARKER: &str = "codeMarker9f3b";

struct Server {
    child: Child,
    addr: String,
    stderr: std::sync::mpsc::Receiver<String>,
    /// `XDG_DATA_HOME` of the server (its default data directory lives in it).
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sandvm serve` with `XDG_DATA_HOME` in a fresh temporary directory (never the
/// user's own data directory).
fn start(args: &[&str]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sandvm"));
    cmd.arg("serve").args(["--listen", "127.0.0.1:0", "--log", "info"]).args(args);
    start_command(cmd)
}

/// Starts `cmd` (a `sandvm serve` command line) and reads the address it listens on.
fn start_command(mut cmd: Command) -> Server {
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = cmd
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sandvm serve");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let addr = line
        .trim()
        .strip_prefix("sandvm: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    Server { child, addr, stderr: rx, _data: data }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn http(addr: &str, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
}

#[test]
fn serve_over_http_then_drain_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sandvm.toml");
    let digest = {
        let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(["serve", "--hash-key", KEY]).output().expect("run");
        String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
    };
    assert_eq!(digest.len(), 64);
    std::fs::write(
        &config,
        format!(
            "[pool]\nworkers = 2\n[[tenants]]\nname = \"acme\"\napi_keys_sha256 = [\"{digest}\"]\n\
             max_limits = {{ timeout_ms = 5000, memory_mb = 64 }}\n"
        ),
    )
    .expect("write config");
    let mut srv = start(&["--config", config.to_str().expect("utf-8 path")]);
    let a = srv.addr.clone();

    assert_eq!(http(&a, "GET", "/healthz", None, None).json()["status"], "ok");
    assert_eq!(http(&a, "GET", "/readyz", None, None).status, 200);
    let page = http(&a, "GET", "/", None, None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("sandvm playground"));

    let code = json!({"code": format!("const {SECRET_MARKER} = [1,2,3]; {SECRET_MARKER}.map(x => x * 2)")});
    let r = http(&a, "POST", "/v1/execute", Some(KEY), Some(&code));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"], json!([2, 4, 6]));
    assert!(r.header("x-request-id").is_some());
    assert_eq!(http(&a, "POST", "/v1/execute", None, Some(&code)).status, 401);
    assert_eq!(http(&a, "POST", "/v1/execute", Some("nope"), Some(&code)).status, 401);
    let r = http(&a, "POST", "/v1/execute", Some(KEY), Some(&json!({"code": "while(1){}", "timeout_ms": 50})));
    assert_eq!(r.json()["error"]["kind"], "timeout");
    let r = http(&a, "POST", "/v1/execute", Some(KEY), Some(&json!({"code": "1", "timeout_ms": 6000})));
    assert_eq!(r.status, 422);
    let r = http(&a, "POST", "/v1/scripts", Some(KEY), Some(&json!({"code": "n + 1"})));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let r = http(&a, "POST", &format!("/v1/scripts/{id}/run"), Some(KEY), Some(&json!({"globals": {"n": 41}})));
    assert_eq!(r.json()["value"], 42);
    let limits = http(&a, "GET", "/v1/limits", Some(KEY), None).json();
    assert_eq!(limits["tenant"], "acme");
    let m = http(&a, "GET", "/metrics", None, None);
    assert!(m.body.contains("sandvm_http_requests_total"), "{}", m.body);

    // A request in flight when SIGTERM arrives still gets its answer.
    let slow =
        json!({"code": "const t0 = Date.now(); while (Date.now() - t0 < 1500) {} 'drained'", "timeout_ms": 5000});
    let a2 = a.clone();
    let inflight = std::thread::spawn(move || http(&a2, "POST", "/v1/execute", Some(KEY), Some(&slow)));
    wait_until(Duration::from_secs(10), "the slow request to run", || {
        http(&a, "GET", "/readyz", None, None).json()["running"].as_u64().unwrap_or(0) > 0
    });
    sigterm(&srv.child);
    let r = inflight.join().expect("thread");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"], "drained");
    let status = wait_exit(&mut srv.child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
    assert!(TcpStream::connect(&a).is_err(), "still listening after exit");

    // Logs: one line per request with its id and tenant; never the code or the key.
    let logs: Vec<String> = srv.stderr.try_iter().collect();
    let text = logs.join("\n");
    assert!(text.contains("request_id="), "{text}");
    assert!(text.contains("tenant=\"acme\"") || text.contains("tenant=acme"), "{text}");
    assert!(text.contains("route=\"/v1/execute\"") || text.contains("route=/v1/execute"), "{text}");
    assert!(!text.contains(SECRET_MARKER), "the code leaked into the logs:\n{text}");
    assert!(!text.contains(KEY), "the API key leaked into the logs:\n{text}");
}

#[test]
fn stored_scripts_survive_a_restart_unless_ephemeral() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = data.path().join("state");
    let dir_arg = dir.to_str().expect("utf-8 path");
    let run_after_restart = |args: &[&str]| -> u16 {
        let mut srv = start(args);
        let r = http(&srv.addr, "POST", "/v1/scripts", None, Some(&json!({"code": "'persisted'"})));
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.json()["id"].as_str().expect("id").to_string();
        sigterm(&srv.child);
        assert!(wait_exit(&mut srv.child, Duration::from_secs(15)).success());
        let mut srv = start(args);
        let r = http(&srv.addr, "POST", &format!("/v1/scripts/{id}/run"), None, None);
        if r.status == 200 {
            assert_eq!(r.json()["value"], "persisted");
        }
        sigterm(&srv.child);
        assert!(wait_exit(&mut srv.child, Duration::from_secs(15)).success());
        r.status
    };
    assert_eq!(run_after_restart(&["--data-dir", dir_arg]), 200);
    assert!(dir.join("sandvm.db").is_file());
    assert_eq!(run_after_restart(&["--ephemeral"]), 404);
    // A data directory that is a file, and a store URL that is not PostgreSQL: clear errors.
    let file = data.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", file.to_str().expect("utf-8")])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not a directory"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["serve", "--check", "--store", "mysql://db/x"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("cluster.store"), "{err}");
}

/// The command lines of `deploy/systemd/sandvm-api.service` (ExecStart) and `Containerfile`
/// (ENTRYPOINT + CMD), with the built binary, a loopback address, a temporary configuration
/// and data directory: they start, serve, keep a stored script in the data directory and stop
/// cleanly on SIGTERM.
#[test]
fn the_deployment_files_start_a_working_api_node() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unit = std::fs::read_to_string(root.join("deploy/systemd/sandvm-api.service")).expect("unit");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let containerfile = std::fs::read_to_string(root.join("Containerfile")).expect("Containerfile");
    let words = |prefix: &str| -> Vec<String> {
        let line = containerfile.lines().find_map(|l| l.strip_prefix(prefix)).expect(prefix);
        serde_json::from_str(line).expect("an exec-form JSON array")
    };
    let mut image: Vec<String> = words("ENTRYPOINT ");
    image.extend(words("CMD "));
    let exec: Vec<String> = exec.split_whitespace().map(String::from).collect();
    for argv in [exec, image] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config = tmp.path().join("sandvm.toml");
        std::fs::write(&config, "listen = \"127.0.0.1:0\"\n").expect("config");
        let data = tmp.path().join("lib");
        let sub = |w: &str| -> String {
            match w {
                "/usr/local/bin/sandvm" => env!("CARGO_BIN_EXE_sandvm").to_string(),
                "/etc/sandvm/sandvm.toml" => config.display().to_string(),
                "/var/lib/sandvm" => data.display().to_string(),
                "0.0.0.0:8080" => "127.0.0.1:0".to_string(),
                other => other.to_string(),
            }
        };
        let argv: Vec<String> = argv.iter().map(|w| sub(w)).collect();
        assert_eq!(argv[0], env!("CARGO_BIN_EXE_sandvm"), "{argv:?}");
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        let mut srv = start_command(cmd);
        assert_eq!(http(&srv.addr, "GET", "/healthz", None, None).status, 200, "{argv:?}");
        let r = http(&srv.addr, "POST", "/v1/scripts", None, Some(&json!({"code": "1"})));
        assert_eq!(r.status, 201, "{argv:?}: {}", r.body);
        sigterm(&srv.child);
        assert!(wait_exit(&mut srv.child, Duration::from_secs(15)).success(), "{argv:?}");
        assert!(data.join("sandvm.db").is_file(), "{argv:?}: no database in the data directory");
    }
}

#[test]
fn process_isolation_through_the_worker_subcommand() {
    let mut srv = start(&["--isolation", "process", "--workers", "1"]);
    let a = srv.addr.clone();
    let r = http(&a, "POST", "/v1/execute", None, Some(&json!({"code": "[typeof require, typeof process, 6 * 7]"})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"], json!(["undefined", "undefined", 42]));
    let r = http(&a, "POST", "/v1/execute", None, Some(&json!({"code": "export const x = 1;", "module": true})));
    assert_eq!(r.json()["value"], json!({"x": 1}), "{}", r.body);
    let r = http(&a, "POST", "/v1/execute", None, Some(&json!({"code": "for(;;){}", "timeout_ms": 50})));
    assert_eq!(r.json()["error"]["kind"], "timeout");
    sigterm(&srv.child);
    assert!(wait_exit(&mut srv.child, Duration::from_secs(15)).success());
}

#[test]
fn a_bad_config_is_a_usage_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[pool]\nworkers = \"many\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm"))
        .args(["serve", "--check", "--config", config.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pool.workers"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(["serve", "--check"]).output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("tenant anonymous"));
}

/// The scenario on the embedded default configuration: four renders whose helper is
/// stuck in one builtin that never polls the interrupt neither starve other requests nor keep
/// the server alive after SIGTERM.
#[test]
fn stuck_renders_are_bounded_and_sigterm_exits_within_the_grace() {
    let mut srv = start(&[]);
    let a = srv.addr.clone();
    let stuck = json!({
        "template": "{{spin}}",
        "helpers": {"spin": "function () { return new Array(2**32-1).join(); }"}
    });
    let renders: Vec<_> = (0..4)
        .map(|_| {
            let (a, body) = (a.clone(), stuck.clone());
            std::thread::spawn(move || http(&a, "POST", "/v1/templates/render", None, Some(&body)))
        })
        .collect();
    wait_until(Duration::from_secs(10), "the stuck renders to run", || {
        http(&a, "GET", "/readyz", None, None).json()["running"].as_u64().unwrap_or(0) > 0
    });

    // Other work is served within a few seconds while the renders are stuck.
    let t0 = Instant::now();
    let r = http(&a, "POST", "/v1/execute", None, Some(&json!({"code": "6 * 7"})));
    assert_eq!((r.status, r.json()["value"].clone()), (200, json!(42)), "{}", r.body);
    let good = json!({"template": "Hi {{who}}", "data": {"who": "<ada>"}});
    let r = http(&a, "POST", "/v1/templates/render", None, Some(&good));
    assert_eq!((r.status, r.json()["output"].clone()), (200, json!("Hi &lt;ada&gt;")), "{}", r.body);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "other requests waited {took:?}");
    eprintln!("execute + good render answered in {took:?} while 4 renders were stuck");

    // The stuck renders end as timeouts and count against their tenant.
    for h in renders {
        let r = h.join().expect("render thread");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["error"]["kind"], "timeout", "{}", r.body);
    }
    let m = http(&a, "GET", "/metrics", None, None).body;
    assert!(m.contains("sandvm_pool_executions_total{tenant=\"anonymous\",outcome=\"timeout\"} 4"), "{m}");
    let ready = http(&a, "GET", "/readyz", None, None).json();
    assert_eq!(ready["abandoned_threads"], 4, "{ready}");

    // SIGTERM ends the process within the drain grace (default 5 s) plus the hard-deadline
    // margins, although four guest threads still spin; the last log line names them.
    let t0 = Instant::now();
    sigterm(&srv.child);
    let status = wait_exit(&mut srv.child, Duration::from_secs(5 + 3));
    assert!(status.success(), "exit status {status:?} after {:?}", t0.elapsed());
    eprintln!("exited {:?} after SIGTERM with 4 guest threads stuck", t0.elapsed());
    let text = srv.stderr.try_iter().collect::<Vec<_>>().join("\n");
    let line = text
        .lines()
        .find(|l| l.contains("abandoning 4 stuck guest thread(s)"))
        .unwrap_or_else(|| panic!("no line naming the abandoned threads:\n{text}"));
    assert_eq!(line.matches("(tenant anonymous)").count(), 4, "{line}");
}

/// SIGTERM while a stuck render with a long timeout is in flight: the drain stops at the
/// configured grace, the stuck thread is abandoned and named, and the process exits.
#[test]
fn sigterm_with_a_stuck_render_in_flight_exits_after_the_grace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sandvm.toml");
    std::fs::write(&config, "[pool]\nworkers = 1\ngrace_period_ms = 1000\nhard_deadline_margin_ms = 200\n")
        .expect("write config");
    let mut srv = start(&["--config", config.to_str().expect("utf-8 path")]);
    let a = srv.addr.clone();
    let stuck = json!({
        "template": "{{spin}}",
        "helpers": {"spin": "function () { return new Array(2**32-1).join(); }"},
        "timeout_ms": 30000
    });
    let a2 = a.clone();
    // The reply may be a 503 or a closed connection: only the exit is asserted.
    let inflight = std::thread::spawn(move || {
        let body = stuck.to_string();
        let mut s = TcpStream::connect(&a2).expect("connect");
        let req = format!(
            "POST /v1/templates/render HTTP/1.1\r\nHost: {a2}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw
    });
    wait_until(Duration::from_secs(10), "the stuck render to run", || {
        http(&a, "GET", "/readyz", None, None).json()["running"] == 1
    });
    let t0 = Instant::now();
    sigterm(&srv.child);
    // Grace 1 s, then cancel + hard-deadline margins (3 × 200 ms), plus slack.
    let status = wait_exit(&mut srv.child, Duration::from_millis(1000 + 600 + 2000));
    let took = t0.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took >= Duration::from_millis(900), "the in-flight request got no grace: {took:?}");
    eprintln!("exited {took:?} after SIGTERM with a stuck render in flight (grace 1 s)");
    let _ = inflight.join();
    let text = srv.stderr.try_iter().collect::<Vec<_>>().join("\n");
    assert!(text.contains("abandoning 1 stuck guest thread(s): job "), "{text}");
    assert!(text.contains("(tenant anonymous)"), "{text}");
}
