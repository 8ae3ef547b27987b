//! Backups an operator can trust: `create` (a native dump of the whole database, streamed
//! through zstd, with a manifest beside it), `verify` (re-hash, or restore into a scratch
//! database and compare row counts and the schema fingerprint), `restore` (onto the
//! target, after the checksum holds and a safety backup is taken), `list` and `prune`.
//!
//! The engine-specific part (which tool, which snapshot, how to load) is behind
//! `native::Native`; everything here is the same on every engine. Every operation holds an
//! `interrupt::Guard`: SIGINT/SIGTERM stop it cleanly.

pub mod encryption;
pub mod manifest;
pub(crate) mod mysql;
pub(crate) mod native;
pub mod offsite;
pub(crate) mod postgres;
mod prune;
mod restore;
pub(crate) mod sqlite;
pub mod stream;
pub(crate) mod tools;
mod verify;

pub use prune::{PruneOptions, Pruned, PrunedFile, list, listing, prune};
pub(crate) use restore::keep_records;
pub use restore::{
    Checked, RestoreOptions, Restored, check_restorable, restore, restore_file, restore_in,
};
pub use verify::{verify, verify_checksum};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use crate::config::VerifyLevel;
pub use crate::units::human;
use encryption::Seal;
pub use manifest::{Listing, Manifest, Unreadable, Verification};
use native::Facts;

use crate::config::Settings;
use crate::engine::Engine;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::interrupt;
use crate::session::Session;

/// What `backup create` should do.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The folder (default: the environment's policy).
    pub dir: Option<PathBuf>,
    /// The exact file (overrides `dir` and the generated name).
    pub out: Option<PathBuf>,
    /// How to verify it right away (default: the environment's policy).
    pub verify: Option<VerifyLevel>,
    /// Why (`manual`, `pre-restore`, `pre-deploy`), recorded in the manifest.
    pub reason: String,
}

/// A backup made (and verified, when asked).
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub file: PathBuf,
    pub manifest: Manifest,
    /// Its off-site copies, each verified by reading it back (or why it failed).
    pub copies: Vec<offsite::Copied>,
}

pub(crate) fn connect(settings: &Settings) -> Result<Box<dyn Engine>, Error> {
    crate::connect(settings, &settings.url, true)
}

/// Read the fingerprint, the newest migration and the row count of every table.
pub(crate) fn facts(e: &mut dyn Engine) -> Result<Facts, Error> {
    let schema = crate::schema::introspect(e).map_err(Error::db("cannot read the schema"))?;
    let migration = newest_applied(e)?;
    let d = e.dialect();
    let mut tables = BTreeMap::new();
    // One query per hundred tables: a union of counts.
    for chunk in schema.tables.chunks(100) {
        let sql = chunk
            .iter()
            .enumerate()
            .map(|(i, t)| format!("SELECT {i}, count(*) FROM {}", t.name.sql(d)))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        for row in e.query(&sql).map_err(Error::db("cannot count rows"))? {
            let i: usize = row[0].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            let n = row[1].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            tables.insert(chunk[i].name.display(&schema.default_schema), n);
        }
    }
    Ok(Facts {
        fingerprint: schema.fingerprint(),
        migration,
        tables,
    })
}

/// The name the manifest gives the database: the server's database, or the SQLite file's.
fn database_name(settings: &Settings) -> String {
    settings.url.database().unwrap_or_else(|| {
        let path = settings.url.sqlite_path().unwrap_or("db");
        let file = path.split('?').next().unwrap_or(path);
        Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "db".into())
    })
}

/// Refuse to start when the folder's file system has less room than the estimate.
pub(crate) fn check_space(dir: &Path, database_bytes: u64) -> Result<(), Error> {
    // A compressed dump holds no index pages and compresses well: half the database's
    // size is a generous estimate.
    let needed = database_bytes / 2;
    let stat = rustix::fs::statvfs(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e.into(),
    })?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    if free < needed {
        return Err(Error::Prerequisite {
            message: format!(
                "{} has {} free; this backup needs about {} (half the database's {})",
                dir.display(),
                human(free),
                human(needed),
                human(database_bytes)
            ),
            hint: "free some space, prune old backups (`cutover backup prune`), or pass --dir on a larger disk".into(),
        });
    }
    Ok(())
}

