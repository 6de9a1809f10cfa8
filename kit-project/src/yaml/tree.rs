//! A rendered document read once, as a tree with positions (1-based line
//! and column), for every check kit runs on it: the node types both readers
//! build (`scan.rs` and `events.rs`) and the duplicate-key check
//! they share.

use std::borrow::Cow;

/// A node and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'a> {
    pub kind: Kind<'a>,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind<'a> {
    /// A mapping, its entries in document order; `flow` for `{...}`.
    Map {
        entries: Vec<Entry<'a>>,
        flow: bool,
    },
    Seq(Vec<Node<'a>>),
    /// A scalar; `plain` when written plain and untagged (so YAML's type
    /// resolution applies: `3` is a number, `~` is null).
    Scalar {
        text: Cow<'a, str>,
        plain: bool,
    },
    Alias,
}

/// One key of a mapping, where the key starts, and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry<'a> {
    pub key: Cow<'a, str>,
    /// An alias (`*a`) used as a key: never a duplicate of another key.
    pub alias: bool,
    pub line: usize,
    pub column: usize,
    pub value: Node<'a>,
}

impl<'a> Node<'a> {
    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|e| !e.alias && e.key == key)
                .map(|e| &e.value),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether this is a null scalar (plain `~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true } if is_null_word(text))
    }
}

/// The plain words YAML reads as null.
pub(super) fn is_null_word(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// The duplicate-key check of one mapping: the entries already read are
/// compared while few (most Kubernetes mappings have a handful of keys), a
/// set takes over past [`Keys::SMALL`], so the check stays linear for any
/// mapping.
#[derive(Default)]
pub(crate) struct Keys<'a> {
    large: Option<std::collections::HashSet<Cow<'a, str>, crate::fast::Fast>>,
}

impl<'a> Keys<'a> {
    const SMALL: usize = 16;

    /// Whether `key` is new to the mapping whose entries so far are
    /// `entries` (aliases used as keys are never duplicates), remembering
    /// it. (A `Cow`, so a key borrowed from the document is kept without a
    /// copy.)
    #[allow(clippy::ptr_arg)]
    pub fn insert(&mut self, entries: &[Entry<'a>], key: &Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key.clone());
        }
        if entries.iter().any(|e| !e.alias && e.key == *key) {
            return false;
        }
        if entries.len() >= Self::SMALL {
            let mut set: std::collections::HashSet<_, _> = entries
                .iter()
                .filter(|e| !e.alias)
                .map(|e| e.key.clone())
                .collect();
            set.insert(key.clone());
            self.large = Some(set);
        }
        true
    }
}
