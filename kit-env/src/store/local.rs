//! Secrets in a local directory with the same layout as the S3 keys:
//! `DIR/production/common/REDIS_HOST` holds the value of `REDIS_HOST`.
//! kit's zero-setup default (the demo uses it).
//!
//! The path policy, exactly:
//! - every file read must be inside the directory once links are followed:
//!   a link to a file elsewhere (a CI runner's credentials, say) is an
//!   error naming the link, never a value in a manifest;
//! - only regular files are read: a FIFO, socket or device is an error
//!   (reading one could block forever);
//! - names starting with `.` are not listed: kit's own temporary files, an
//!   editor's swap files, `.git`;
//! - values over [`crate::MAX_VALUE_BYTES`] are errors;
//! - writes are atomic and private: a temporary hidden file (mode 0600) in
//!   the same directory, synced, then renamed over the key; directories are
//!   created 0700. A crash leaves at most a hidden temporary file, which no
//!   listing picks up.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::{BoxFuture, Counters, Encryption, SecretStore, Stats};
use crate::MAX_VALUE_BYTES;
use crate::error::Error;

/// How deep a listing follows directories (links to directories included)
/// before it stops with an error: far beyond the layout's four levels, and a
/// bound on link loops.
const MAX_DEPTH: usize = 16;

/// Folders resolved so far: the path as given (its bytes: hashing a
/// `Path` walks its components) to the path with links resolved.
type Folders = Mutex<HashMap<std::ffi::OsString, Arc<Path>, foldhash::fast::RandomState>>;

/// The folders read last, open (unix): the files of a folder are read one
/// after another, each opened relative to it instead of walking the whole
/// path again. One folder per reading thread (the resolver reads on up to
/// [`LAST_FOLDERS`] threads at once), so a run holds a few descriptors
/// however many folders it reads. Like the resolved folders, they are kept
/// for the store's life (one run).
#[cfg(unix)]
type LastFolder = Mutex<Vec<(Arc<Path>, Arc<std::os::fd::OwnedFd>)>>;

/// How many folders [`LastFolder`] keeps open: one per reading thread.
#[cfg(unix)]
const LAST_FOLDERS: usize = crate::resolve::IN_PLACE_THREADS;
#[cfg(not(unix))]
type LastFolder = ();

/// A store in a directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    name: String,
    counters: Counters,
    /// The directory with links resolved, once it exists.
    real_root: OnceLock<PathBuf>,
    /// Folders already found inside the directory (by their path as given),
    /// so each is resolved once per run, not once per file.
    checked_dirs: Folders,
    last_folder: LastFolder,
}

impl LocalStore {
    /// A store rooted at `dir` (which need not exist until written to).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        let root = dir.as_ref().to_owned();
        LocalStore {
            name: root.display().to_string(),
            root,
            counters: Counters::default(),
            real_root: OnceLock::new(),
            checked_dirs: Mutex::default(),
            last_folder: Default::default(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, Error> {
        if key.split('/').any(|s| {
            s.is_empty() || s == "." || s == ".." || s.starts_with('.') || s.contains('\0')
        }) {
            return Err(Error::InvalidKey {
                key: key.into(),
                reason: "key segments are non-empty and do not start with '.'",
            });
        }
        Ok(self.root.join(key))
    }

    fn missing_dir(&self) -> Error {
        Error::Store {
            store: self.name.clone(),
            detail: "the secrets directory does not exist".into(),
        }
    }

    /// The directory, with links resolved.
    fn real_root(&self) -> Result<&Path, Error> {
        if let Some(r) = self.real_root.get() {
            return Ok(r);
        }
        let real = self.root.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => self.missing_dir(),
            _ => io(&self.root, e),
        })?;
        Ok(self.real_root.get_or_init(|| real))
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// `path` with links resolved, refused unless it stays inside `root` (which
/// is already resolved).
fn inside(root: &Path, path: &Path) -> Result<PathBuf, Error> {
    let real = path.canonicalize().map_err(|e| io(path, e))?;
    if !real.starts_with(root) {
        return Err(Error::UnsafePath {
            path: path.to_owned(),
            reason: "it is a link to something outside the secrets directory",
        });
    }
    Ok(real)
}

/// Every regular file under `dir`, as `/`-separated paths starting with
/// `rel`. Hidden names are skipped; links must stay inside `root`.
fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::UnsafePath {
            path: dir.to_owned(),
            reason: "it is nested too deep (a loop of links?)",
        });
    }
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
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let mut kind = entry.file_type().map_err(|e| io(&path, e))?;
        if kind.is_symlink() {
            let real = inside(root, &path)?;
            kind = std::fs::metadata(&real)
                .map_err(|e| io(&path, e))?
                .file_type();
        }
        let child = format!("{rel}{name}");
        if kind.is_dir() {
            walk(root, &path, &format!("{child}/"), depth + 1, out)?;
        } else if kind.is_file() {
            out.push(child);
        } else {
            return Err(Error::UnsafePath {
                path,
                reason: "it is not a regular file (a FIFO, socket or device is never read)",
            });
        }
    }
    Ok(())
}

