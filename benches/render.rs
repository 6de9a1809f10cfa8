//! The engine alone, in one run against the `mustache` crate (kit's
//! baseline) and ramhorns (typed structs):
//!
//! - `deployment`: a realistic Deployment (95 lines, one container, 40 env
//!   entries);
//! - `fleet`: the three templates of `gen_fleet.py`'s fleet (Deployment,
//!   Service, ConfigMap) rendered for each of its 1,500 targets with the
//!   data kit-project gives them (`template_context`): 4,500 renders per
//!   iteration. Needs python3 to generate the project, once.
//!
//! Run with `cargo bench -p kit-benches --bench render`.

use criterion::{Criterion, criterion_group, criterion_main};
use kit_benches::{Deployment, FleetTarget, fixture, fleet_engine_input, to_json};
use kit_core::{Engine, Escape, Value};
use std::hint::black_box;

/// The lines that are not blank: the baselines skip some of the spec's
/// standalone-line rules, so their output differs in blank lines.
fn content(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

fn bench(c: &mut Criterion) {
    let source = fixture("deployment.mustache");
    let json: serde_json::Value = serde_json::from_str(&fixture("deployment.json")).unwrap();

    let mut g = c.benchmark_group("deployment");

    let yaml = Engine::new();
    let yaml_tpl = yaml.compile("deployment", &source).unwrap();
    let html = Engine::new().with_escape(Escape::Html);
    let html_tpl = html.compile("deployment", &source).unwrap();
    let value = Value::from(&json);
    // The engines must agree before they are timed.
    let kit_html = html_tpl.render(&html, &value).unwrap();

    g.bench_function("kit/yaml", |b| {
        b.iter(|| yaml_tpl.render(&yaml, black_box(&value)).unwrap())
    });
    g.bench_function("kit/yaml(json)", |b| {
        b.iter(|| yaml_tpl.render_json(&yaml, black_box(&json)).unwrap())
    });
    g.bench_function("kit/yaml+convert", |b| {
        b.iter(|| {
            let v = Value::from(black_box(&json));
            yaml_tpl.render(&yaml, &v).unwrap()
        })
    });
    g.bench_function("kit/html", |b| {
        b.iter(|| html_tpl.render(&html, black_box(&value)).unwrap())
    });

    let m_tpl = mustache::compile_str(&source).unwrap();
    let m_data = mustache::to_data(&json).unwrap();
    // The content lines must match.
    let m_out = m_tpl.render_data_to_string(&m_data).unwrap();
    assert_eq!(
        content(&m_out),
        content(&kit_html),
        "mustache crate disagrees"
    );
    g.bench_function("mustache/html", |b| {
        b.iter(|| m_tpl.render_data_to_string(black_box(&m_data)).unwrap())
    });
    g.bench_function("mustache/html+convert", |b| {
        b.iter(|| {
            let d = mustache::to_data(black_box(&json)).unwrap();
            m_tpl.render_data_to_string(&d).unwrap()
        })
    });

    let r_tpl = ramhorns::Template::new(source.as_str()).unwrap();
    let typed: Deployment = serde_json::from_value(json.clone()).unwrap();
    let r_out = r_tpl.render(&typed);
    g.bench_function("ramhorns/html", |b| {
        b.iter(|| r_tpl.render(black_box(&typed)))
    });
    g.finish();
    assert_eq!(content(&r_out), content(&kit_html), "ramhorns disagrees");
}

/// Renders each template with each target's data: the bytes written.
fn every<D, T>(data: &[D], templates: &[T], render: impl Fn(&T, &D) -> usize) -> usize {
    data.iter()
        .map(|d| {
            templates
                .iter()
                .map(|t| render(t, black_box(d)))
                .sum::<usize>()
        })
        .sum()
}

fn fleet(c: &mut Criterion) {
    let (contexts, sources) = fleet_engine_input();
    let json: Vec<serde_json::Value> = contexts.iter().map(to_json).collect();
    let typed: Vec<FleetTarget> = contexts.iter().map(FleetTarget::from_context).collect();

    let engine = Engine::new();
    let kit: Vec<_> = sources
        .iter()
        .map(|s| engine.compile("fleet", s).unwrap())
        .collect();
    let horns: Vec<_> = sources
        .iter()
        .map(|s| ramhorns::Template::new(s.as_str()).unwrap())
        .collect();
    // Every output agrees before anything is timed (the fleet's values
    // need no escaping in either language).
    for ((ctx, typed), json) in contexts.iter().zip(&typed).zip(&json) {
        for (k, r) in kit.iter().zip(&horns) {
            let out = k.render(&engine, ctx).unwrap();
            assert_eq!(
                content(&out),
                content(&r.render(typed)),
                "ramhorns disagrees"
            );
            assert_eq!(out, k.render_json(&engine, json).unwrap());
        }
    }

    let mut g = c.benchmark_group("fleet");
    g.sample_size(20);
    g.bench_function("kit/yaml", |b| {
        b.iter(|| every(&contexts, &kit, |t, d| t.render(&engine, d).unwrap().len()))
    });
    g.bench_function("kit/yaml(json)", |b| {
        b.iter(|| every(&json, &kit, |t, d| t.render_json(&engine, d).unwrap().len()))
    });
    g.bench_function("ramhorns/html", |b| {
        b.iter(|| every(&typed, &horns, |t, d| t.render(d).len()))
    });
    g.finish();
}

criterion_group!(benches, bench, fleet);
criterion_main!(benches);
