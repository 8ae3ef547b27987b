//! Restoring onto the target: the checksum must hold before anything is touched, the
//! operator must have confirmed, a safety backup is taken, the restore runs under the run
//! lock, and the result is checked against the manifest.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::native::{self, Into};
use super::verify::{checksum, compare, same_engine};
use super::{CreateOptions, Manifest, VerifyLevel, create_in, facts, manifest, transfer};
use crate::config::Settings;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::session::{Access, Files, Session};

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

/// Check that `file` can be restored onto the configured target: its manifest, its
/// engine, its checksum. Nothing is touched; the manifest is returned.
pub fn check_restorable(settings: &Settings, file: &Path) -> Result<Manifest, Error> {
    let m = manifest::read(file)?;
    same_engine(settings, &m)?;
    let bad = checksum(file, &m)?;
    if !bad.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "{} does not match its manifest ({}); the target was not touched",
                file.display(),
                bad.join("; ")
            ),
            hint:
                "the file is damaged or was changed: restore another backup (`cutover backup list`)"
                    .into(),
        });
    }
    Ok(m)
}

/// Replace the target with `file`: checksum first (the target is untouched if it fails),
/// a safety backup, the restore, then row counts and the fingerprint against the manifest.
/// Opens its own session; `cutover backup restore` runs the same steps as a governed run.
pub fn restore(
    settings: &Settings,
    file: &Path,
    opts: &RestoreOptions,
    observer: &mut dyn Observer,
) -> Result<Restored, Error> {
    check_restorable(settings, file)?;
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
    let mut session = Session::open_run(
        settings,
        Access::Change,
        observer,
        uuid::Uuid::now_v7().to_string(),
        Files::Optional,
    )?;
    let safety_backup = if opts.safety_backup {
        let pre = CreateOptions {
            reason: "pre-restore".into(),
            verify: Some(VerifyLevel::Checksum),
            ..CreateOptions::default()
        };
        Some(create_in(&mut session, &pre)?.file)
    } else {
        None
    };
    let mut restored = restore_in(&mut session, file)?;
    restored.safety_backup = safety_backup;
    Ok(restored)
}

/// Restore `file` onto the session's target, under the session's run lock, keeping
/// cutover's own run records, and compare the result with the manifest.
pub fn restore_in(session: &mut Session, file: &Path) -> Result<Restored, Error> {
    let started = Instant::now();
    let settings = session.settings().clone();
    let m = check_restorable(&settings, file)?;
    session.prepare_write()?;
    // The target's record of runs is not the backup's to take: it is put back after.
    let runs = crate::records::list(session.engine()).unwrap_or_default();
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let (engine, observer, _) = session.parts();
        let mut progress = transfer(observer, "restore");
        let loaded = native.restore(engine, file, &settings.url, Into::Target, &mut progress);
        drop(progress);
        observer.event(&Event::TransferDone);
        loaded
    };
    loaded?;
    keep_records(session, &runs)?;
    session.refresh()?;
    let found = facts(session.engine())?;
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
        safety_backup: None,
        tables: found.tables.len(),
        rows: found.tables.values().sum(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Put the run rows that were in the target before a restore back into it.
fn keep_records(session: &mut Session, runs: &[crate::records::RunRow]) -> Result<(), Error> {
    if runs.is_empty() {
        return Ok(());
    }
    let engine = session.engine();
    crate::records::ensure(engine).map_err(Error::db("cannot keep the run records"))?;
    for row in runs {
        crate::records::put(engine, row).map_err(Error::db("cannot keep the run records"))?;
    }
    Ok(())
}
