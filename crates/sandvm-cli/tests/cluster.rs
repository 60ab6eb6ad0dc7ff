//! Distributed mode with a real NATS JetStream broker: `nats-server -js` started by the test
//! on a free loopback port in a temporary directory (killed in Drop), real `sandvm serve
//! --queue ... --workers 0` API nodes and real `sandvm worker --queue ...` worker processes.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it). Without it the tests fail with a
//! clear message, unless `SANDVM_SKIP_NATS=1`.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sandvm_testkit::{wait_exit, wait_for, wait_until};
use serde_json::{json, Value};

const KEYS: [(&str, &str); 2] = [("acme", "cluster-key-acme-1"), ("globex", "cluster-key-globex-2")];

/// The broker binary, or `None` (skip) when it is absent and `SANDVM_SKIP_NATS=1`.
fn nats_binary() -> Option<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join("nats-server");
        if p.is_file() {
            return Some(p);
        }
    }
    if std::env::var("SANDVM_SKIP_NATS").as_deref() == Ok("1") {
        eprintln!("SANDVM_SKIP_NATS=1: nats-server is not installed, cluster test skipped");
        return None;
    }
    panic!("nats-server is not installed (apt-get install nats-server; .ci/run does); set SANDVM_SKIP_NATS=1 to skip");
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A throwaway `nats-server -js` on loopback, killed on drop.
struct Broker {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    fn start() -> Option<Broker> {
        let bin = nats_binary()?;
        let mut b = Broker { bin, port: free_port(), dir: tempfile::tempdir().expect("tempdir"), child: None };
        b.spawn();
        Some(b)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the broker on the same port and store directory, and waits until it accepts
    /// connections (polling).
    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        wait_until(Duration::from_secs(20), "nats-server to accept connections", || {
            // The server greets a client with its INFO line once it is up.
            TcpStream::connect(&addr).is_ok_and(|s| {
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut line = String::new();
                BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("INFO")
            })
        });
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `sandvm serve` or `sandvm worker` process, killed on drop; its standard error lines.
struct Node {
    child: Child,
    addr: String,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn spawn(args: &[&str], ready_prefix: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sandvm"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sandvm");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the first line");
        let mut node = Node { child, addr: String::new(), stderr: rx, seen: Vec::new() };
        let Some(rest) = line.trim().strip_prefix(ready_prefix) else {
            let logs: Vec<String> = node.stderr.try_iter().collect();
            panic!("unexpected first line {line:?}; stderr:\n{}", logs.join("\n"));
        };
        node.addr = rest.to_string();
        node
    }

    fn api(config: &Path, queue: &str) -> Node {
        let config = config.to_str().expect("utf-8 path");
        Node::spawn(
            &["serve", "--listen", "127.0.0.1:0", "--config", config, "--queue", queue, "--workers", "0"],
            "sandvm: listening on http://",
        )
    }

    fn worker(config: &Path, queue: &str, workers: usize) -> Node {
        Node::worker_with(config, queue, workers, &[])
    }

    fn worker_with(config: &Path, queue: &str, workers: usize, extra: &[&str]) -> Node {
        let config = config.to_str().expect("utf-8 path");
        let n = workers.to_string();
        let mut args = vec!["worker", "--config", config, "--queue", queue, "--workers", &n, "--log", "info"];
        args.extend_from_slice(extra);
        Node::spawn(&args, "sandvm: worker ready")
    }

    /// The metrics address a worker started with `--metrics-addr` printed on its ready line.
    fn metrics_addr(&self) -> String {
        self.addr
            .split_once("metrics on http://")
            .map(|(_, a)| a.trim_end_matches(')').to_string())
            .unwrap_or_else(|| panic!("no metrics address on the ready line: {:?}", self.addr))
    }

