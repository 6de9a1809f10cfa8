//! Where kit's messages and kubectl's output go while kit works on a
//! cluster: straight to stderr and stdout, or, in a run over several
//! clusters, with each line prefixed by the cluster (`[env/cluster] `);
//! with clusters worked on in parallel, each cluster's lines are kept
//! together and written as one block when it is done.
//!
//! The choice is the calling thread's ([`for_cluster`]); [`err`] and
//! [`out`] and [`out_all`] follow it.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use kit_project::Masker;

use crate::diagnostics::Failure;

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// The calling thread's choice.
struct Sink {
    /// `[env/cluster] `.
    tag: String,
    /// What was said so far, when kept for one block.
    kept: Option<Vec<(Stream, Vec<u8>)>>,
}

thread_local! {
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// The run's secret values, once rendered: names kit's messages take from
/// rendered objects go through [`shown`].
static MASK: OnceLock<Masker> = OnceLock::new();

/// Keeps the run's masker for [`shown`] (the first one given stays).
pub fn mask_with(masker: &Masker) {
    let _ = MASK.set(masker.clone());
}

/// `thing` as kit's messages may show it: `<redacted>` when it is or
/// contains a secret value of the run (an object or field named after one).
pub fn shown(thing: &impl std::fmt::Display) -> String {
    let text = thing.to_string();
    match MASK.get() {
        Some(m) if m.hides(&text) => "<redacted>".to_owned(),
        _ => text,
    }
}

/// One block (or line) at a time on the terminal.
static WRITING: Mutex<()> = Mutex::new(());

/// Runs `work` for cluster `name`: kit's first line `header` (untagged: it
/// names the cluster), then every line said meanwhile prefixed with
/// `[name] `; kept and written at the end, all together, when `together`.
/// `name` `None`: as without this (a run on one cluster).
pub fn for_cluster<T>(
    name: Option<&str>,
    together: bool,
    header: &str,
    work: impl FnOnce() -> T,
) -> T {
    let Some(name) = name else {
        err(header);
        return work();
    };
    let previous = SINK.with(|s| {
        s.borrow_mut().replace(Sink {
            tag: format!("[{name}] "),
            kept: together.then(|| vec![(Stream::Err, header.as_bytes().to_vec())]),
        })
    });
    if !together {
        write(&[(Stream::Err, header.as_bytes().to_vec())]);
    }
    let result = work();
    let sink = SINK.with(|s| std::mem::replace(&mut *s.borrow_mut(), previous));
    if let Some(kept) = sink.and_then(|s| s.kept) {
        write(&kept);
    }
    result
}

/// `eprintln!` through [`err`]: one line on stderr, as the thread's choice
/// says.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::err(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use say;

/// Says `text` on stderr (as `eprint!`), as the thread's choice says.
pub fn err(text: &str) {
    if !kept_or_tagged(Stream::Err, text.as_bytes()) {
        write(&[(Stream::Err, text.as_bytes().to_vec())]);
    }
}

/// Writes `bytes` on stdout, as the thread's choice says. A closed pipe
/// (`kit ... | head`) is not an error worth a message.
pub fn out(bytes: &[u8]) -> Result<(), Failure> {
    if kept_or_tagged(Stream::Out, bytes) {
        return Ok(());
    }
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to standard output", e)),
    }
}

/// Reports `failure` on stderr, as the thread's choice says.
pub fn report(failure: &Failure) {
    let mut text = Vec::new();
    failure.report(&mut text);
    err(&String::from_utf8_lossy(&text));
}

/// Says `bytes` for the thread's cluster, if it works for one: true when
/// done.
fn kept_or_tagged(stream: Stream, bytes: &[u8]) -> bool {
    SINK.with(|s| {
        let mut s = s.borrow_mut();
        let Some(sink) = s.as_mut() else {
            return false;
        };
        if bytes.is_empty() {
            return true;
        }
        let tagged = prefixed(&sink.tag, bytes);
        match &mut sink.kept {
            Some(kept) => kept.push((stream, tagged)),
            None => write(&[(stream, tagged)]),
        }
        true
    })
}

/// `bytes` with `tag` before each line.
fn prefixed(tag: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + tag.len() * 4);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

fn write(chunks: &[(Stream, Vec<u8>)]) {
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for (stream, bytes) in chunks {
        // A closed pipe (`kit diff --all | head`) is not worth a message;
        // stderr failing leaves nowhere to say anything.
        let _ = match stream {
            Stream::Out => stdout.write_all(bytes).and_then(|()| stdout.flush()),
            Stream::Err => stderr.write_all(bytes),
        };
    }
}

/// Writes several pieces on stdout, in order, as one result (only after
/// everything succeeded); a closed pipe is not an error.
pub fn out_all<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Result<(), Failure> {
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut stdout = std::io::stdout().lock();
    let written = pieces
        .into_iter()
        .try_for_each(|p| stdout.write_all(p))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io("cannot write to standard output", e)),
    }
}

/// Rows of cells laid out in columns two spaces apart, each as wide as its
/// widest cell, trailing blanks trimmed (kit status's tables).
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::prefixed;

    #[test]
    fn every_line_gets_the_tag_and_the_last_its_newline() {
        assert_eq!(prefixed("[a/b] ", b"x\ny\n"), b"[a/b] x\n[a/b] y\n");
        assert_eq!(prefixed("[a/b] ", b"x\ny"), b"[a/b] x\n[a/b] y\n");
    }
}
