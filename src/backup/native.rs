//! What a backup asks of an engine's native tools, and the plumbing the three engines
//! share: a thread that compresses a tool's output while this thread reports progress
//! and counts rows, and the choice of driver by engine kind.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::encryption::Seal;
use super::stream::{Digested, Source};
use crate::config::BackupPolicy;
use crate::engine::Engine;
use crate::error::Error;
use crate::target::DatabaseUrl;

/// What is read inside the dump's snapshot: schema fingerprint, newest migration, rows.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub fingerprint: String,
    pub migration: Option<String>,
    pub tables: BTreeMap<String, u64>,
}

/// A finished dump.
pub struct Dumped {
    pub facts: Facts,
    /// Whether `facts` were read in the dump's own snapshot.
    pub consistent: bool,
    pub file: Digested,
}

/// Where a restore goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Into {
    /// An empty scratch database (verification): as fast as the tool allows.
    Scratch,
    /// The target itself: everything in it is replaced, as atomically as the engine allows.
    Target,
}

/// Reads the facts inside the snapshot; given the engine connection holding it.
pub type Inside<'a> = &'a mut dyn FnMut(&mut dyn Engine) -> Result<Facts, Error>;
/// Called with the bytes moved so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// One engine's way of dumping and restoring.
pub trait Native {
    /// The backup file's extension (`pgdump.zst`).
    fn extension(&self) -> &'static str;
    /// Find the tools and refuse ones older than the server; the dump tool's description.
    fn check(&mut self, server_version: &str) -> Result<String, Error>;
    /// Dump `url` into the compressed file `out`, sealed by `seal`.
    fn dump(
        &mut self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        out: &Path,
        seal: &Seal,
        inside: Inside,
        progress: Progress,
    ) -> Result<Dumped, Error>;
    /// Restore the checked file into `url`, reading `source`'s descriptor; a load that
    /// read other bytes than were checked is an error, undone where the engine can.
    fn restore(
        &mut self,
        engine: &mut dyn Engine,
        source: Source,
        url: &DatabaseUrl,
        into: Into,
        progress: Progress,
    ) -> Result<(), Error>;
}

/// The dump/restore driver for `url`'s engine (from the `driver` table).
pub fn for_url(url: &DatabaseUrl, policy: &BackupPolicy) -> Box<dyn Native> {
    (crate::driver::of(url.kind()).native)(policy.tools.clone())
}

/// A load that read other bytes than were checked, as an error; `outcome` says what became
/// of the target.
pub fn changed(source: &Source, read: &Digested, outcome: &str) -> Result<(), Error> {
    match source.changed(read) {
        Some(why) => Err(Error::Backup(format!("{why}; {outcome}"))),
        None => Ok(()),
    }
}

/// Report `counter` through `progress` until `work` finishes; its result.
pub fn pump<T>(
    work: JoinHandle<io::Result<T>>,
    counter: &AtomicU64,
    progress: Progress,
) -> io::Result<T> {
    // Look often (a small database is done in milliseconds), report every 100 ms.
    let mut ticks = 0u32;
    while !work.is_finished() {
        if ticks.is_multiple_of(20) {
            progress(counter.load(Ordering::Relaxed));
        }
        ticks += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    progress(counter.load(Ordering::Relaxed));
    work.join()
        .unwrap_or_else(|_| Err(io::Error::other("the copying thread panicked")))
}

/// A shared byte counter.
pub fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

pub fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
