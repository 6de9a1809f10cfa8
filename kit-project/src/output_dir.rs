//! Writing documents to a directory (`kit render --output-dir`): one file
//! per document, all or nothing.
//!
//! Layout: `DIR/<environment>/<cluster>/<service>/[<namespace>/]<kind>[.<group>]-<name>.yaml`,
//! `kind.group` as kubectl writes it (`deployment.apps-web.yaml`; core kinds
//! have no group: `service-web.yaml`). Every path is computed and checked
//! before anything is written: names that cannot be file names and paths
//! that would collide (compared without case, for case-insensitive file
//! systems) are errors. The files (0600, directories 0700) are written into
//! a hidden sibling of DIR, synced once, and the whole tree is renamed to
//! DIR at the end; on any error the sibling is removed and DIR is untouched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kit_env::Target;

use crate::check::Document;
use crate::error::OutputError;
use crate::mask::Masker;

fn io(p: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: p.to_owned(),
        source,
    }
}

/// Whether `s` may be one part of a file name kit writes.
fn file_part(s: &str, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with('.')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_".contains(&c) || extra.contains(&c))
}

/// The path of one document, relative to DIR.
fn relative_path(t: &Target, d: &Document, masker: &Masker) -> Result<PathBuf, OutputError> {
    let refuse = |what: &'static str, value: &str| OutputError::BadFileName {
        origin: d.origin.clone(),
        what,
        value: masker
            .show(&kit_env::layout::printable(value).to_string())
            .into_owned(),
    };
    let group = d.api_version.rsplit_once('/').map(|(g, _)| g);
    if !file_part(&d.kind, b"") {
        return Err(refuse("kind", &d.kind));
    }
    if let Some(g) = group
        && !file_part(g, b".")
    {
        return Err(refuse("API group", g));
    }
    if !file_part(&d.name, b".:") {
        return Err(refuse("name", &d.name));
    }
    let mut path = PathBuf::from(&t.environment);
    path.push(&t.cluster);
    path.push(&t.service);
    if let Some(ns) = &d.namespace {
        if !file_part(ns, b"") {
            return Err(refuse("namespace", ns));
        }
        path.push(ns);
    }
    let kind = d.kind.to_ascii_lowercase();
    let file = match group {
        Some(g) => format!("{kind}.{g}-{}.yaml", d.name),
        None => format!("{kind}-{}.yaml", d.name),
    };
    path.push(file);
    Ok(path)
}

/// Writes the tree; returns the number of files.
pub(crate) fn write_tree(
    dir: &Path,
    targets: &[(Target, Vec<Document>)],
    masker: &Masker,
) -> Result<usize, OutputError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
        if entries.next().is_some() {
            return Err(OutputError::NotEmpty(dir.to_owned()));
        }
    }
    // Every path first: nothing is written when one is wrong.
    let mut files: Vec<(PathBuf, &Document)> = Vec::new();
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (t, docs) in targets {
        for d in docs {
            let rel = relative_path(t, d, masker)?;
            let folded = rel.to_string_lossy().to_lowercase();
            if let Some(first) = seen.insert(folded, &d.origin) {
                return Err(OutputError::Collision {
                    first: first.to_owned(),
                    second: d.origin.clone(),
                    path: masker.show(&rel.display().to_string()).into_owned(),
                });
            }
            files.push((rel, d));
        }
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    let staging = parent.join(format!(".{name}.kit-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = write_all(&staging, &files).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&staging, dir).map_err(|e| io(dir, e))?;
        sync_dir(&parent).map_err(|e| io(&parent, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| files.len())
}

fn private_dirs() -> std::fs::DirBuilder {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b
}

/// Writes every file under `root` (created here), then makes them durable
/// with one sync of the file system instead of one per file.
fn write_all(root: &Path, files: &[(PathBuf, &Document)]) -> Result<(), OutputError> {
    let dirs = private_dirs();
    dirs.create(root).map_err(|e| io(root, e))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut written = Vec::with_capacity(files.len());
    // Each directory is created once (not once per file in it).
    let mut created = std::collections::HashSet::new();
    for (rel, d) in files {
        let path = root.join(rel);
        if let Some(p) = path.parent()
            && !created.contains(p)
        {
            dirs.create(p).map_err(|e| io(p, e))?;
            created.insert(p.to_owned());
        }
        let mut text = String::with_capacity(d.text.len() + d.origin.len() + 12);
        text.push_str("# Source: ");
        text.push_str(&d.origin);
        text.push('\n');
        text.push_str(&d.text);
        let mut f = opts.open(&path).map_err(|e| io(&path, e))?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| io(&path, e))?;
        written.push(f);
    }
    sync_files(root, &written).map_err(|e| io(root, e))
}

/// One `syncfs` for the whole tree on Linux; elsewhere each file.
fn sync_files(root: &Path, files: &[std::fs::File]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let _ = files;
        let d = std::fs::File::open(root)?;
        // SAFETY: syncfs on a file descriptor we own.
        if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        files.iter().try_for_each(std::fs::File::sync_all)
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
