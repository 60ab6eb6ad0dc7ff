//! The Kubernetes manifests in `deploy/kubernetes/`, checked without a cluster: every file
//! parses as YAML and is listed by the kustomization; every container's command line is run
//! with the real CLI and `--check` (with the configuration the manifests ship, from their
//! Secret); ports, probe paths and the Prometheus metrics path match what the server serves;
//! the KEDA scaler watches the stream and consumer the code creates, on the broker the
//! configuration names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

/// Every YAML document of a file, as JSON values.
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| {
            let v = serde_norway::Value::deserialize(doc).unwrap_or_else(|e| panic!("not YAML: {e}"));
            serde_json::to_value(v).unwrap_or_else(|e| panic!("not JSON-like YAML: {e}"))
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// All the manifests by file name (the kustomization aside).
struct Manifests {
    kustomization: Value,
    objects: Vec<(String, Value)>,
}

impl Manifests {
    fn load() -> Manifests {
        let mut kustomization = Value::Null;
        let mut objects = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
            .expect("deploy/kubernetes")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        names.sort();
        assert!(!names.is_empty(), "no manifests in {}", dir().display());
        for path in names {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read");
            let docs = documents(&text);
            assert!(!docs.is_empty(), "{name}: no document");
            for doc in docs {
                assert!(doc["apiVersion"].is_string() && doc["kind"].is_string(), "{name}: {doc}");
                if doc["kind"] == "Kustomization" {
                    kustomization = doc;
                } else {
                    objects.push((name.clone(), doc));
                }
            }
        }
        Manifests { kustomization, objects }
    }

    /// The one object of this kind and name.
    fn get(&self, kind: &str, name: &str) -> &Value {
        let found: Vec<&Value> = self
            .objects
            .iter()
            .map(|(_, o)| o)
            .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "{kind} {name}: {} found", found.len());
        found[0]
    }
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str().unwrap_or_else(|| panic!("{what}: expected a string, got {v}"))
}

fn strings(v: &Value, what: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected a list, got {v}"))
        .iter()
        .map(|s| str_of(s, what).to_string())
        .collect()
}

/// The `ENTRYPOINT` of the repository's `Containerfile` (the image the manifests run).
fn image_entrypoint() -> Vec<String> {
    let text = std::fs::read_to_string(dir().join("../../Containerfile")).expect("Containerfile");
    let line = text.lines().find_map(|l| l.strip_prefix("ENTRYPOINT ")).expect("ENTRYPOINT");
    serde_json::from_str(line).expect("an exec-form JSON array")
}

/// The only container of a Deployment's pod template.
fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{deployment}");
    &containers[0]
}