fn make_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Progress through `observer` for a transfer called `what`.
pub(crate) fn transfer<'a>(observer: &'a mut dyn Observer, what: &'a str) -> impl FnMut(u64) + 'a {
    move |bytes| {
        observer.event(&Event::Transfer {
            what: what.to_string(),
            bytes,
        })
    }
}

/// The hidden name a backup is written under until it is complete and hashed.
const PARTIAL: &str = ".cutover-partial-";
/// The hidden copy a SQLite backup takes first (see `sqlite`).
const COPY: &str = ".cutover-copy-";

/// Make a backup of the configured target. It is written under a hidden temporary name
/// in the same folder and appears under its own name only when complete and hashed, its
/// manifest after it; SIGINT/SIGTERM stop it with nothing left behind.
pub fn create(
    settings: &Settings,
    opts: &CreateOptions,
    observer: &mut dyn Observer,
) -> Result<Created, Error> {
    let mut engine = connect(settings)?;
    create_with(engine.as_mut(), settings, opts, observer)
}

/// Make a backup of the session's target on the session's connection (a deploy's backup
/// phase, a restore's safety backup).
pub fn create_in(session: &mut Session, opts: &CreateOptions) -> Result<Created, Error> {
    session.prepare_write()?;
    let settings = session.settings().clone();
    let (engine, observer, _) = session.parts();
    create_with(engine, &settings, opts, observer)
}

fn create_with(
    engine: &mut dyn Engine,
    settings: &Settings,
    opts: &CreateOptions,
    observer: &mut dyn Observer,
) -> Result<Created, Error> {
    let _guard = interrupt::Guard::new();
    let started = Instant::now();
    Error::refuse_interrupted(engine)?;
    let server_version = engine
        .server_version()
        .map_err(Error::db("cannot read the server version"))?;
    let mut native = native::for_url(&settings.url, &settings.backup);
    let tool = native.check(&server_version)?;
    let seal = Seal::for_policy(&settings.backup)?;
    let level = opts.verify.unwrap_or(settings.backup.verify);
    refuse_unverifiable(settings, &seal, level)?;
    let extension = match seal.is_sealed() {
        true => format!("{}.{}", native.extension(), encryption::EXTENSION),
        false => native.extension().to_string(),
    };
    let wanted = wanted_path(settings, opts, engine, &extension)?;
    let dir = match wanted.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    make_dir(&dir)?;
    if opts.out.is_some() && wanted.exists() {
        return Err(never_overwrite(&wanted));
    }
    crate::scratch::sweep_files(&dir, &[PARTIAL, COPY], "partial backup file", observer);
    let size = engine
        .database_size()
        .map_err(Error::db("cannot read the database size"))?;
    check_space(&dir, size)?;
    let created_at = jiff::Timestamp::now().to_string();
    let partial = tempfile::Builder::new()
        .prefix(&format!("{PARTIAL}{}_", crate::scratch::owner()))
        .tempfile_in(&dir)
        .map_err(native::io_err(&dir))?
        .into_temp_path();
    let dumped = {
        let mut progress = transfer(observer, "backup");
        native.dump(
            engine,
            &settings.url,
            &partial,
            &seal,
            &mut facts,
            &mut progress,
        )
    };
    observer.event(&Event::TransferDone);
    let dumped = interrupt::explain(dumped, NOT_WRITTEN)?;
    if interrupt::requested() {
        return Err(interrupt::stopped(NOT_WRITTEN));
    }
    let path = publish(partial, &wanted, opts.out.is_some())?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        engine: settings.url.kind().name().to_string(),
        server_version,
        database: database_name(settings),
        environment: settings.env.clone(),
        migration: dumped.facts.migration,
        fingerprint: dumped.facts.fingerprint,
        tables: dumped.facts.tables,
        counts_in_dump_snapshot: dumped.consistent,
        tool,
        compression: "zstd".into(),
        encryption: seal.describe(),
        size: dumped.file.size,
        sha256: dumped.file.sha256,
        created_at,
        duration_ms: started.elapsed().as_millis() as u64,
        cutover_version: env!("CARGO_PKG_VERSION").into(),
        reason: if opts.reason.is_empty() {
            "manual".into()
        } else {
            opts.reason.clone()
        },
        verifications: Vec::new(),
    };
    manifest::write(&path, &manifest)?;
    let written = format!("{} was written but not verified", path.display());
    interrupt::explain(
        verify::verify_with(Some(engine), settings, &path, level, observer),
        &written,
    )?;
    let manifest = manifest::read(&path)?;
    let copies = offsite::send(&settings.backup, &path, &manifest, observer);
    offsite::required(&settings.backup, &path, &copies)?;
    Ok(Created {
        file: path,
        manifest,
        copies,
    })
}

