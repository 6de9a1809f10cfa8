//! # kit-env
//!
//! Hierarchical secrets for kit: one object per variable, in layers
//! (environment `common`, cluster `common`, service), the more specific
//! layer winning. See [`layout`] for the exact rules.
//!
//! Three stores implement [`SecretStore`]: `S3Store` (any S3-protocol
//! server; the default `s3` feature, which brings the AWS SDK), [`LocalStore`] (a directory with the same layout; kit's
//! zero-setup default) and [`MemoryStore`] (for embedders). A [`Resolver`]
//! turns targets into variables with their provenance, fetching each object
//! once per run with bounded concurrency. Values are [`SecretValue`]s, whose
//! `Debug` and `Display` never show them.

#![warn(missing_docs)]

pub mod error;
pub mod layout;
mod limit;
pub mod resolve;
pub mod secret;
mod source;
pub mod store;

pub use error::Error;
pub use layout::{Instance, Layer, Layout, Target};
pub use limit::START_IN_FLIGHT;
pub use resolve::{DEFAULT_CONCURRENCY, Resolution, Resolver, Variable};
pub use secret::{Fingerprinter, SecretValue};
pub use source::Source;
pub use store::local::LocalStore;
pub use store::memory::MemoryStore;
#[cfg(feature = "s3")]
pub use store::s3::S3Store;
pub use store::{Encryption, S3Options, SecretStore, Stats};

/// The largest value kit reads or writes: 1 MiB, the most a Kubernetes
/// Secret holds. Larger objects are errors naming the key.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Runs a future to its end on a new single-threaded runtime (tests).
#[cfg(test)]
pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
