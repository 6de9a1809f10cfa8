//! YAML in kit-project: reading the files people give kit ([`input`]:
//! kit.yaml, values, `--set-file`, release records) and reading rendered
//! documents once, as a tree with positions, for every check (`tree.rs`).
//!
//! Two readers build the same tree:
//! - `scan.rs`, a single-pass scanner for the block YAML that manifests are
//!   made of (block mappings and sequences, one-line plain and quoted
//!   scalars, literal block scalars, `{}` and `[]`, comments). It gives up
//!   on anything else (anchors, tags, flow collections with content, folded
//!   or multi-line scalars, tabs, duplicate keys, anything malformed) rather
//!   than guess;
//! - `events.rs`, the event parser (granit-parser), for every document the
//!   scanner gave up on: it reads all of YAML and reports every error with
//!   its line.
//!
//! The scanner's tree equals the parser's (values, styles, positions) on
//! every document it accepts: the tests compare the two on the fixtures, on
//! generated documents and on many thousands of mutated ones.

pub(crate) mod events;
pub mod input;
pub(crate) mod scan;
pub(crate) mod tree;

use crate::mask::Masker;
use tree::Node;

/// Reads one document (without `---` markers): a mapping at its root, no
/// duplicate keys (names shown through `mask`), no complex keys. Errors
/// carry the 1-based line.
pub(crate) fn parse<'a>(doc: &'a str, mask: &Masker) -> Result<Node<'a>, (usize, String)> {
    match scan::scan(doc) {
        Some(root) => Ok(root),
        None => events::parse_events(doc, mask),
    }
}
