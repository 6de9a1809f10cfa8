//! Writing documents to a directory (`kit render --output-dir`): one file
//! per document, all or nothing.
//!
//! Layout: `DIR/<environment>/<cluster>/<service>/[<namespace>/]<kind>[.<group>]-<name>.yaml`,
//! `kind.group` as kubectl writes it (`deployment.apps-web.yaml`; core kinds
//! have no group: `service-web.yaml`). Every path is computed and checked
//! before anything is written: names that cannot be file names and paths
//! that would collide (compared without case, for case-insensitive file
//! systems) are errors. The files (0600, directories 0700) are written into
//! a hidden sibling of DIR, synced as a whole (not file by file), and the
//! whole tree is renamed to DIR at the end; on any error the sibling is
//! removed and DIR is untouched.
//!
//! Two ways in: [`crate::Rendered::write_dir`] writes what was rendered
//! (every path checked before the first file); [`crate::render_to_dir`]
//! writes each target's files while later targets render, and checks the whole run in
//! plan order once the render is done (the same errors, in the same order:
//! what was written meanwhile is in the hidden sibling, which goes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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
    stop: &AtomicBool,
) -> Result<usize, OutputError> {
    if !is_free(dir)? {
        return Err(OutputError::NotEmpty(dir.to_owned()));
    }
    // Every path first: nothing is written when one is wrong.
    let files = file_paths(targets, masker)?;
    let (parent, staging) = staging_for(dir)?;
    let result =
        write_all(&staging, &files, stop).and_then(|()| finish(dir, &parent, &staging, stop));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| files.len())
}

/// Whether `dir` is missing or an empty directory (the only places kit
/// writes a tree to).
pub(crate) fn is_free(dir: &Path) -> Result<bool, OutputError> {
    if !dir.exists() {
        return Ok(true);
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    Ok(entries.next().is_none())
}

/// Every document's path under DIR, in order, checked: names that cannot
/// be file names and paths that collide (without case) are errors, the
/// first in plan order.
fn file_paths<'d>(
    targets: &'d [(Target, Vec<Document>)],
    masker: &Masker,
) -> Result<Vec<(PathBuf, &'d Document)>, OutputError> {
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
    Ok(files)
}

/// DIR's parent (created) and the hidden sibling the tree is made in
/// (emptied).
fn staging_for(dir: &Path) -> Result<(PathBuf, PathBuf), OutputError> {
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
    Ok((parent, staging))
}

/// Gives the complete, synced tree its name.
fn finish(dir: &Path, parent: &Path, staging: &Path, stop: &AtomicBool) -> Result<(), OutputError> {
    // The last moment to stop: after the rename the tree is complete.
    if stop.load(Ordering::Relaxed) {
        return Err(OutputError::Interrupted);
    }
    if dir.exists() {
        std::fs::remove_dir(dir).map_err(|e| io(dir, e))?;
    }
    std::fs::rename(staging, dir).map_err(|e| io(dir, e))?;
    sync_dir(parent).map_err(|e| io(parent, e))
}

/// One target's documents, shared by the renderer's result and the
/// writers.
pub(crate) type Shared = std::sync::Arc<(Target, Vec<Document>)>;

/// Every target's documents, in plan order.
type Targets = Vec<(Target, Vec<Document>)>;

