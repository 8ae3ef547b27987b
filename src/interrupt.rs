//! SIGINT and SIGTERM while cutover holds something a kill would leave behind: a scratch
//! database (a full copy of the data), a backup file being written, a restore under way.
//!
//! Work that must clean up holds a `Guard`. While one is held, the first signal only asks
//! the work to stop: the loops that move bytes look at `requested()` and end with an error,
//! so the ordinary clean-up runs on the way out (the scratch database is dropped, the
//! partial file removed, the restore rolled back) and the command exits with an error. A
//! second signal ends the process at once; what it leaves is swept by the next command
//! (see `scratch`). Outside every guard, signals do what they did before the first guard.
//!
//! Written on `sigaction` directly rather than on signal-hook (which the deploy uses for
//! its own flag): signal-hook cannot give a signal its previous disposition back, so a
//! process that once held a guard would ignore SIGINT and SIGTERM from then on. Here the
//! outermost guard installs the handler and its end puts back whatever was there, and the
//! handler calls that previous handler too, so the deploy's flag still sees every signal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

use crate::error::Error;

const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

/// A signal arrived while a guard was held.
static STOP: AtomicBool = AtomicBool::new(false);
/// The first signal received (its number), for the exit status of a second one.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The handlers that were installed before ours (as `sa_sigaction` values and flags), for
/// the handler to call on; index as `SIGNALS`.
static PREVIOUS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static PREVIOUS_FLAGS: [AtomicI32; 2] = [AtomicI32::new(0), AtomicI32::new(0)];

/// How many guards are held, and the dispositions to put back when the last one ends.
static HELD: Mutex<(usize, Vec<libc::sigaction>)> = Mutex::new((0, Vec::new()));

/// While alive, SIGINT and SIGTERM ask the work to stop instead of killing the process.
pub struct Guard {
    _private: (),
}

impl Guard {
    /// Hold a guard. Nested guards share the first one's state: a signal that stopped an
    /// inner piece of work also stops the outer one.
    #[must_use = "the guard protects only while it is alive"]
    pub fn new() -> Guard {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        if held.0 == 0 {
            STOP.store(false, Ordering::SeqCst);
            RECEIVED.store(0, Ordering::SeqCst);
            held.1 = install();
        }
        held.0 += 1;
        Guard { _private: () }
    }
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.0 -= 1;
        if held.0 == 0 {
            let previous = std::mem::take(&mut held.1);
            for (signal, old) in SIGNALS.iter().zip(&previous) {
                // SAFETY: `old` is a disposition sigaction itself returned.
                unsafe { libc::sigaction(*signal, old, std::ptr::null_mut()) };
            }
            // Only now, so that no signal is taken for a request once no guard is held.
            STOP.store(false, Ordering::SeqCst);
        }
    }
}

/// Whether a signal asked the guarded work to stop (never outside a guard).
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The I/O error a copying loop ends with when asked to stop. Not `ErrorKind::Interrupted`:
/// std's loops retry those.
pub fn io_error() -> std::io::Error {
    std::io::Error::other("interrupted by SIGINT/SIGTERM")
}

/// The error of work a signal stopped; `what` says what became of what it held.
pub fn stopped(what: &str) -> Error {
    Error::Backup(format!("interrupted by SIGINT/SIGTERM: {what}"))
}

/// `result`, or, when a signal stopped the work, the error that says so (`stopped`).
pub fn explain<T>(result: Result<T, Error>, what: &str) -> Result<T, Error> {
    match result {
        Err(_) if requested() => Err(stopped(what)),
        other => other,
    }
}

/// Install the handler for both signals; the dispositions it replaced.
fn install() -> Vec<libc::sigaction> {
    let mut previous = Vec::new();
    for (i, signal) in SIGNALS.iter().enumerate() {
        // SAFETY: plain C structs, zeroed as sigaction expects; `handler` only touches
        // atomics, calls the previous handler and `_exit`, all async-signal-safe.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler as *const () as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(*signal, &new, &mut old);
            PREVIOUS[i].store(old.sa_sigaction, Ordering::SeqCst);
            PREVIOUS_FLAGS[i].store(old.sa_flags, Ordering::SeqCst);
            previous.push(old);
        }
    }
    previous
}

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    if STOP.swap(true, Ordering::SeqCst) {
        // The second signal: the operator insists. Leave now.
        let first = RECEIVED.load(Ordering::SeqCst);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + if first > 0 { first } else { signal }) };
    }
    RECEIVED.store(signal, Ordering::SeqCst);
    let i = SIGNALS.iter().position(|s| *s == signal).unwrap_or(0);
    let previous = PREVIOUS[i].load(Ordering::SeqCst);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    // SAFETY: `previous` is the handler sigaction reported before ours, called as it was
    // registered (with or without SA_SIGINFO).
    unsafe {
        if PREVIOUS_FLAGS[i].load(Ordering::SeqCst) & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(previous);
            f(signal, info, context);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(previous);
            f(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "CUTOVER_INTERRUPT_TEST_CHILD";

    /// The signal state is process-wide, and other unit tests copy bytes in parallel: the
    /// signals are raised in a child process running `in_a_child_process` alone.
    #[test]
    fn a_signal_inside_a_guard_is_a_request() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "interrupt::tests::in_a_child_process",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "{text}");
    }

    /// A signal inside a guard is only a request; the guard's end gives the signal its
    /// old disposition back; a second signal ends the process.
    #[test]
    fn in_a_child_process() {
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        assert!(!requested());
        let outer = Guard::new();
        let inner = Guard::new();
        // SAFETY: raise sends a signal to this thread; the guard's handler takes it.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(requested(), "the handler saw the signal");
        drop(inner);
        assert!(requested(), "nested guards share the request");
        let r: Result<(), Error> = Err(Error::Usage("x".into()));
        let e = explain(r, "nothing was written").unwrap_err().to_string();
        assert_eq!(e, "interrupted by SIGINT/SIGTERM: nothing was written");
        drop(outer);
        assert!(!requested(), "no request outside a guard");
        // SAFETY: reading the current disposition only.
        let current = unsafe {
            let mut now: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut now);
            now.sa_sigaction
        };
        assert_eq!(current, libc::SIG_DFL, "the default is back");
        let _again = Guard::new();
        assert!(!requested(), "a new guard starts clean");
    }
}
