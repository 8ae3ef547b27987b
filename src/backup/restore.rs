//! Restoring onto the target: the checksum must hold before anything is touched, the
//! operator must have confirmed, a safety backup is taken, the restore runs under the run
//! lock, and the result is checked against the manifest. The file is opened once, before
//! the safety backup: the load reads that descriptor (a file put in its place meanwhile is
//! never read) and hashes what it reads (a file changed in place is rolled back where the
//! engine can, PostgreSQL and SQLite, and reported on MariaDB). SIGINT/SIGTERM stop it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::encryption::Key;
use super::native::{self, Into};
use super::stream::Source;
use super::verify::{compare, open_checked, same_engine};
use super::{CreateOptions, Manifest, VerifyLevel, create_in, facts, manifest, transfer};
use crate::config::Settings;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::interrupt;
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

/// A backup opened once and checked against its manifest: what a restore loads, from the
/// very descriptor that was hashed.
pub struct Checked {
    file: PathBuf,
    manifest: Manifest,
    source: Source,
}

impl Checked {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked").field("file", &self.file).finish()
    }
}

/// Open `file` once and check it can be restored onto the configured target: its
/// manifest, its engine, its checksum, the key when it is encrypted; a file that is not
/// here is fetched from the first off-site copy that holds it. The target is not touched.
pub fn check_restorable(settings: &Settings, file: &Path) -> Result<Checked, Error> {
    // Gone here (a lost disk): fetched from an off-site copy, checked like any other.
    super::offsite::fetch_missing(&settings.backup, file)?;
    let m = manifest::read(file)?;
    same_engine(settings, &m)?;
    let (mut source, bad) = open_checked(file, &m)?;
    if !bad.is_empty() {
        // A failed restore (exit 8), not a refusal to start one: the backup is bad.
        return Err(Error::Backup(format!(
            "{} does not match its manifest ({}); the target was not touched. The file is \
             damaged or was changed: restore another backup (`cutover backup list`)",
            file.display(),
            bad.join("; ")
        )));
    }
    source.key = Key::for_backup(&settings.backup, &m, file)?;
    Ok(Checked {
        file: file.to_path_buf(),
        manifest: m,
        source,
    })
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
    let checked = check_restorable(settings, file)?;
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
    let mut restored = restore_in(&mut session, checked)?;
    restored.safety_backup = safety_backup;
    Ok(restored)
}

/// Check `file` and restore it onto the session's target (an undo's restore).
pub fn restore_file(session: &mut Session, file: &Path) -> Result<Restored, Error> {
    let checked = check_restorable(session.settings(), file)?;
    restore_in(session, checked)
}

/// Restore a checked backup onto the session's target, under the session's run lock,
/// keeping cutover's own run records, and compare the result with the manifest.
/// SIGINT/SIGTERM stop it.
pub fn restore_in(session: &mut Session, checked: Checked) -> Result<Restored, Error> {
    let _guard = interrupt::Guard::new();
    restore_guarded(session, checked).map_err(|e| match e {
        e if interrupt::requested() => interrupt::stopped(&e.to_string()),
        e => e,
    })
}

fn restore_guarded(session: &mut Session, checked: Checked) -> Result<Restored, Error> {
    let started = Instant::now();
    let settings = session.settings().clone();
    let Checked {
        file,
        manifest: m,
        source,
    } = checked;
    session.prepare_write()?;
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
            session.observer(),
        );
    }
    // The target's record of runs is not the backup's to take: it is put back after.
    let runs = crate::records::list(session.engine()).unwrap_or_default();
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let (engine, observer, _) = session.parts();
        let mut progress = transfer(observer, "restore");
        let loaded = native.restore(engine, source, &settings.url, Into::Target, &mut progress);
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
        file,
        safety_backup: None,
        tables: found.tables.len(),
        rows: found.tables.values().sum(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Put the run rows that were in the target before a restore back into it.
pub(crate) fn keep_records(
    session: &mut Session,
    runs: &[crate::records::RunRow],
) -> Result<(), Error> {
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
