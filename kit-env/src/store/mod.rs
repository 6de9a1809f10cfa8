//! Where secrets are kept: the [`SecretStore`] trait and its three stores.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

pub mod local;
pub mod memory;
#[cfg(feature = "s3")]
pub mod s3;

use std::time::Duration;

/// A boxed future, so that stores can be used as `dyn SecretStore`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Server-side encryption for `put` (S3 only; ignored elsewhere).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// The bucket's default.
    #[default]
    Default,
    /// `AES256`.
    Aes256,
    /// `aws:kms`, with an optional key id.
    Kms(Option<String>),
}

/// A key-value store of secrets, keyed by `/`-separated paths.
pub trait SecretStore: Send + Sync {
    /// The store as the user named it (`s3://bucket/prefix`, a directory).
    fn describe(&self) -> &str;

    /// Every key under `prefix` (which ends in `/`), at any depth, including
    /// folder markers (keys ending in `/`). All pages.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>>;

    /// The bytes stored at `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, Error>>;

    /// Stores `value` at `key`.
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        encryption: &'a Encryption,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Requests made so far.
    fn stats(&self) -> Stats;

    /// Whether `list` and `get` finish without waiting for a network (a
    /// directory, memory). The [`crate::Resolver`] then makes its requests
    /// on a few plain threads (up to 4, each polling its requests to the
    /// end in turn), so such a store's futures must not need a runtime's
    /// IO or timers; for other stores (S3) it overlaps them as tasks,
    /// within its bound. `false` unless a store says otherwise.
    fn reads_in_place(&self) -> bool {
        false
    }
}

/// Request counts of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// List requests (for S3: ListObjectsV2 pages).
    pub lists: u64,
    /// Get requests.
    pub gets: u64,
    /// Throttling answers (S3 `SlowDown`, HTTP 503 or 429), retried
    /// attempts included: the resolver halves its requests in flight on
    /// each new one.
    pub throttled: u64,
}

/// Counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    lists: AtomicU64,
    gets: AtomicU64,
    throttled: std::sync::Arc<AtomicU64>,
}

impl Counters {
    pub fn list(&self) {
        self.lists.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) {
        self.gets.fetch_add(1, Ordering::Relaxed);
    }
    /// The counter of throttling answers, for whatever sees the answers
    /// (the S3 client's interceptor).
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub fn throttle_counter(&self) -> std::sync::Arc<AtomicU64> {
        self.throttled.clone()
    }
    pub fn stats(&self) -> Stats {
        Stats {
            lists: self.lists.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

/// How to reach S3. The defaults bound every wait to seconds.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// The region; else the AWS configuration's, else `us-east-1`.
    pub region: Option<String>,
    /// The AWS profile; else `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// An S3-compatible endpoint; else `AWS_ENDPOINT_URL_S3` or
    /// `AWS_ENDPOINT_URL`, else AWS.
    pub endpoint_url: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`). `None`: on when an
    /// endpoint is overridden, off for AWS.
    pub path_style: Option<bool>,
    /// Time to open a connection. Default 3 s.
    pub connect_timeout: Duration,
    /// Time for one attempt of one request. Default 10 s.
    pub attempt_timeout: Duration,
    /// Time for one request, retries included. Default 30 s.
    pub operation_timeout: Duration,
    /// Attempts per request (standard retries: throttling, 5xx such as 503
    /// SlowDown, connection resets). Default 3.
    pub max_attempts: u32,
    /// Time for a whole listing of one prefix, every page included.
    /// Default 120 s.
    pub list_timeout: Duration,
    /// Pages one listing may take at most (1,000 keys each on AWS).
    /// Default 10,000.
    pub max_pages: u32,
    /// Fixed credentials (access key id, secret) instead of the default
    /// chain. For tests and embedders; the CLI never sets them.
    pub static_credentials: Option<(String, String)>,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            region: None,
            profile: None,
            endpoint_url: None,
            path_style: None,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
            max_attempts: 3,
            list_timeout: Duration::from_secs(120),
            max_pages: 10_000,
            static_credentials: None,
        }
    }
}
