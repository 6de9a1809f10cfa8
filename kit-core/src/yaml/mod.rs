//! YAML-aware escaping: where in a YAML document a tag stands
//! (`position`), and how a value is written there (`scalar`).
//!
//! The guarantee: a value interpolated with `{{name}}` in a YAML template
//! reads back, under YAML 1.1 and 1.2 rules, as exactly that value, or
//! rendering fails with an error naming the template position.

pub(crate) mod position;
pub(crate) mod scalar;

pub use position::YamlPosition;
pub use scalar::{is_plain_string, write_double_quoted, write_string_scalar};
