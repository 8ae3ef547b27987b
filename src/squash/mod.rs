//! `cutover squash --through VERSION`: many old migrations replaced by one baseline, with
//! proof. The migrations up to VERSION are applied to a scratch database; the engine's own
//! tool dumps its schema (`dump`, one implementation per engine), cleaned into the
//! baseline; the baseline is applied to a second scratch database, and the two are
//! compared (`prove`: the schema model, grants, routines, triggers, sequences, and the rows
//! of the `--with-data` tables). Only when they are equal are the squashed files moved into
//! the archive folder (`migrations::Squash`) and the baseline written in their place.
//! Nothing in the migrations folder changes before the proof holds; the target is never
//! touched (its server only hosts the scratch databases).

pub mod dump;
pub mod mysql;
pub mod postgres;
mod prove;
pub mod sqlite;
mod write;

pub use dump::SchemaDump;
pub use prove::Snapshot;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::config::Settings;
use crate::error::Error;
use crate::events::Observer;
use crate::migrations::{Discovered, Kind, Layout, Migration};
use crate::runner::MigrateOptions;
use crate::schema::Name;
use crate::scratch::Scratch;

/// What to squash.
#[derive(Debug, Clone, Default)]
pub struct SquashOptions {
    /// The last migration replaced by the baseline (an id or a version).
    pub through: String,
    /// Tables whose rows the baseline carries (rows earlier migrations seeded).
    pub with_data: Vec<String>,
    /// Prove, and report, but change no file.
    pub dry_run: bool,
}

/// What a squash did.
#[derive(Debug, Clone, Serialize)]
pub struct SquashReport {
    /// The baseline's id (the last squashed migration's).
    pub baseline: String,
    /// The baseline file (written, or that would be written).
    pub file: PathBuf,
    pub archive: PathBuf,
    pub squashed: usize,
    /// Migrations after the baseline, left as they are.
    pub remaining: usize,
    pub statements: usize,
    pub bytes: usize,
    pub with_data: Vec<String>,
    /// The fingerprint of the schema both scratch databases share.
    pub fingerprint: String,
    /// Empty when the proof holds; otherwise what differs, and nothing was changed.
    pub differences: Vec<String>,
    pub dry_run: bool,
    pub apply_ms: u64,
    pub dump_ms: u64,
    pub prove_ms: u64,
    pub total_ms: u64,
}

