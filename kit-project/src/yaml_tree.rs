//! A rendered document read once, as a tree with positions, for every check
//! kit runs on it (the document checks in [`crate::check`] and schema
//! validation in [`crate::schema`]).
//!
//! Two readers build the same tree:
//! - [`crate::yaml_scan`], a single-pass scanner for the block YAML that
//!   manifests are made of (block mappings and sequences, one-line plain and
//!   quoted scalars, literal block scalars, `{}` and `[]`, comments). It
//!   gives up on anything else (anchors, tags, flow collections with
//!   content, folded or multi-line scalars, tabs, duplicate keys, anything
//!   malformed) rather than guess;
//! - the event parser (granit-parser), for every document the scanner gave
//!   up on: it reads all of YAML and reports every error with its line.
//!
//! The scanner's tree equals the parser's (values, styles, positions) on
//! every document it accepts: the tests compare the two on the fixtures, on
//! generated documents and on many thousands of mutated ones.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

use crate::mask::Masker;

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
fn is_null_word(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// Reads one document (without `---` markers): a mapping at its root, no
/// duplicate keys (names shown through `mask`), no complex keys. Errors
/// carry the 1-based line.
pub(crate) fn parse<'a>(doc: &'a str, mask: &Masker) -> Result<Node<'a>, (usize, String)> {
    match crate::yaml_scan::scan(doc) {
        Some(root) => Ok(root),
        None => parse_events(doc, mask),
    }
}

enum Building<'a> {
    Map {
        entries: Vec<Entry<'a>>,
        flow: bool,
        /// The key read, waiting for its value: (key, alias, line, column).
        key: Option<(Cow<'a, str>, bool, usize, usize)>,
        keys: Keys<'a>,
        line: usize,
        column: usize,
    },
    Seq(Vec<Node<'a>>, usize, usize),
}

/// The duplicate-key check of one mapping: the entries already read are
/// compared while few (most Kubernetes mappings have a handful of keys), a
/// set takes over past [`Keys::SMALL`], so the check stays linear for any
/// mapping.
#[derive(Default)]
pub(crate) struct Keys<'a> {
    large: Option<std::collections::HashSet<Cow<'a, str>, crate::Fast>>,
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

/// The event parser's reading, with its errors in document order.
pub(crate) fn parse_events<'a>(doc: &'a str, mask: &Masker) -> Result<Node<'a>, (usize, String)> {
    const NOT_A_MAPPING: &str = "the document is not a mapping";
    let mut stack: Vec<Building<'a>> = Vec::new();
    let mut root: Option<Node<'a>> = None;
    for item in Parser::new_from_str(doc) {
        let (event, span) = item.map_err(|e| (e.marker().line(), e.info().to_string()))?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        if opens || matches!(event, Event::Scalar(..) | Event::Alias(..)) {
            match stack.last() {
                None if root.is_some() || !matches!(event, Event::MappingStart(..)) => {
                    return Err((line, NOT_A_MAPPING.into()));
                }
                Some(Building::Map { key: None, .. }) if opens => {
                    return Err((line, "complex mapping keys are not supported".into()));
                }
                _ => {}
            }
        }
        let done = match event {
            Event::MappingStart(style, ..) => {
                stack.push(Building::Map {
                    entries: Vec::new(),
                    flow: style == StructureStyle::Flow,
                    key: None,
                    keys: Keys::default(),
                    line,
                    column,
                });
                None
            }
            Event::SequenceStart(..) => {
                stack.push(Building::Seq(Vec::new(), line, column));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Building::Map {
                    entries,
                    flow,
                    line,
                    column,
                    ..
                }) => Some(Node {
                    kind: Kind::Map { entries, flow },
                    line,
                    column,
                }),
                Some(Building::Seq(items, line, column)) => Some(Node {
                    kind: Kind::Seq(items),
                    line,
                    column,
                }),
                None => None,
            },
            Event::Scalar(value, style, _, tag) => {
                if let Some(Building::Map {
                    key, keys, entries, ..
                }) = stack.last_mut()
                    && key.is_none()
                {
                    if !keys.insert(entries, &value) {
                        return Err((line, format!("duplicate key '{}'", mask.show(&value))));
                    }
                    *key = Some((value, false, line, column));
                    continue;
                }
                Some(Node {
                    kind: Kind::Scalar {
                        plain: style == ScalarStyle::Plain && tag.is_none(),
                        text: value,
                    },
                    line,
                    column,
                })
            }
            Event::Alias(_) => {
                if let Some(Building::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    *key = Some((Cow::Borrowed("*"), true, line, column));
                    continue;
                }
                Some(Node {
                    kind: Kind::Alias,
                    line,
                    column,
                })
            }
            _ => None,
        };
        if let Some(node) = done {
            match stack.last_mut() {
                Some(Building::Map { entries, key, .. }) => {
                    let (key, alias, line, column) = key.take().expect("a key before its value");
                    entries.push(Entry {
                        key,
                        alias,
                        line,
                        column,
                        value: node,
                    });
                }
                Some(Building::Seq(items, ..)) => items.push(node),
                None => root = Some(node),
            }
        }
    }
    root.ok_or((1, NOT_A_MAPPING.into()))
}
