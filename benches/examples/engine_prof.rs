//! One engine rendering the bench Deployment N times, for profilers:
//! `valgrind --tool=callgrind target/release/examples/engine_prof yaml 2000`
//! counts instructions (the same on a busy machine; subtract a run with
//! N = 0 for the set-up), `perf record` samples time. MODE is `yaml`
//! (kit, YAML escaping, from `serde_json::Value`), `html` (kit, HTML
//! escaping) or `ramhorns` (typed structs); `fleet-yaml` (kit's `Value`),
//! `fleet-json` and `fleet-ramhorns` render the fleet of the `render`
//! bench (3 templates x 1,500 targets) N times instead, and print on
//! stderr the milliseconds of the renders alone (the set-up, which reads
//! the fleet's project, takes longer than the renders). Fleet modes take
//! the targets one after another, each target's templates once per pass:
//! each target's data has left the cache by its next turn, as when a
//! harness renders many targets. With `HOT=1` each target's templates are
//! rendered N times in a row instead: its data stays in the cache, as in
//! `kit render`, which renders a target's context right after building it.
//! With `TEMPLATE=deployment` (or `service`, `configmap`) fleet modes
//! render that one template only, for a count per template.
//!
//! Build with `cargo build --release -p kit-benches --example engine_prof`.

use kit_benches::{Deployment, FLEET_TEMPLATES, FleetTarget, fixture, fleet_engine_input, to_json};
use kit_core::{Engine, Escape};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "yaml".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    if let Some(which) = mode.strip_prefix("fleet-") {
        return fleet(which, n);
    }
    let source = fixture("deployment.mustache");
    let json: serde_json::Value = serde_json::from_str(&fixture("deployment.json")).unwrap();
    let mut bytes = 0;
    match mode.as_str() {
        "ramhorns" => {
            let tpl = ramhorns::Template::new(source.as_str()).unwrap();
            let typed: Deployment = serde_json::from_value(json).unwrap();
            for _ in 0..n {
                bytes += black_box(tpl.render(black_box(&typed))).len();
            }
        }
        "yaml" | "html" => {
            let engine = match mode.as_str() {
                "html" => Engine::new().with_escape(Escape::Html),
                _ => Engine::new(),
            };
            let tpl = engine.compile("deployment", &source).unwrap();
            for _ in 0..n {
                bytes += black_box(tpl.render_json(&engine, black_box(&json)).unwrap()).len();
            }
        }
        other => panic!("MODE is yaml, html or ramhorns, not {other}"),
    }
    println!("{n} renders, {bytes} bytes");
}

/// The fleet's three templates for each of its targets, `n` times.
fn fleet(which: &str, n: usize) {
    let (contexts, mut sources) = fleet_engine_input();
    if let Some(only) = std::env::var_os("TEMPLATE") {
        let only = only.to_string_lossy().into_owned();
        let at = FLEET_TEMPLATES
            .iter()
            .position(|t| *t == only)
            .unwrap_or_else(|| panic!("TEMPLATE is deployment, service or configmap, not {only}"));
        sources = vec![sources.swap_remove(at)];
    }
    // Passes over the targets, and renders of a target's templates in a
    // row per pass.
    let (passes, repeats) = match std::env::var_os("HOT") {
        Some(_) => (1, n),
        None => (n, 1),
    };
    let mut bytes = 0;
    let elapsed = match which {
        "ramhorns" => {
            let typed: Vec<FleetTarget> = contexts.iter().map(FleetTarget::from_context).collect();
            let tpls: Vec<_> = sources
                .iter()
                .map(|s| ramhorns::Template::new(s.as_str()).unwrap())
                .collect();
            let start = Instant::now();
            for _ in 0..passes {
                for data in &typed {
                    for _ in 0..repeats {
                        for t in &tpls {
                            bytes += black_box(t.render(black_box(data))).len();
                        }
                    }
                }
            }
            start.elapsed()
        }
        "yaml" | "json" => {
            let engine = Engine::new();
            let tpls: Vec<_> = sources
                .iter()
                .map(|s| engine.compile("fleet", s).unwrap())
                .collect();
            let json: Vec<serde_json::Value> = contexts.iter().map(to_json).collect();
            let start = Instant::now();
            for _ in 0..passes {
                for (ctx, json) in contexts.iter().zip(&json) {
                    for _ in 0..repeats {
                        for t in &tpls {
                            let out = if which == "json" {
                                t.render_json(&engine, black_box(json))
                            } else {
                                t.render(&engine, black_box(ctx))
                            };
                            bytes += black_box(out.unwrap()).len();
                        }
                    }
                }
            }
            start.elapsed()
        }
        other => panic!("MODE is fleet-yaml, fleet-json or fleet-ramhorns, not fleet-{other}"),
    };
    eprintln!("{:.3}", elapsed.as_secs_f64() * 1e3);
    println!(
        "{n} x {} renders, {bytes} bytes",
        contexts.len() * sources.len()
    );
}
