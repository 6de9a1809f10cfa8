//! Secrets held in memory, for programs that embed kit.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{BoxFuture, Counters, Encryption, SecretStore, Stats};
use crate::error::Error;

/// A store in memory.
///
/// ```
/// let store = kit_env::MemoryStore::new();
/// store.insert("production/common/REDIS_HOST", "redis.internal");
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: RwLock<BTreeMap<String, Vec<u8>>>,
    counters: Counters,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a secret.
    pub fn insert(&self, key: &str, value: impl Into<Vec<u8>>) {
        self.objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.into(), value.into());
    }
}

impl SecretStore for MemoryStore {
    fn describe(&self) -> &str {
        "memory"
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        self.counters.list();
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        let keys = objects
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        Box::pin(async move { Ok(keys) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        self.counters.get();
        let found = self
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned();
        Box::pin(async move {
            found.ok_or_else(|| Error::NotFound {
                store: "memory".into(),
                key: key.into(),
            })
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        _: &'a Encryption,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.insert(key, value);
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let removed = self
            .objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Box::pin(async move {
            removed.map(|_| ()).ok_or_else(|| Error::NotFound {
                store: "memory".into(),
                key: key.into(),
            })
        })
    }

    fn stats(&self) -> Stats {
        self.counters.stats()
    }

    fn reads_in_place(&self) -> bool {
        true
    }
}
