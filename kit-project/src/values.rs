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

/// The largest list index `--set` accepts (Helm's limit).
pub const MAX_SET_INDEX: usize = 65_536;

/// Why a `--set` argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting '{arg}': {reason}")]
pub struct SetError {
    /// The argument.
    pub arg: String,
    /// Why.
    pub reason: String,
}

/// How the value of a `--set`-style argument is read (Helm's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetKind {
    /// `--set`: `true`/`false` are booleans, `null` is null, integers
    /// without a leading zero are integers; anything else (`1.10`, `010`,
    /// `yes`) is the string written. `{a,b}` is a list.
    Typed,
    /// `--set-string`: always the string written (`{a,b}` is a list of strings).
    String,
    /// `--set-json`: one `path=JSON` per argument, the JSON read like a
    /// values file (no comma splitting).
    Json,
    /// `--set-file`: `path=FILE`, the file's text as a string.
    File,
}

/// Parses one `--set` argument (typed). See [`set_into`] for the syntax.
///
/// ```
/// let v = kit_project::parse_set("image.tag=1.10,replicas=2").unwrap();
/// assert_eq!(v, serde_json::json!({"image": {"tag": "1.10"}, "replicas": 2}).into());
/// let v = kit_project::parse_set("args[1]=-v,hosts={a.example,b.example}").unwrap();
/// assert_eq!(v, serde_json::json!({"args": [null, "-v"], "hosts": ["a.example", "b.example"]}).into());
/// ```
pub fn parse_set(arg: &str) -> Result<Value, SetError> {
    let mut v = Value::Map(Map::new());
    set_into(&mut v, arg, SetKind::Typed)?;
    Ok(v)
}

/// Applies one `--set`-style argument to `target` (a map), as Helm does:
/// assignments separated by commas (`a=1,b=2`), paths of names separated by
/// dots with list indexes (`containers[0].image=x`; missing items become
/// null), `{a,b}` for a list, and a backslash escaping the next character
/// (`nodeSelector.kubernetes\.io/os=linux`, `a=x\,y`). Later assignments win.
pub fn set_into(target: &mut Value, arg: &str, kind: SetKind) -> Result<(), SetError> {
    let err = |reason: String| SetError {
        arg: arg.into(),
        reason,
    };
    let chars: Vec<char> = arg.chars().collect();
    let mut i = 0;
    loop {
        let (path, next) = parse_path(&chars, i).map_err(err)?;
        i = next;
        let value = match kind {
            SetKind::Json | SetKind::File => {
                let raw: String = chars[i..].iter().collect();
                i = chars.len();
                if kind == SetKind::Json {
                    crate::yaml::input::parse_yaml::<Value>(&raw, "--set-json".as_ref())
                        .map_err(|e| err(format!("the value is not valid JSON: {e}")))?
                } else {
                    read_set_file(&raw).map_err(err)?
                }
            }
            SetKind::Typed | SetKind::String => {
                let (v, next) = parse_value(&chars, i, kind).map_err(err)?;
                i = next;
                v
            }
        };
        assign(target, &path, value).map_err(err)?;
        if i >= chars.len() {
            return Ok(());
        }
        i += 1; // the comma
    }
}

enum Step {
    Key(String),
    Index(usize),
}