    /// Standard error lines so far.
    fn logs(&mut self) -> &[String] {
        self.seen.extend(self.stderr.try_iter());
        &self.seen
    }
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

/// A tiny blocking HTTP/1.1 client (one request per connection).
fn http(addr: &str, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
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
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert!(
        !headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")),
        "unexpected chunked response"
    );
    Reply { status, headers, body: String::from_utf8_lossy(&raw[split + 4..]).into_owned() }
}

fn digest(key: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(["serve", "--hash-key", key]).output().expect("run");
    String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
}

/// Two tenants; a short ack wait so that a dead worker's job comes back quickly.
fn write_config(dir: &Path) -> PathBuf {
    write_config_with(dir, 3, 20_000)
}

fn write_config_with(dir: &Path, max_deliver: u32, queue_depth: u64) -> PathBuf {
    let mut text = format!("[cluster]\nack_wait_ms = 1000\nmax_deliver = {max_deliver}\nqueue_depth = {queue_depth}\n");
    for (name, key) in KEYS {
        text.push_str(&format!(
            "[[tenants]]\nname = \"{name}\"\napi_keys_sha256 = [\"{}\"]\n\
             max_limits = {{ timeout = \"5s\", memory = \"64 MiB\" }}\n\
             quotas = {{ max_queued = 10000 }}\n",
            digest(key)
        ));
    }
    let path = dir.join("sandvm.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Checks a job's answer.
type Check = Box<dyn Fn(&Value) -> bool + Send>;

/// The job of index `i`: its tenant, its body and what its answer must be.
fn mixed_job(i: usize) -> (usize, Value, Check) {
    let tenant = i % 2;
    let tag = format!("t{tenant}-job{i}");
    match i % 8 {
        // A loop that times out.
        1 => (
            tenant,
            json!({"code": format!("/*{tag}*/ while (true) {{}}"), "timeout_ms": 10}),
            Box::new(|r: &Value| r["error"]["kind"] == "timeout"),
        ),
        // Out of memory.
        3 => (
            tenant,
            json!({"code": format!("/*{tag}*/ const a = []; while (true) a.push(new Array(100000).fill(1));"), "memory_mb": 8}),
            Box::new(|r: &Value| r["error"]["kind"] == "memory_limit"),
        ),
        // A syntax error.
        5 => (
            tenant,
            json!({"code": format!("'{tag}' +;")}),
            Box::new(|r: &Value| r["status"] == "error" && r["error"]["kind"] == "syntax"),
        ),
        // Good: the answer carries its own tag and tenant.
        _ => {
            let want = format!("{tag}:{}", KEYS[tenant].0);
            (
                tenant,
                json!({"code": "tag + ':' + owner", "globals": {"tag": tag, "owner": KEYS[tenant].0}}),
                Box::new(move |r: &Value| r["value"] == want.as_str()),
            )
        }
    }
}

#[test]
fn two_api_nodes_three_workers_answer_every_job_exactly_once() {
    let Some(broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let url = broker.url();
    let apis = [Node::api(&config, &url), Node::api(&config, &url)];
    let _workers: Vec<Node> = (0..3).map(|_| Node::worker(&config, &url, 1)).collect();
    let addrs: Arc<Vec<String>> = Arc::new(apis.iter().map(|n| n.addr.clone()).collect());

    // A syntax error is answered as such through the queue (sanity check before the load).
    let r = http(&addrs[0], "POST", "/v1/execute", Some(KEYS[0].1), Some(&json!({"code": "1 +;"})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["error"]["kind"], "syntax", "{}", r.body);
    // Stored scripts travel as source (the workers have no store), templates as renders.
    let r = http(
        &addrs[0],
        "POST",
        "/v1/scripts",
        Some(KEYS[0].1),
        Some(&json!({"code": "'use strict'; n * 2", "filename": "double.js"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let r = http(
        &addrs[0],
        "POST",
        &format!("/v1/scripts/{id}/run"),
        Some(KEYS[0].1),
        Some(&json!({"globals": {"n": 21}})),
    );
    assert_eq!(r.json()["value"], 42, "{}", r.body);
    let r = http(&addrs[0], "POST", &format!("/v1/scripts/{id}/run"), Some(KEYS[1].1), None);
    assert_eq!(r.status, 404, "another tenant's script: {}", r.body);
    let r = http(&addrs[0], "POST", "/v1/scripts", Some(KEYS[0].1), Some(&json!({"code": "1 +;"})));
    assert_eq!((r.status, r.json()["error"]["kind"].clone()), (422, json!("syntax_error")), "{}", r.body);
    let render = json!({"template": "Hi {{upper name}}!", "data": {"name": "ada"}, "helpers": {"upper": "function (s) { return String(s).toUpperCase() }"}});
    let r = http(&addrs[1], "POST", "/v1/templates/render", Some(KEYS[1].1), Some(&render));
    assert_eq!(r.json()["output"], "Hi ADA!", "{}", r.body);

    let jobs: usize = std::env::var("SANDVM_CLUSTER_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let threads = 16;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addrs = addrs.clone();
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                let mut answered = 0usize;
                for i in (t..jobs).step_by(threads) {
                    let (tenant, body, check) = mixed_job(i);
                    let r = http(&addrs[i % 2], "POST", "/v1/execute", Some(KEYS[tenant].1), Some(&body));
                    answered += 1;
                    let ok = r.status == 200 && {
                        let v = r.json();
                        // Never another job's or another tenant's data.
                        let other = KEYS[1 - tenant].0;
                        check(&v) && !r.body.contains(&format!("t{}-", 1 - tenant)) && !r.body.contains(other)
                    };
                    if !ok {
                        bad.push(format!("job {i}: {} {}", r.status, r.body));
                    }
                }
                (answered, bad)
            })
        })
        .collect();
    let mut answered = 0;
    let mut bad = Vec::new();
    for h in handles {
        let (n, b) = h.join().expect("client thread");
        answered += n;
        bad.extend(b);
    }
    let elapsed = started.elapsed();
    eprintln!("{jobs} jobs through 2 API nodes and 3 workers in {elapsed:?}");
    assert_eq!(answered, jobs);
    assert!(bad.is_empty(), "{} wrong answers, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
    // Every job was answered and none is still waiting on either node.
    for a in addrs.iter() {
        let r = http(a, "GET", "/readyz", None, None).json();
        assert_eq!(r["queue"]["kind"], "nats", "{r}");
        assert_eq!(r["queue"]["pending"], 0, "{r}");
    }
}

#[test]
fn a_killed_workers_job_completes_on_another_worker_exactly_once() {
    let Some(broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let url = broker.url();
    let api = Node::api(&config, &url);
    let metrics = ["--metrics-addr", "127.0.0.1:0"];
    let mut workers: Vec<Node> = (0..2).map(|_| Node::worker_with(&config, &url, 1, &metrics)).collect();
    let addr = api.addr.clone();
    let body = json!({
        "code": "const t0 = Date.now(); while (Date.now() - t0 < 2000) {} 'finished ' + tag",
        "globals": {"tag": "k1"},
        "timeout_ms": 5000,
    });
    let request = std::thread::spawn(move || http(&addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&body)));
    // Find the worker that runs it, and SIGKILL it mid-job.
    let first = wait_for(Duration::from_secs(20), "a worker to start the job", || {
        workers.iter_mut().position(|w| w.logs().iter().any(|l| l.contains("running a queued job")))
    });
    let job_line = workers[first].logs().iter().find(|l| l.contains("running a queued job")).cloned().expect("line");
    let job_id = job_line.split("job=").nth(1).and_then(|s| s.split_whitespace().next()).expect("job id").to_string();
    let killed_at = Instant::now();
    workers[first].child.kill().expect("SIGKILL");
    let _ = workers[first].child.wait();
    let r = request.join().expect("request");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["value"], "finished k1");
    // It ran again on the other worker, from the start (2 s) after the lease lapsed.
    assert!(killed_at.elapsed() >= Duration::from_secs(2), "{:?}", killed_at.elapsed());
    let other = 1 - first;
    let reruns: Vec<String> =
        workers[other].logs().iter().filter(|l| l.contains(&job_id) && l.contains("running")).cloned().collect();
    assert_eq!(reruns.len(), 1, "{reruns:?}");
    assert!(reruns[0].contains("delivered=2"), "{reruns:?}");
    let ready = http(&api.addr, "GET", "/readyz", None, None).json();
    assert_eq!(ready["queue"]["pending"], 0, "{ready}");
    // The survivor's metrics count the job as taken, redelivered and (once the result is
    // taken) acknowledged.
    let maddr = workers[other].metrics_addr();
    let text = wait_for(Duration::from_secs(10), "the survivor's ack in its metrics", || {
        let m = http(&maddr, "GET", "/metrics", None, None);
        (sample(&m.body, sandvm_server::queue::nats::worker_names::ACKED, None) == 1.0).then_some(m.body)
    });
    assert_eq!(sample(&text, sandvm_server::queue::nats::worker_names::TAKEN, None), 1.0, "{text}");
    assert_eq!(sample(&text, sandvm_server::queue::nats::worker_names::REDELIVERED, None), 1.0, "{text}");
}

#[test]
fn broker_outage_answers_503_then_recovers_without_losing_accepted_jobs() {
    let Some(mut broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let url = broker.url();
    let api = Node::api(&config, &url);
    let mut worker = Node::worker(&config, &url, 1);
    let addr = api.addr.clone();
    // Three slow jobs, accepted (in the stream) before the broker goes away: one runs, two wait.
    let accepted: Vec<_> = (0..3)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let body = json!({
                    "code": "const t0 = Date.now(); while (Date.now() - t0 < 700) {} 'kept ' + n",
                    "globals": {"n": i},
                    "timeout_ms": 5000,
                });
                http(&addr, "POST", "/v1/execute", Some(KEYS[1].1), Some(&body))
            })
        })
        .collect();
    wait_until(Duration::from_secs(20), "three jobs to be accepted", || {
        http(&addr, "GET", "/readyz", None, None).json()["queue"]["pending"] == 3
    });
    wait_until(Duration::from_secs(20), "the worker to start one", || {
        worker.logs().iter().any(|l| l.contains("running a queued job"))
    });
    broker.kill();
    let down_at = Instant::now();
    // While the broker is down (5 s): quick 503s with Retry-After, never a hang.
    let mut refusals = 0;
    while down_at.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let r = http(&addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&json!({"code": "1"})));
        assert!(t.elapsed() < Duration::from_secs(3), "a request took {:?} with the broker down", t.elapsed());
        if r.status == 503 {
            refusals += 1;
            assert_eq!(r.json()["error"]["kind"], "queue_unavailable", "{}", r.body);
            assert!(r.header("retry-after").is_some(), "no Retry-After");
            assert_eq!(http(&addr, "GET", "/readyz", None, None).status, 503);
        }
    }
    assert!(refusals > 0, "no 503 while the broker was down");
    broker.spawn();
    // It recovers by itself.
    wait_until(Duration::from_secs(30), "the API node to take jobs again", || {
        http(&addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&json!({"code": "6 * 7"}))).status == 200
    });
    let r = http(&addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&json!({"code": "6 * 7"})));
    assert_eq!(r.json()["value"], 42, "{}", r.body);
    // The accepted jobs were not lost: each answered once, with its own result.
    let mut values: Vec<String> = accepted
        .into_iter()
        .map(|h| {
            let r = h.join().expect("request");
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["value"].as_str().expect("a string").to_string()
        })
        .collect();
    values.sort();
    assert_eq!(values, ["kept 0", "kept 1", "kept 2"]);
    // SIGTERM drains the worker: the job it is running finishes and is answered, then it exits 0.
    let runs_before = worker.logs().iter().filter(|l| l.contains("running a queued job")).count();
    let a = addr.clone();
    let last = std::thread::spawn(move || {
        let body =
            json!({"code": "const t0 = Date.now(); while (Date.now() - t0 < 1000) {} 'drained'", "timeout_ms": 5000});
        http(&a, "POST", "/v1/execute", Some(KEYS[0].1), Some(&body))
    });
    wait_until(Duration::from_secs(20), "the worker to start the last job", || {
        worker.logs().iter().filter(|l| l.contains("running a queued job")).count() > runs_before
    });
    let ok = Command::new("kill").args(["-TERM", &worker.child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
    let r = last.join().expect("request");
    assert_eq!((r.status, r.json()["value"].clone()), (200, json!("drained")), "{}", r.body);
    let status = wait_exit(&mut worker.child, Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

#[test]
fn worker_lost_after_max_deliver_and_503_busy_over_the_queue_depth() {
    let Some(broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // One delivery per job, and at most two jobs in the queue.
    let config = write_config_with(dir.path(), 1, 2);
    let url = broker.url();
    let api = Node::api(&config, &url);
    let mut workers: Vec<Node> = (0..2).map(|_| Node::worker(&config, &url, 1)).collect();
    let addr = api.addr.clone();
    let slow = json!({"code": "const t0 = Date.now(); while (Date.now() - t0 < 3000) {} 'late'", "timeout_ms": 5000});
    let a = addr.clone();
    let lost = std::thread::spawn(move || http(&a, "POST", "/v1/execute", Some(KEYS[0].1), Some(&slow)));
    let first = wait_for(Duration::from_secs(20), "a worker to start the job", || {
        workers.iter_mut().position(|w| w.logs().iter().any(|l| l.contains("running a queued job")))
    });
    let started = Instant::now();
    workers[first].child.kill().expect("SIGKILL");
    let _ = workers[first].child.wait();
    // Its only delivery died with the worker: when the other worker asks for work, the broker
    // gives the job up (max-deliveries advisory) and the client gets worker_lost, not a hang.
    let r = lost.join().expect("request");
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.json()["error"]["kind"], "worker_lost", "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    // The other worker never ran it, and drains and exits cleanly on SIGTERM.
    let mut other = workers.swap_remove(1 - first);
    assert!(!other.logs().iter().any(|l| l.contains("running a queued job")), "{:?}", other.logs());
    let ok = Command::new("kill").args(["-TERM", &other.child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
    let status = wait_exit(&mut other.child, Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    // No worker now: two jobs fill the queue, the third is refused at once.
    let waiting: Vec<_> = (0..2)
        .map(|i| {
            let a = addr.clone();
            std::thread::spawn(move || {
                http(
                    &a,
                    "POST",
                    "/v1/execute",
                    Some(KEYS[1].1),
                    Some(&json!({"code": "'queued ' + n", "globals": {"n": i}})),
                )
            })
        })
        .collect();
    wait_until(Duration::from_secs(20), "two jobs to be accepted", || {
        http(&addr, "GET", "/readyz", None, None).json()["queue"]["pending"] == 2
    });
    let t = Instant::now();
    let r = http(&addr, "POST", "/v1/execute", Some(KEYS[1].1), Some(&json!({"code": "1"})));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["error"]["kind"], "busy", "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // A worker arrives: the queued jobs run.
    let _worker2 = Node::worker(&config, &url, 1);
    let mut values: Vec<String> = waiting
        .into_iter()
        .map(|h| {
            let r = h.join().expect("request");
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["value"].as_str().expect("a string").to_string()
        })
        .collect();
    values.sort();
    assert_eq!(values, ["queued 0", "queued 1"]);
}

/// The repository's deployment file for worker nodes, `deploy/systemd/sandvm-worker.service`:
/// its `ExecStart` (with the built binary and a temporary configuration whose `[cluster] queue`
/// names a throwaway broker) starts a worker node that runs an API node's jobs, and stops with
/// exit code 0 on SIGTERM.
#[test]
fn the_worker_unit_starts_a_working_worker_node() {
    let Some(broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    // The unit names no queue: the configuration's [cluster] table does.
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen("[cluster]\n", &format!("[cluster]\nqueue = \"{}\"\n", broker.url()), 1);
    std::fs::write(&config, text).expect("config");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unit = std::fs::read_to_string(root.join("deploy/systemd/sandvm-worker.service")).expect("unit");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let argv: Vec<String> = exec
        .split_whitespace()
        .map(|w| match w {
            "/etc/sandvm/sandvm.toml" => config.display().to_string(),
            // The unit's metrics port may be taken on this machine: any free one.
            "127.0.0.1:9091" => "127.0.0.1:0".to_string(),
            w => w.to_string(),
        })
        .collect();
    assert_eq!(argv[0], "/usr/local/bin/sandvm", "{argv:?}");
    assert_eq!(argv[1], "worker", "{argv:?}");
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    assert!(args.windows(2).any(|w| w == ["--metrics-addr", "127.0.0.1:0"]), "{argv:?}");
    let mut worker = Node::spawn(&args, "sandvm: worker ready");
    let maddr = worker.metrics_addr();
    assert_eq!(http(&maddr, "GET", "/healthz", None, None).status, 200);
    // The API node runs nothing itself (--workers 0): the answer comes from the unit's worker.
    let api = Node::api(&config, &broker.url());
    let body = json!({"code": "[typeof process, 6 * 7]"});
    let r = http(&api.addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&body));
    assert_eq!((r.status, r.json()["value"].clone()), (200, json!(["undefined", 42])), "{}", r.body);
    // JSON logs (--log-format json) on standard error, naming the job it ran.
    let ran = wait_for(Duration::from_secs(10), "the worker's log line for the job", || {
        worker.logs().iter().find(|l| l.contains("running a queued job")).cloned()
    });
    let line: Value = serde_json::from_str(&ran).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {ran}"));
    assert!(line.is_object(), "{line}");
    let ok = Command::new("kill").args(["-TERM", &worker.child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
    let status = wait_exit(&mut worker.child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{:?}", worker.logs());
}

#[test]
fn bad_queue_urls_and_unreachable_brokers_are_typed_errors() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).output().expect("run");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["worker", "--queue", "http://127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cluster.queue") && err.contains("nats://HOST:PORT"), "{err}");
    let (code, err) = run(&["serve", "--listen", "127.0.0.1:0", "--queue", "nats://127.0.0.1:99999"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cluster.queue"), "{err}");
    // Nothing listens on this port: a quick, typed failure.
    let port = free_port().to_string();
    let url = format!("nats://127.0.0.1:{port}");
    let t = Instant::now();
    let (code, err) = run(&["worker", "--queue", &url, "--workers", "1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("job queue is unavailable") && err.contains(&url), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let (code, err) = run(&["serve", "--listen", "127.0.0.1:0", "--queue", &url, "--workers", "0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("job queue is unavailable"), "{err}");
    // --workers 0 only makes sense for an API node of a cluster.
    let (code, err) = run(&["serve", "--listen", "127.0.0.1:0", "--workers", "0", "--check"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("pool.workers"), "{err}");
}

/// The sum of a metric's samples in Prometheus text (`name value` or `name{labels} value`)
/// whose labels contain `label` (when given); 0 when there is none.
fn sample(text: &str, name: &str, label: Option<&str>) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && label.is_none_or(|want| labels.contains(want))).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// `sandvm worker --metrics-addr`: the worker node serves `GET /healthz` and `GET /metrics`
/// (Prometheus text), where its job counters and its pool's metrics move as it runs jobs.
/// It also takes the issue's `--store` flag (checked, not connected to: no database runs here).
#[test]
fn a_worker_serves_metrics_where_its_job_counters_move() {
    use sandvm_server::queue::nats::worker_names;
    let Some(broker) = Broker::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let c = config.to_str().expect("utf-8 path");
    let url = broker.url();
    let store = "postgres://sandvm@db.invalid:5432/sandvm";
    let worker = Node::spawn(
        &[
            "worker",
            "--store",
            store,
            "--queue",
            &url,
            "--config",
            c,
            "--workers",
            "1",
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        "sandvm: worker ready",
    );
    let maddr = worker.metrics_addr();
    let health = http(&maddr, "GET", "/healthz", None, None);
    assert_eq!((health.status, health.json()), (200, json!({"status": "ok"})), "{}", health.body);
    let before = http(&maddr, "GET", "/metrics", None, None);
    assert_eq!(before.status, 200, "{}", before.body);
    assert!(before.header("content-type").is_some_and(|v| v.starts_with("text/plain")), "{:?}", before.headers);
    assert_eq!(sample(&before.body, worker_names::ACKED, None), 0.0, "{}", before.body);
    // The pool's gauges are there from the first scrape (set from its snapshot).
    assert!(before.body.contains("sandvm_pool_running_jobs"), "{}", before.body);

    let api = Node::api(&config, &url);
    for i in 0..3 {
        let body = json!({"code": format!("{i} * 7")});
        let r = http(&api.addr, "POST", "/v1/execute", Some(KEYS[0].1), Some(&body));
        assert_eq!((r.status, r.json()["value"].clone()), (200, json!(i * 7)), "{}", r.body);
    }
    // The ack follows the delivery of the result: poll until it is counted.
    let text = wait_for(Duration::from_secs(10), "3 acknowledged jobs in the worker's metrics", || {
        let m = http(&maddr, "GET", "/metrics", None, None);
        (sample(&m.body, worker_names::ACKED, None) == 3.0).then_some(m.body)
    });
    assert_eq!(sample(&text, worker_names::TAKEN, None), 3.0, "{text}");
    assert_eq!(sample(&text, worker_names::REDELIVERED, None), 0.0, "{text}");
    assert_eq!(sample(&text, worker_names::REQUEUED, None), 0.0, "{text}");
    let ok = sample(&text, sandvm_pool::names::EXECUTIONS, Some("tenant=\"acme\""));
    assert_eq!(ok, 3.0, "{text}");
    // The API node's metrics are its own: it ran nothing (--workers 0).
    let api_metrics = http(&api.addr, "GET", "/metrics", None, None);
    assert_eq!(sample(&api_metrics.body, sandvm_pool::names::EXECUTIONS, None), 0.0, "{}", api_metrics.body);
}

/// `sandvm worker --store`: a malformed URL is a configuration error naming the flag; a good
/// one is accepted (as in the command line) and `--check` says workers do not use it,
/// without printing its password. `--metrics-addr` on a taken port is an error naming the flag.
#[test]
fn the_worker_store_and_metrics_flags_are_checked() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let queue = "nats://127.0.0.1:4222";
    for bad in ["mysql://db/sandvm", "postgres://db:notaport/sandvm", ""] {
        let (code, _, err) = run(&["worker", "--store", bad, "--queue", queue, "--check"]);
        assert_eq!(code, Some(2), "{bad:?}: {err}");
        assert!(err.contains("configuration error at --store"), "{bad:?}: {err}");
    }
    let (code, out, err) =
        run(&["worker", "--store", "postgres://sandvm:s3cret@db:5432/sandvm", "--queue", queue, "--check"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("store: postgres://sandvm:***@db:5432/sandvm (checked, not used by worker nodes)"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    assert!(out.contains("metrics: off"), "{out}");
    let (code, out, err) = run(&["worker", "--queue", queue, "--metrics-addr", "0.0.0.0:9091", "--check"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("metrics: http://0.0.0.0:9091/metrics"), "{out}");
    // The configuration's [cluster] store is checked the same way (its error names the field).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sandvm.toml");
    std::fs::write(&path, "[cluster]\nstore = \"postgres://db:notaport/x\"\n").expect("write");
    let (code, _, err) = run(&["worker", "--config", path.to_str().expect("utf-8"), "--queue", queue, "--check"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cluster.store"), "{err}");
    // [cluster] worker_metrics_addr is the configuration's --metrics-addr.
    std::fs::write(&path, "[cluster]\nworker_metrics_addr = \"127.0.0.1:9999\"\n").expect("write");
    let (code, out, err) = run(&["worker", "--config", path.to_str().expect("utf-8"), "--queue", queue, "--check"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("metrics: http://127.0.0.1:9999/metrics"), "{out}");
    // A taken port: refused before the broker is even tried (nothing listens on port 1).
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let at = taken.local_addr().expect("addr").to_string();
    let (code, _, err) = run(&["worker", "--queue", "nats://127.0.0.1:1", "--workers", "1", "--metrics-addr", &at]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--metrics-addr: cannot listen on {at}")), "{err}");
}
