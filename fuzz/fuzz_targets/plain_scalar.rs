//! The plain-scalar fast path, against a YAML reader: every string that
//! `is_plain_string` lets through unquoted must read back as exactly that
//! string, in block context (`v: S`) and inside a flow sequence (`v: [S]`);
//! and every string written by `write_string_scalar` must read back exactly,
//! quoted or not. A difference is a silent change of a value: a bug.

#![no_main]

use kit_core::Value;
use kit_core::yaml::{is_plain_string, write_string_scalar};
use libfuzzer_sys::fuzz_target;

fn read_back(doc: &str, flow: bool) -> Option<String> {
    let v: Value = serde_saphyr::from_str(doc).ok()?;
    let Value::Map(m) = v else { return None };
    match (m.get("v")?, flow) {
        (Value::String(s), false) => Some(s.clone()),
        (Value::List(l), true) if l.len() == 1 => match &l[0] {
            Value::String(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(s) = std::str::from_utf8(input) else {
        return;
    };
    for flow in [false, true] {
        let mut written = String::new();
        write_string_scalar(&mut written, s, flow);
        if is_plain_string(s, flow) {
            assert_eq!(written, s, "plain strings are written as they are");
        }
        let doc = if flow {
            format!("v: [{written}]\n")
        } else {
            format!("v: {written}\n")
        };
        assert_eq!(
            read_back(&doc, flow).as_deref(),
            Some(s),
            "{doc:?} must read back as {s:?}"
        );
    }
});
