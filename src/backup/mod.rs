//! Backups an operator can trust: `create` (a native dump of the whole database, streamed
//! through zstd, with a manifest beside it), `verify` (re-hash, or restore into a scratch
//! database and compare row counts and the schema fingerprint), `restore` (onto the
//! target, after the checksum holds and a safety backup is taken), `list` and `prune`.
//!
//! The engine-specific part (which tool, which snapshot, how to load) is behind
//! `native::Native`; everything here is the same on every engine.

pub mod manifest;
mod mysql;
mod native;
mod postgres;
mod sqlite;
pub mod stream;
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde::Serialize;

pub use crate::config::VerifyLevel;
pub use manifest::{Manifest, Verification};
use native::{Facts, Into};

use crate::config::{BackupPolicy, Settings};
use crate::engine::Engine;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::scratch::Scratch;

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
}

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

/// What `backup prune` deleted (or would delete) and kept.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    pub dry_run: bool,
    pub deleted: Vec<PrunedFile>,
    pub kept: Vec<PrunedFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrunedFile {
    pub file: PathBuf,
    pub created_at: String,
    pub reason: String,
}

fn connect(settings: &Settings) -> Result<Box<dyn Engine>, Error> {
    crate::connect(settings, &settings.url, true)
}

/// Read the fingerprint, the newest migration and the row count of every table.
fn facts(e: &mut dyn Engine) -> Result<Facts, Error> {
    let schema = e.introspect().map_err(Error::db("cannot read the schema"))?;
    let migration = if e.history_exists().map_err(Error::db("cannot read the history"))? {
        let mut rows = e.load_history().map_err(Error::db("cannot read the history"))?;
        rows.retain(|r| r.status == crate::history::RowStatus::Applied);
        rows.sort_by(|a, b| (&a.applied_at, &a.version).cmp(&(&b.applied_at, &b.version)));
        rows.last().map(|r| r.version.clone())
    } else {
        None
    };
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
fn check_space(dir: &Path, database_bytes: u64) -> Result<(), Error> {
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

pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[u]) }
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
fn transfer<'a>(observer: &'a mut dyn Observer, what: &'a str) -> impl FnMut(u64) + 'a {
    move |bytes| {
        observer.event(&Event::Transfer {
            what: what.to_string(),
            bytes,
        })
    }
}

/// Make a backup of the configured target.
pub fn create(settings: &Settings, opts: &CreateOptions, observer: &mut dyn Observer) -> Result<Created, Error> {
    let started = Instant::now();
    let mut engine = connect(settings)?;
    Error::refuse_interrupted(engine.as_mut())?;
    let server_version = engine.server_version().map_err(Error::db("cannot read the server version"))?;
    let mut native = native::for_url(&settings.url, &settings.backup);
    let tool = native.check(&server_version)?;
    let (dir, path) = match &opts.out {
        Some(out) => (out.parent().map(Path::to_path_buf).unwrap_or_default(), out.clone()),
        None => {
            let dir = opts.dir.clone().unwrap_or_else(|| settings.backup.dir.clone());
            let version = facts_version(engine.as_mut())?;
            let now = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
            let name = manifest::file_name(
                &database_name(settings),
                settings.env.as_deref(),
                &now,
                version.as_deref(),
                native.extension(),
            );
            (dir.clone(), dir.join(name))
        }
    };
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    make_dir(&dir)?;
    let path = match &opts.out {
        Some(out) if out.exists() => {
            return Err(Error::Usage(format!("{} exists; cutover never overwrites a backup", out.display())));
        }
        Some(out) => out.clone(),
        None => unique(path),
    };
    let size = engine.database_size().map_err(Error::db("cannot read the database size"))?;
    check_space(&dir, size)?;
    let created_at = jiff::Timestamp::now().to_string();
    let dumped = {
        let mut progress = transfer(observer, "backup");
        native.dump(engine.as_mut(), &settings.url, &path, &mut facts, &mut progress)
    };
    observer.event(&Event::TransferDone);
    let dumped = dumped.inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        file: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
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
        size: dumped.file.size,
        sha256: dumped.file.sha256,
        created_at,
        duration_ms: started.elapsed().as_millis() as u64,
        cutover_version: env!("CARGO_PKG_VERSION").into(),
        reason: if opts.reason.is_empty() { "manual".into() } else { opts.reason.clone() },
        verifications: Vec::new(),
    };
    manifest::write(&path, &manifest)?;
    drop(engine);
    let level = opts.verify.unwrap_or(settings.backup.verify);
    verify(settings, &path, level, observer)?;
    let manifest = manifest::read(&path)?;
    Ok(Created { file: path, manifest })
}

