//! A progress line on standard error, only when it is a terminal (never in
//! CI logs or pipes).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts finished items and redraws `kit: rendering [#####.....] 37/100`.
pub struct Progress {
    what: &'static str,
    total: usize,
    done: AtomicUsize,
    enabled: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: usize) -> Self {
        Progress {
            what,
            total,
            done: AtomicUsize::new(0),
            enabled: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.enabled {
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
