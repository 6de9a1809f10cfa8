//! The data a template renders: [`Value`], built from JSON, YAML, any
//! `serde::Serialize` type, or by hand (for lambdas).
//!
//! How each kind interpolates with `{{name}}`:
//!
//! | value | `Escape::Html` / `Escape::None` | `Escape::Yaml`, plain position |
//! |---|---|---|
//! | string | the text, escaped for the mode | as-is if it reads back as the same string, else double-quoted |
//! | integer | decimal digits | the same digits (stays an integer) |
//! | float | shortest round-trip form, e.g. `1.5`, `1.0e+100` | the same (stays a float) |
//! | boolean | `true` / `false` | `true` / `false` (stays a boolean) |
//! | null | the empty string | `null` (inside quotes, comments and block scalars: an error) |
//! | list, map | an error: iterate with a section instead | an error |
//! | lambda | called; its result is rendered as a template | the same, then escaped |
//!
//! In sections, `false`, `null`, an empty list and a missing name are falsey;
//! everything else (including `0` and `""`) is truthy. A list renders its
//! section once per item, a lambda receives the unprocessed section text.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A map of names to values that keeps insertion order.
pub type Map = IndexMap<String, Value>;

/// A value in the template context.
///
/// ```
/// use kit_core::Value;
/// let v: Value = serde_json::json!({"name": "web", "replicas": 3}).into();
/// assert_eq!(v.get("replicas"), Some(&Value::Int(3)));
/// ```
#[derive(Clone, Default)]
pub enum Value {
    /// `null` / a missing optional.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`.
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// Text.
    String(String),
    /// An ordered list.
    List(Vec<Value>),
    /// An ordered map.
    Map(Map),
    /// A Rust closure, called when the template uses the name.
    Lambda(Lambda),
}

impl Value {
    /// Looks a key up when this value is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// Whether a section over this value renders (`{{#name}}`).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null | Value::Bool(false) => false,
            Value::List(l) => !l.is_empty(),
            _ => true,
        }
    }

    /// A short name of the kind of value, for messages (never the value itself).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Lambda(_) => "lambda",
        }
    }

    /// Creates a lambda value. Used in a section, the closure receives the
    /// unprocessed section text; used in an interpolation it receives `""`.
    /// Its result is rendered as a template in the current context.
    ///
    /// ```
    /// use kit_core::{Engine, Value, Map};
    /// let mut data = Map::new();
    /// data.insert("twice".into(), Value::lambda(|text| format!("{text}, {text}")));
    /// data.insert("who".into(), Value::from("world"));
    /// let engine = Engine::new();
    /// let t = engine.compile("t", "{{#twice}}hi {{who}}{{/twice}}").unwrap();
    /// assert_eq!(t.render(&engine, &Value::Map(data)).unwrap(), "hi world, hi world");
    /// ```
    pub fn lambda(f: impl Fn(&str) -> String + Send + Sync + 'static) -> Value {
        Value::Lambda(Lambda(Arc::new(f)))
    }
}

/// A closure stored in the data. See [`Value::lambda`].
#[derive(Clone)]
pub struct Lambda(Arc<dyn Fn(&str) -> String + Send + Sync>);

impl Lambda {
    /// Calls the closure.
    pub fn call(&self, text: &str) -> String {
        (self.0)(text)
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<lambda>")
    }
}

/// Debug output shows the structure but never string contents: data often
/// carries secrets, and Debug output ends up in logs and panics.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::UInt(u) => write!(f, "UInt({u})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String(<{} bytes>)", s.len()),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m).finish(),
            Value::Lambda(_) => f.write_str("Lambda"),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::UInt(a), Value::UInt(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

fn from_number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::UInt(u)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => from_number(&n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => from_number(n),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
            }
        }
    }
}

/// Converts any serializable value (a struct, a map, `serde_json::Value`...)
/// into a [`Value`], keeping the order of struct fields and map entries.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct App { name: &'static str, replicas: u32 }
/// let v = kit_core::to_value(&App { name: "web", replicas: 2 }).unwrap();
/// assert_eq!(v.get("name"), Some(&kit_core::Value::from("web")));
/// ```
pub fn to_value<T: serde::Serialize + ?Sized>(data: &T) -> Result<Value, serde_json::Error> {
    serde_json::to_value(data).map(Value::from)
}

/// Values deserialize from any self-describing format (JSON, YAML...),
/// keeping map order.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::UInt(u), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((k, v)) = map.next_entry::<KeyString, Value>()? {
            out.insert(k.0, v);
        }
        Ok(Value::Map(out))
    }
}

/// Map keys in data files may be strings, numbers or booleans (`80: http` in
/// YAML); they become their text.
struct KeyString(String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map key (string, number or boolean)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyString, E> {
                Ok(KeyString(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<KeyString, E> {
                Ok(KeyString(s))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<KeyString, E> {
                Ok(KeyString(b.to_string()))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<KeyString, E> {
                Ok(KeyString(i.to_string()))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<KeyString, E> {
                Ok(KeyString(u.to_string()))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<KeyString, E> {
                Ok(KeyString(x.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_string_contents() {
        let v: Value = serde_json::json!({"password": "hunter2"}).into();
        let dbg = format!("{v:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(dbg, r#"{"password": String(<7 bytes>)}"#);
    }

    #[test]
    fn json_keeps_key_order() {
        let v: Value = serde_json::from_str::<serde_json::Value>(r#"{"z":1,"a":2,"m":3}"#)
            .unwrap()
            .into();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    #[test]
    fn yaml_deserializes_with_order_and_types() {
        let v: Value = serde_saphyr::from_str("b: 1\na: x\nc: [true, null, 1.5]\n").unwrap();
        let Value::Map(m) = &v else { panic!() };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(
            m["c"],
            Value::List(vec![Value::Bool(true), Value::Null, Value::Float(1.5)])
        );
    }
}
