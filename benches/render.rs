//! Rendering a realistic Deployment (95 lines, one container, 40 env
//! entries): kit-core against the `mustache` crate (kit's baseline) and
//! ramhorns, in one run.
//!
//! Run with `cargo bench -p kit-benches --bench render`.

use criterion::{Criterion, criterion_group, criterion_main};
use kit_benches::{Deployment, fixture};
use kit_core::{Engine, Escape, Value};
use std::hint::black_box;

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
    // The baselines skip some of the spec's standalone-line rules, so their
    // output differs in blank lines; the content lines must match.
    let content = |s: &str| {
        s.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
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

criterion_group!(benches, bench);
criterion_main!(benches);
