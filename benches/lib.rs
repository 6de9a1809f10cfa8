//! Shared inputs for kit's benches: the fixtures under `fixtures/bench/`,
//! the fleet project of `gen_fleet.py`, and the data as typed structs (for
//! ramhorns, which renders from them).

use std::path::PathBuf;

use kit_core::Value;
use kit_env::Resolution;
use kit_project::{Project, Selection};

use ramhorns::Content;
use serde::Deserialize;

/// Reads a file from `fixtures/bench/`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/bench")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fixtures/bench/deployment.json`, typed.
#[derive(Content, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    pub instance: String,
    pub version: String,
    pub component: String,
    #[ramhorns(rename = "partOf")]
    pub part_of: String,
    pub environment: String,
    pub cluster: String,
    pub owner: String,
    pub replicas: u32,
    pub checksum: String,
    #[ramhorns(rename = "serviceAccount")]
    pub service_account: String,
    pub containers: Vec<Container>,
    #[ramhorns(rename = "hasNodeSelector")]
    pub has_node_selector: bool,
    pub pool: String,
}

/// One of the Deployment's containers.
#[derive(Content, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    pub args: Vec<Arg>,
    pub port: u16,
    pub env: Vec<EnvVar>,
    #[ramhorns(rename = "cpuRequest")]
    pub cpu_request: String,
    #[ramhorns(rename = "memoryRequest")]
    pub memory_request: String,
    #[ramhorns(rename = "cpuLimit")]
    pub cpu_limit: String,
    #[ramhorns(rename = "memoryLimit")]
    pub memory_limit: String,
    #[ramhorns(rename = "readinessPath")]
    pub readiness_path: String,
    #[ramhorns(rename = "livenessPath")]
    pub liveness_path: String,
}

/// One command-line argument.
#[derive(Content, Deserialize)]
pub struct Arg {
    pub arg: String,
}

/// One environment variable.
#[derive(Content, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// The fleet project of `gen_fleet.py` (generated once, with python3,
/// under the system's temporary directory).
pub fn fleet_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("kit-fleet-bench");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/gen_fleet.py");
    let ok = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .status()
        .expect("python3 generates the fleet project");
    assert!(ok.success(), "gen_fleet.py failed");
    dir
}

/// A runtime on the calling thread, for the resolver.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every target of the fleet with its secrets resolved (`--all`).
pub fn fleet_resolutions(runtime: &tokio::runtime::Runtime, project: &Project) -> Vec<Resolution> {
    let plan = project.plan(&Selection::All { environment: None }).unwrap();
    runtime.block_on(async {
        let resolver = project
            .resolver(None, &Default::default(), 32)
            .await
            .unwrap();
        plan.resolve(&resolver).await.unwrap()
    })
}

/// The fleet's templates, in the order [`fleet_engine_input`] returns them.
pub const FLEET_TEMPLATES: [&str; 3] = ["deployment", "service", "configmap"];