/// Reads `a.b[0].c=`; returns the steps and the index after `=`.
fn parse_path(chars: &[char], mut i: usize) -> Result<(Vec<Step>, usize), String> {
    let mut steps = Vec::new();
    let mut name = String::new();
    let mut parts = 0;
    let mut after_index = false;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("expected path=value".into());
        };
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("a backslash at the end".into());
                };
                name.push(n);
                i += 2;
                continue;
            }
            '.' | '=' | '[' => {
                if name.is_empty() && !after_index {
                    return Err(
                        "the path must be names separated by dots, like image.tag or containers[0].image"
                            .into(),
                    );
                }
                if !name.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut name)));
                    parts += 1;
                }
                after_index = false;
                if parts > MAX_SET_DEPTH {
                    return Err(format!("the path has more than {MAX_SET_DEPTH} parts"));
                }
                if c == '=' {
                    return Ok((steps, i + 1));
                }
                if c == '[' {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .ok_or("a '[' without ']'")?;
                    let digits: String = chars[i + 1..i + close].iter().collect();
                    let index: usize = digits
                        .parse()
                        .map_err(|_| format!("list index [{digits}] is not a number"))?;
                    if index > MAX_SET_INDEX {
                        return Err(format!("list index {index} is larger than {MAX_SET_INDEX}"));
                    }
                    steps.push(Step::Index(index));
                    i += close + 1;
                    after_index = true;
                    match chars.get(i) {
                        Some('.') => {
                            after_index = false;
                            i += 1;
                        }
                        Some('=' | '[') => {}
                        _ => return Err("expected '.', '[' or '=' after ']'".into()),
                    }
                    continue;
                }
                i += 1;
            }
            ',' => {
                return Err(format!(
                    "'{name}' has no value (write {name}=VALUE; a comma separates settings, \\, is a comma)"
                ));
            }
            c => {
                name.push(c);
                i += 1;
            }
        }
    }
}

/// Reads a value up to an unescaped comma (or a `{a,b}` list).
fn parse_value(chars: &[char], mut i: usize, kind: SetKind) -> Result<(Value, usize), String> {
    let read = |i: &mut usize, stops: &[char]| -> Result<String, String> {
        let mut s = String::new();
        while let Some(&c) = chars.get(*i) {
            if c == '\\' {
                let n = chars.get(*i + 1).ok_or("a backslash at the end")?;
                s.push(*n);
                *i += 2;
                continue;
            }
            if stops.contains(&c) {
                break;
            }
            s.push(c);
            *i += 1;
        }
        Ok(s)
    };
    if chars.get(i) == Some(&'{') {
        i += 1;
        let mut items = Vec::new();
        loop {
            let item = read(&mut i, &[',', '}'])?;
            match chars.get(i) {
                Some(',') => {
                    items.push(scalar(&item, kind));
                    i += 1;
                }
                Some('}') => {
                    if !(item.is_empty() && items.is_empty()) {
                        items.push(scalar(&item, kind));
                    }
                    i += 1;
                    break;
                }
                _ => return Err("a list '{' without '}'".into()),
            }
        }
        if i < chars.len() && chars[i] != ',' {
            return Err("expected ',' after a list's '}'".into());
        }
        return Ok((Value::List(items), i));
    }
    let s = read(&mut i, &[','])?;
    Ok((scalar(&s, kind), i))
}

fn read_set_file(path: &str) -> Result<Value, String> {
    crate::yaml::input::read_text(path.as_ref())
        .map(Value::String)
        .map_err(|e| e.to_string())
}

fn assign(target: &mut Value, path: &[Step], value: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *target = value;
        return Ok(());
    };
    let slot = match first {
        Step::Key(k) => {
            if !matches!(target, Value::Map(_)) {
                *target = Value::Map(Map::new());
            }
            let Value::Map(m) = target else {
                unreachable!()
            };
            m.entry(k.clone()).or_insert(Value::Null)
        }
        Step::Index(n) => {
            if !matches!(target, Value::List(_)) {
                *target = Value::List(Vec::new());
            }
            let Value::List(l) = target else {
                unreachable!()
            };
            if l.len() <= *n {
                l.resize(n + 1, Value::Null);
            }
            &mut l[*n]
        }
    };
    assign(slot, rest, value)
}

