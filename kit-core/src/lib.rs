//! # kit-core
//!
//! kit's template engine: the whole mustache language (the official spec's
//! core plus the inheritance, dynamic names and lambdas modules), made safe
//! for YAML and strict about missing data.
//!
//! ```
//! use kit_core::{Engine, Value};
//!
//! let engine = Engine::new(); // YAML escaping, strict names
//! let tpl = engine.compile("secret.yaml", "password: {{password}}\nnote: \"{{note}}\"\n")?;
//! let data: Value = serde_json::json!({"password": "!myp4ssw0rd!", "note": "say \"hi\""}).into();
//! assert_eq!(
//!     tpl.render(&engine, &data)?,
//!     "password: \"!myp4ssw0rd!\"\nnote: \"say \\\"hi\\\"\"\n"
//! );
//! # Ok::<(), kit_core::Error>(())
//! ```
//!
//! The pipeline, one module each: `parse` (lexing,
//! standalone lines, the node tree), [`yaml`] (YAML positions and scalar
//! writing), `render` (the context stack, partials, inheritance, lambdas).
//!
//! Choices, made explicit:
//! - [`Escape`]: `Yaml` (default), `Html` (the spec's) or `None`, per
//!   template; partials follow the template that includes them.
//! - [`UndefinedBehavior`]: `Strict` (default) or `Lenient` (the spec's).
//! - Data: a [`Value`], from JSON, YAML ([`Value`] implements
//!   `Deserialize`) or any `Serialize` type ([`to_value`]); how each kind
//!   interpolates is described in [`value`].

#![warn(missing_docs)]
// No unsafe code, but for two marked exceptions: the SSE2 byte check of
// `word_scan::control_and` (values in registers, no memory) and the
// prefetch hint of `prefetch::one` (reads nothing).
#![deny(unsafe_code)]

mod ast;
mod data;
mod engine;
mod error;
mod html;
mod loader;
mod parse;
mod prefetch;
mod render;
mod suggest;
pub mod value;
mod word_scan;
#[cfg(test)]
mod xorshift;
pub mod yaml;

pub use engine::{DEFAULT_MAX_DEPTH, Engine, Escape, Template, Trace, UndefinedBehavior};
pub use error::{Error, Location, SyntaxErrorKind};
pub use loader::{DirLoader, Loader, MAX_TEMPLATE_BYTES, ReadRefusal, read_template_inside};
pub use value::{Lambda, Map, Value, to_value};
