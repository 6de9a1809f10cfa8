//! kit-env's errors. None of them ever holds a secret value.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong reading or writing secrets. `store` fields
/// name the store as given (`s3://bucket/prefix` or a directory).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket does not exist.
    #[error("{store}: bucket '{bucket}' does not exist")]
    NoSuchBucket {
        /// The store.
        store: String,
        /// The bucket.
        bucket: String,
    },
    /// The credentials are valid but not allowed to do this.
    #[error("{store}: access denied ({detail})")]
    AccessDenied {
        /// The store.
        store: String,
        /// The server's words.
        detail: String,
    },
    /// The credentials are missing, unknown or wrong.
    #[error("{store}: bad or missing credentials ({detail})")]
    Credentials {
        /// The store.
        store: String,
        /// The cause.
        detail: String,
    },
    /// The endpoint could not be reached.
    #[error("{store}: cannot reach the endpoint ({detail})")]
    Unreachable {
        /// The store.
        store: String,
        /// The cause.
        detail: String,
    },
    /// No answer in time.
    #[error("{store}: no answer within {after:?}")]
    Timeout {
        /// The store.
        store: String,
        /// The limit that passed.
        after: Duration,
    },
    /// Another error from the store.
    #[error("{store}: {detail}")]
    Store {
        /// The store.
        store: String,
        /// What happened.
        detail: String,
    },
    /// A listing that cannot be trusted to be complete: the server repeated
    /// or left out a continuation token, answered with keys outside the
    /// prefix, or the listing passed its page limit or deadline.
    #[error("{store}: listing '{}' failed: {reason}", crate::layout::printable(.prefix))]
    Listing {
        /// The store.
        store: String,
        /// The prefix being listed.
        prefix: String,
        /// What went wrong.
        reason: String,
    },
    /// A value larger than [`crate::MAX_VALUE_BYTES`].
    #[error("the secret at '{}' is larger than 1 MiB (the most a Kubernetes Secret holds)", crate::layout::printable(.key))]
    TooLarge {
        /// The key.
        key: String,
    },
    /// A key that should exist does not.
    #[error("{store}: no secret at '{}'", crate::layout::printable(.key))]
    NotFound {
        /// The store.
        store: String,
        /// The key.
        key: String,
    },
    /// A value is not UTF-8 text.
    #[error("the secret at '{}' is not UTF-8 text", crate::layout::printable(.key))]
    NotUtf8 {
        /// The key.
        key: String,
    },
    /// A key whose last segment cannot be a variable name.
    #[error(
        "the secret at '{}' has the name '{}', which is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
        crate::layout::printable(.key),
        crate::layout::printable(.name)
    )]
    InvalidName {
        /// The key.
        key: String,
        /// Its last segment.
        name: String,
    },
    /// An environment, cluster or service name that cannot be used.
    #[error("invalid {what} name '{}': {reason}", crate::layout::printable(.value))]
    InvalidTarget {
        /// `environment`, `cluster` or `service`.
        what: &'static str,
        /// The name.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A value holding a NUL byte, which no environment variable can hold.
    #[error("the secret at '{}' contains a NUL byte, which no environment variable can hold", crate::layout::printable(.key))]
    HasNul {
        /// The key.
        key: String,
    },
    /// A variable that changes how programs start, not explicitly allowed.
    #[error(
        "the secret at '{}' is named '{name}', which changes how programs start (the loader, shells, language runtimes); kit refuses it unless it is allowed by name",
        crate::layout::printable(.key)
    )]
    StartupVariable {
        /// The key.
        key: String,
        /// The variable name.
        name: String,
    },
    /// A key that no read would ever use.
    #[error("invalid key '{}': {reason}", crate::layout::printable(.key))]
    InvalidKey {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A file in a local store that kit does not read: a link out of the
    /// store's directory, or something other than a regular file.
    #[error("{}: {reason}", crate::layout::printable(&.path.display().to_string()))]
    UnsafePath {
        /// The file.
        path: PathBuf,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A `--secrets-from` value that is neither `s3://BUCKET[/PREFIX]` nor a
    /// directory.
    #[error("invalid secret source '{0}': expected s3://BUCKET[/PREFIX] or a directory")]
    InvalidSource(String),
    /// A local file operation failed.
    #[error("{}: {source}", crate::layout::printable(&.path.display().to_string()))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