impl SquashReport {
    pub fn proved(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Squash the migrations of `settings` through `opts.through`, in scratch databases beside
/// `settings.url`; writes the baseline and the archive once the proof holds.
pub fn squash(
    settings: &Settings,
    opts: &SquashOptions,
    observer: &mut dyn Observer,
) -> Result<SquashReport, Error> {
    let started = Instant::now();
    let dialect = settings.url.kind().dialect();
    let found = crate::migrations::discover(&settings.migrations, dialect)?;
    let range = squashed_range(&found, &opts.through)?;
    let with_data = tables(&opts.with_data, &settings.url);
    let through = range.last().expect("a range is never empty");
    let driver = crate::driver::of(settings.url.kind());

    // The migrations up to VERSION, in a scratch database of their own.
    let t = Instant::now();
    let first = Scratch::create(&settings.url, observer)?;
    let first_settings = on(settings, first.url(), &settings.migrations);
    crate::Session::open(&first_settings, crate::Access::Change, observer)?
        .migrate(&MigrateOptions {
            to: Some(through.id.clone()),
            ..MigrateOptions::default()
        })
        .map_err(|e| in_scratch(e, "applying the migrations to squash"))?;
    let apply_ms = t.elapsed().as_millis() as u64;

    let t = Instant::now();
    let mut engine = crate::connect(&first_settings, first.url(), true)?;
    let tools = settings.backup.tools.as_deref();
    let baseline = driver
        .squash
        .baseline(engine.as_mut(), first.url(), &with_data, tools)?;
    let dump_ms = t.elapsed().as_millis() as u64;

    // The baseline alone, in a second scratch database, compared with the first.
    let t = Instant::now();
    let before = Snapshot::take(engine.as_mut(), driver.squash, &with_data)?;
    drop(engine);
    let second = Scratch::create(&settings.url, observer)?;
    let folder = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    write::plain(folder.path(), &baseline)?;
    let second_settings = on(settings, second.url(), folder.path());
    let mut quiet = ();
    crate::Session::open(&second_settings, crate::Access::Change, &mut quiet)?
        .migrate(&MigrateOptions::default())
        .map_err(|e| in_scratch(e, "applying the baseline"))?;
    let mut engine = crate::connect(&second_settings, second.url(), true)?;
    let after = Snapshot::take(engine.as_mut(), driver.squash, &with_data)?;
    drop(engine);
    let differences = before.differences(&after);
    let prove_ms = t.elapsed().as_millis() as u64;

    let statements = crate::sql::split(&baseline, dialect)
        .map(|s| s.len())
        .unwrap_or(0);
    let file = write::baseline_path(through, found.layout, dialect);
    let archive = settings.migrations.join(crate::migrations::ARCHIVE);
    if differences.is_empty() && !opts.dry_run {
        write::archive(
            &settings.migrations,
            &found,
            &range,
            &file,
            &baseline,
            driver.name,
            dialect,
        )?;
    }
    Ok(SquashReport {
        baseline: through.id.clone(),
        file,
        archive,
        squashed: range.len(),
        remaining: found.migrations.len() - range.len(),
        statements,
        bytes: baseline.len(),
        with_data: with_data.iter().map(|n| n.name.clone()).collect(),
        fingerprint: before.schema.fingerprint(),
        differences,
        dry_run: opts.dry_run,
        apply_ms,
        dump_ms,
        prove_ms,
        total_ms: started.elapsed().as_millis() as u64,
    })
}

/// The settings of `settings` pointed at a scratch database and a migrations folder; the
/// environment's `include` and environment filters do not apply to a folder of one file.
fn on(settings: &Settings, url: &crate::target::DatabaseUrl, dir: &std::path::Path) -> Settings {
    let mut s = settings.clone();
    s.url = url.clone();
    if dir != settings.migrations {
        s.migrations = dir.to_path_buf();
        s.include = Vec::new();
    }
    s
}

fn in_scratch(e: Error, what: &str) -> Error {
    Error::Usage(format!(
        "{what} to a scratch database failed (no file and no database of yours was changed): {e}"
    ))
}

/// `--with-data` names, schema-qualified where written so (`audit.kinds`).
fn tables(names: &[String], url: &crate::target::DatabaseUrl) -> Vec<Name> {
    let default = if url.kind().dialect() == crate::sql::Dialect::Postgres {
        "public"
    } else {
        ""
    };
    names
        .iter()
        .map(|n| match n.split_once('.') {
            Some((schema, name)) => Name::new(schema, name),
            None => Name::new(default, n.as_str()),
        })
        .collect()
}

/// The layouts whose folders a baseline can be written into as one more migration.
const SQUASHABLE: [Layout; 8] = [
    Layout::Native,
    Layout::SqlxSimple,
    Layout::Flyway,
    Layout::Dbmate,
    Layout::Goose,
    Layout::Diesel,
    Layout::Prisma,
    Layout::Popx,
];

/// The versioned migrations up to and including `through`, after refusing what a
/// baseline cannot stand for.
fn squashed_range<'a>(found: &'a Discovered, through: &str) -> Result<Vec<&'a Migration>, Error> {
    if let Some(s) = &found.squash {
        return Err(Error::Refused {
            message: format!(
                "this folder was squashed already (through {}, archived in {})",
                s.baseline,
                s.dir.display()
            ),
            hint: "a folder keeps one squash: squash again from a checkout without the archive, or keep the history as it is".into(),
        });
    }
    if !SQUASHABLE.contains(&found.layout) {
        return Err(Error::Refused {
            message: format!(
                "cannot squash a {} folder: its tool's files (a plan, a changelog, a sum file) would no longer match",
                found.layout
            ),
            hint: format!(
                "squash works on the {} layouts",
                SQUASHABLE.map(|l| l.name()).join(", ")
            ),
        });
    }
    let entries = crate::history::reconcile(&found.migrations, &[], None, None);
    let end = crate::runner::find(&entries, through)?
        .migration
        .expect("entries without rows have files");
    let range: Vec<&Migration> = found.migrations[..=end]
        .iter()
        .filter(|m| m.kind != Kind::Repeatable)
        .collect();
    if let Some(m) = range
        .iter()
        .find(|m| m.kind != Kind::Versioned || m.up.directives.envs.is_some() || m.envs.is_some())
    {
        return Err(Error::Refused {
            message: format!(
                "cannot squash through {through}: {} ({}) runs again on change or only in some environments, which one baseline cannot stand for",
                m.id,
                m.up.path.display()
            ),
            hint: format!("squash through a version before {}", m.id),
        });
    }
    if range.len() < 2 {
        return Err(Error::Usage(format!(
            "squashing through {through} replaces {} migration(s): name a later version",
            range.len()
        )));
    }
    Ok(range)
}
