//! Reading the YAML (and JSON) files people write: `kit.yaml`, values files,
//! `kit template` data. One reading everywhere, YAML 1.2 and literal:
//!
//! - keys and values `y`, `n`, `yes`, `no`, `on`, `off` are strings (only
//!   `true`/`false` are booleans), `1_000` is a string;
//! - a number keeps the value written or the file is refused: `010`, `0777`
//!   (a leading zero: octal to YAML 1.1 readers, decimal to YAML 1.2 ones),
//!   integers beyond 64 bits, and decimals with more digits than a 64-bit
//!   float keeps are errors with line and column and a hint (quote it, or
//!   write `0o777`);
//! - duplicate keys are errors, in JSON too (JSON is read as YAML 1.2);
//! - at most [`max_nodes`] nodes per file (alias bombs stay bounded); the
//!   limit is raised with the `KIT_YAML_MAX_NODES` environment variable.

use std::path::Path;

use granit_parser::{Event, Parser, ScalarStyle};

use crate::error::ProjectError;
use kit_core::Value;

/// The default node budget of one file: 5,000,000 nodes (a 64 MiB file
/// holds at most about 10 million).
pub const DEFAULT_MAX_NODES: usize = 5_000_000;

/// The environment variable the `kit` CLI reads the node budget from (and
/// that messages about the budget name); the library itself reads no
/// environment: a program sets the budget with [`set_max_nodes`].
pub const MAX_NODES_VAR: &str = "KIT_YAML_MAX_NODES";

static MAX_NODES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_NODES);

/// Sets the node budget of every file this process reads (0: the default).
pub fn set_max_nodes(n: usize) {
    let n = if n == 0 { DEFAULT_MAX_NODES } else { n };
    MAX_NODES.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// The node budget: what [`set_max_nodes`] set, else [`DEFAULT_MAX_NODES`].
pub fn max_nodes() -> usize {
    MAX_NODES.load(std::sync::atomic::Ordering::Relaxed)
}

fn options(max_nodes: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = max_nodes;
    budget.max_events = max_nodes.saturating_mul(2).saturating_add(16);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.strict_booleans = true;
    options.underscored_numbers_as_strings = true;
    options
}

/// Parses `text` (the contents of `path`, used in messages) the kit way.
///
/// ```
/// use kit_core::Value;
/// let v: Value = kit_project::parse_yaml("on: yes\nport: 8080\n", "values.yaml".as_ref()).unwrap();
/// assert_eq!(v.get("on"), Some(&Value::from("yes")));
/// let err = kit_project::parse_yaml::<Value>("mode: 0777\n", "values.yaml".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("values.yaml:1:7: 0777 has a leading zero"), "{err}");
/// ```
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ProjectError> {
    parse_with_limit(text, path, max_nodes())
}

fn parse_with_limit<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
    limit: usize,
) -> Result<T, ProjectError> {
    check_numbers(text, path)?;
    serde_saphyr::from_str_with_options(text, options(limit)).map_err(|e| {
        let message = e.to_string();
        if message.contains("budget breached") {
            return ProjectError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "more than {limit} YAML nodes (kit's limit per file, against alias bombs); \
                     raise it with {MAX_NODES_VAR}=N if the file is meant to be this large"
                ),
            };
        }
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        ProjectError::Invalid {
            path: path.to_owned(),
            // serde-saphyr's advice is for programmers, not for kit's users.
            message: message
                .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
                .replace("<input>", &path.display().to_string()),
        }
    })
}

/// Refuses plain scalars whose number would not be the number written.
fn check_numbers(text: &str, path: &Path) -> Result<(), ProjectError> {
    // Cheap exit: most files have no digit that starts a plain scalar
    // oddly; the parser pass runs only when a suspicious spelling occurs.
    if !might_have_odd_number(text) {
        return Ok(());
    }
    for item in Parser::new_from_str(text) {
        // Syntax errors are reported by the real parse, with its message.
        let Ok((event, span)) = item else {
            return Ok(());
        };
        if let Event::Scalar(value, ScalarStyle::Plain, _, None) = event
            && let Some((message, hint)) = odd_number(&value)
        {
            return Err(ProjectError::InvalidAt {
                path: path.to_owned(),
                line: span.start.line(),
                column: span.start.col() + 1,
                message,
                hint,
            });
        }
    }
    Ok(())
}

