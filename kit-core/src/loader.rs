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

/// The largest template or partial file kit reads: 16 MiB.
pub const MAX_TEMPLATE_BYTES: u64 = 16 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadRefusal {
    /// After links, the file is outside the directory it must stay in.
    Outside,
    /// Not a regular file (a FIFO, socket or device could block forever).
    NotRegular,
    /// Larger than [`MAX_TEMPLATE_BYTES`].
    TooLarge,
    /// Reading failed (not UTF-8, permissions...).
    Io(std::io::Error),
}

impl ReadRefusal {
    /// The refusal in words.
    pub fn reason(&self) -> String {
        match self {
            ReadRefusal::Outside => "it is a link to a file outside its directory".into(),
            ReadRefusal::NotRegular => "it is not a regular file".into(),
            ReadRefusal::TooLarge => "it is larger than 16 MiB".into(),
            ReadRefusal::Io(e) => e.to_string(),
        }
    }
}

/// kit's one path policy for template files: `path` must stay inside `root`
/// (already canonical) once links are followed, be a regular file and hold
/// at most [`MAX_TEMPLATE_BYTES`] of UTF-8. A leading byte order mark is
/// dropped (it would otherwise land inside a YAML document). `Ok(None)`
/// when the file does not exist.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("kit-doc-read-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("t.yaml"), "\u{FEFF}a: 1\n").unwrap();
/// let root = dir.canonicalize().unwrap();
/// let text = kit_core::read_template_inside(&root, &dir.join("t.yaml")).unwrap();
/// assert_eq!(text.as_deref(), Some("a: 1\n"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_template_inside(root: &Path, path: &Path) -> Result<Option<String>, ReadRefusal> {
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadRefusal::Io(e)),
    };
    if !real.starts_with(root) {
        return Err(ReadRefusal::Outside);
    }
    let meta = std::fs::metadata(&real).map_err(ReadRefusal::Io)?;
    if !meta.is_file() {
        return Err(ReadRefusal::NotRegular);
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(ReadRefusal::TooLarge);
    }
    let mut text = std::fs::read_to_string(&real).map_err(ReadRefusal::Io)?;
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    Ok(Some(text))
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
        read_template_inside(&self.root, &path).map_err(|r| match r {
            ReadRefusal::Outside => refuse("it is a link to a file outside the partials directory"),
            ReadRefusal::NotRegular => refuse("it is not a regular file"),
            ReadRefusal::TooLarge => refuse("the file is larger than 16 MiB"),
            ReadRefusal::Io(source) => Error::Io { path, source },
        })
    }
}