const NOT_WRITTEN: &str = "the backup was not written";

/// An encrypted backup verified by a restore check needs the key that opens it: refuse
/// before dumping when the policy names none, rather than write a backup that fails.
fn refuse_unverifiable(settings: &Settings, seal: &Seal, level: VerifyLevel) -> Result<(), Error> {
    let no_identity = matches!(
        settings.backup.encrypt,
        Some(crate::config::Encrypt::Recipients { identity: None, .. })
    );
    if seal.is_sealed() && level == VerifyLevel::Restore && no_identity {
        return Err(Error::Prerequisite {
            message: "this backup is to be encrypted and verified by a restore check, and no key to decrypt it is configured".into(),
            hint: "set `identity_file` or `identity_env` in the environment's [backup] `encrypt`, or verify with --verify checksum".into(),
        });
    }
    Ok(())
}

/// The file a new backup should get: `--out`, or a generated name in the folder.
fn wanted_path(
    settings: &Settings,
    opts: &CreateOptions,
    engine: &mut dyn Engine,
    extension: &str,
) -> Result<PathBuf, Error> {
    if let Some(out) = &opts.out {
        return Ok(out.clone());
    }
    let dir = opts
        .dir
        .clone()
        .unwrap_or_else(|| settings.backup.dir.clone());
    let version = newest_applied(engine)?;
    Ok(dir.join(manifest::file_name(
        &database_name(settings),
        settings.env.as_deref(),
        jiff::Timestamp::now(),
        version.as_deref(),
        extension,
    )))
}

fn never_overwrite(path: &Path) -> Error {
    Error::Usage(format!(
        "{} exists; cutover never overwrites a backup",
        path.display()
    ))
}

/// Give the finished `partial` file its name: `wanted`, or (unless `exact`) `wanted` with
/// `-2`, `-3`, … before its extension when another backup took it first (two in the same
/// second). Each name is taken with an exclusive rename, so two backups never share one.
fn publish(partial: tempfile::TempPath, wanted: &Path, exact: bool) -> Result<PathBuf, Error> {
    let name = wanted
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = name.split_once('.').unwrap_or((&name, ""));
    for n in 1.. {
        let candidate = match n {
            1 => wanted.to_path_buf(),
            _ => wanted.with_file_name(format!("{stem}-{n}.{ext}")),
        };
        if !exact && manifest::path_for(&candidate).exists() {
            continue;
        }
        match rename_exclusive(&partial, &candidate) {
            Ok(()) => {
                // Renamed away: nothing is left under the temporary name to delete.
                let _ = partial.keep();
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !exact => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(never_overwrite(&candidate));
            }
            Err(source) => {
                return Err(Error::Io {
                    path: candidate,
                    source,
                });
            }
        }
    }
    unreachable!("the loop returns")
}

/// Rename `from` to `to` only if `to` does not exist (`renameat2` with `RENAME_NOREPLACE`);
/// where the file system cannot, a hard link (which fails on an existing name just the
/// same) and the removal of `from`.
fn rename_exclusive(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        other => other.map_err(std::io::Error::from),
    }
}

/// The newest applied migration: for the file name before the dump starts, and for the
/// manifest inside the dump's snapshot.
fn newest_applied(e: &mut dyn Engine) -> Result<Option<String>, Error> {
    if !e
        .history_exists()
        .map_err(Error::db("cannot read the history"))?
    {
        return Ok(None);
    }
    let mut rows = e
        .load_history()
        .map_err(Error::db("cannot read the history"))?;
    rows.retain(|r| r.status == crate::history::RowStatus::Applied);
    rows.sort_by(|a, b| (&a.applied_at, &a.version).cmp(&(&b.applied_at, &b.version)));
    Ok(rows.last().map(|r| r.version.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_little_space_is_refused_before_anything() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_space(dir.path(), u64::MAX / 4).unwrap_err();
        let Error::Prerequisite { message, hint } = e else {
            panic!("not a prerequisite error: {e}");
        };
        assert!(
            message.contains("free; this backup needs about"),
            "{message}"
        );
        assert!(hint.contains("--dir"), "{hint}");
        check_space(dir.path(), 1024).unwrap();
    }
}
