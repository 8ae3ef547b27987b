//! Restoring onto the target: the checksum must hold before anything is touched, the
//! operator must have confirmed, a safety backup is taken, the restore runs under the run
//! lock, and the result is checked against the manifest. The file is opened once, before
//! the safety backup: the load reads that descriptor (a file put in its place meanwhile is
//! never read) and hashes what it reads (a file changed in place is rolled back where the
//! engine can, PostgreSQL and SQLite, and reported on MariaDB). SIGINT/SIGTERM stop it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::native::{self, Into};
use super::verify::{compare, open_checked, same_engine};
use super::{CreateOptions, VerifyLevel, connect, create, facts, manifest, transfer};
use crate::config::Settings;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::interrupt;

/// What `backup restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub file: PathBuf,
    /// The backup of the target taken just before, unless declined.
    pub safety_backup: Option<PathBuf>,
    pub tables: usize,
    pub rows: u64,
    pub duration_ms: u64,
}

/// What `backup restore` should do.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The operator confirmed (typed the name, or passed `--yes`).
    pub confirmed: bool,
    /// Take a backup of the target first (default true).
    pub safety_backup: bool,
}

/// Replace the target with `file`: checksum first (the target is untouched if it fails),
/// a safety backup, the restore, then row counts and the fingerprint against the manifest.
pub fn restore(
    settings: &Settings,
    file: &Path,
    opts: &RestoreOptions,
    observer: &mut dyn Observer,
) -> Result<Restored, Error> {
    let _guard = interrupt::Guard::new();
    restore_guarded(settings, file, opts, observer).map_err(|e| match e {
        e if interrupt::requested() => interrupt::stopped(&e.to_string()),
        e => e,
    })
}

fn restore_guarded(
    settings: &Settings,
    file: &Path,
    opts: &RestoreOptions,
    observer: &mut dyn Observer,
) -> Result<Restored, Error> {
    let started = Instant::now();
    let m = manifest::read(file)?;
    same_engine(settings, &m)?;
    let (source, bad) = open_checked(file, &m)?;
    if !bad.is_empty() {
        // A failed restore (exit 8), not a refusal to start one: the backup is bad.
        return Err(Error::Backup(format!(
            "{} does not match its manifest ({}); the target was not touched. The file is \
             damaged or was changed: restore another backup (`cutover backup list`)",
            file.display(),
            bad.join("; ")
        )));
    }
    if !opts.confirmed {
        return Err(Error::Refused {
            message: format!(
                "restoring {} replaces everything in {}",
                file.display(),
                settings.url
            ),
            hint: "confirm with --yes (there is no terminal to ask on)".into(),
        });
    }
    let safety_backup = if opts.safety_backup {
        let pre = CreateOptions {
            reason: "pre-restore".into(),
            verify: Some(VerifyLevel::Checksum),
            ..CreateOptions::default()
        };
        Some(create(settings, &pre, observer)?.file)
    } else {
        None
    };
    if let Some(path) = settings.url.sqlite_path() {
        // A SQLite restore stages the backup beside the database; sweep what a kill left.
        let folder = Path::new(path).parent().unwrap_or(Path::new(""));
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        crate::scratch::sweep_files(
            folder,
            &[".cutover-restore-"],
            "staged restore file",
            observer,
        );
    }
    let mut engine = crate::connect(settings, &settings.url, false)?;
    // Under the run lock: no migration may start on a database being replaced.
    crate::runner::lock::acquire(engine.as_mut(), settings.lock_timeout, observer)?;
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let mut progress = transfer(observer, "restore");
        native.restore(
            engine.as_mut(),
            source,
            &settings.url,
            Into::Target,
            &mut progress,
        )
    };
    observer.event(&Event::TransferDone);
    let _ = engine.unlock();
    loaded?;
    drop(engine);
    let mut after = connect(settings)?;
    let found = facts(after.as_mut())?;
    let differences = compare(&m, &found);
    if !differences.is_empty() {
        return Err(Error::Backup(format!(
            "restored {}, but the database does not match its manifest: {}",
            file.display(),
            differences.join("; ")
        )));
    }
    Ok(Restored {
        file: file.to_path_buf(),
        safety_backup,
        tables: found.tables.len(),
        rows: found.tables.values().sum(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
