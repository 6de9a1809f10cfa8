//! Resolving a fleet's secrets: 1 environment x 30 clusters x 50 services
//! (1,500 targets), 10 keys per service, 5 per cluster `common`, 10 in the
//! environment `common` (15,160 objects), some names overridden by more
//! specific layers. kit's resolver (each layer listed once, only winners
//! fetched, 32 requests in flight) against a naive sequential resolver that
//! lists each target's three layers and fetches every object it lists.
//!
//! A custom harness rather than criterion: the naive baseline takes tens of
//! seconds, and criterion's minimum of 10 samples would take many minutes.
//! kit's resolver runs 5 times (median printed), the baseline once.
//!
//! Timing wants an S3 server whose LIST is indexed: start Garage with
//! `eval "$(bash benches/garage/start.sh)"`. Without KIT_BENCH_S3_ENDPOINT the
//! bench uses the in-process s3s-fs test server, whose LIST walks the bucket
//! directory: request counts are right, times are not representative.
//!
//! `cargo bench -p kit-benches --bench fleet_secrets`

use kit_testkit::s3_server;

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

fn main() {
    // The same runtime as the kit binary: one thread, IO-bound work.
    let rt = kit_benches::runtime();
    let external = std::env::var("KIT_BENCH_S3_ENDPOINT")
        .ok()
        .filter(|s| !s.is_empty());
    let (endpoint, bucket, _server) = match &external {
        Some(e) => (
            e.clone(),
            std::env::var("KIT_BENCH_S3_BUCKET").unwrap_or("kit-bench".into()),
            None,
        ),
        None => {
            let server = rt.block_on(s3_server::start_server(&["kit-bench"]));
            // SAFETY: single-threaded at this point; the SDK reads these later.
            unsafe {
                std::env::set_var("AWS_ACCESS_KEY_ID", s3_server::KEY_ID);
                std::env::set_var("AWS_SECRET_ACCESS_KEY", s3_server::SECRET);
            }
            (
                format!("http://{}", server.addr),
                "kit-bench".to_owned(),
                Some(server),
            )
        }
    };
    let opts = S3Options {
        region: Some(std::env::var("KIT_BENCH_S3_REGION").unwrap_or("us-east-1".into())),
        endpoint_url: Some(endpoint.clone()),
        static_credentials: Some((
            std::env::var("AWS_ACCESS_KEY_ID").expect("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY").expect("AWS_SECRET_ACCESS_KEY"),
        )),
        operation_timeout: Duration::from_secs(60),
        attempt_timeout: Duration::from_secs(30),
        ..S3Options::default()
    };
    let server_name = if external.is_some() {
        endpoint.as_str()
    } else {
        "in-process s3s-fs (LIST walks the bucket: times not representative)"
    };
    println!("server: {server_name}");
    let objects = objects();
    let targets = targets();
    rt.block_on(async {
        let store = Arc::new(S3Store::connect(&bucket, "bench", &opts).await);
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

        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let store: Arc<dyn SecretStore> = Arc::new(S3Store::connect(&bucket, "bench", &opts).await);
            let resolver = Resolver::new(store.clone(), Layout::new("fleet")).with_concurrency(32);
            let t0 = Instant::now();
            let res = resolver.resolve_many(&targets).await.unwrap();
            times.push(t0.elapsed());
            let vars: usize = res.iter().map(|r| r.variables.len()).sum();
            last = Some((store.stats(), vars));
        }
        times.sort();
        let (stats, vars) = last.unwrap();
        let kit_median = times[times.len() / 2];
        println!(
            "kit resolver, 32 in flight:  median {:>8.2?} (min {:.2?}, max {:.2?}, 5 runs)  {} lists + {} gets = {} requests, {} variables",
            kit_median, times[0], times[times.len() - 1], stats.lists, stats.gets, stats.lists + stats.gets, vars
        );

        if std::env::var_os("KIT_BENCH_SKIP_NAIVE").is_some() {
            return;
        }
        let store = S3Store::connect(&bucket, "bench", &opts).await;
        let t0 = Instant::now();
        let vars = naive(&store, &Layout::new("fleet"), &targets).await;
        let naive_time = t0.elapsed();
        let stats = store.stats();
        println!(
            "naive sequential baseline:   {:>15.2?} (1 run)                   {} lists + {} gets = {} requests, {} variables",
            naive_time, stats.lists, stats.gets, stats.lists + stats.gets, vars
        );
        println!("speedup: {:.1}x", naive_time.as_secs_f64() / kit_median.as_secs_f64());
    });
}
