//! Layering values: deep merge, and `--set path=value`.

use kit_core::{Map, Value};

/// Merges `over` into `base`: maps merge key by key (recursively), anything
/// else (lists, scalars, a map over a non-map) replaces.
///
/// ```
/// use kit_project::merge;
/// let mut base: kit_core::Value = serde_json::json!({"a": {"x": 1, "y": [1, 2]}, "b": 1}).into();
/// merge(&mut base, serde_json::json!({"a": {"y": [3]}, "c": true}).into());
/// assert_eq!(base, serde_json::json!({"a": {"x": 1, "y": [3]}, "b": 1, "c": true}).into());
/// ```
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Map(b), Value::Map(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The most parts a `--set` path may have.
pub const MAX_SET_DEPTH: usize = 64;

/// Why a `--set` argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting '{arg}': {reason}")]
pub struct SetError {
    /// The argument.
    pub arg: String,
    /// Why.
    pub reason: &'static str,
}

/// Parses `a.b.c=value` into a nested map. The value is read as a YAML 1.2
/// core scalar: `3` and `010` are integers (`010` is ten: YAML 1.2 has no
/// leading-zero octal), `true` a boolean, `null` (or nothing) null, `1.5` a
/// float; anything else, `yes` included, is a string. Quote it
/// (`--set 'tag="1.10"'`) to force a string. At most [`MAX_SET_DEPTH`]
/// path parts.
///
/// ```
/// let v = kit_project::parse_set("image.tag=1.10").unwrap();
/// assert_eq!(v, serde_json::json!({"image": {"tag": 1.1}}).into());
/// let v = kit_project::parse_set("image.tag=\"1.10\"").unwrap();
/// assert_eq!(v, serde_json::json!({"image": {"tag": "1.10"}}).into());
/// ```
pub fn parse_set(arg: &str) -> Result<Value, SetError> {
    let err = |reason| SetError {
        arg: arg.into(),
        reason,
    };
    let (path, raw) = arg
        .split_once('=')
        .ok_or_else(|| err("expected path=value"))?;
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(err(
            "the path must be names separated by dots, like image.tag",
        ));
    }
    if path.split('.').count() > MAX_SET_DEPTH {
        return Err(err("the path has more than 64 parts"));
    }
    let mut value = scalar(raw);
    for part in path.rsplit('.') {
        let mut m = Map::new();
        m.insert(part.into(), value);
        value = Value::Map(m);
    }
    Ok(value)
}

fn scalar(raw: &str) -> Value {
    if raw.len() >= 2
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')))
    {
        return Value::String(raw[1..raw.len() - 1].into());
    }
    match raw {
        "null" | "Null" | "NULL" | "~" | "" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = raw.parse::<i64>()
    {
        return Value::Int(i);
    }
    let float_chars = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b));
    if digits.bytes().any(|b| b.is_ascii_digit())
        && float_chars
        && digits.contains(['.', 'e', 'E'])
        && let Ok(x) = raw.parse::<f64>()
    {
        return Value::Float(x);
    }
    Value::String(raw.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_scalars() {
        let get = |a: &str| match parse_set(a).unwrap() {
            Value::Map(m) => m.into_iter().next().unwrap().1,
            _ => unreachable!(),
        };
        assert_eq!(get("a=3"), Value::Int(3));
        assert_eq!(get("a=-3"), Value::Int(-3));
        assert_eq!(get("a=1e3"), Value::Float(1000.0));
        assert_eq!(get("a=yes"), Value::String("yes".into()));
        assert_eq!(get("a=010"), Value::Int(10));
        assert_eq!(get("a='010'"), Value::String("010".into()));
        assert_eq!(get("a=x=y"), Value::String("x=y".into()));
        assert_eq!(get("a="), Value::Null);
        assert!(parse_set("a..b=1").is_err());
        let deep = format!("{}=1", vec!["a"; 20_000].join("."));
        assert_eq!(
            parse_set(&deep).unwrap_err().reason,
            "the path has more than 64 parts"
        );
        assert!(parse_set(&format!("{}=1", vec!["a"; 64].join("."))).is_ok());
        assert!(parse_set("novalue").is_err());
    }
}