/// Runs the container's command line with the built binary, the manifests' configuration
/// (written to a temporary file in place of the mounted one) and `--check`; returns stdout.
fn check_command_line(deployment: &Value, config_text: &str) -> String {
    let name = str_of(&deployment["metadata"]["name"], "name");
    let c = container(deployment);
    let command = strings(&c["command"], "command");
    assert_eq!(command, image_entrypoint(), "{name}: the command is the image's entrypoint");
    let args = strings(&c["args"], "args");
    // The configuration file is the Secret's key, where the pod mounts it.
    let config_at = args.iter().position(|a| a == "--config").map(|i| args[i + 1].clone()).expect("--config");
    let config_path = Path::new(&config_at);
    let mount = c["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| Path::new(str_of(&m["mountPath"], "mountPath")) == config_path.parent().expect("dir"))
        .unwrap_or_else(|| panic!("{name}: nothing mounted at {config_at}'s directory"));
    let volume = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume");
    assert_eq!(volume["secret"]["secretName"], "sandvm-config", "{name}");
    let key = config_path.file_name().expect("file").to_string_lossy().into_owned();
    assert_eq!(key, "sandvm.toml", "{name}: the Secret's key");
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = tmp.path().join(&key);
    std::fs::write(&local, config_text).expect("write the configuration");
    let argv: Vec<String> =
        args.iter().map(|a| if *a == config_at { local.display().to_string() } else { a.clone() }).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(&argv).arg("--check").output().expect("run sandvm");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("configuration ok"),
        "{name}: {argv:?} --check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `HOST:PORT` of a URL like `scheme://HOST:PORT/...`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
}

#[test]
fn every_manifest_is_listed_and_parses() {
    let m = Manifests::load();
    let listed: BTreeSet<String> = strings(&m.kustomization["resources"], "resources").into_iter().collect();
    let files: BTreeSet<String> = m.objects.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(listed, files, "the kustomization lists exactly the manifest files");
    // Deployments select their own pods.
    for (_, o) in &m.objects {
        if o["kind"] == "Deployment" {
            let selector = o["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels");
            let labels = &o["spec"]["template"]["metadata"]["labels"];
            for (k, v) in selector {
                assert_eq!(&labels[k], v, "{}: selector {k}", o["metadata"]["name"]);
            }
        }
    }
}

#[test]
fn the_command_lines_run_with_the_shipped_configuration() {
    let m = Manifests::load();
    let secret = m.get("Secret", "sandvm-config");
    let config_text = str_of(&secret["stringData"]["sandvm.toml"], "sandvm.toml").to_string();
    let config = sandvm_server::ServerConfig::from_toml(&config_text).expect("the shipped configuration");
    assert!(config.cluster.store.as_deref().is_some_and(|s| s.starts_with("postgres://")), "API nodes share a store");
    assert!(config.cluster.queue.is_some(), "a queue");

    let api = m.get("Deployment", "sandvm-api");
    let args = strings(&container(api)["args"], "args");
    assert_eq!(args[0], "serve");
    assert!(args.windows(2).any(|w| w == ["--workers", "0"]), "API nodes run no jobs themselves: {args:?}");
    let out = check_command_line(api, &config_text);
    assert!(out.contains("tenant acme"), "{out}");

    let worker = m.get("Deployment", "sandvm-worker");
    let out = check_command_line(worker, &config_text);
    let stream = config.cluster.stream.clone();
    let consumer = sandvm_server::queue::nats::CONSUMER;
    assert!(out.contains(&format!("stream {stream}, consumer {consumer}")), "{out}");
    assert!(out.contains("process isolation"), "{out}");
    assert!(out.contains("metrics: http://0.0.0.0:9091/metrics"), "workers serve their metrics: {out}");
}

/// The socket address given to `flag` in a container's args.
fn address_flag(args: &[String], flag: &str) -> std::net::SocketAddr {
    let i = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    let value = args.get(i + 1).unwrap_or_else(|| panic!("{flag} has no value"));
    value.parse().unwrap_or_else(|e| panic!("{flag} {value}: {e}"))
}

#[test]
fn ports_probes_and_the_metrics_path_are_the_servers() {
    let m = Manifests::load();
    let api = m.get("Deployment", "sandvm-api");
    let c = container(api);
    let args = strings(&c["args"], "args");
    let listen = address_flag(&args, "--listen");
    assert!(listen.ip().is_unspecified(), "reachable from the Service: {listen}");
    let ports = c["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1, "{c}");
    let (port_name, port) = (str_of(&ports[0]["name"], "port name"), ports[0]["containerPort"].as_u64().expect("port"));
    assert_eq!(port, u64::from(listen.port()), "containerPort is the --listen port");
    // Probes: routes the server has, on the named port.
    let routes: Vec<&str> = sandvm_server::ROUTES.iter().filter(|(_, m)| m.contains(&"GET")).map(|(p, _)| *p).collect();
    for (probe, want) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], want, "{probe}");
        assert!(routes.contains(&want), "{want} is not a GET route");
        assert_eq!(get["port"], port_name, "{probe}");
    }
    // The Service selects the API pods and targets the named port.
    let svc = m.get("Service", "sandvm-api");
    let labels = &api["spec"]["template"]["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[k], v, "Service selector {k}");
    }
    let sp = &svc["spec"]["ports"][0];
    assert!(sp["targetPort"] == port_name || sp["targetPort"].as_u64() == Some(port), "{sp}");
    // Prometheus: the scrape job keeps the API pods' named port and asks for the metrics route.
    let cm = m.get("ConfigMap", "sandvm-prometheus");
    let scrape = documents(str_of(&cm["data"]["sandvm.yml"], "sandvm.yml"));
    assert_eq!(scrape.len(), 1);
    let jobs = scrape[0]["scrape_configs"].as_array().expect("scrape_configs");
    assert_eq!(jobs.len(), 2, "one job for API pods, one for worker pods");
    let job = |name: &str| -> &Value {
        jobs.iter().find(|j| j["job_name"] == name).unwrap_or_else(|| panic!("no scrape job {name}"))
    };
    let path = str_of(&job("sandvm-api")["metrics_path"], "metrics_path");
    assert!(routes.contains(&path), "{path} is not a GET route of the server");
    assert_eq!(path, "/metrics");
    check_scrape_job(job("sandvm-api"), api, port_name);

    // Workers: `--metrics-addr` on a named containerPort, probed on /healthz, scraped on
    // /metrics (the routes `sandvm worker --metrics-addr` serves; cluster.rs scrapes them).
    let worker = m.get("Deployment", "sandvm-worker");
    let c = container(worker);
    let args = strings(&c["args"], "args");
    let at = address_flag(&args, "--metrics-addr");
    assert!(at.ip().is_unspecified(), "reachable by Prometheus: {at}");
    let ports = c["ports"].as_array().expect("worker ports");
    assert_eq!(ports.len(), 1, "{c}");
    let (wport_name, wport) = (str_of(&ports[0]["name"], "port name"), ports[0]["containerPort"].as_u64());
    assert_eq!(wport, Some(u64::from(at.port())), "containerPort is the --metrics-addr port");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], wport_name);
    assert_eq!(job("sandvm-worker")["metrics_path"], "/metrics");
    check_scrape_job(job("sandvm-worker"), worker, wport_name);
}

