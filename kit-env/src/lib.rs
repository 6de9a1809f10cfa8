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

pub mod error;
pub mod layout;
pub mod resolve;
pub mod secret;
pub mod store;

use std::sync::Arc;

pub use error::Error;
pub use layout::{Layer, Layout, Target};
pub use resolve::{DEFAULT_CONCURRENCY, Resolution, Resolver, Variable};
pub use secret::{Fingerprinter, SecretValue};
pub use store::local::LocalStore;
pub use store::memory::MemoryStore;
#[cfg(feature = "s3")]
pub use store::s3::S3Store;
pub use store::{Encryption, S3Options, SecretStore, Stats};

/// The largest value kit reads or writes: 1 MiB, the most a Kubernetes
/// Secret holds. Larger objects are errors naming the key.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Where secrets come from, as given on the command line or in `kit.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `s3://BUCKET[/PREFIX]`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix (may be empty).
        prefix: String,
    },
    /// A directory.
    Dir(std::path::PathBuf),
}

impl Source {
    /// Parses `s3://BUCKET[/PREFIX]`; anything else is a directory path.
    ///
    /// ```
    /// use kit_env::Source;
    /// assert_eq!(
    ///     Source::parse("s3://mysecrets/kit/v1").unwrap(),
    ///     Source::S3 { bucket: "mysecrets".into(), prefix: "kit/v1".into() }
    /// );
    /// assert!(Source::parse("s3://").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<Source, Error> {
        match spec.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(Error::InvalidSource(spec.into()));
                }
                Ok(Source::S3 {
                    bucket: bucket.into(),
                    prefix: prefix.trim_matches('/').into(),
                })
            }
            None if spec.is_empty() || spec.contains("://") => {
                Err(Error::InvalidSource(spec.into()))
            }
            None => Ok(Source::Dir(spec.into())),
        }
    }

    /// Opens the store and the layout under its prefix. Without the `s3`
    /// feature, an S3 source is an error.
    pub async fn open(&self, s3: &S3Options) -> Result<(Arc<dyn SecretStore>, Layout), Error> {
        match self {
            #[cfg(feature = "s3")]
            Source::S3 { bucket, prefix } => {
                let name = if prefix.is_empty() {
                    format!("s3://{bucket}")
                } else {
                    format!("s3://{bucket}/{prefix}")
                };
                Ok((
                    Arc::new(S3Store::connect(bucket, &name, s3).await),
                    Layout::new(prefix),
                ))
            }
            #[cfg(not(feature = "s3"))]
            Source::S3 { .. } => {
                let _ = s3;
                Err(Error::InvalidSource(
                    "s3:// sources need kit-env's `s3` feature".into(),
                ))
            }
            Source::Dir(dir) => Ok((Arc::new(LocalStore::new(dir)), Layout::new(""))),
        }
    }
}
