//! [`Source`]: where secrets come from (`s3://BUCKET[/PREFIX]` or a
//! directory), and opening its store.

use std::sync::Arc;

#[cfg(feature = "s3")]
use crate::S3Store;
use crate::{Error, Layout, LocalStore, S3Options, SecretStore};

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
