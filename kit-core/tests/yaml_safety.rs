//! The YAML escaping guarantee, tested end to end: every hostile value in
//! fixtures/yaml-safety/hostile-values.json, at every YAML position, either
//! reads back (with serde-saphyr, an independent YAML 1.2 reader) as exactly
//! the value the template implies, or rendering fails. Never a silently
//! different value. CI repeats this with PyYAML, a YAML 1.1 reader
//! (tests/yaml_readback.py).

use kit_core::{Engine, Map, Value};

fn hostile_values() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/yaml-safety/hostile-values.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A template with `{{v}}` at one position (fixtures/yaml-safety/positions.json):
/// where the value lands in the parsed document, and the text the template
/// adds around it. `fixed` positions (comments) must not change the document.
#[derive(serde::Deserialize)]
struct Position {
    name: String,
    template: String,
    #[serde(default)]
    path: Vec<serde_json::Value>,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    key: bool,
    /// With `key`: which key of the mapping at `path` holds the value.
    #[serde(default)]
    key_index: usize,
    fixed: Option<String>,
}

fn positions() -> Vec<Position> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/yaml-safety/positions.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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

#[test]
fn hostile_values_read_back_exactly_or_fail() {
    let engine = Engine::new();
    let mut checked = 0;
    let mut refused = 0;
    let mut silent_changes = Vec::new();
    for pos in positions() {
        let tpl = engine.compile(&pos.name, &pos.template).unwrap();
        for v in hostile_values() {
            let mut data = Map::new();
            data.insert("v".into(), Value::String(v.clone()));
            let out = match tpl.render(&engine, &Value::Map(data)) {
                Ok(out) => out,
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        v.len() < 4 || !msg.contains(&v),
                        "error leaks the value: {msg}"
                    );
                    refused += 1;
                    continue;
                }
            };
            checked += 1;
            let doc: Result<Value, _> = serde_saphyr::from_str(&out);
            let expected = match &pos.fixed {
                Some(f) => f.clone(),
                None => format!("{}{v}{}", pos.prefix, pos.suffix),
            };
            let got = match &doc {
                Ok(doc) if pos.key => match lookup(doc, &pos.path) {
                    Some(Value::Map(m)) if m.len() == pos.key_index + 1 => m
                        .keys()
                        .nth(pos.key_index)
                        .map(|k| Value::String(k.clone())),
                    _ => None,
                },
                Ok(doc) => lookup(doc, &pos.path).cloned(),
                Err(_) => None,
            };
            if got != Some(Value::String(expected.clone())) {
                silent_changes.push(format!(
                    "{}: value {v:?} rendered as {out:?}, read back as {:?}",
                    pos.name,
                    doc.map(|d| format!("{d:?}"))
                        .unwrap_or_else(|e| e.to_string())
                ));
            }
        }
    }
    assert!(
        silent_changes.is_empty(),
        "{} silent changes:\n{}",
        silent_changes.len(),
        silent_changes.join("\n")
    );
    // The matrix must have exercised both outcomes substantially.
    assert!(checked > 900, "only {checked} renderings checked");
    assert!(refused > 50, "only {refused} refusals");
}

#[test]
fn numbers_and_booleans_stay_typed_in_plain_positions() {
    let engine = Engine::new();
    let tpl = engine
        .compile(
            "t",
            "replicas: {{r}}\nratio: {{f}}\nbig: {{big}}\nenabled: {{b}}\nnothing: {{n}}\n",
        )
        .unwrap();
    let data: Value =
        serde_json::json!({"r": 3, "f": 0.5, "big": 1e100, "b": true, "n": null}).into();
    let out = tpl.render(&engine, &data).unwrap();
    assert_eq!(
        out,
        "replicas: 3\nratio: 0.5\nbig: 1.0e+100\nenabled: true\nnothing: null\n"
    );
    let back: Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(back.get("replicas"), Some(&Value::Int(3)));
    assert_eq!(back.get("big"), Some(&Value::Float(1e100)));
    assert_eq!(back.get("enabled"), Some(&Value::Bool(true)));
    assert_eq!(back.get("nothing"), Some(&Value::Null));
}

#[test]
fn block_scalars_in_indented_partials_keep_their_indentation() {
    let mut engine = Engine::new();
    engine.add_partial("cm", "data:\n  script: |\n    {{script}}\n");
    let tpl = engine
        .compile("t", "items:\n  - kind: ConfigMap\n    {{>cm}}\n")
        .unwrap();
    let data: Value = serde_json::json!({"script": "a\nb: c\n- d"}).into();
    let out = tpl.render(&engine, &data).unwrap();
    assert_eq!(
        out,
        "items:\n  - kind: ConfigMap\n    data:\n      script: |\n        a\n        b: c\n        - d\n"
    );
}

#[test]
fn raw_tags_are_not_escaped() {
    let engine = Engine::new();
    let tpl = engine.compile("t", "a: {{{v}}}\nb: {{&v}}\n").unwrap();
    let data: Value = serde_json::json!({"v": "yes"}).into();
    assert_eq!(tpl.render(&engine, &data).unwrap(), "a: yes\nb: yes\n");
}

#[test]
fn sensitive_values_in_raw_tags_read_back_exactly_or_fail() {
    let mut checked = 0;
    let mut silent_changes = Vec::new();
    for pos in positions() {
        let raw_template = pos.template.replace("{{v}}", "{{{v}}}");
        for v in hostile_values() {
            let engine = Engine::new().with_sensitive_values([v.clone()]);
            let tpl = engine.compile(&pos.name, &raw_template).unwrap();
            let mut data = Map::new();
            data.insert("v".into(), Value::String(v.clone()));
            let Ok(out) = tpl.render(&engine, &Value::Map(data)) else {
                continue;
            };
            checked += 1;
            let expected = match &pos.fixed {
                Some(f) => f.clone(),
                None => format!("{}{v}{}", pos.prefix, pos.suffix),
            };
            let got = match serde_saphyr::from_str::<Value>(&out) {
                Ok(doc) if pos.key => match lookup(&doc, &pos.path) {
                    Some(Value::Map(m)) if m.len() == pos.key_index + 1 => m
                        .keys()
                        .nth(pos.key_index)
                        .map(|k| Value::String(k.clone())),
                    _ => None,
                },
                Ok(doc) => lookup(&doc, &pos.path).cloned(),
                Err(_) => None,
            };
            if got != Some(Value::String(expected)) {
                silent_changes.push(format!("{}: raw {v:?} rendered as {out:?}", pos.name));
            }
        }
    }
    assert!(silent_changes.is_empty(), "{}", silent_changes.join("\n"));
    assert!(checked > 400, "only {checked} raw renderings checked");
}
