//! The fleet through the library (kit-project's pipeline, no binary, no
//! process start): the project of `benches/gen_fleet.py` (1 environment x
//! 30 clusters x 50 services x 3 templates, local secrets), `--all`.
//!
//! - `fleet/resolve+render+streams`: what `kit render --all` does after
//!   parsing flags: load kit.yaml, plan, resolve every target's secrets,
//!   render and check in parallel, write one stream per cluster;
//! - `fleet/render+streams`: the same with the secrets already resolved
//!   (the engine, the checks and the streams alone);
//! - `fleet/render+write_dir`: the same, written as files instead
//!   (`--output-dir`: one file per document, private, synced once), into a
//!   fresh directory each time (the ratio to `render+streams` is issue 13's
//!   file-writer target);
//! - `fleet/write_dir`: the file writer alone, on documents rendered once.
//!
//! `cargo bench -p kit-benches --bench fleet_render` (needs python3 to
//! generate the project, once, under the system's temporary directory).

use criterion::{Criterion, criterion_group, criterion_main};
use kit_benches::{fleet_dir, fleet_resolutions, runtime};
use kit_project::{Project, RenderOptions};

fn bench(c: &mut Criterion) {
    let dir = fleet_dir();
    let runtime = runtime();
    let resolve = |project: &Project| fleet_resolutions(&runtime, project);
    let project = Project::load(&dir).unwrap();
    let secrets = resolve(&project);
    let streams = kit_project::render(&project, &secrets, RenderOptions::default(), &|| {})
        .unwrap()
        .streams()
        .unwrap();
    let docs: usize = streams
        .iter()
        .map(|s| s.text.matches("\n# Source: ").count())
        .sum();
    let bytes: usize = streams.iter().map(|s| s.text.len()).sum();
    eprintln!(
        "fleet: {} targets, {} clusters, {docs} documents, {:.1} MB",
        secrets.len(),
        streams.len(),
        bytes as f64 / 1e6
    );

    let mut g = c.benchmark_group("fleet");
    g.sample_size(10);
    g.bench_function("resolve+render+streams", |b| {
        b.iter(|| {
            let project = Project::load(&dir).unwrap();
            let secrets = resolve(&project);
            kit_project::render(&project, &secrets, RenderOptions::default(), &|| {})
                .unwrap()
                .streams()
                .unwrap()
        })
    });
    g.bench_function("render+streams", |b| {
        b.iter(|| {
            kit_project::render(&project, &secrets, RenderOptions::default(), &|| {})
                .unwrap()
                .streams()
                .unwrap()
        })
    });
    let out_root = std::env::temp_dir().join(format!("kit-fleet-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_root);
    let mut n = 0u64;
    let mut fresh = || {
        n += 1;
        out_root.join(n.to_string())
    };
    g.bench_function("render+write_dir", |b| {
        b.iter(|| {
            kit_project::render(&project, &secrets, RenderOptions::default(), &|| {})
                .unwrap()
                .write_dir(&fresh())
                .unwrap()
        })
    });
    let rendered =
        kit_project::render(&project, &secrets, RenderOptions::default(), &|| {}).unwrap();
    g.bench_function("write_dir", |b| {
        b.iter(|| rendered.write_dir(&fresh()).unwrap())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&out_root);
}

criterion_group!(benches, bench);
criterion_main!(benches);
