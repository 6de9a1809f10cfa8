//! Working on several clusters at once (`--parallel N`): up to N threads
//! take the clusters in order; once one cluster's outcome says stop (a
//! failure without `--keep-going`, or a signal), no cluster is started
//! any more and those already started finish.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::signals;

/// What a fleet run defaults to: kubectl mostly waits on the network, so
/// more clusters than a 2-core runner's cores help. Measured with
/// benches/fleet_apply.sh (8 clusters x 30 objects, 40 ms RTT, 2 cores):
/// one at a time 17.4 s, 4 at once 5.0 s, 8 at once 3.3 s (a shell
/// running all 8 kubectls at once: 3.05 s).
pub const DEFAULT_PARALLEL: usize = 8;

/// Runs `work` on each item, up to `parallel` at once (in the calling
/// thread when 1, exactly as a loop). `stops` says whether an outcome
/// stops the run; items not started then are `None`.
pub fn run<T: Sync, R: Send>(
    items: &[T],
    parallel: usize,
    stops: impl Fn(&R) -> bool + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let parallel = parallel.clamp(1, items.len().max(1));
    if parallel == 1 {
        let mut out = Vec::with_capacity(items.len());
        let mut stopped = false;
        for item in items {
            if stopped {
                out.push(None);
                continue;
            }
            let r = work(item);
            stopped = stops(&r);
            out.push(Some(r));
        }
        return out;
    }
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| {
                signals::deferred(|| {
                    loop {
                        if stopped.load(Ordering::SeqCst) || signals::caught().is_some() {
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { return };
                        let r = work(item);
                        if stops(&r) {
                            stopped.store(true, Ordering::SeqCst);
                        }
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    }
                })
            });
        }
    });
    // Every thread is done: a signal caught meanwhile ends kit now.
    signals::end_if_caught();
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn every_item_once_in_order_of_the_items() {
        let items: Vec<u32> = (0..20).collect();
        for parallel in [1, 3, 50] {
            let out = run(&items, parallel, |_| false, |i| i * 2);
            let want: Vec<Option<u32>> = items.iter().map(|i| Some(i * 2)).collect();
            assert_eq!(out, want, "parallel {parallel}");
        }
    }

    #[test]
    fn a_stop_starts_nothing_more() {
        let items: Vec<u32> = (0..10).collect();
        let out = run(&items, 1, |r| *r == 4, |i| *i);
        assert_eq!(out.iter().filter(|r| r.is_some()).count(), 5);
        assert!(out[5..].iter().all(Option::is_none));
        // In parallel, those started before finish.
        let out = run(&items, 3, |r| *r == 4, |i| *i);
        assert!(out[..5].iter().all(Option::is_some), "{out:?}");
    }
}
