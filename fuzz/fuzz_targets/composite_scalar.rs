//! Plain scalars made of several pieces (issue 28) against a YAML reader:
//! every shape of fixtures/yaml-safety/composites.json (text, two values,
//! sections; in values, keys, block and flow sequences, flow mappings),
//! rendered with two arbitrary values, must either read back as exactly
//! the pieces put together or be refused with `UnrepresentableScalar`
//! (and an error that never shows a value). Anything else is a silent
//! change of a manifest's shape: a bug.
//!
//! Input layout: `SHAPE-BYTE A \0 B` (B missing is empty).

#![no_main]

use std::sync::OnceLock;

use kit_core::{Engine, Error, Template, Value};
use libfuzzer_sys::fuzz_target;
use serde_json::Value as Json;

struct Shape {
    name: String,
    template: Template,
    path: Vec<Json>,
    key: Option<usize>,
    concat: Vec<String>,
}

fn shapes() -> &'static (Engine, Vec<Shape>) {
    static SHAPES: OnceLock<(Engine, Vec<Shape>)> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let engine = Engine::new();
        let fixture: Vec<Json> = serde_json::from_str(include_str!(
            "../../fixtures/yaml-safety/composites.json"
        ))
        .expect("composites.json parses");
        let shapes = fixture
            .iter()
            .map(|s| {
                let name = s["name"].as_str().unwrap().to_string();
                let template = engine
                    .compile(&name, s["template"].as_str().unwrap())
                    .expect("every shape compiles");
                let key = (s["key"] == Json::Bool(true))
                    .then(|| s["key_index"].as_u64().unwrap_or(0) as usize);
                Shape {
                    name,
                    template,
                    path: s["path"].as_array().cloned().unwrap_or_default(),
                    key,
                    concat: s["concat"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_str().unwrap().to_string())
                        .collect(),
                }
            })
            .collect();
        (engine, shapes)
    })
}

fn read_back(out: &str, shape: &Shape) -> Option<String> {
    let mut at: Value = serde_saphyr::from_str(out).ok()?;
    for p in &shape.path {
        at = match (at, p) {
            (Value::Map(m), Json::String(k)) => m.get(k)?.clone(),
            (Value::List(l), Json::Number(i)) => l.get(i.as_u64()? as usize)?.clone(),
            _ => return None,
        };
    }
    match (at, shape.key) {
        (Value::String(s), None) => Some(s),
        (Value::Map(m), Some(i)) if m.len() == i + 1 => m.keys().nth(i).cloned(),
        _ => None,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (a, b) = text.split_once('\0').unwrap_or((text, ""));
    let (engine, shapes) = shapes();
    let shape = &shapes[usize::from(selector) % shapes.len()];
    let data = Value::from(serde_json::json!({"a": a, "b": b}));
    match shape.template.render(engine, &data) {
        Ok(out) => {
            let expected: String = shape
                .concat
                .iter()
                .map(|p| match p.as_str() {
                    "$a" => a,
                    "$b" => b,
                    text => text,
                })
                .collect();
            assert_eq!(
                read_back(&out, shape).as_deref(),
                Some(expected.as_str()),
                "{}: {a:?} + {b:?} rendered as {out:?}",
                shape.name
            );
        }
        Err(e) => {
            assert!(
                matches!(e, Error::UnrepresentableScalar { .. }),
                "{}: {a:?} + {b:?}: {e}",
                shape.name
            );
            let msg = e.to_string();
            for v in [a, b] {
                assert!(v.len() < 4 || !msg.contains(v), "{msg} shows a value");
            }
        }
    }
});
