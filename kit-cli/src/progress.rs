//! A progress line on standard error, only when it is a terminal (never in
//! CI logs or pipes), and only for work that lasts: nothing is drawn in the
//! first [`DELAY`], so a 5 ms render never flickers a bar.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long work runs before a progress line appears.
pub const DELAY: Duration = Duration::from_millis(400);

/// Counts finished items and redraws `kit: rendering [#####.....] 37/100`.
pub struct Progress {
    what: &'static str,
    total: usize,
    done: AtomicUsize,
    enabled: bool,
    started: Instant,
}

impl Progress {
    pub fn new(what: &'static str, total: usize) -> Self {
        Progress {
            what,
            total,
            done: AtomicUsize::new(0),
            enabled: total > 1 && std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.enabled || self.started.elapsed() < DELAY {
            return;
        }
        // Redraw about a hundred times in all, and at the end.
        if done != self.total && !done.is_multiple_of((self.total / 100).max(1)) {
            return;
        }
        let width = 30;
        let filled = done * width / self.total;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rkit: {} [{}{}] {done}/{}",
            self.what,
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.total
        );
        if done == self.total {
            let _ = writeln!(err);
        }
    }
}

impl Progress {
    /// A callback for work reported in phases (`(phase, done, total)`), such
    /// as secret resolution: one progress line per phase.
    pub fn phases() -> impl Fn(&'static str, usize, usize) + Send + Sync + 'static {
        let current: Mutex<Option<Progress>> = Mutex::new(None);
        // Checked once: the callback runs for every secret, on several
        // threads, and without a terminal it has nothing to do.
        let enabled = std::io::stderr().is_terminal();
        move |phase, _done, total| {
            if !enabled {
                return;
            }
            let mut cur = current.lock().unwrap_or_else(|e| e.into_inner());
            if cur.as_ref().is_none_or(|p| p.what != phase) {
                *cur = Some(Progress::new(phase, total));
            }
            if let Some(p) = cur.as_ref() {
                p.tick();
            }
        }
    }
}
