//! The full reader of the tree (`tree.rs`): granit-parser's events built into the
//! tree, for every document the scanner gave up on. It reads all of YAML
//! and reports every error with its line.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

use super::tree::{Entry, Keys, Kind, Node};
use crate::mask::Masker;

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
