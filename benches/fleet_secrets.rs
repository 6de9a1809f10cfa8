//! Resolving a fleet's secrets: 1 environment x 30 clusters x 50 services
//! (1,500 targets), 10 keys per service, 5 per cluster `common`, 10 in the
//! environment `common` (15,160 objects), some names overridden by more
//! specific layers, through a proxy that adds a round-trip time
//! (`KIT_BENCH_RTT_MS`, default 40; 0 for none).
//!
//! kit's resolver as `kit render --all` runs it (a cluster listed once as a
//! whole, only winners fetched, requests in flight adapting up to 256)
//! and with a fixed 32 in flight, each 3 times (median printed), with the
//! requests made, the most in flight and kit's own floor: requests x RTT /
//! the most in flight. At RTT 0, also a naive sequential resolver that lists
//! each target's three layers and fetches every object it lists.
//!
//! A custom harness rather than criterion: runs take seconds each.
//!
//! Timing wants an S3 server whose LIST is indexed: start Garage with
//! `eval "$(bash benches/garage/start.sh)"`, or point
//! `KIT_BENCH_S3_ENDPOINT` at another (moto_server). Without it the bench
//! uses the in-process s3s-fs test server (on threads of its own), whose
//! LIST walks the bucket directory.
//!
//! `cargo bench -p kit-benches --bench fleet_secrets`

use kit_testkit::s3_server;

/// The kit binary's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time of the calling thread (the resolver's: kit's runtime has one).
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use kit_env::{Encryption, Layer, Layout, Resolver, S3Options, S3Store, SecretStore, Target};

const CLUSTERS: usize = 30;
const SERVICES: usize = 50;

fn objects() -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Environment common: COMMON_0..9 (COMMON_0 is overridden by every cluster).
    for i in 0..10 {
        out.push((
            format!("fleet/production/common/COMMON_{i}"),
            format!("env-{i}"),
        ));
    }
    for c in 0..CLUSTERS {
        // Cluster common: COMMON_0 (overrides) and CLUSTER_0..3 (CLUSTER_0 is
        // overridden by every service).
        out.push((
            format!("fleet/production/cluster-{c:02}/common/COMMON_0"),
            format!("c{c}"),
        ));
        for i in 0..4 {
            out.push((
                format!("fleet/production/cluster-{c:02}/common/CLUSTER_{i}"),
                format!("c{c}-{i}"),
            ));
        }
        for s in 0..SERVICES {
            out.push((
                format!("fleet/production/cluster-{c:02}/service-{s:02}/CLUSTER_0"),
                format!("s{s}"),
            ));
            for i in 0..9 {
                out.push((
                    format!("fleet/production/cluster-{c:02}/service-{s:02}/SVC_{i}"),
                    format!("s{s}-{i}"),
                ));
            }
        }
    }
    out
}

fn targets() -> Vec<Target> {
    (0..CLUSTERS)
        .flat_map(|c| {
            (0..SERVICES).map(move |s| {
                Target::new(
                    "production",
                    &format!("cluster-{c:02}"),
                    &format!("service-{s:02}"),
                )
            })
        })
        .collect()
}

/// The baseline: target by target, list each layer, fetch everything listed.
async fn naive(store: &dyn SecretStore, layout: &Layout, targets: &[Target]) -> usize {
    let mut vars = 0;
    for t in targets {
        let mut seen = std::collections::BTreeMap::new();
        for layer in Layer::ALL {
            for key in store.list(&layout.layer_prefix(t, layer)).await.unwrap() {
                let value = store.get(&key).await.unwrap();
                seen.insert(key.rsplit('/').next().unwrap().to_owned(), value);
            }
        }
        vars += seen.len();
    }
    vars
}

/// Starts the in-process S3 server on a thread and runtime of its own.
fn in_process_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name("s3-server".into());
    thread
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .thread_name("s3-server")
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = s3_server::start_server(&["kit-bench"]).await;
                tx.send(server.addr).unwrap();
                std::future::pending::<()>().await;
                drop(server);
            });
        })
        .unwrap();
    format!("http://{}", rx.recv().unwrap())
}

struct Measured {
    median: Duration,
    min: Duration,
    max: Duration,
    stats: kit_env::Stats,
    peak: usize,
    vars: usize,
    /// The resolver thread's CPU time, median run.
    cpu: Duration,
}