/// Whether some plain scalar could be a leading-zero, oversized or
/// over-precise number (a superset, checked properly by [`odd_number`]).
fn might_have_odd_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut run = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            if run == 0 && c == b'0' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                return true;
            }
            run += 1;
            if run >= 16 {
                return true;
            }
        } else if c != b'.' {
            run = 0;
        }
    }
    false
}

/// Why a plain scalar would not keep its number, when it would not.
pub(crate) fn odd_number(s: &str) -> Option<(String, String)> {
    let t = s.trim();
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    if unsigned.is_empty() {
        return None;
    }
    let b = unsigned.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        if b.len() > 1 && b[0] == b'0' {
            let sign = &t[..t.len() - unsigned.len()];
            let decimal = unsigned.trim_start_matches('0');
            let decimal = if decimal.is_empty() { "0" } else { decimal };
            let octal = if b.iter().all(|&c| c < b'8') {
                format!(", {sign}0o{decimal} for octal")
            } else {
                String::new()
            };
            return Some((
                format!(
                    "{t} has a leading zero: YAML 1.1 readers take it as octal, YAML 1.2 \
                     readers as decimal, so kit refuses to guess"
                ),
                format!(
                    "write {sign}{decimal} for the decimal number{octal}, or quote it, \"{t}\", \
                     for text"
                ),
            ));
        }
        if t.parse::<i64>().is_err() && t.parse::<u64>().is_err() {
            return Some((
                format!("{t} does not fit in a 64-bit integer and would lose digits"),
                format!("quote it, \"{t}\", to keep it as text"),
            ));
        }
        return None;
    }
    // A YAML 1.2 decimal float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let Decimal { int, frac, .. } = decimal(unsigned)?;
    let x: f64 = t.parse().ok()?;
    if !x.is_finite() {
        return None; // serde-saphyr refuses these with its own message
    }
    // Compare significant digits: those written against the shortest
    // decimal that reads back as the same float.
    let written = significant(&format!("{int}{frac}"));
    let shortest = format!("{:e}", x.abs()).replace('.', "");
    let kept = significant(shortest.split('e').next()?);
    if written.len() > kept.len() && written != kept {
        return Some((
            format!("{t} has more digits than a 64-bit float keeps (it would become {x})"),
            format!("quote it, \"{t}\", to keep it as text"),
        ));
    }
    None
}

/// A decimal number's parts, sign removed: `int[.frac][e[+-]exp]`.
pub(crate) struct Decimal<'a> {
    pub int: &'a str,
    pub frac: &'a str,
    /// A `.` is written.
    pub dot: bool,
    /// The exponent's digits (with their sign), when written.
    pub exp: Option<&'a str>,
}

/// Splits `unsigned` into a [`Decimal`]; `None` unless it is digits, an
/// optional `.` and digits (not both parts empty), and an optional
/// exponent `e`/`E`, sign, digits.
pub(crate) fn decimal(unsigned: &str) -> Option<Decimal<'_>> {
    let (mantissa, exp) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|c| c.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let ok = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac) && exp_ok;
    ok.then_some(Decimal {
        int,
        frac,
        dot: mantissa.contains('.'),
        exp,
    })
}

fn significant(digits: &str) -> String {
    digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_owned()
}

// Files people give kit.

/// The largest `kit.yaml` or values file kit reads: 64 MiB.
pub const MAX_YAML_BYTES: u64 = 64 << 20;

/// Checks that values read from `path` are a map (or empty, which is an
/// empty map). `what` names them in the message (`values`,
/// `environments.production.values`...).
pub fn values_map(v: &Value, path: &Path, what: &str) -> Result<Option<Value>, ProjectError> {
    match v {
        Value::Map(_) => Ok(Some(v.clone())),
        Value::Null => Ok(None),
        _ => Err(ProjectError::NotAMap {
            path: path.to_owned(),
            what: what.into(),
        }),
    }
}

/// Reads a values file (`--values`): YAML or JSON, a map or empty.
pub fn read_values(path: &Path) -> Result<Option<Value>, ProjectError> {
    let v: Value = read_yaml(path)?;
    values_map(&v, path, "values")
}

/// Reads a YAML (or JSON) file the kit way (see [`crate::yaml::input`]):
/// YAML 1.2, numbers as written or refused; duplicate keys, alias bombs and
/// unknown keys are errors with line and column. Only regular files of at
/// most [`MAX_YAML_BYTES`] are read (a FIFO would block forever).
pub fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ProjectError> {
    let text = read_text(path)?;
    parse_yaml(&text, path)
}

