//! Where partials and parents come from.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::error::Error;

/// A source of partial (and parent) templates, looked up by name.
pub trait Loader: Send + Sync {
    /// The template text for `name`, or `None` when there is no such partial.
    fn load(&self, name: &str) -> Result<Option<String>, Error>;
}

/// Partials held in memory.
impl Loader for HashMap<String, String> {
    fn load(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.get(name).cloned())
    }
}

/// Partials read from a directory: `{{> common/labels}}` reads
/// `DIR/common/labels.mustache`.
///
/// A name that would leave the directory is an error: absolute paths, `..`,
/// and symbolic links that point outside it.
///
/// ```no_run
/// use kit_core::{DirLoader, Engine};
/// let engine = Engine::new().with_loader(DirLoader::new("templates/partials")?);
/// # Ok::<(), kit_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirLoader {
    root: PathBuf,
    extension: String,
}

impl DirLoader {
    /// A loader for `dir`, which must exist. Files end in `.mustache`.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let root = dir.canonicalize().map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(DirLoader {
            root,
            extension: "mustache".into(),
        })
    }

    /// Uses another file extension (without the dot).
    pub fn with_extension(mut self, ext: &str) -> Self {
        self.extension = ext.into();
        self
    }
}

impl Loader for DirLoader {
    fn load(&self, name: &str) -> Result<Option<String>, Error> {
        let refuse = |reason| Error::PartialName {
            name: name.into(),
            reason,
        };
        let rel = Path::new(name);
        if name.contains('\\') || name.contains('\0') {
            return Err(refuse("it contains a backslash or NUL"));
        }
        for c in rel.components() {
            match c {
                Component::Normal(_) => {}
                Component::ParentDir => {
                    return Err(refuse("'..' would leave the partials directory"));
                }
                _ => {
                    return Err(refuse(
                        "partial names are relative paths inside the partials directory",
                    ));
                }
            }
        }
        let path = self.root.join(format!("{name}.{}", self.extension));
        let real = match path.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        if !real.starts_with(&self.root) {
            return Err(refuse(
                "it is a link to a file outside the partials directory",
            ));
        }
        std::fs::read_to_string(&real)
            .map(Some)
            .map_err(|source| Error::Io { path, source })
    }
}
