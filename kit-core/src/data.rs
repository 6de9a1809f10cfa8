//! A read-only view over the data a template renders: kit's own [`Value`]
//! or a borrowed `serde_json::Value`, so JSON data renders without being
//! converted first.

use crate::value::{Lambda, Value};

/// One node of the data.
#[derive(Clone, Copy)]
pub(crate) enum Data<'v> {
    Kit(&'v Value),
    Json(&'v serde_json::Value),
}

/// What a data node holds, for interpolation.
pub(crate) enum Scalar<'v> {
    Str(&'v str),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
    Lambda(&'v Lambda),
    /// A list or map (`kind` names which).
    Composite(&'static str),
}

/// The items of a list.
pub(crate) enum Items<'v> {
    Kit(std::slice::Iter<'v, Value>),
    Json(std::slice::Iter<'v, serde_json::Value>),
}

impl<'v> Iterator for Items<'v> {
    type Item = Data<'v>;
    fn next(&mut self) -> Option<Data<'v>> {
        match self {
            Items::Kit(it) => it.next().map(Data::Kit),
            Items::Json(it) => it.next().map(Data::Json),
        }
    }
}

/// Key equality with the cheap checks first (most keys differ in length or
/// first byte), before the byte comparison.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    // Keys are short: compare inline, eight bytes at a time, rather than
    // calling memcmp.
    let mut i = 0;
    while i + 8 <= a.len() {
        if a[i..i + 8] != b[i..i + 8] {
            return false;
        }
        i += 8;
    }
    a[i..].iter().zip(&b[i..]).all(|(x, y)| x == y)
}

impl<'v> Data<'v> {
    /// Looks a key up. Small maps (most of a manifest's data) are scanned,
    /// which beats hashing the key.
    pub fn get(self, key: &str) -> Option<Data<'v>> {
        const SCAN: usize = 16;
        match self {
            Data::Kit(Value::Map(m)) if m.len() <= SCAN => m
                .iter()
                .find(|(k, _)| same_key(k, key))
                .map(|(_, v)| Data::Kit(v)),
            Data::Kit(Value::Map(m)) => m.get(key).map(Data::Kit),
            Data::Json(serde_json::Value::Object(m)) if m.len() <= SCAN => m
                .iter()
                .find(|(k, _)| same_key(k, key))
                .map(|(_, v)| Data::Json(v)),
            Data::Json(serde_json::Value::Object(m)) => m.get(key).map(Data::Json),
            _ => None,
        }
    }

    pub fn is_truthy(self) -> bool {
        match self {
            Data::Kit(v) => v.is_truthy(),
            Data::Json(v) => match v {
                serde_json::Value::Null | serde_json::Value::Bool(false) => false,
                serde_json::Value::Array(a) => !a.is_empty(),
                _ => true,
            },
        }
    }

    /// The list's items, when this is a list.
    pub fn items(self) -> Option<Items<'v>> {
        match self {
            Data::Kit(Value::List(l)) => Some(Items::Kit(l.iter())),
            Data::Json(serde_json::Value::Array(a)) => Some(Items::Json(a.iter())),
            _ => None,
        }
    }

    pub fn lambda(self) -> Option<&'v Lambda> {
        match self {
            Data::Kit(Value::Lambda(l)) => Some(l),
            _ => None,
        }
    }

    pub fn scalar(self) -> Scalar<'v> {
        match self {
            Data::Kit(v) => match v {
                Value::Null => Scalar::Null,
                Value::Bool(b) => Scalar::Bool(*b),
                Value::Int(i) => Scalar::Int(*i),
                Value::UInt(u) => Scalar::UInt(*u),
                Value::Float(x) => Scalar::Float(*x),
                Value::String(s) => Scalar::Str(s),
                Value::Lambda(l) => Scalar::Lambda(l),
                Value::List(_) | Value::Map(_) => Scalar::Composite(v.kind()),
            },
            Data::Json(v) => match v {
                serde_json::Value::Null => Scalar::Null,
                serde_json::Value::Bool(b) => Scalar::Bool(*b),
                serde_json::Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        Scalar::Int(i)
                    } else if let Some(u) = n.as_u64() {
                        Scalar::UInt(u)
                    } else {
                        Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                serde_json::Value::String(s) => Scalar::Str(s),
                serde_json::Value::Array(_) => Scalar::Composite("list"),
                serde_json::Value::Object(_) => Scalar::Composite("map"),
            },
        }
    }

    /// The keys, when this is a map (for suggestions).
    pub fn keys(self) -> Vec<&'v str> {
        match self {
            Data::Kit(Value::Map(m)) => m.keys().map(String::as_str).collect(),
            Data::Json(serde_json::Value::Object(m)) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}