/// The engine's inputs on the fleet: every target's data
/// (`kit_project::template_context`, what the pipeline renders with) and
/// the three templates ([`FLEET_TEMPLATES`]; every service has the same:
/// those of `service-00`).
pub fn fleet_engine_input() -> (Vec<Value>, Vec<String>) {
    let dir = fleet_dir();
    let project = Project::load(&dir).unwrap();
    let options = kit_project::RenderOptions::default();
    let contexts = fleet_resolutions(&runtime(), &project)
        .iter()
        .map(|r| kit_project::template_context(&project, r, &options).unwrap())
        .collect();
    let sources = FLEET_TEMPLATES
        .iter()
        .map(|t| {
            let path = dir.join(format!("templates/service-00/{t}.yaml"));
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    (contexts, sources)
}

/// One fleet target's data, typed: what its templates look up, with the
/// dotted names as ramhorns field names.
#[derive(Content)]
pub struct FleetTarget {
    #[ramhorns(rename = "kit.service")]
    pub service: String,
    #[ramhorns(rename = "kit.cluster")]
    pub cluster: String,
    #[ramhorns(rename = "kit.environment")]
    pub environment: String,
    pub namespace: String,
    pub replicas: i64,
    pub port: i64,
    pub log_level: String,
    #[ramhorns(rename = "image.repository")]
    pub image_repository: String,
    #[ramhorns(rename = "image.tag")]
    pub image_tag: String,
    #[ramhorns(rename = "resources.cpu")]
    pub cpu: String,
    #[ramhorns(rename = "resources.memory")]
    pub memory: String,
    pub region: String,
    pub env: Vec<EnvVar>,
}

impl FleetTarget {
    /// The typed form of a target's context (`kit_project::template_context`).
    pub fn from_context(ctx: &Value) -> FleetTarget {
        let at = |path: &str| {
            path.split('.')
                .try_fold(ctx, |v, k| v.get(k))
                .unwrap_or_else(|| panic!("the fleet context has no {path}"))
        };
        let text = |path: &str| match at(path) {
            Value::String(s) => s.clone(),
            other => panic!("{path} is of kind {}, not a string", other.kind()),
        };
        let int = |path: &str| match at(path) {
            Value::Int(i) => *i,
            Value::UInt(u) => *u as i64,
            other => panic!("{path} is of kind {}, not an integer", other.kind()),
        };
        let Value::List(env) = at("env") else {
            panic!("env is not a list")
        };
        let entry = |e: &Value, k: &str| match e.get(k) {
            Some(Value::String(s)) => s.clone(),
            _ => panic!("an env entry has no {k}"),
        };
        FleetTarget {
            service: text("kit.service"),
            cluster: text("kit.cluster"),
            environment: text("kit.environment"),
            namespace: text("namespace"),
            replicas: int("replicas"),
            port: int("port"),
            log_level: text("log_level"),
            image_repository: text("image.repository"),
            image_tag: text("image.tag"),
            cpu: text("resources.cpu"),
            memory: text("resources.memory"),
            region: text("region"),
            env: env
                .iter()
                .map(|e| EnvVar {
                    name: entry(e, "name"),
                    value: entry(e, "value"),
                })
                .collect(),
        }
    }
}

/// kit's [`Value`] as a `serde_json::Value` (for `render_json`).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Lambda(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Float(x) => J::from(*x),
        Value::String(s) => J::String(s.clone()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Starts a TCP proxy on 127.0.0.1 in front of `upstream` that holds every
/// chunk `one_way` in each direction (a round trip takes `2 x one_way`
/// more), keeping each direction's order: a remote S3 on loopback. It runs
/// on a thread and runtime of its own (so its work is not the measured
/// code's) until the process ends. Returns its address.
pub fn latency_proxy(
    upstream: std::net::SocketAddr,
    one_way: std::time::Duration,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::Builder::new().name("latency-proxy".into());
    thread
        .spawn(move || {
            let rt = runtime();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (client, _) = listener.accept().await.unwrap();
                    tokio::spawn(async move {
                        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        client.set_nodelay(true).unwrap();
                        server.set_nodelay(true).unwrap();
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        async fn pipe(
                            mut from: tokio::net::tcp::OwnedReadHalf,
                            mut to: tokio::net::tcp::OwnedWriteHalf,
                            one_way: std::time::Duration,
                        ) {
                            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                            let writer = tokio::spawn(async move {
                                while let Some((at, chunk)) = rx.recv().await {
                                    tokio::time::sleep_until(at).await;
                                    let chunk: Vec<u8> = chunk;
                                    if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                                        let _ = to.shutdown().await;
                                        return;
                                    }
                                }
                            });
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                let n = from.read(&mut buf).await.unwrap_or(0);
                                let at = tokio::time::Instant::now() + one_way;
                                if tx.send((at, buf[..n].to_vec())).is_err() || n == 0 {
                                    break;
                                }
                            }
                            let _ = writer.await;
                        }
                        tokio::join!(pipe(cr, sw, one_way), pipe(sr, cw, one_way));
                    });
                }
            });
        })
        .unwrap();
    addr
}
