//! Plain scalars made of several pieces (issue 28): literal text, two
//! values, sections inside the scalar. Every shape of
//! fixtures/yaml-safety/composites.json with every pair of values of
//! fixtures/yaml-safety/composite-values.json either reads back (with
//! serde-saphyr) as exactly the text the pieces make together, or is
//! refused with an error that names the template position and no value.
//! CI repeats the matrix through the binary with PyYAML, libyaml and
//! gopkg.in/yaml.v2 (tests/yaml_readback.py).

use kit_core::{Engine, Error, Value};

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!(
        "{}/../fixtures/yaml-safety/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(serde::Deserialize)]
struct Shape {
    name: String,
    template: String,
    #[serde(default)]
    path: Vec<serde_json::Value>,
    #[serde(default)]
    key: bool,
    #[serde(default)]
    key_index: usize,
    /// The pieces: `$a` and `$b` stand for the values, the rest is text.
    concat: Vec<String>,
}

impl Shape {
    fn expected(&self, a: &str, b: &str) -> String {
        self.concat
            .iter()
            .map(|p| match p.as_str() {
                "$a" => a,
                "$b" => b,
                text => text,
            })
            .collect()
    }
}

fn lookup<'a>(mut v: &'a Value, path: &[serde_json::Value]) -> Option<&'a Value> {
    for p in path {
        v = match (v, p) {
            (Value::Map(m), serde_json::Value::String(k)) => m.get(k)?,
            (Value::List(l), serde_json::Value::Number(i)) => l.get(i.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

fn read_back(out: &str, shape: &Shape) -> Option<Value> {
    let doc: Value = serde_saphyr::from_str(out).ok()?;
    let at = lookup(&doc, &shape.path)?;
    if !shape.key {
        return Some(at.clone());
    }
    match at {
        Value::Map(m) if m.len() == shape.key_index + 1 => m
            .keys()
            .nth(shape.key_index)
            .map(|k| Value::String(k.clone())),
        _ => None,
    }
}

#[test]
fn composite_scalars_read_back_as_their_pieces_together_or_fail() {
    let shapes: Vec<Shape> = fixture("composites.json");
    let values: Vec<String> = fixture("composite-values.json");
    let engine = Engine::new();
    let (mut checked, mut quoted, mut refused) = (0, 0, 0);
    let mut silent_changes = Vec::new();
    for shape in &shapes {
        let tpl = engine.compile(&shape.name, &shape.template).unwrap();
        for a in &values {
            for b in &values {
                let data: Value = serde_json::json!({"a": a, "b": b}).into();
                let out = match tpl.render(&engine, &data) {
                    Ok(out) => out,
                    Err(e) => {
                        let msg = e.to_string();
                        for v in [a, b] {
                            assert!(v.len() < 3 || !msg.contains(v.as_str()), "{msg}");
                        }
                        assert!(
                            matches!(e, Error::UnrepresentableScalar { .. }),
                            "{}: {a:?} {b:?}: {msg}",
                            shape.name
                        );
                        assert!(msg.starts_with(&format!("{}:", shape.name)), "{msg}");
                        refused += 1;
                        continue;
                    }
                };
                checked += 1;
                quoted += usize::from(out.contains('"') && !shape.template.contains('"'));
                let expected = shape.expected(a, b);
                let got = read_back(&out, shape);
                if got != Some(Value::String(expected.clone())) {
                    silent_changes.push(format!(
                        "{}: {a:?} + {b:?} rendered as {out:?}, read back as {got:?}, not {expected:?}",
                        shape.name
                    ));
                }
            }
        }
    }
    assert!(
        silent_changes.is_empty(),
        "{} silent changes:\n{}",
        silent_changes.len(),
        silent_changes.join("\n")
    );
    // The matrix reaches every outcome: most pairs are quoted, some refused
    // (keys that read `<<`), the others written as they are.
    let total = shapes.len() * values.len() * values.len();
    assert_eq!(checked + refused, total);
    assert!(quoted > total / 2, "{quoted} of {total} quoted");
    assert!(checked - quoted > total / 20, "{} plain", checked - quoted);
    assert!((1..total / 100).contains(&refused), "{refused} refused");
}

fn render(template: &str, data: serde_json::Value) -> Result<String, String> {
    let engine = Engine::new();
    let tpl = engine
        .compile("t.yaml", template)
        .map_err(|e| e.to_string())?;
    tpl.render(&engine, &Value::from(data))
        .map_err(|e| e.to_string())
}

/// The cases of issue 28, each of which used to render a document that
/// read back as something else, with exit 0.
#[test]
fn values_safe_alone_but_not_together_are_quoted_together() {
    let cases = [
        (
            "- {{host}}:{{port}}\n",
            serde_json::json!({"host": "8080", "port": ""}),
            "- \"8080:\"\n",
        ),
        (
            "msg: {{a}}{{b}}\n",
            serde_json::json!({"a": "release ", "b": "#42"}),
            "msg: \"release #42\"\n",
        ),
        (
            "msg: {{a}}{{b}}\n",
            serde_json::json!({"a": "", "b": "#42"}),
            "msg: \"#42\"\n",
        ),
        (
            "msg: {{a}}#1\n",
            serde_json::json!({"a": "build "}),
            "msg: \"build #1\"\n",
        ),
        (
            "image: {{i}}{{#t}}:{{t}}{{/t}}\n",
            serde_json::json!({"i": "pg-14", "t": ""}),
            "image: \"pg-14:\"\n",
        ),
    ];
    for (template, data, expected) in cases {
        assert_eq!(
            render(template, data).as_deref(),
            Ok(expected),
            "{template}"
        );
    }
}

#[test]
fn safe_composites_keep_their_bytes() {
    let data = serde_json::json!({
        "repo": "registry.example.com/team", "name": "web", "tag": "1.27.3",
        "host": "db.internal", "port": 5432, "n": 7, "t": "", "none": false,
    });
    let template = "image: {{repo}}/{{name}}:{{tag}}\n\
                    - {{host}}:{{port}}\n\
                    name: build-{{n}}\n\
                    image2: {{name}}{{#t}}:{{t}}{{/t}}{{#none}}x{{/none}}\n\
                    args: [--host={{host}}, --name, {{name}}-x]\n\
                    {{name}}-key: v\n";
    assert_eq!(
        render(template, data).unwrap(),
        "image: registry.example.com/team/web:1.27.3\n\
         - db.internal:5432\n\
         name: build-7\n\
         image2: \"web:\"\n\
         args: [--host=db.internal, --name, web-x]\n\
         web-key: v\n"
    );
}

#[test]
fn a_composite_is_a_string_even_when_its_text_reads_as_a_number() {
    // `{{n}}0` is text, not arithmetic: it reads back as the string "10".
    assert_eq!(
        render(
            "v: {{n}}0\nw: {{major}}.{{minor}}\n",
            serde_json::json!({"n": 1, "major": 1, "minor": 2})
        ),
        Ok("v: \"10\"\nw: \"1.2\"\n".into())
    );
    // A whole tag keeps its type.
    assert_eq!(
        render("v: {{n}}\n", serde_json::json!({"n": 1})),
        Ok("v: 1\n".into())
    );
}

#[test]
fn composites_that_no_quoting_can_hold_are_refused_with_the_names() {
    let err = render("{{a}}{{b}}: x\n", serde_json::json!({"a": "<", "b": "<"})).unwrap_err();
    assert_eq!(
        err,
        "t.yaml:1:1: the plain scalar made of 'a' and 'b' cannot be written safely: together its pieces read '<<', which some YAML readers (gopkg.in/yaml.v2) take as a merge key however it is quoted"
    );
    let long = "k".repeat(1100);
    let err = render("pre-{{a}}: x\n", serde_json::json!({"a": long})).unwrap_err();
    assert!(err.starts_with("t.yaml:1:1: the plain scalar made of 'a' cannot be written safely: it would be a mapping key of 1104 characters"), "{err}");
    // A raw piece is not quoted by kit.
    let err = render(
        "k: {{{a}}}{{b}}\n",
        serde_json::json!({"a": "x", "b": " #y"}),
    )
    .unwrap_err();
    assert!(err.starts_with("t.yaml:1:4: the plain scalar made of 'a' and 'b' cannot be written safely: one of its pieces is a raw value"), "{err}");
    assert_eq!(
        render(
            "k: {{{a}}}{{b}}\n",
            serde_json::json!({"a": "x", "b": "-y"})
        ),
        Ok("k: x-y\n".into())
    );
    // Null has no text inside a larger scalar.
    let err = render("k: x-{{a}}\n", serde_json::json!({"a": null})).unwrap_err();
    assert!(err.contains("it is null"), "{err}");
}

#[test]
fn sections_that_cross_the_scalar_are_refused_when_compiled() {
    let engine = Engine::new();
    let err = engine
        .compile("t.yaml", "k: {{a}}-{{#b}}y\nj: z{{/b}}\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.yaml:1:4: the plain scalar made of 'a' cannot be written safely: a section opens inside it and closes after it (or the other way round), so the text it is made of depends on the data in a way kit cannot judge"
    );
    assert!(err.hint().unwrap().contains("{{#name}} and {{/name}}"));
    // A section wholly inside, or wrapping the scalar's start, is fine.
    for ok in [
        "k: {{#b}}{{a}}{{/b}}{{^b}}default{{/b}}-x\n",
        "k: {{#b}}x-{{a}}{{/b}}-y\n",
        "{{#b}}- {{a}}-y\n{{/b}}",
        "k: {{! note }}{{a}}-{{b}}{{! more }}\n",
    ] {
        assert!(engine.compile("t.yaml", ok).is_ok(), "{ok}");
    }
}

#[test]
fn composites_in_indented_partials_and_lists() {
    let mut engine = Engine::new();
    engine.add_partial("c", "- name: {{name}}\n  image: repo/{{name}}:{{tag}}\n");
    let tpl = engine
        .compile("t", "containers:\n  {{#cs}}\n  {{>c}}\n  {{/cs}}\n")
        .unwrap();
    let data: Value = serde_json::json!({"cs": [
        {"name": "a", "tag": "1"},
        {"name": "b", "tag": "x #y"},
    ]})
    .into();
    assert_eq!(
        tpl.render(&engine, &data).unwrap(),
        "containers:\n  - name: a\n    image: repo/a:1\n  - name: b\n    image: \"repo/b:x #y\"\n"
    );
}

#[test]
fn the_trace_maps_past_a_quoted_composite() {
    let engine = Engine::new();
    let tpl = engine.compile("t", "a: {{x}}{{y}}\nb: {{z}}\n").unwrap();
    let data: Value = serde_json::json!({"x": "1 ", "y": "#2", "z": "q"}).into();
    let (out, trace) = tpl.render_traced(&engine, &data).unwrap();
    assert_eq!(out, "a: \"1 #2\"\nb: q\n");
    let at = out.find("q").unwrap();
    let loc = trace.locate(&out, at).unwrap();
    assert_eq!((loc.line, loc.column), (2, 4));
}