/// Helm's reading of a `--set` value: `true`/`false` (any case), `null`,
/// and integers without a leading zero are typed; anything else is text.
fn scalar(raw: &str, kind: SetKind) -> Value {
    if kind == SetKind::String {
        return Value::String(raw.into());
    }
    if raw.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if raw.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !leading_zero
        && let Ok(i) = raw.parse::<i64>()
    {
        return Value::Int(i);
    }
    Value::String(raw.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(a: &str) -> Value {
        match parse_set(a).unwrap() {
            Value::Map(m) => m.into_iter().next().unwrap().1,
            _ => unreachable!(),
        }
    }

    #[test]
    fn set_scalars_read_as_helm_does() {
        assert_eq!(get("a=3"), Value::Int(3));
        assert_eq!(get("a=-3"), Value::Int(-3));
        assert_eq!(get("a=1e3"), Value::String("1e3".into()));
        assert_eq!(get("a=1.10"), Value::String("1.10".into()));
        assert_eq!(get("a=yes"), Value::String("yes".into()));
        assert_eq!(get("a=010"), Value::String("010".into()));
        assert_eq!(get("a=0"), Value::Int(0));
        assert_eq!(get("a=TRUE"), Value::Bool(true));
        assert_eq!(get("a=null"), Value::Null);
        assert_eq!(get("a=x=y"), Value::String("x=y".into()));
        assert_eq!(get("a="), Value::String(String::new()));
        assert_eq!(
            get("a=123456789012345678901234567890"),
            Value::String("123456789012345678901234567890".into())
        );
    }

    #[test]
    fn set_paths_commas_lists_and_escapes() {
        let v = |a: &str| parse_set(a).map_err(|e| e.reason);
        let json = |j: serde_json::Value| -> Result<Value, String> { Ok(j.into()) };
        assert_eq!(
            v("replicas=2,port=1"),
            json(serde_json::json!({"replicas": 2, "port": 1}))
        );
        assert_eq!(
            v("list[0]=x,list[2].name=z"),
            json(serde_json::json!({"list": ["x", null, {"name": "z"}]}))
        );
        assert_eq!(
            v("m[0][1]=x"),
            json(serde_json::json!({"m": [[null, "x"]]}))
        );
        assert_eq!(
            v(r"nodeSelector.kubernetes\.io/os=linux,note=a\,b"),
            json(serde_json::json!({"nodeSelector": {"kubernetes.io/os": "linux"}, "note": "a,b"}))
        );
        assert_eq!(
            v("hosts={a,b},x={},y=1"),
            json(serde_json::json!({"hosts": ["a", "b"], "x": [], "y": 1}))
        );
        assert_eq!(v("a=1,a=2"), json(serde_json::json!({"a": 2})));
        let mut t = Value::Map(Map::new());
        set_into(&mut t, "a=010,b={1,2}", SetKind::String).unwrap();
        assert_eq!(t, serde_json::json!({"a": "010", "b": ["1", "2"]}).into());
        let mut t = Value::Map(Map::new());
        set_into(&mut t, r#"a={"x": [1, 2], "y": "z,w"}"#, SetKind::Json).unwrap();
        assert_eq!(
            t,
            serde_json::json!({"a": {"x": [1, 2], "y": "z,w"}}).into()
        );
        assert!(set_into(&mut t, "a={", SetKind::Json).is_err());
    }

    #[test]
    fn set_refusals_say_why() {
        let e = |a: &str| parse_set(a).unwrap_err().reason;
        assert_eq!(e("novalue"), "expected path=value");
        assert_eq!(
            e("a..b=1"),
            "the path must be names separated by dots, like image.tag or containers[0].image"
        );
        assert_eq!(
            e("a,b=1"),
            "'a' has no value (write a=VALUE; a comma separates settings, \\, is a comma)"
        );
        assert_eq!(e("a[x]=1"), "list index [x] is not a number");
        assert_eq!(e("a[70000]=1"), "list index 70000 is larger than 65536");
        assert_eq!(e("a[0]b=1"), "expected '.', '[' or '=' after ']'");
        assert_eq!(e("a={x"), "a list '{' without '}'");
        let deep = format!("{}=1", vec!["a"; 20_000].join("."));
        assert_eq!(e(&deep), "the path has more than 64 parts");
        assert!(parse_set(&format!("{}=1", vec!["a"; 64].join("."))).is_ok());
    }
}
