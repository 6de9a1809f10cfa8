//! Releases: which image runs where, kept in the config repository.
//!
//! - `record.rs` (re-exported here): the record format, one small file per environment and
//!   service (`releases/<environment>/<service>.yaml`), read and checked;
//! - [`operation`]: recording a release, rollback, promotion or pin as one
//!   operation (rendered and checked from the exact commit it pushes);
//! - [`git`]: the config repository, through the `git` program;
//! - [`time`]: the records' times.

pub mod git;
pub mod operation;
mod record;
pub mod time;

pub use record::*;
