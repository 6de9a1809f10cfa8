//! A read-only view over the data a template renders: kit's own [`Value`]
//! or a borrowed `serde_json::Value`, so JSON data renders without being
//! converted first.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::value::{Lambda, Value};

/// Where in its map a name's key was found last time: the entry tried
/// first on the next lookup. A template's data usually has the same shape
/// from one render to the next and from one list item to the next, so the
/// guess is mostly right; a wrong one costs one key comparison and is
/// replaced. Atomic (relaxed: it is only a guess, checked on every use) so
/// that templates render on many threads at once.
#[derive(Debug, Default)]
pub(crate) struct Hint(AtomicU32);

impl Clone for Hint {
    fn clone(&self) -> Hint {
        Hint(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

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

/// Maps up to this many entries are looked up by scanning them, which beats
/// hashing the key; larger ones are hashed.
pub(crate) const SCANNED: usize = 16;

/// Key equality with the cheap checks first (most keys differ in length or
/// first byte), before the byte comparison.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    // Keys are short: compare inline in a few word loads (overlapping at
    // the end) rather than calling memcmp or looping over bytes.
    let n = a.len();
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or([0; 4]));
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if w8(a, i) != w8(b, i) {
                return false;
            }
            i += 8;
        }
        w8(a, n - 8) == w8(b, n - 8)
    } else if n >= 4 {
        w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4)
    } else {
        // Up to three bytes: first, middle and last cover them all.
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

impl<'v> Data<'v> {
    /// Looks a key up.
    pub fn get(self, key: &str) -> Option<Data<'v>> {
        self.find(key).map(|(_, v)| v)
    }

    /// Looks a key up, trying the entry `hint` names first and moving the
    /// hint to where the key was found.
    #[inline]
    pub fn get_hinted(self, key: &str, hint: &Hint) -> Option<Data<'v>> {
        let at = hint.0.load(Ordering::Relaxed) as usize;
        let guess = match self {
            Data::Kit(Value::Map(m)) => m.get_index(at).map(|(k, v)| (k, Data::Kit(v))),
            Data::Json(serde_json::Value::Object(m)) => {
                m.iter().nth(at).map(|(k, v)| (k, Data::Json(v)))
            }
            _ => return None,
        };
        if let Some((k, v)) = guess
            && same_key(k, key)
        {
            return Some(v);
        }
        let (i, v) = self.find(key)?;
        if let Some(i) = i.and_then(|i| u32::try_from(i).ok()) {
            hint.0.store(i, Ordering::Relaxed);
        }
        Some(v)
    }

    /// Looks a key up: the value and, when known, its index. Maps of up to
    /// [`SCANNED`] entries (most of a manifest's data) are scanned.
    fn find(self, key: &str) -> Option<(Option<usize>, Data<'v>)> {
        match self {
            Data::Kit(Value::Map(m)) if m.len() <= SCANNED => m
                .iter()
                .position(|(k, _)| same_key(k, key))
                .map(|i| (Some(i), Data::Kit(&m[i]))),
            Data::Kit(Value::Map(m)) => m.get_full(key).map(|(i, _, v)| (Some(i), Data::Kit(v))),
            Data::Json(serde_json::Value::Object(m)) if m.len() <= SCANNED => m
                .iter()
                .enumerate()
                .find(|(_, (k, _))| same_key(k, key))
                .map(|(i, (_, v))| (Some(i), Data::Json(v))),
            // No index from serde_json's map: large JSON maps are hashed
            // every time.
            Data::Json(serde_json::Value::Object(m)) => m.get(key).map(|v| (None, Data::Json(v))),
            _ => None,
        }
    }

    /// Asks the processor for the first `max` entries of this map (see
    /// [`crate::prefetch`]): the entries sit side by side (both maps keep
    /// them in one vector), so the span from the first key to the end of
    /// the last entry covers them. Only a hint: other data is left alone,
    /// and an odd span asks for less or nothing.
    #[inline]
    pub fn warm(self, max: usize) {
        fn span(n: usize, key_at: impl Fn(usize) -> Option<usize>) {
            if n == 0 {
                return;
            }
            let (Some(first), Some(last)) = (key_at(0), key_at(n - 1)) else {
                return;
            };
            let entry = if n > 1 {
                last.saturating_sub(first) / (n - 1)
            } else {
                1
            };
            crate::prefetch::lines(first, last.saturating_add(entry));
        }
        let addr = |k: &String| k as *const String as usize;
        match self {
            Data::Kit(Value::Map(m)) => {
                span(m.len().min(max), |i| m.get_index(i).map(|e| addr(e.0)))
            }
            Data::Json(serde_json::Value::Object(m)) => {
                span(m.len().min(max), |i| m.iter().nth(i).map(|e| addr(e.0)))
            }
            _ => {}
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

    /// The string, when this is one: the common case of interpolation,
    /// without [`Data::scalar`]'s full match.
    #[inline]
    pub fn as_str(self) -> Option<&'v str> {
        match self {
            Data::Kit(Value::String(s)) => Some(s),
            Data::Json(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    #[inline]
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

#[cfg(test)]
mod tests {
    use super::same_key;
    use crate::xorshift::xorshift;
    use crate::{Engine, Value};

    /// The prefetch at the start of a render (`Data::warm`) changes nothing
    /// a render writes, whatever the top-level data: maps of every size
    /// around its bound, empty, and not maps at all.
    #[test]
    fn warming_the_data_leaves_the_output_alone() {
        let engine = Engine::new();
        let t = engine
            .compile(
                "map",
                "{{#k0}}first: {{k0}}\n{{/k0}}{{#k16}}k16: {{k16}}\n{{/k16}}",
            )
            .unwrap();
        for n in [0, 1, 2, 15, 16, 17, 40] {
            let map: serde_json::Map<String, serde_json::Value> = (0..n)
                .map(|i| (format!("k{i}"), format!("v{i}").into()))
                .collect();
            let expected = match n {
                0 => String::new(),
                1..=16 => "first: v0\n".to_string(),
                _ => "first: v0\nk16: v16\n".to_string(),
            };
            let json = serde_json::Value::Object(map);
            assert_eq!(
                t.render_json(&engine, &json).unwrap(),
                expected,
                "{n} entries"
            );
            assert_eq!(
                t.render(&engine, &Value::from(&json)).unwrap(),
                expected,
                "{n} entries"
            );
        }
        let t = engine
            .compile("other", "{{#.}}item: {{.}}\n{{/.}}")
            .unwrap();
        let list = serde_json::json!(["a", "b"]);
        assert_eq!(t.render_json(&engine, &list).unwrap(), "item: a\nitem: b\n");
        assert_eq!(
            t.render(&engine, &Value::from(&list)).unwrap(),
            "item: a\nitem: b\n"
        );
        let text = serde_json::json!("x");
        assert_eq!(t.render_json(&engine, &text).unwrap(), "item: x\n");
        assert_eq!(t.render(&engine, &Value::from(&text)).unwrap(), "item: x\n");
    }

    #[test]
    fn key_comparison_agrees_with_equality() {
        let mut next = xorshift(0x0DDB_1A5E_5BAD_5EED);
        for _ in 0..100_000 {
            let len = (next() % 20) as usize;
            let a: String = (0..len)
                .map(|_| (b'a' + (next() % 3) as u8) as char)
                .collect();
            // Often the same, else one byte changed or another length.
            let b = match next() % 3 {
                0 => a.clone(),
                1 if len > 0 => {
                    let mut b = a.clone().into_bytes();
                    let i = next() as usize % len;
                    b[i] = b'z';
                    String::from_utf8(b).unwrap()
                }
                _ => (0..(next() % 20))
                    .map(|_| (b'a' + (next() % 3) as u8) as char)
                    .collect(),
            };
            assert_eq!(same_key(&a, &b), a == b, "{a:?} {b:?}");
        }
    }
}
