//! SIGINT, SIGTERM and SIGHUP (Ctrl-C, a CI runner's or container
//! runtime's stop, a closed terminal) while kit does something it must not
//! leave half done.
//!
//! Until kit first starts a program or writes `--output-dir`, the signals
//! keep their default action: kit ends at once, having written nothing.
//! From then on one thread receives them for the rest of the run and acts
//! on what kit is doing:
//! - a program runs ([`Child`]: kubectl): SIGTERM and SIGHUP are forwarded
//!   to it (SIGINT is not: the terminal sends Ctrl-C to it already); kit
//!   waits for it, then ends by the signal ([`end_if_caught`]);
//! - work that can stop runs ([`stoppable`]: the `--output-dir` writer):
//!   its stop flag is set; it removes what it wrote, then kit ends by the
//!   signal;
//! - otherwise kit ends by the signal at once, as without the thread.
//!
//! "Ends by the signal": the signal's default action, so a shell or CI
//! runner sees what it would have seen (killed by SIGTERM, status 143).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};

/// What the signal thread acts on.
#[derive(Default)]
struct State {
    /// Programs being started (one per cluster worked on at once).
    starting: usize,
    /// Programs that run.
    children: Vec<u32>,
    /// The stop flag of the work that runs.
    stop: Option<Arc<AtomicBool>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    starting: 0,
    children: Vec::new(),
    stop: None,
});

thread_local! {
    /// This thread works beside others ([`deferred`]).
    static DEFERRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The first signal caught (0: none).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the signal thread, once.
fn catch() {
    static START: Once = Once::new();
    START.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                // The signals keep their default action.
                return;
            };
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    on_signal(sig);
                }
            });
        }
    });
}

#[cfg(unix)]
fn on_signal(sig: i32) {
    let _ = CAUGHT.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let s = state();
    if s.starting == 0 && s.children.is_empty() && s.stop.is_none() && !s.deferred() {
        end_by(sig);
    }
    for pid in &s.children {
        forward(*pid, sig);
    }
    if let Some(stop) = &s.stop {
        stop.store(true, Ordering::SeqCst);
    }
}

impl State {
    /// Whether threads work beside each other: the signal stops them at
    /// their next step, and kit ends once they all have.
    fn deferred(&self) -> bool {
        WORKERS.load(Ordering::SeqCst) > 0
    }
}

/// Threads that work beside each other now.
static WORKERS: AtomicI32 = AtomicI32::new(0);

/// Sends `sig` on to the program kit started, unless it is SIGINT (the
/// terminal sends Ctrl-C to the program already).
#[cfg(unix)]
fn forward(pid: u32, sig: i32) {
    if sig != signal_hook::consts::SIGINT {
        // SAFETY: kill(2) of the program kit started and still waits for.
        unsafe {
            libc::kill(pid as libc::pid_t, sig);
        }
    }
}

/// The signal caught so far, if any.
pub fn caught() -> Option<i32> {
    Some(CAUGHT.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// Ends kit by the signal caught, if one was: call when a program kit
/// waited for has ended. On a thread that works beside others this does
/// nothing: [`deferred`] ends kit once they all have stopped.
pub fn end_if_caught() {
    if DEFERRED.with(|d| d.get()) {
        return;
    }
    if let Some(sig) = caught() {
        eprintln!("kit: stopped by {}", name(sig));
        end_by(sig);
    }
}

/// Runs `work` on a thread that works beside others (one cluster of a
/// fleet run): a signal caught meanwhile is forwarded to every program
/// that runs and noted ([`caught`]), and does not end kit from this
/// thread; the caller ends kit by it once every such thread is done.
pub fn deferred<T>(work: impl FnOnce() -> T) -> T {
    catch();
    WORKERS.fetch_add(1, Ordering::SeqCst);
    DEFERRED.with(|d| d.set(true));
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            DEFERRED.with(|d| d.set(false));
            WORKERS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _done = Done;
    work()
}

/// On a thread that works beside others, whether a signal came: it starts
/// nothing more.
pub fn stopping_here() -> Option<i32> {
    caught().filter(|_| DEFERRED.with(|d| d.get()))
}

/// A program kit starts and waits for: the signals are forwarded to it
/// while this lives. Create it before starting the program (a signal
/// that comes in between is forwarded once the program is known).
pub struct Child(std::cell::Cell<Option<u32>>);

impl Child {
    /// Before starting the program.
    pub fn starting() -> Child {
        catch();
        state().starting += 1;
        Child(std::cell::Cell::new(None))
    }

    /// The program started as `pid`.
    pub fn started(&self, pid: u32) {
        let mut s = state();
        s.starting -= 1;
        s.children.push(pid);
        self.0.set(Some(pid));
        #[cfg(unix)]
        if let Some(sig) = caught() {
            forward(pid, sig);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let mut s = state();
        match self.0.get() {
            Some(pid) => s.children.retain(|&p| p != pid),
            None => s.starting -= 1,
        }
    }
}

/// Runs `work` with a stop flag the signals set, for it to stop at its
/// next safe point (set from the start when a signal came before). The
/// caller ends kit by the signal afterwards ([`end_if_caught`]).
pub fn stoppable<T>(work: impl FnOnce(&Arc<AtomicBool>) -> T) -> T {
    catch();
    let stop = Arc::new(AtomicBool::new(caught().is_some()));
    state().stop = Some(Arc::clone(&stop));
    let out = work(&stop);
    state().stop = None;
    out
}

/// The name of a signal kit catches, for messages.
pub fn name(sig: i32) -> &'static str {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        match sig {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = sig;
        "a signal"
    }
}

/// Ends kit by `sig`, with the signal's default action.
pub fn end_by(sig: i32) -> ! {
    #[cfg(unix)]
    {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
    }
    std::process::exit(128 + sig)
}
