//! Guarded execution: a statement that gives up waiting for a lock (the environment's
//! `guard.lock_timeout`, set on the session for the whole run) is tried again, with
//! exponential backoff and jitter, up to `guard.tries` or `guard.retry_for`. A lock timeout
//! applies nothing of the statement, so a try again is always safe: in a transaction the
//! whole script is tried again (the transaction was rolled back), outside one the statement
//! alone. Each retry is an event (shown, and journaled by a deploy); the last failure says
//! how many tries were made and what to do.

use std::time::{Duration, Instant};

use crate::config::Guard;
use crate::engine::{DbError, Engine};
use crate::events::{Event, Observer};

/// Statement `index` (0-based in its job) failed with `error`; `retry`: nothing of the
/// attempt stayed behind, so a lock timeout may be tried again.
pub struct Stop {
    pub index: usize,
    pub error: DbError,
    pub retry: bool,
}

impl Stop {
    /// A failure that left nothing behind.
    pub fn at(index: usize, error: DbError) -> Stop {
        Stop {
            index,
            error,
            retry: true,
        }
    }

    /// A failure that left something behind: never tried again.
    pub fn kept(index: usize, error: DbError) -> Stop {
        Stop {
            index,
            error,
            retry: false,
        }
    }
}

/// The guard of one script's run.
pub struct Guarded<'g> {
    /// `None`: not guarded (no lock timeout on this engine or environment, or a
    /// transaction around the whole deploy, which a retry cannot replay).
    policy: Option<Guard>,
    is_lock_timeout: fn(&str) -> bool,
    observer: &'g mut dyn Observer,
    id: String,
    /// The session's settings (the lock timeout among them), put back before a whole
    /// script is tried again: on PostgreSQL they were set inside the transaction that was
    /// rolled back.
    baseline: Vec<String>,
}

impl<'g> Guarded<'g> {
    pub fn new(
        policy: Option<Guard>,
        engine: &dyn Engine,
        observer: &'g mut dyn Observer,
        id: &str,
        baseline: &[String],
    ) -> Guarded<'g> {
        Guarded {
            policy,
            is_lock_timeout: crate::driver::of(engine.kind()).is_lock_timeout,
            observer,
            id: id.to_string(),
            baseline: baseline.to_vec(),
        }
    }

    /// The session's settings, to put back before a whole script is tried again.
    pub fn baseline(&self) -> Vec<String> {
        self.baseline.clone()
    }

    /// Say how far a backfill got (`done` of about `total` rows in `spent`).
    pub fn progress(&mut self, done: u64, total: u64, spent: Duration, finished: bool) {
        let rate = (done as f64 / spent.as_secs_f64().max(0.001)) as u64;
        let left = match (finished, rate) {
            (true, _) | (_, 0) => Duration::ZERO,
            _ => Duration::from_secs_f64(total.saturating_sub(done) as f64 / rate as f64),
        };
        self.observer.event(&Event::Backfill {
            id: self.id.clone(),
            done,
            total,
            rate,
            left,
            finished,
        });
    }

    /// Whether `error` is a lock timeout this guard tries again after.
    pub fn retries(&self, error: &DbError) -> bool {
        self.policy.is_some() && (self.is_lock_timeout)(&error.message)
    }

    /// Run `attempt` until it succeeds, fails with anything but a lock timeout, or the
    /// tries or the time run out. `attempt` leaves nothing behind when it fails (it rolls
    /// back its own transaction).
    pub fn run<T>(
        &mut self,
        engine: &mut dyn Engine,
        mut attempt: impl FnMut(&mut dyn Engine) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        let start = Instant::now();
        let mut tries = 1u32;
        loop {
            let (index, error) = match attempt(engine) {
                Err(stop) if stop.retry && self.retries(&stop.error) => (stop.index, stop.error),
                other => return other,
            };
            let policy = self.policy.as_ref().expect("retries() checked");
            let pause = policy.pause(tries, random());
            if tries >= policy.tries || start.elapsed() + pause > policy.retry_for {
                // Nothing of it stayed behind: the caller's record says so.
                return Err(Stop::at(
                    index,
                    gave_up(error, tries, start.elapsed(), policy),
                ));
            }
            tries += 1;
            self.observer.event(&Event::LockRetry {
                id: self.id.clone(),
                statement: index + 1,
                attempt: tries,
                tries: policy.tries,
                pause,
                error: error.message.clone(),
            });
            std::thread::sleep(pause);
        }
    }
}

/// The last lock timeout, with how long the guard tried and what to do.
fn gave_up(mut error: DbError, tries: u32, spent: Duration, policy: &Guard) -> DbError {
    let line = format!(
        "gave up after {tries} tries in {:.1}s (guard.tries = {}, guard.retry_for = {}s): a \
         session holds a lock on the table; `cutover deploy` names such sessions in its \
         preflight, and guard.blockers decides what to do about them",
        spent.as_secs_f64(),
        policy.tries,
        policy.retry_for.as_secs()
    );
    error.detail = Some(match error.detail.take() {
        Some(d) => format!("{d}\n{line}"),
        None => line,
    });
    error
}

/// A random number for jitter (a v4 UUID's bits: no other source of randomness is linked).
fn random() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}
