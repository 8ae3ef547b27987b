//! Proving a backup: its checksum against the manifest, or a restore into a scratch
//! database compared with the manifest's row counts and schema fingerprint. The file is
//! opened once: the restore check loads the very descriptor whose checksum held. Every
//! result is appended to the manifest. SIGINT/SIGTERM stop a restore check and drop its
//! scratch database.

use std::path::Path;
use std::time::Instant;

use super::encryption::Key;
use super::native::{self, Facts, Into};
use super::stream::{Digested, Source};
use super::{Manifest, Verification, VerifyLevel, connect, facts, manifest, transfer};
use crate::config::Settings;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::interrupt;
use crate::scratch::Scratch;

/// Re-hash `file` and compare with its manifest; the result is recorded in the manifest.
/// Needs no database.
pub fn verify_checksum(file: &Path) -> Result<Verification, Error> {
    let started = Instant::now();
    let m = manifest::read(file)?;
    let (_, bad) = open_checked(file, &m)?;
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
pub fn verify(
    settings: &Settings,
    file: &Path,
    level: VerifyLevel,
    observer: &mut dyn Observer,
) -> Result<Verification, Error> {
    verify_with(None, settings, file, level, observer)
}

/// `verify`, on a connection to the target the caller already holds (a backup made in a
/// session verifies without opening another).
pub(super) fn verify_with(
    target: Option<&mut dyn crate::engine::Engine>,
    settings: &Settings,
    file: &Path,
    level: VerifyLevel,
    observer: &mut dyn Observer,
) -> Result<Verification, Error> {
    let _guard = interrupt::Guard::new();
    let started = Instant::now();
    let m = manifest::read(file)?;
    let (mut source, bad) = open_checked(file, &m)?;
    if !bad.is_empty() {
        return record(file, m, level, false, bad, started);
    }
    if level == VerifyLevel::Checksum {
        let details = vec![format!("sha256 {} and size {} match", m.sha256, m.size)];
        return record(file, m, level, true, details, started);
    }
    // Without the key the check cannot run: an error, and not a failed verification.
    source.key = Key::for_backup(&settings.backup, &m, file)?;
    let found = interrupt::explain(
        restore_into_scratch(target, settings, source, &m, observer),
        "the restore check did not finish; its scratch database was dropped",
    )?;
    let differences = compare(&m, &found);
    if !differences.is_empty() {
        return record(file, m, level, false, differences, started);
    }
    // Counts and the fingerprint are what was compared; the values themselves were not.
    let tables = found.tables.len();
    let details = vec![format!(
        "checksum matches; restored into a scratch database: {tables} table{}, {} rows; each table's row count and the schema fingerprint match the manifest",
        if tables == 1 { "" } else { "s" },
        found.tables.values().sum::<u64>()
    )];
    record(file, m, level, true, details, started)
}

/// Append a verification to the manifest; a failed one is also an error.
fn record(
    file: &Path,
    mut m: Manifest,
    level: VerifyLevel,
    ok: bool,
    details: Vec<String>,
    started: Instant,
) -> Result<Verification, Error> {
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

/// Open `file` once and hash it: the source to load from (rewound) and what differs from
/// its manifest (empty when it matches).
pub(super) fn open_checked(file: &Path, m: &Manifest) -> Result<(Source, Vec<String>), Error> {
    let expect = Digested {
        size: m.size,
        sha256: m.sha256.clone(),
    };
    Source::open(file, expect).map_err(native::io_err(file))
}

fn restore_into_scratch(
    target: Option<&mut dyn crate::engine::Engine>,
    settings: &Settings,
    source: Source,
    m: &Manifest,
    observer: &mut dyn Observer,
) -> Result<Facts, Error> {
    same_engine(settings, m)?;
    let scratch = Scratch::create(&settings.url, observer)?;
    let mut own;
    let target = match target {
        Some(t) => t,
        None => {
            own = connect(settings)?;
            own.as_mut()
        }
    };
    let mut native = native::for_url(&settings.url, &settings.backup);
    let loaded = {
        let mut progress = transfer(observer, "restore check");
        native.restore(target, source, scratch.url(), Into::Scratch, &mut progress)
    };
    observer.event(&Event::TransferDone);
    loaded?;
    let mut restored = crate::connect(settings, scratch.url(), true)?;
    facts(restored.as_mut())
}

pub(super) fn same_engine(settings: &Settings, m: &Manifest) -> Result<(), Error> {
    if m.engine != settings.url.kind().name() {
        return Err(Error::Refused {
            message: format!(
                "this is a {} backup and the target is {}",
                m.engine,
                settings.url.kind().name()
            ),
            hint: "restore it onto a database of the engine it was taken from".into(),
        });
    }
    Ok(())
}

/// What differs between a manifest and what a restore produced.
pub(super) fn compare(m: &Manifest, found: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    if found.fingerprint != m.fingerprint {
        out.push(format!(
            "schema fingerprint {} differs from the manifest's {}",
            found.fingerprint, m.fingerprint
        ));
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
