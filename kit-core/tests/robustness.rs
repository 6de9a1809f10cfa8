//! Hostile templates fail cleanly: no stack overflow, no panic, no hang.
//! (Speed is measured by the benches, never asserted here.)

use kit_core::{Engine, Error, Escape, SyntaxErrorKind, UndefinedBehavior, Value};

fn data() -> Value {
    serde_json::json!({"v": "x", "list": [1, 2], "yes": true}).into()
}

#[test]
fn ten_thousand_nested_sections_fail_cleanly() {
    let engine = Engine::new();
    let src = "{{#yes}}".repeat(10_000) + "x" + &"{{/yes}}".repeat(10_000);
    match engine.compile("deep", &src) {
        Err(Error::Syntax {
            kind: SyntaxErrorKind::TooDeep(limit),
            location,
        }) => {
            assert_eq!(limit, 100);
            assert_eq!((location.line, location.column), (1, 8 * 100 + 1));
        }
        other => panic!("expected a nesting error, got {other:?}"),
    }
    // Just under the limit renders.
    let src = "{{#yes}}".repeat(90) + "x" + &"{{/yes}}".repeat(90);
    let t = engine.compile("deep", &src).unwrap();
    assert_eq!(t.render(&engine, &data()).unwrap(), "x");
}

#[test]
fn recursive_partials_and_parents_hit_the_depth_limit() {
    for (name, partial) in [
        ("p", "a{{>p}}"),
        ("p", "{{<p}}{{/p}}"),
        ("p", "{{#list}}{{>p}}{{/list}}"),
    ] {
        let mut engine = Engine::new().with_escape(Escape::None);
        engine.add_partial(name, partial);
        let t = engine.compile("main", "{{>p}}").unwrap();
        match t.render(&engine, &data()) {
            Err(Error::TooDeep { limit, .. }) => assert_eq!(limit, kit_core::DEFAULT_MAX_DEPTH),
            other => panic!("{partial}: expected TooDeep, got {other:?}"),
        }
    }
}

#[test]
fn self_expanding_lambdas_hit_the_depth_limit() {
    let mut data = kit_core::Map::new();
    data.insert("l".into(), Value::lambda(|_| "{{#l}}again{{/l}}".into()));
    let engine = Engine::new().with_escape(Escape::None);
    let t = engine.compile("main", "{{#l}}x{{/l}}").unwrap();
    assert!(matches!(
        t.render(&engine, &Value::Map(data)),
        Err(Error::TooDeep { .. })
    ));
}

#[test]
fn ten_megabyte_templates_render() {
    // 10 MB of YAML lines, each with an escaped tag.
    let line = "key_with_some_padding_text: {{v}} # a comment to make the line longer\n";
    let src = line.repeat(10 * 1024 * 1024 / line.len());
    let engine = Engine::new();
    let t = engine.compile("big", &src).unwrap();
    let out = t.render(&engine, &data()).unwrap();
    assert_eq!(out.len(), src.len() - (src.len() / line.len()) * 4);
    // 10 MB on one line, tags and text interleaved.
    let unit = "{{v}}-{{#yes}}y{{/yes}}";
    let reps = 10 * 1024 * 1024 / unit.len();
    let src = unit.repeat(reps);
    let engine = Engine::new().with_escape(Escape::Html);
    let t = engine.compile("one-line", &src).unwrap();
    assert_eq!(t.render(&engine, &data()).unwrap(), "x-y".repeat(reps));
}

#[test]
fn ten_megabytes_of_plain_text_compile_in_one_piece() {
    // Hundreds of thousands of lines without a tag (linear, not quadratic).
    let src = "just: text, no tags\n".repeat(10 * 1024 * 1024 / 20) + "{{v}}";
    let engine = Engine::new().with_escape(Escape::None);
    let t = engine.compile("text", &src).unwrap();
    let out = t.render(&engine, &data()).unwrap();
    assert_eq!(out.len(), src.len() - 4);
}

#[test]
fn garbage_never_panics() {
    let engine = Engine::new().with_undefined(UndefinedBehavior::Lenient);
    for src in [
        "{{",
        "}}",
        "{{{",
        "{{{x}}",
        "{{#}}",
        "{{/}}",
        "{{=}}",
        "{{= =}}",
        "{{=a b c=}}",
        "{{>}}",
        "{{<x}}",
        "{{$x}}",
        "{{/x}}{{#x}}",
        "{{#x}}{{/y}}",
        "{{!",
        "{{=| |=}}|x",
        "|x|",
        "{{ . }}",
        "{{..}}",
        "{{a.}}",
        "{{.a}}",
        "{{>*}}",
        "{{>* }}",
        "{{#a}}{{=<% %>=}}<%/a%>",
        "\r\n{{#a}}\r",
        "{{$a}}{{$a}}{{/a}}{{/a}}",
        "{{<*a}}{{/a}}",
        "é{{é}}\u{0}",
        "{{&}}",
        "{{^}}",
    ] {
        let _ = engine.compile("g", src).map(|t| t.render(&engine, &data()));
    }
}