/// `path`, or `path` with `-2`, `-3`, … before its extension when taken (two backups in
/// the same second).
fn unique(path: PathBuf) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (stem, ext) = name.split_once('.').unwrap_or((&name, ""));
    let mut candidate = path.clone();
    let mut n = 1;
    while candidate.exists() || manifest::path_for(&candidate).exists() {
        n += 1;
        candidate = path.with_file_name(format!("{stem}-{n}.{ext}"));
    }
    candidate
}

/// The newest applied migration, for the file name (read before the dump starts).
fn facts_version(e: &mut dyn Engine) -> Result<Option<String>, Error> {
    if !e.history_exists().map_err(Error::db("cannot read the history"))? {
        return Ok(None);
    }
    let mut rows = e.load_history().map_err(Error::db("cannot read the history"))?;
    rows.retain(|r| r.status == crate::history::RowStatus::Applied);
    rows.sort_by(|a, b| (&a.applied_at, &a.version).cmp(&(&b.applied_at, &b.version)));
    Ok(rows.last().map(|r| r.version.clone()))
}

/// Re-hash `file` and compare with its manifest; the result is recorded in the manifest.
/// Needs no database.
pub fn verify_checksum(file: &Path) -> Result<Verification, Error> {
    let started = Instant::now();
    let m = manifest::read(file)?;
    let bad = checksum(file, &m)?;
    let ok = bad.is_empty();
    let details = if ok {
        vec![format!("sha256 {} and size {} match", m.sha256, m.size)]
    } else {
        bad
    };
    record(file, m, VerifyLevel::Checksum, ok, details, started)
}

/// Check that `file` is what its manifest says; then, for `restore`, restore it into a
/// scratch database beside the target and compare. The result is recorded in the manifest.
pub fn verify(settings: &Settings, file: &Path, level: VerifyLevel, observer: &mut dyn Observer) -> Result<Verification, Error> {
    let started = Instant::now();
    let m = manifest::read(file)?;
    let bad = checksum(file, &m)?;
    if !bad.is_empty() {
        return record(file, m, level, false, bad, started);
    }
    if level == VerifyLevel::Checksum {
        let details = vec![format!("sha256 {} and size {} match", m.sha256, m.size)];
        return record(file, m, level, true, details, started);
    }
    let found = restore_into_scratch(settings, file, &m, observer)?;
    let differences = compare(&m, &found);
    if !differences.is_empty() {
        return record(file, m, level, false, differences, started);
    }
    let details = vec![format!(
        "checksum matches; restored into a scratch database: {} tables, {} rows and the schema fingerprint match",
        found.tables.len(),
        found.tables.values().sum::<u64>()
    )];
    record(file, m, level, true, details, started)
}

/// Append a verification to the manifest; a failed one is also an error.
fn record(file: &Path, mut m: Manifest, level: VerifyLevel, ok: bool, details: Vec<String>, started: Instant) -> Result<Verification, Error> {
    let v = Verification {
        level,
        ok,
        at: jiff::Timestamp::now().to_string(),
        duration_ms: started.elapsed().as_millis() as u64,
        details,
    };
    m.verifications.push(v.clone());
    manifest::write(file, &m)?;
    if !ok {
        return Err(Error::Backup(format!(
            "{} failed verification ({}): {}",
            file.display(),
            level.as_str(),
            v.details.join("; ")
        )));
    }
    Ok(v)
}

/// Differences between the file and its manifest (empty when it matches).
fn checksum(file: &Path, m: &Manifest) -> Result<Vec<String>, Error> {
    let got = stream::digest(file, &AtomicU64::new(0)).map_err(native::io_err(file))?;
    let mut out = Vec::new();
    if got.size != m.size {
        out.push(format!("size {} differs from the manifest's {}", got.size, m.size));
    }
    if got.sha256 != m.sha256 {
        out.push(format!("sha256 {} differs from the manifest's {}", got.sha256, m.sha256));
    }
    Ok(out)
}

fn restore_into_scratch(settings: &Settings, file: &Path, m: &Manifest, observer: &mut dyn Observer) -> Result<Facts, Error> {
    same_engine(settings, m)?;
    let scratch = Scratch::create(&settings.url)?;
    let mut target = connect(settings)?;
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let mut progress = transfer(observer, "restore check");
        native.restore(target.as_mut(), file, scratch.url(), Into::Scratch, &mut progress)
    };
    observer.event(&Event::TransferDone);
    loaded?;
    let mut restored = crate::connect(settings, scratch.url(), true)?;
    facts(restored.as_mut())
}