/// Reads a text file people give kit (kit.yaml, values, `--set-file`):
/// only a regular file of at most [`MAX_YAML_BYTES`] (a FIFO would block
/// forever).
pub(crate) fn read_text(path: &Path) -> Result<String, ProjectError> {
    let io = |source| ProjectError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ProjectError::UnsafePath {
            path: path.to_owned(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.len() > MAX_YAML_BYTES {
        return Err(ProjectError::UnsafePath {
            path: path.to_owned(),
            reason: "it is larger than 64 MiB".into(),
        });
    }
    std::fs::read_to_string(path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit_core::Value;

    fn parse(text: &str) -> Result<Value, String> {
        parse_yaml::<Value>(text, Path::new("v.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn keys_and_words_are_yaml_1_2() {
        let v =
            parse("flags: {y: 1, n: 2, on: 3, yes: 4, off: 5, no: 6}\na: yes\nb: off\nc: 1_000\n")
                .unwrap();
        let flags = v.get("flags").unwrap();
        for k in ["y", "n", "on", "yes", "off", "no"] {
            assert!(flags.get(k).is_some(), "{k}");
        }
        assert_eq!(v.get("a"), Some(&Value::from("yes")));
        assert_eq!(v.get("b"), Some(&Value::from("off")));
        assert_eq!(v.get("c"), Some(&Value::from("1_000")));
        assert_eq!(
            parse("a: true\nb: False\n").unwrap().get("b"),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn numbers_keep_their_value_or_are_refused() {
        assert_eq!(
            parse(
                "a: 8080\nb: -3\nc: 1.5\nd: 0o17\ne: 0x1F\nf: 0\ng: 0.25\nh: 18446744073709551615\n"
            )
            .unwrap()
            .get("h"),
            Some(&Value::UInt(u64::MAX))
        );
        let err = parse("x: 1\nport: 08080\n").unwrap_err();
        assert!(
            err.starts_with("v.yaml:2:7: 08080 has a leading zero"),
            "{err}"
        );
        let hint = match parse_yaml::<Value>("p: 08080", Path::new("v.yaml")) {
            Err(ProjectError::InvalidAt { hint, .. }) => hint,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            hint,
            "write 8080 for the decimal number, or quote it, \"08080\", for text"
        );
        let err = parse("mode: 0777\n").unwrap_err();
        assert_eq!(
            err,
            "v.yaml:1:7: 0777 has a leading zero: YAML 1.1 readers take it as octal, YAML 1.2 readers as decimal, so kit refuses to guess"
        );
        let err = parse("big: 123456789012345678901234567890\n").unwrap_err();
        assert!(
            err.starts_with("v.yaml:1:6: 123456789012345678901234567890 does not fit"),
            "{err}"
        );
        let err = parse("pi: 3.14159265358979323846\n").unwrap_err();
        assert!(
            err.contains("more digits than a 64-bit float keeps"),
            "{err}"
        );
        let err = parse("{\"a\": [1, 010]}").unwrap_err();
        assert!(
            err.starts_with("v.yaml:1:11: 010 has a leading zero"),
            "{err}"
        );
        // Quoted, they are text, as written.
        let v = parse("a: \"010\"\nb: '123456789012345678901234567890'\n").unwrap();
        assert_eq!(v.get("a"), Some(&Value::from("010")));
        // Keys too.
        assert!(parse("010: x\n").is_err());
        // Not numbers: left alone.
        assert!(parse("a: 0.1.2\nb: 01-02\nc: 2024-01-02\nd: 00ab\n").is_ok());
    }

    #[test]
    fn json_duplicate_keys_are_refused() {
        let err = parse(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(err.contains("duplicate"), "{err}");
    }

    #[test]
    fn the_node_budget_names_file_limit_and_variable() {
        let text = format!("[{}]", vec!["1"; 2000].join(","));
        let err = parse_with_limit::<Value>(&text, Path::new("big.json"), 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.json: more than 1000 YAML nodes (kit's limit per file, against alias bombs); \
             raise it with KIT_YAML_MAX_NODES=N if the file is meant to be this large"
        );
        assert!(parse(&text).is_ok());
    }
}