/// The folder `dir` (a path under the store's directory `given_root`) with
/// links resolved and checked inside `root` (the directory resolved).
/// Each folder is resolved once per store, from its parent's resolution and
/// one `lstat` of its own (cached in `dirs`), instead of a `readlink` per
/// component of the path for every file.
fn real_folder(
    given_root: &Path,
    root: &Path,
    dir: &Path,
    dirs: &Folders,
) -> Result<Arc<Path>, Error> {
    let known = dirs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(dir.as_os_str())
        .cloned();
    if let Some(p) = known {
        return Ok(p);
    }
    if dir == given_root {
        return Ok(root.into());
    }
    let real = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) if parent.starts_with(given_root) => {
            let real_parent = real_folder(given_root, root, parent, dirs)?;
            let meta = std::fs::symlink_metadata(dir).map_err(|e| io(dir, e))?;
            if meta.file_type().is_symlink() {
                inside(root, dir)?.into()
            } else {
                real_parent.join(name).into()
            }
        }
        _ => inside(root, dir)?.into(),
    };
    dirs.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dir.as_os_str().to_owned(), Arc::clone(&real));
    Ok(real)
}

/// Opens `path` for reading without following a link in its last
/// component and without waiting for a writer (a FIFO opens at once, and
/// is then refused as not a regular file).
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    opts.open(path)
}

/// Opens `name` in the resolved `folder` as [`open_no_follow`] does:
/// relative to the folder's descriptor, kept in `last` while the next file
/// is in the same folder.
#[cfg(unix)]
fn open_in(
    folder: &Arc<Path>,
    name: &std::ffi::OsStr,
    last: &LastFolder,
) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let dir = {
        let mut open = last.lock().unwrap_or_else(|e| e.into_inner());
        match open
            .iter()
            .find(|(f, _)| Arc::ptr_eq(f, folder) || **f == **folder)
        {
            Some((_, fd)) => Arc::clone(fd),
            None => {
                // Only a handle to the folder (no read permission needed)
                // where the system has one.
                #[cfg(any(target_os = "linux", target_os = "android"))]
                let how = OFlags::PATH;
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                let how = OFlags::RDONLY;
                let fd = Arc::new(rustix::fs::open(
                    &**folder,
                    how | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?);
                // The oldest goes: each thread reads its folders in order.
                if open.len() == LAST_FOLDERS {
                    open.remove(0);
                }
                open.push((Arc::clone(folder), Arc::clone(&fd)));
                fd
            }
        }
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(&*dir, name, flags, Mode::empty())?.into())
}

#[cfg(not(unix))]
fn open_in(
    folder: &Arc<Path>,
    name: &std::ffi::OsStr,
    _: &LastFolder,
) -> std::io::Result<std::fs::File> {
    open_no_follow(&folder.join(name))
}

