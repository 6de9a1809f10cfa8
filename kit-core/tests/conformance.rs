//! Conformance: the official mustache spec (from KIT_MUSTACHE_SPEC_DIR) and
//! kit's own cases in fixtures/conformance/, both in the spec's JSON format.
//!
//! kit's own case files may add, per test: `"escape"` (`"yaml"`, `"html"`,
//! `"none"`; default `"html"` as in the spec), `"undefined"` (`"strict"` or
//! `"lenient"`; default `"lenient"`), and instead of `"expected"`, an
//! `"error"`: the exact error message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kit_core::{Engine, Escape, UndefinedBehavior, Value};
use serde_json::Value as Json;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The spec's lambdas, as Rust closures, by test name.
fn spec_lambda(test: &str) -> Value {
    match test {
        "Interpolation" => Value::lambda(|_| "world".into()),
        "Interpolation - Expansion" => Value::lambda(|_| "{{planet}}".into()),
        "Interpolation - Alternate Delimiters" => {
            Value::lambda(|_| "|planet| => {{planet}}".into())
        }
        "Interpolation - Multiple Calls" => {
            let calls = Arc::new(AtomicUsize::new(0));
            Value::lambda(move |_| (calls.fetch_add(1, Ordering::SeqCst) + 1).to_string())
        }
        "Escaping" => Value::lambda(|_| ">".into()),
        "Section" => Value::lambda(|t| if t == "{{x}}" { "yes" } else { "no" }.into()),
        "Section - Expansion" => Value::lambda(|t| format!("{t}{{{{planet}}}}{t}")),
        "Section - Alternate Delimiters" => {
            Value::lambda(|t| format!("{t}{{{{planet}}}} => |planet|{t}"))
        }
        "Section - Multiple Calls" => Value::lambda(|t| format!("__{t}__")),
        "Inverted Section" => Value::lambda(|_| String::new()),
        other => panic!("no Rust lambda for spec test {other:?}"),
    }
}

fn to_data(json: &Json, test: &str) -> Value {
    match json {
        Json::Object(m) if m.get("__tag__").and_then(Json::as_str) == Some("code") => {
            spec_lambda(test)
        }
        Json::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), to_data(v, test)))
                .collect(),
        ),
        Json::Array(a) => Value::List(a.iter().map(|v| to_data(v, test)).collect()),
        other => Value::from(other),
    }
}

/// Runs one case; `Err` describes a failure.
fn run_case(t: &Json) -> Result<(), String> {
    let name = t["name"].as_str().unwrap_or("?");
    let escape = match t.get("escape").and_then(Json::as_str) {
        None | Some("html") => Escape::Html,
        Some("yaml") => Escape::Yaml,
        Some("none") => Escape::None,
        Some(other) => return Err(format!("unknown escape {other:?}")),
    };
    let undefined = match t.get("undefined").and_then(Json::as_str) {
        None | Some("lenient") => UndefinedBehavior::Lenient,
        Some("strict") => UndefinedBehavior::Strict,
        Some(other) => return Err(format!("unknown undefined {other:?}")),
    };
    let mut engine = Engine::new().with_escape(escape).with_undefined(undefined);
    if let Some(Json::Object(partials)) = t.get("partials") {
        for (k, v) in partials {
            engine.add_partial(k.clone(), v.as_str().unwrap_or_default());
        }
    }
    let template = t["template"].as_str().unwrap_or_default();
    let data = to_data(&t["data"], name);
    let result = engine
        .compile("template", template)
        .and_then(|tpl| tpl.render(&engine, &data));
    // Tracing never changes the output (it only records where pieces come
    // from), and every position of the output maps to some template line.
    // (Not with lambdas: some count their calls.)
    let has_lambda = t["data"].to_string().contains("\"lambda\"");
    if let (Ok(out), false) = (&result, has_lambda) {
        let tpl = engine
            .compile("template", template)
            .expect("compiled above");
        let (traced, trace) = tpl
            .render_traced(&engine, &data)
            .map_err(|e| format!("traced render failed: {e}"))?;
        if &traced != out {
            return Err(format!("traced output differs: {traced:?}"));
        }
        for (i, _) in out.char_indices() {
            if let Some(loc) = trace.locate(out, i)
                && (loc.line == 0 || loc.column == 0)
            {
                return Err(format!("offset {i} maps to {loc:?}"));
            }
        }
    }
    match (result, t.get("expected"), t.get("error")) {
        (Ok(out), Some(Json::String(exp)), _) if out == *exp => Ok(()),
        (Ok(out), Some(exp), _) => Err(format!("expected {exp}, got {:?}", out)),
        (Err(e), _, Some(Json::String(exp))) if e.to_string() == *exp => Ok(()),
        (Err(e), _, Some(exp)) => Err(format!(
            "expected error {exp}, got error {:?}",
            e.to_string()
        )),
        (Err(e), _, None) => Err(format!("unexpected error: {e}")),
        (Ok(out), None, _) => Err(format!("expected an error, got {out:?}")),
    }
}

/// Runs every `*.json` file in `dir`; returns (passed, failures).
fn run_dir(dir: &Path) -> (usize, Vec<String>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .json spec files in {}",
        dir.display()
    );
    let mut passed = 0;
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let spec: Json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let tests = spec["tests"].as_array().expect("a tests array");
        let mut file_passed = 0;
        for t in tests {
            match run_case(t) {
                Ok(()) => file_passed += 1,
                Err(why) => failures.push(format!(
                    "{} / {}: {why}",
                    file.file_name().unwrap().to_string_lossy(),
                    t["name"].as_str().unwrap_or("?")
                )),
            }
        }
        println!(
            "{:<24} {file_passed}/{} passed",
            file.file_name().unwrap().to_string_lossy(),
            tests.len()
        );
        passed += file_passed;
    }
    (passed, failures)
}

fn check(dir: &Path) {
    let (passed, failures) = run_dir(dir);
    println!(
        "{}: {passed} passed, {} failed",
        dir.display(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[cfg_attr(
    not(kit_spec),
    ignore = "KIT_MUSTACHE_SPEC_DIR is unset: the official mustache spec was NOT run"
)]
fn official_spec() {
    let dir = std::env::var_os("KIT_MUSTACHE_SPEC_DIR")
        .expect("KIT_MUSTACHE_SPEC_DIR was set when this test was built, but is unset now");
    let dir = PathBuf::from(dir);
    // Relative paths are relative to the workspace root, where the README's
    // commands run.
    let dir = if dir.is_relative() {
        workspace_root().join(dir)
    } else {
        dir
    };
    check(&dir);
}

#[test]
fn kit_conformance_cases() {
    check(&workspace_root().join("fixtures/conformance"));
}

#[test]
fn spec_lambdas_cover_the_spec_names() {
    // Every lambda the spec names has a closure (panics otherwise).
    let names: HashMap<&str, ()> = [
        "Interpolation",
        "Interpolation - Expansion",
        "Interpolation - Alternate Delimiters",
        "Interpolation - Multiple Calls",
        "Escaping",
        "Section",
        "Section - Expansion",
        "Section - Alternate Delimiters",
        "Section - Multiple Calls",
        "Inverted Section",
    ]
    .into_iter()
    .map(|n| (n, ()))
    .collect();
    for n in names.keys() {
        let _ = spec_lambda(n);
    }
}
