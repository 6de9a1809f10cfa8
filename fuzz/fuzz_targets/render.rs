//! Parse and render arbitrary templates with arbitrary data, in every
//! escaping mode, with partials that may recurse and every data string
//! marked sensitive (the raw-tag guard), then check the YAML output as
//! `kit render` does (documents, keys, checksum annotation). Any panic,
//! overflow or hang is a bug; errors are fine. The two data paths (kit's
//! Value and borrowed JSON) must agree exactly.
//!
//! Input layout: `TEMPLATE \0 PARTIAL \0 JSON-DATA` (missing parts are empty).

#![no_main]

use kit_core::{Engine, Escape, UndefinedBehavior, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut parts = text.splitn(3, '\0');
    let template = parts.next().unwrap_or_default();
    let partial = parts.next().unwrap_or_default();
    let data = parts.next().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(data).unwrap_or_else(|_| {
        serde_json::json!({
            "a": "yes", "b": [1, "x: y", {"c": "\n"}], "d": {"e": "!x", "f": null},
            "t": true, "n": 1.5e300, "p": "p", "s": "'\"\\#"
        })
    });
    let value = Value::from(&json);
    let mut sensitive = Vec::new();
    collect_strings(&json, &mut sensitive);
    for escape in [Escape::Yaml, Escape::Html, Escape::None] {
        for undefined in [UndefinedBehavior::Strict, UndefinedBehavior::Lenient] {
            let mut engine = Engine::new()
                .with_escape(escape)
                .with_undefined(undefined)
                .with_sensitive_values(sensitive.clone());
            engine.add_partial("p", partial);
            if let Ok(t) = engine.compile("fuzz", template) {
                let a = t.render(&engine, &value);
                let b = t.render_json(&engine, &json);
                // Both data paths must agree exactly.
                assert_eq!(a.is_ok(), b.is_ok());
                if let (Ok(a), Ok(b)) = (a, b) {
                    assert_eq!(a, b);
                    if escape == Escape::Yaml {
                        let mask = kit_project::Masker::new(sensitive.clone());
                        if let Ok(docs) = kit_project::check::check_output("fuzz", &a, &mask) {
                            for mut d in docs {
                                let _ = kit_project::annotate::label_and_annotate(
                                    &mut d,
                                    &[("kit.dev/l", "v")],
                                    &[("kit.dev/k", "v")],
                                    &mask,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
});

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(m) => m.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}