/// Reads the regular file `path` inside `root`, at most
/// [`MAX_VALUE_BYTES`]: one `open` (relative to its folder, which is
/// resolved once per store; the file itself resolved only when it is a
/// link), one `fstat` on what was opened.
/// `Ok(None)` when there is no such file.
fn read_checked(
    given_root: &Path,
    root: &Path,
    path: &Path,
    key: &str,
    dirs: &Folders,
    last: &LastFolder,
) -> Result<Option<Vec<u8>>, Error> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(None);
    };
    let folder = match real_folder(given_root, root, parent, dirs) {
        Ok(f) => f,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let mut file = match open_in(&folder, name, last) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // A link (ELOOP under O_NOFOLLOW): follow it only to a file inside.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let real = inside(root, path)?;
            open_no_follow(&real).map_err(|e| io(path, e))?
        }
        Err(e) => return Err(io(path, e)),
    };
    let meta = file.metadata().map_err(|e| io(path, e))?;
    if !meta.is_file() {
        return Err(Error::UnsafePath {
            path: path.to_owned(),
            reason: "it is not a regular file (a FIFO, socket or device is never read)",
        });
    }
    if meta.len() > MAX_VALUE_BYTES as u64 {
        return Err(Error::TooLarge { key: key.into() });
    }
    // The size `fstat` gave, read without a further read to find the end:
    // a file that changes while kit reads it is torn either way (kit's own
    // writes replace files whole, by rename).
    let mut bytes = vec![0; meta.len() as usize];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(path, e)),
        }
    }
    bytes.truncate(filled);
    Ok(Some(bytes))
}

/// Writes `bytes` to `path` atomically and privately: a hidden temporary
/// file (mode 0600) beside it, synced, renamed over it. Readers see the old
/// value or the new one; a crash leaves only a hidden file.
pub(crate) fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.kit-tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and its missing parents, each private (0700).
fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

