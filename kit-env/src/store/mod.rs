//! Where secrets are kept: the [`SecretStore`] trait and its three stores.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

pub mod local;
pub mod memory;
pub mod s3;

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
}

/// Request counts of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// List requests (for S3: ListObjectsV2 pages).
    pub lists: u64,
    /// Get requests.
    pub gets: u64,
}

/// Counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    lists: AtomicU64,
    gets: AtomicU64,
}

impl Counters {
    pub fn list(&self) {
        self.lists.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) {
        self.gets.fetch_add(1, Ordering::Relaxed);
    }
    pub fn stats(&self) -> Stats {
        Stats {
            lists: self.lists.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
        }
    }
}