fn same_engine(settings: &Settings, m: &Manifest) -> Result<(), Error> {
    if m.engine != settings.url.kind().name() {
        return Err(Error::Refused {
            message: format!("this is a {} backup and the target is {}", m.engine, settings.url.kind().name()),
            hint: "restore it onto a database of the engine it was taken from".into(),
        });
    }
    Ok(())
}

/// What differs between a manifest and what a restore produced.
fn compare(m: &Manifest, found: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    if found.fingerprint != m.fingerprint {
        out.push(format!("schema fingerprint {} differs from the manifest's {}", found.fingerprint, m.fingerprint));
    }
    for (table, &rows) in &m.tables {
        match found.tables.get(table) {
            Some(&n) if n == rows => {}
            Some(&n) => out.push(format!("{table}: {n} rows, the manifest says {rows}")),
            None => out.push(format!("{table}: missing")),
        }
    }
    for table in found.tables.keys().filter(|t| !m.tables.contains_key(*t)) {
        out.push(format!("{table}: not in the manifest"));
    }
    out
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
pub fn restore(settings: &Settings, file: &Path, opts: &RestoreOptions, observer: &mut dyn Observer) -> Result<Restored, Error> {
    let started = Instant::now();
    let m = manifest::read(file)?;
    same_engine(settings, &m)?;
    let bad = checksum(file, &m)?;
    if !bad.is_empty() {
        return Err(Error::Refused {
            message: format!("{} does not match its manifest ({}); the target was not touched", file.display(), bad.join("; ")),
            hint: "the file is damaged or was changed: restore another backup (`cutover backup list`)".into(),
        });
    }
    if !opts.confirmed {
        return Err(Error::Refused {
            message: format!("restoring {} replaces everything in {}", file.display(), settings.url),
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
    let mut engine = crate::connect(settings, &settings.url, false)?;
    // Under the run lock: no migration may start on a database being replaced.
    crate::runner::lock::acquire(engine.as_mut(), settings.lock_timeout, observer)?;
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let mut progress = transfer(observer, "restore");
        native.restore(engine.as_mut(), file, &settings.url, Into::Target, &mut progress)
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

/// Every backup in `dir`, newest first.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    manifest::list(dir)
}

/// What `backup prune` should keep.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    pub dir: Option<PathBuf>,
    pub keep_days: Option<u32>,
    pub keep: Option<usize>,
    pub dry_run: bool,
}

/// Delete backups older than the retention, keeping the newest `keep` of each database
/// and environment, and never the newest verified one.
pub fn prune(policy: &BackupPolicy, opts: &PruneOptions) -> Result<Pruned, Error> {
    let days = opts.keep_days.unwrap_or(policy.retention_days);
    let keep = opts.keep.unwrap_or(policy.keep);
    let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let all = list(opts.dir.as_deref().unwrap_or(&policy.dir))?;
    let mut groups: BTreeMap<(String, String, Option<String>), Vec<&(PathBuf, Manifest)>> = BTreeMap::new();
    for b in &all {
        let m = &b.1;
        groups.entry((m.engine.clone(), m.database.clone(), m.environment.clone())).or_default().push(b);
    }
    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
    for group in groups.values() {
        let newest_verified = group.iter().position(|(_, m)| m.verified().is_some());
        for (i, (file, m)) in group.iter().enumerate() {
            let created: Option<jiff::Timestamp> = m.created_at.parse().ok();
            let reason = if Some(i) == newest_verified {
                Some("the newest verified backup".to_string())
            } else if i < keep {
                Some(format!("one of the newest {keep}"))
            } else if created.is_none_or(|c| c >= cutoff) {
                Some(format!("younger than {days} days"))
            } else {
                None
            };
            let entry = |reason: String| PrunedFile {
                file: file.clone(),
                created_at: m.created_at.clone(),
                reason,
            };
            match reason {
                Some(r) => kept.push(entry(r)),
                None => {
                    if !opts.dry_run {
                        for p in [file.clone(), manifest::path_for(file)] {
                            std::fs::remove_file(&p).map_err(|source| Error::Io { path: p.clone(), source })?;
                        }
                    }
                    deleted.push(entry(format!("older than {days} days and not among the newest {keep}")));
                }
            }
        }
    }
    Ok(Pruned {
        dry_run: opts.dry_run,
        deleted,
        kept,
    })
}