impl SecretStore for LocalStore {
    fn describe(&self) -> &str {
        &self.name
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        self.counters.list();
        Box::pin(async move {
            if !self.root.is_dir() {
                return Err(self.missing_dir());
            }
            let root = self.real_root()?;
            let dir = match prefix.trim_end_matches('/') {
                "" => self.root.clone(),
                p => self.path(p)?,
            };
            let mut keys = Vec::new();
            match real_folder(&self.root, root, &dir, &self.checked_dirs) {
                Ok(_) => walk(root, &dir, prefix, 0, &mut keys)?,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            keys.sort();
            Ok(keys)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        self.counters.get();
        // Read in place, not through the blocking pool: a small local file
        // costs a few system calls, less than handing it to another thread
        // and back (which cost 7 futex calls per read in a 15,000-secret
        // run).
        Box::pin(async move {
            let path = self.path(key)?;
            let not_found = || Error::NotFound {
                store: self.name.clone(),
                key: key.into(),
            };
            let root = match self.real_root() {
                Ok(r) => r,
                Err(_) if !self.root.exists() => return Err(not_found()),
                Err(e) => return Err(e),
            };
            read_checked(
                &self.root,
                root,
                &path,
                key,
                &self.checked_dirs,
                &self.last_folder,
            )?
            .ok_or_else(not_found)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        _: &'a Encryption,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if value.len() > MAX_VALUE_BYTES {
                return Err(Error::TooLarge { key: key.into() });
            }
            let path = self.path(key)?;
            let parent = path.parent().unwrap_or(&self.root).to_owned();
            create_private_dirs(&parent).map_err(|e| io(&parent, e))?;
            // A linked layer directory must not carry the write elsewhere.
            let root = self.real_root()?;
            inside(root, &parent)?;
            if let Ok(m) = std::fs::symlink_metadata(&path)
                && !m.is_file()
            {
                return Err(Error::UnsafePath {
                    path,
                    reason: "it exists and is not a regular file; kit replaces only regular files",
                });
            }
            write_private_atomic(&path, value).map_err(|e| io(&path, e))
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

    fn reads_in_place(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;

    fn temp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("kit-local-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_directory_are_refused_by_list_get_and_put() {
        let base = temp("links");
        let outside = base.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("credentials"), "aws-secret").unwrap();
        let root = base.join("secrets");
        std::fs::create_dir_all(root.join("p/common")).unwrap();
        std::os::unix::fs::symlink(outside.join("credentials"), root.join("p/common/TOKEN"))
            .unwrap();
        let store = LocalStore::new(&root);
        let e = block_on(store.list("p/common/")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: it is a link to something outside the secrets directory",
                root.join("p/common/TOKEN").display()
            )
        );
        let e = block_on(store.get("p/common/TOKEN")).unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e:?}");
        // A linked layer directory does not carry writes out.
        std::os::unix::fs::symlink(&outside, root.join("p/c1")).unwrap();
        let e = block_on(store.put("p/c1/common/X", b"v", &Encryption::Default)).unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e:?}");
        assert!(!outside.join("common/X").exists());
        // Links that stay inside are followed.
        std::fs::remove_file(root.join("p/common/TOKEN")).unwrap();
        std::fs::write(root.join("p/common/REAL"), "v").unwrap();
        std::os::unix::fs::symlink(root.join("p/common/REAL"), root.join("p/common/ALIAS"))
            .unwrap();
        assert_eq!(block_on(store.get("p/common/ALIAS")).unwrap(), b"v");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_missing_file_folder_or_directory_is_not_found() {
        let root = temp("missing");
        std::fs::create_dir_all(root.join("p/common")).unwrap();
        std::fs::write(root.join("p/common/A"), "a").unwrap();
        let store = LocalStore::new(&root);
        assert_eq!(block_on(store.get("p/common/A")).unwrap(), b"a");
        for key in ["p/common/B", "p/c1/common/A"] {
            let e = block_on(store.get(key)).unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{key}: {e:?}");
        }
        let gone = LocalStore::new(root.join("nothing-here"));
        let e = block_on(gone.get("p/common/A")).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_refused_not_read() {
        let root = temp("fifo");
        std::fs::create_dir_all(root.join("p/common")).unwrap();
        let fifo = root.join("p/common/PIPE");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let store = LocalStore::new(&root);
        let e = block_on(store.list("p/common/")).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("it is not a regular file (a FIFO, socket or device is never read)"),
            "{e}"
        );
        let e = block_on(store.get("p/common/PIPE")).unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e:?}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn writes_are_private_and_their_temporary_files_are_never_listed() {
        use std::os::unix::fs::PermissionsExt;
        let root = temp("private");
        let store = LocalStore::new(&root);
        // An existing world-readable file becomes private when replaced.
        std::fs::create_dir_all(root.join("p/c/s")).unwrap();
        std::fs::write(root.join("p/c/s/A"), "old").unwrap();
        std::fs::set_permissions(root.join("p/c/s/A"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        block_on(store.put("p/c/s/A", b"new", &Encryption::Default)).unwrap();
        block_on(store.put("p/common/B", b"b", &Encryption::Default)).unwrap();
        let mode = |p: &str| {
            std::fs::metadata(root.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("p/c/s/A"), 0o600);
        assert_eq!(mode("p/common/B"), 0o600);
        assert_eq!(mode("p/common"), 0o700);
        // A temporary file left by a crash is hidden from every listing.
        std::fs::write(root.join("p/c/s/.A.1.0.kit-tmp"), "half").unwrap();
        assert_eq!(block_on(store.list("p/c/s/")).unwrap(), ["p/c/s/A"]);
        assert_eq!(block_on(store.get("p/c/s/A")).unwrap(), b"new");
        let _ = std::fs::remove_dir_all(&root);
    }
}
