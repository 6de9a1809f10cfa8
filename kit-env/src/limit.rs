//! How many store requests are in flight: a bound that adapts to the store.
//!
//! A run starts with [`START_IN_FLIGHT`] requests in flight (or the bound
//! given, if lower) and measures throughput over rounds of as many requests
//! as the limit. While a round that used the whole limit finished at least
//! [`GROWTH`] times faster than the best round before it, the limit
//! doubles, up to the bound. The first round that does not gain ends the
//! growth. A throttling answer (S3 `SlowDown`, HTTP 503 or 429, counted by
//! the store as [`crate::Stats::throttled`]) halves the limit and ends the
//! growth for the rest of the run: the store has said what it can take.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Semaphore;

/// Requests in flight in a run's first round.
pub const START_IN_FLIGHT: usize = 32;

/// How much faster a round must finish than the best before it for the
/// limit to double again.
const GROWTH: f64 = 1.1;

/// The bound of a run's requests in flight.
pub(crate) struct Limiter {
    permits: Semaphore,
    max: usize,
    state: Mutex<State>,
}

struct State {
    /// The current limit.
    limit: usize,
    /// Permits still to retire after a back-off (taken from requests as
    /// they finish, when none were idle).
    debt: usize,
    in_flight: usize,
    peak: usize,
    growing: bool,
    /// The throttling answers the store had counted when last seen.
    throttled: u64,
    round_start: Option<Instant>,
    round_done: usize,
    /// Whether the round reached the limit (else more in flight would
    /// not have been used: the round says nothing about growth).
    round_full: bool,
    best_rate: f64,
}

/// A request's place within the bound; [`Slot::finish`] says how it went,
/// dropping it without (a cancelled request) only gives the place back.
pub(crate) struct Slot<'a> {
    limiter: &'a Limiter,
    finished: bool,
}

impl Limiter {
    /// A limiter of at most `max` requests in flight (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        let start = START_IN_FLIGHT.min(max);
        Limiter {
            permits: Semaphore::new(start),
            max,
            state: Mutex::new(State {
                limit: start,
                debt: 0,
                in_flight: 0,
                peak: 0,
                growing: start < max,
                throttled: 0,
                round_start: None,
                round_done: 0,
                round_full: false,
                best_rate: 0.0,
            }),
        }
    }

    /// The bound given.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The most requests that were in flight at once so far.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place.
    pub async fn acquire(&self) -> Slot<'_> {
        self.acquire_at(Instant::now()).await
    }

    async fn acquire_at(&self, now: Instant) -> Slot<'_> {
        self.permits
            .acquire()
            .await
            .expect("the limiter's semaphore is never closed")
            .forget();
        let mut s = self.lock();
        s.in_flight += 1;
        s.peak = s.peak.max(s.in_flight);
        if s.in_flight >= s.limit {
            s.round_full = true;
        }
        if s.round_start.is_none() {
            s.round_start = Some(now);
        }
        Slot {
            limiter: self,
            finished: false,
        }
    }

    fn release(&self, s: &mut State) {
        s.in_flight -= 1;
        if s.debt > 0 {
            s.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    /// A request finished, the store having counted `throttled` throttling
    /// answers so far.
    fn finished(&self, throttled: u64, now: Instant) {
        let mut s = self.lock();
        self.release(&mut s);
        if throttled > s.throttled {
            s.throttled = throttled;
            let lower = (s.limit / 2).max(1);
            let cut = s.limit - lower;
            s.limit = lower;
            s.growing = false;
            let idle = self.permits.forget_permits(cut);
            s.debt += cut - idle;
            return;
        }
        s.round_done += 1;
        if s.round_done < s.limit {
            return;
        }
        let elapsed = s
            .round_start
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64())
            .max(1e-6);
        let rate = s.round_done as f64 / elapsed;
        if s.growing && s.round_full {
            if rate >= s.best_rate * GROWTH {
                let more = s.limit.min(self.max - s.limit);
                s.limit += more;
                self.permits.add_permits(more);
                s.growing = s.limit < self.max;
            } else {
                s.growing = false;
            }
        }
        s.best_rate = s.best_rate.max(rate);
        s.round_start = Some(now);
        s.round_done = 0;
        s.round_full = s.in_flight >= s.limit;
    }
}

impl Slot<'_> {
    /// The request is done; the store has counted `throttled` throttling
    /// answers so far.
    pub fn finish(self, throttled: u64) {
        self.finish_at(throttled, Instant::now());
    }

    fn finish_at(mut self, throttled: u64, now: Instant) {
        self.finished = true;
        self.limiter.finished(throttled, now);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut s = self.limiter.lock();
            self.limiter.release(&mut s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;

    /// Runs rounds of requests (all of a round in flight, then all
    /// finished), round `r` taking `pace(r)` milliseconds on a made-up
    /// clock: the limit of each round.
    fn limits_over_rounds(l: &Limiter, rounds: usize, pace: impl Fn(usize) -> u64) -> Vec<usize> {
        block_on(async {
            let mut now = Instant::now();
            let mut seen = Vec::new();
            for r in 0..rounds {
                let limit = l.lock().limit;
                seen.push(limit);
                let mut slots = Vec::new();
                for _ in 0..limit {
                    slots.push(l.acquire_at(now).await);
                }
                now += std::time::Duration::from_millis(pace(r));
                for s in slots {
                    s.finish_at(0, now);
                }
            }
            seen
        })
    }

    #[test]
    fn the_limit_doubles_while_a_full_round_finishes_faster_and_stops_at_the_bound() {
        // A round of any size takes the same time (a store with room to
        // spare): throughput doubles with the limit, up to the bound.
        let l = Limiter::new(200);
        assert_eq!(limits_over_rounds(&l, 5, |_| 5), [32, 64, 128, 200, 200]);
        assert_eq!(l.peak(), 200);
    }

    #[test]
    fn growth_ends_at_the_first_round_that_gains_nothing() {
        // From the third round on, twice the requests take twice as long.
        let l = Limiter::new(1000);
        let seen = limits_over_rounds(&l, 5, |r| if r < 2 { 5 } else { 5 << (r - 1) });
        assert_eq!(seen, [32, 64, 128, 128, 128]);
    }

    #[test]
    fn a_throttling_answer_halves_the_limit_and_ends_growth() {
        let l = Limiter::new(1000);
        block_on(async {
            let slots: Vec<_> = futures_lite_join(&l, 32).await;
            let mut it = slots.into_iter();
            it.next().unwrap().finish(1);
            // 16 places remain, all taken by the 31 in flight: no new one
            // until 16 of them finish.
            assert_eq!(l.lock().limit, 16);
            assert!(l.permits.try_acquire().is_err());
            for s in it {
                s.finish(1);
            }
            assert_eq!(l.permits.available_permits(), 16);
            assert_eq!(l.lock().in_flight, 0);
            assert!(!l.lock().growing);
        });
    }

    #[test]
    fn a_bound_below_the_start_is_the_limit_and_a_dropped_slot_gives_its_place_back() {
        let l = Limiter::new(4);
        block_on(async {
            let slots = futures_lite_join(&l, 4).await;
            assert!(l.permits.try_acquire().is_err());
            drop(slots);
            assert_eq!(l.permits.available_permits(), 4);
        });
        assert_eq!(l.max(), 4);
    }

    async fn futures_lite_join(l: &Limiter, n: usize) -> Vec<Slot<'_>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(l.acquire().await);
        }
        out
    }
}
