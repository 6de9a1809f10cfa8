//! One engine rendering the bench Deployment N times, for profilers:
//! `valgrind --tool=callgrind target/release/examples/engine_prof yaml 2000`
//! counts instructions (the same on a busy machine; subtract a run with
//! N = 0 for the set-up), `perf record` samples time. MODE is `yaml`
//! (kit, YAML escaping, from `serde_json::Value`), `html` (kit, HTML
//! escaping) or `ramhorns` (typed structs).
//!
//! Build with `cargo build --release -p kit-benches --example engine_prof`.

use kit_benches::{Deployment, fixture};
use kit_core::{Engine, Escape};
use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "yaml".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
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