fn main() {
    // The same runtime as the kit binary: one thread, IO-bound work.
    let rt = kit_benches::runtime();
    let external = std::env::var("KIT_BENCH_S3_ENDPOINT")
        .ok()
        .filter(|s| !s.is_empty());
    let rtt_ms: u64 = std::env::var("KIT_BENCH_RTT_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let (endpoint, bucket) = match &external {
        Some(e) => (
            e.clone(),
            std::env::var("KIT_BENCH_S3_BUCKET").unwrap_or("kit-bench".into()),
        ),
        None => {
            // SAFETY: single-threaded at this point; the SDK reads these later.
            unsafe {
                std::env::set_var("AWS_ACCESS_KEY_ID", s3_server::KEY_ID);
                std::env::set_var("AWS_SECRET_ACCESS_KEY", s3_server::SECRET);
            }
            (in_process_server(), "kit-bench".to_owned())
        }
    };
    let options = |endpoint: &str| S3Options {
        region: Some(std::env::var("KIT_BENCH_S3_REGION").unwrap_or("us-east-1".into())),
        endpoint_url: Some(endpoint.to_owned()),
        static_credentials: Some((
            std::env::var("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY"),
        )),
        operation_timeout: Duration::from_secs(60),
        attempt_timeout: Duration::from_secs(30),
        ..S3Options::default()
    };
    let direct = options(&endpoint);
    let through = if rtt_ms == 0 {
        direct.clone()
    } else {
        let url = endpoint.trim_start_matches("http://");
        let upstream: std::net::SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(url)
            .expect("KIT_BENCH_S3_ENDPOINT is http://host:port")
            .next()
            .unwrap();
        let proxy = kit_benches::latency_proxy(upstream, Duration::from_millis(rtt_ms) / 2);
        options(&format!("http://{proxy}"))
    };
    let server_name = if external.is_some() {
        endpoint.as_str()
    } else {
        "in-process s3s-fs (LIST walks the bucket)"
    };
    println!("server: {server_name}, round trip +{rtt_ms} ms through a proxy");
    let objects = objects();
    let targets = targets();
    rt.block_on(async {
        let store = Arc::new(S3Store::connect(&bucket, "bench", &direct).await);
        if store.get("fleet/.seeded").await.is_err() {
            let t0 = Instant::now();
            let permits = Arc::new(tokio::sync::Semaphore::new(32));
            let mut tasks = tokio::task::JoinSet::new();
            for (k, v) in objects.clone() {
                let (store, permits) = (store.clone(), permits.clone());
                tasks.spawn(async move {
                    let _p = permits.acquire().await.unwrap();
                    store.put(&k, v.as_bytes(), &Encryption::Default).await.unwrap();
                });
            }
            while let Some(r) = tasks.join_next().await {
                r.unwrap();
            }
            store.put("fleet/.seeded", b"1", &Encryption::Default).await.unwrap();
            println!("seeded {} objects in {:.1?}", objects.len(), t0.elapsed());
        }
        println!("fleet: {} targets, {} objects", targets.len(), objects.len());

        let (bucket, through, targets) = (&bucket, &through, &targets);
        let measure = |bound: usize| {
            async move {
                let mut times = Vec::new();
                let mut last = None;
                for _ in 0..3 {
                    let store: Arc<dyn SecretStore> =
                        Arc::new(S3Store::connect(bucket, "bench", through).await);
                    let resolver =
                        Resolver::new(store.clone(), Layout::new("fleet")).with_concurrency(bound);
                    let (t0, c0) = (Instant::now(), thread_cpu());
                    let res = resolver.resolve_many(targets).await.unwrap();
                    times.push((t0.elapsed(), thread_cpu() - c0));
                    let vars: usize = res.iter().map(|r| r.variables.len()).sum();
                    last = Some((store.stats(), resolver.peak_in_flight(), vars));
                }
                times.sort();
                let (stats, peak, vars) = last.unwrap();
                Measured {
                    median: times[1].0,
                    min: times[0].0,
                    max: times[2].0,
                    stats,
                    peak,
                    vars,
                    cpu: times[1].1,
                }
            }
        };
        for (label, bound) in [("adaptive, up to 256", kit_env::DEFAULT_CONCURRENCY), ("fixed at 32", 32)] {
            let m = measure(bound).await;
            let requests = m.stats.lists + m.stats.gets;
            let floor = Duration::from_millis(rtt_ms) * requests as u32 / m.peak.max(1) as u32;
            let ratio = if rtt_ms == 0 {
                String::new()
            } else {
                format!(", {:.2}x the floor", m.median.as_secs_f64() / floor.as_secs_f64())
            };
            println!(
                "kit resolver, {label}: median {:.2?} (min {:.2?}, max {:.2?}, 3 runs); {} lists + {} gets = {requests} requests, at most {} in flight, {} throttled; floor (requests x RTT / in flight) {:.2?}{ratio}; resolver CPU {:.2?} = {:.0} us per request; {} variables",
                m.median, m.min, m.max, m.stats.lists, m.stats.gets, m.peak, m.stats.throttled, floor, m.cpu,
                m.cpu.as_secs_f64() * 1e6 / requests as f64, m.vars
            );
        }

        if rtt_ms > 0 || std::env::var_os("KIT_BENCH_SKIP_NAIVE").is_some() {
            return;
        }
        let store = S3Store::connect(bucket, "bench", &direct).await;
        let t0 = Instant::now();
        let vars = naive(&store, &Layout::new("fleet"), targets).await;
        let naive_time = t0.elapsed();
        let stats = store.stats();
        println!(
            "naive sequential baseline: {:.2?} (1 run); {} lists + {} gets = {} requests, {} variables",
            naive_time, stats.lists, stats.gets, stats.lists + stats.gets, vars
        );
    });
}