/// Writes the tree while it is being rendered: `render` gets a function to
/// hand each target's documents to as soon as they are rendered, and
/// returns them all in plan order (or the render's error). A few writer
/// threads create the files in the hidden sibling meanwhile. Once the
/// render is done, every check runs over the whole run in plan order
/// (`check`, then the file names and collisions), so errors are the ones
/// a run that renders first would report; on any error the sibling is
/// removed. DIR must be free ([`is_free`]).
pub(crate) fn write_tree_while(
    dir: &Path,
    masker: &Masker,
    stop: &AtomicBool,
    render: impl FnOnce(&(dyn Fn(Shared) + Sync)) -> Result<Vec<Shared>, OutputError>,
    check: impl FnOnce(&[(Target, Vec<Document>)]) -> Result<(), OutputError>,
) -> Result<(Targets, usize), OutputError> {
    let (parent, staging) = staging_for(dir)?;
    let result = write_while(&staging, masker, stop, render).and_then(|targets| {
        check(&targets)?;
        let files = file_paths(&targets, masker)?.len();
        Ok((targets, files))
    });
    let result = result.and_then(|(targets, files)| {
        finish(dir, &parent, &staging, stop)?;
        Ok((targets, files))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// The streaming half of [`write_tree_while`]: renders and writes, and
/// syncs what was written. A document the writers cannot place (a bad
/// name, a path another took) is skipped here: the checks that follow
/// name it.
fn write_while(
    root: &Path,
    masker: &Masker,
    stop: &AtomicBool,
    render: impl FnOnce(&(dyn Fn(Shared) + Sync)) -> Result<Vec<Shared>, OutputError>,
) -> Result<Targets, OutputError> {
    private_dir().create(root).map_err(|e| io(root, e))?;
    let tree = std::fs::File::open(root).map_err(|e| io(root, e))?;
    let writers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let (send, receive) = std::sync::mpsc::channel::<Shared>();
    let receive = std::sync::Mutex::new(receive);
    let failed: std::sync::Mutex<Option<OutputError>> = std::sync::Mutex::new(None);
    let rendered = std::thread::scope(|scope| {
        let (written, sizes) = std::sync::mpsc::channel();
        if cfg!(target_os = "linux") {
            scope.spawn(move || flush_every(root, FLUSH_EVERY_BYTES, sizes));
        }
        for _ in 0..writers {
            let written = written.clone();
            let (receive, failed) = (&receive, &failed);
            scope.spawn(move || {
                let mut created = std::collections::HashSet::new();
                loop {
                    let next = receive.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(target) = next else { return };
                    for d in &target.1 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let Ok(rel) = relative_path(&target.0, d, masker) else {
                            continue;
                        };
                        match write_file(root, &rel, d, &mut created) {
                            Ok(()) => {
                                let _ = written.send(d.text.len());
                            }
                            // Another document's path: the collision check names it.
                            Err(OutputError::Io { source, .. })
                                if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                            Err(e) => {
                                failed
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(e);
                                return;
                            }
                        }
                    }
                }
            });
        }
        drop(written);
        let hand = move |t: Shared| {
            // Writers that ended on an error no longer take any: the
            // render goes on, the error is reported after it.
            let _ = send.send(t);
        };
        let rendered = render(&hand);
        // The writers end once the queue is empty and closed.
        drop(hand);
        rendered
    });
    let rendered = rendered?;
    if stop.load(Ordering::Relaxed) {
        return Err(OutputError::Interrupted);
    }
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    sync_tree(&tree).map_err(|e| io(root, e))?;
    Ok(rendered
        .into_iter()
        .map(|t| std::sync::Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone()))
        .collect())
}

/// How many bytes [`flush_every`] lets the writers write between two early
/// syncs.
const FLUSH_EVERY_BYTES: usize = 2 << 20;

/// Syncs the file system each time another `every` bytes have been
/// written (`sizes`: each file's size as it is written), so the disk works
/// while the tree is still being made; errors are left to the final sync.
fn flush_every(root: &Path, every: usize, sizes: std::sync::mpsc::Receiver<usize>) {
    let Ok(tree) = std::fs::File::open(root) else {
        return;
    };
    let mut since = 0;
    for n in sizes {
        since += n;
        if since >= every {
            let _ = sync_tree(&tree);
            since = 0;
        }
    }
}

fn private_dir() -> std::fs::DirBuilder {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b
}

/// Writes every file under `root` (created here), then makes them durable
/// with a sync of the whole file system instead of one per file (elsewhere
/// than Linux, each file is synced as it is written). A few threads write
/// the files, creating directories on the way (creating files and
/// directories is mostly kernel work, which runs in parallel across
/// directories). On Linux, a further thread starts the disk writing while
/// the rest is still being created ([`flush_ahead`]), so the final sync
/// waits for less. The writers stop at the next file once `stop` is set.
fn write_all(
    root: &Path,
    files: &[(PathBuf, &Document)],
    stop: &AtomicBool,
) -> Result<(), OutputError> {
    private_dir().create(root).map_err(|e| io(root, e))?;
    // Opened before anything is written, so its sync reports every write
    // error of the run (a sync reports the errors since its file was opened).
    let tree = std::fs::File::open(root).map_err(|e| io(root, e))?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(files.len().div_ceil(64).max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        // The writers tell the flusher, when there is one, each file's size.
        let written = (cfg!(target_os = "linux") && files.len() >= FLUSH_AHEAD_FILES).then(|| {
            let (written, sizes) = std::sync::mpsc::channel();
            let bytes = files.iter().map(|(_, d)| d.text.len()).sum();
            scope.spawn(move || flush_ahead(root, bytes, sizes));
            written
        });
        let writers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let written = written.clone();
                scope.spawn(move || {
                    let mut created = std::collections::HashSet::new();
                    part.iter().try_for_each(|f| {
                        if stop.load(Ordering::Relaxed) {
                            return Err(OutputError::Interrupted);
                        }
                        write_file(root, &f.0, f.1, &mut created)?;
                        if let Some(w) = &written {
                            // A flusher that has ended needs no more sizes.
                            let _ = w.send(f.1.text.len());
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        drop(written);
        writers
            .into_iter()
            .try_for_each(|w| w.join().expect("a file writer does not panic"))
    })?;
    sync_tree(&tree).map_err(|e| io(root, e))
}

/// The trees [`flush_ahead`] helps: below this many files, writing them
/// takes about as long as an early sync.
const FLUSH_AHEAD_FILES: usize = 512;

/// Syncs the file system early, twice, after each third of the bytes has
/// been written (`sizes`: the size of each file as it is written), so the
/// disk works while the writers create the rest. Its own sync errors are
/// left to the final sync, which reports every error since the writing
/// began.
fn flush_ahead(root: &Path, bytes: usize, sizes: std::sync::mpsc::Receiver<usize>) {
    let Ok(tree) = std::fs::File::open(root) else {
        return;
    };
    let step = bytes / 3;
    let (mut sum, mut next) = (0, step);
    for n in sizes {
        sum += n;
        if sum >= next && sum < bytes {
            let _ = sync_tree(&tree);
            next = sum + step;
        }
    }
}

/// Writes one document's file (new, private), creating its directories
/// top-down unless this thread did already (`created`). Another writer may
/// have created one: `root` is kit's own fresh directory, so an existing
/// directory in it is one of this run's.
fn write_file(
    root: &Path,
    rel: &Path,
    d: &Document,
    created: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), OutputError> {
    let mut ancestors: Vec<&Path> = rel
        .ancestors()
        .skip(1)
        .take_while(|a| !a.as_os_str().is_empty() && !created.contains(*a))
        .collect();
    ancestors.reverse();
    for a in ancestors {
        let p = root.join(a);
        match private_dir().create(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(&p, e)),
            _ => {}
        }
        created.insert(a.to_owned());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let path = root.join(rel);
    let mut text = String::with_capacity(d.text.len() + d.origin.len() + 12);
    text.push_str("# Source: ");
    text.push_str(&d.origin);
    text.push('\n');
    text.push_str(&d.text);
    let mut f = opts.open(&path).map_err(|e| io(&path, e))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| io(&path, e))?;
    #[cfg(not(target_os = "linux"))]
    f.sync_all().map_err(|e| io(&path, e))?;
    Ok(())
}

/// On Linux, a `syncfs` of the file system the tree (`d`, its root folder)
/// is on: its files and directories; elsewhere the files are synced as
/// written, and this syncs the root folder.
fn sync_tree(d: &std::fs::File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: syncfs on a file descriptor we own.
        if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        d.sync_all()
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
