//! Waiting for the run lock: poll with a deadline, tell the observer who holds it, and give
//! up with an error that names the holder.

use std::time::{Duration, Instant};

use crate::engine::{Engine, LOCK_POLL};
use crate::error::Error;
use crate::events::{Event, Observer};

/// Take the run lock, waiting at most `timeout`.
pub fn acquire(
    engine: &mut dyn Engine,
    timeout: Duration,
    observer: &mut dyn Observer,
) -> Result<(), Error> {
    let start = Instant::now();
    let mut told = false;
    loop {
        if engine
            .try_lock()
            .map_err(Error::db("cannot take the run lock"))?
        {
            if told {
                observer.event(&Event::LockAcquired {
                    waited: start.elapsed(),
                });
            }
            return Ok(());
        }
        if !told || start.elapsed() >= timeout {
            let holder = engine
                .lock_holder()
                .map_err(Error::db("cannot see who holds the run lock"))?
                .map(|h| h.0);
            if start.elapsed() >= timeout {
                return Err(Error::LockTimeout {
                    lock_kind: engine.capabilities().lock_kind,
                    waited: start.elapsed(),
                    holder,
                });
            }
            observer.event(&Event::LockWaiting { holder });
            told = true;
        }
        std::thread::sleep(LOCK_POLL.min(timeout.saturating_sub(start.elapsed())));
    }
}
