//! Secrets in a local directory with the same layout as the S3 keys:
//! `DIR/production/common/REDIS_HOST` holds the value of `REDIS_HOST`.
//! kit's zero-setup default (the demo uses it).

use std::path::{Path, PathBuf};

use super::{BoxFuture, Counters, Encryption, SecretStore, Stats};
use crate::error::Error;

/// A store in a directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    name: String,
    counters: Counters,
}

impl LocalStore {
    /// A store rooted at `dir` (which need not exist until written to).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        let root = dir.as_ref().to_owned();
        LocalStore {
            name: root.display().to_string(),
            root,
            counters: Counters::default(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, Error> {
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::Store {
                store: self.name.clone(),
                detail: format!("'{key}' is not a valid key"),
            });
        }
        Ok(self.root.join(key))
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Every file under `dir`, as `/`-separated paths relative to `base`.
fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(io(
                &entry.path(),
                std::io::Error::new(std::io::ErrorKind::InvalidData, "file name is not UTF-8"),
            ));
        };
        let child = format!("{rel}{name}");
        let kind = std::fs::metadata(entry.path()).map_err(|e| io(&entry.path(), e))?;
        if kind.is_dir() {
            walk(&entry.path(), &format!("{child}/"), out)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}

impl SecretStore for LocalStore {
    fn describe(&self) -> &str {
        &self.name
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        self.counters.list();
        Box::pin(async move {
            if !self.root.is_dir() {
                return Err(Error::Store {
                    store: self.name.clone(),
                    detail: "the secrets directory does not exist".into(),
                });
            }
            let dir = match prefix.trim_end_matches('/') {
                "" => self.root.clone(),
                p => self.path(p)?,
            };
            let mut keys = Vec::new();
            walk(&dir, prefix, &mut keys)?;
            keys.sort();
            Ok(keys)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        self.counters.get();
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::read(&path).await {
                Ok(v) => Ok(v),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
                    store: self.name.clone(),
                    key: key.into(),
                }),
                Err(e) => Err(io(&path, e)),
            }
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        _: &'a Encryption,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| io(parent, e))?;
            }
            // Write a sibling file, then rename: readers never see half a value.
            let tmp = path.with_extension("kit-tmp");
            tokio::fs::write(&tmp, value)
                .await
                .map_err(|e| io(&tmp, e))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| io(&path, e))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
                    store: self.name.clone(),
                    key: key.into(),
                }),
                Err(e) => Err(io(&path, e)),
            }
        })
    }

    fn stats(&self) -> Stats {
        self.counters.stats()
    }
}