/// A scrape job keeps exactly the pods of `deployment` (by `app.kubernetes.io/name`) and
/// their container port named `port_name`.
fn check_scrape_job(job: &Value, deployment: &Value, port_name: &str) {
    let keep = |label: &str| -> String {
        let rules = job["relabel_configs"].as_array().expect("relabel_configs");
        let rule = rules
            .iter()
            .find(|r| r["action"] == "keep" && r["source_labels"][0] == label)
            .unwrap_or_else(|| panic!("{}: no keep rule on {label}", job["job_name"]));
        str_of(&rule["regex"], "regex").to_string()
    };
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        keep("__meta_kubernetes_pod_label_app_kubernetes_io_name"),
        str_of(&labels["app.kubernetes.io/name"], "label")
    );
    assert_eq!(keep("__meta_kubernetes_pod_container_port_name"), port_name);
}

#[test]
fn the_keda_scaler_watches_the_queue_the_code_creates() {
    let m = Manifests::load();
    let secret = m.get("Secret", "sandvm-config");
    let config =
        sandvm_server::ServerConfig::from_toml(str_of(&secret["stringData"]["sandvm.toml"], "toml")).expect("config");
    let so = m.get("ScaledObject", "sandvm-worker");
    assert_eq!(so["apiVersion"], "keda.sh/v1alpha1");
    let target = str_of(&so["spec"]["scaleTargetRef"]["name"], "scaleTargetRef");
    let worker = m.get("Deployment", target);
    assert_eq!(strings(&container(worker)["args"], "args")[0], "worker", "KEDA scales the worker Deployment");
    let triggers = so["spec"]["triggers"].as_array().expect("triggers");
    assert_eq!(triggers.len(), 1);
    let t = &triggers[0];
    assert_eq!(t["type"], "nats-jetstream");
    let meta = &t["metadata"];
    assert_eq!(str_of(&meta["stream"], "stream"), config.cluster.stream);
    assert_eq!(config.cluster.stream, sandvm_server::ClusterSettings::default().stream, "the default stream");
    assert_eq!(str_of(&meta["consumer"], "consumer"), sandvm_server::queue::nats::CONSUMER);
    // The monitoring endpoint is on the broker the configuration names.
    let queue = config.cluster.queue.as_deref().expect("queue");
    let monitoring = str_of(&meta["natsServerMonitoringEndpoint"], "endpoint");
    assert_eq!(host_of(monitoring), host_of(queue), "{monitoring} vs {queue}");
    // KEDA's metadata values are strings; the thresholds are numbers in them.
    for k in ["lagThreshold", "activationLagThreshold"] {
        let v: u64 = str_of(&meta[k], k).parse().unwrap_or_else(|e| panic!("{k}: {e}"));
        assert!(k != "lagThreshold" || v > 0, "{k} {v}");
    }
    let (min, max) = (so["spec"]["minReplicaCount"].as_u64(), so["spec"]["maxReplicaCount"].as_u64());
    assert!(min.zip(max).is_some_and(|(a, b)| a >= 1 && a <= b), "{min:?}..{max:?}");
}

#[test]
fn worker_check_refuses_what_the_worker_would_refuse() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sandvm")).args(args).output().expect("run sandvm");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run(&["worker", "--check"]);
    assert!(!ok && err.contains("--queue"), "{err}");
    let (ok, err) = run(&["worker", "--check", "--queue", "http://broker:4222"]);
    assert!(!ok && err.contains("cluster.queue"), "{err}");
    let (ok, err) = run(&["worker", "--check", "--queue", "nats://broker:4222", "--workers", "0"]);
    assert!(!ok && err.contains("--workers"), "{err}");
    let (ok, err) = run(&["worker", "--check", "--queue", "nats://broker:4222", "--workers", "3"]);
    assert!(ok, "{err}");
}
