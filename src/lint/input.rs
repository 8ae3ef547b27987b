//! What `lint` reads: migration folders through `migrations::discover` (every supported
//! layout, each script with its directives), migration files named one by one, and plain
//! SQL files. Scripts are grouped into runs: the statements that run one after the other on
//! the same database, so that a table created earlier in a run is known to be new.
//!
//! - A folder, target reachable: its pending migrations are one run (the next deploy
//!   applies them together); applied ones are left out unless `all`, then each alone.
//! - A folder, offline: each migration is a run of its own, since nothing says which ones
//!   ran long ago (their tables may have filled since).
//! - Files named on the command line: one run, in the order given (`psql -f a -f b`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::migrations::{self, Discovered, Script};
use crate::sql::{Dialect, Statement};

/// One script to lint.
#[derive(Debug, Clone)]
pub struct Unit {
    pub path: PathBuf,
    /// The script's text (a section's, for single-file layouts).
    pub sql: String,
    /// Lines of `path` before `sql` starts.
    pub line_offset: usize,
    /// Whether cutover runs the script inside one transaction (a migration without
    /// `-- cutover:no-transaction` or its layout's equivalent). Plain files: no.
    pub in_transaction: bool,
    /// The migration's id, for a migration.
    pub migration: Option<String>,
    /// The statements as the script's tool sends them (line in `sql`).
    pub statements: Vec<Statement>,
}

impl Unit {
    pub(crate) fn from_script(
        script: &Script,
        migration: Option<String>,
        dialect: Dialect,
    ) -> Result<Unit, Error> {
        let statements = script.statements(dialect).map_err(|e| Error::Split {
            path: script.path.clone(),
            line: e.line + script.line_offset,
            message: e.message.clone(),
        })?;
        Ok(Unit {
            path: script.path.clone(),
            sql: script.sql.clone(),
            line_offset: script.line_offset,
            in_transaction: migration.is_some() && !script.directives.no_transaction,
            migration,
            statements,
        })
    }

    /// A plain SQL file, split as the dialect's client splits.
    pub fn plain(path: &Path, sql: String, dialect: Dialect) -> Result<Unit, Error> {
        let statements = crate::sql::split(&sql, dialect).map_err(|e| Error::Split {
            path: path.to_path_buf(),
            line: e.line,
            message: e.message.clone(),
        })?;
        Ok(Unit {
            path: path.to_path_buf(),
            sql,
            line_offset: 0,
            in_transaction: false,
            migration: None,
            statements,
        })
    }

    /// The file line of the statement that starts at `line` of `sql`.
    pub fn file_line(&self, line: usize) -> usize {
        line + self.line_offset
    }
}

/// Scripts that run one after the other on the same database.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub units: Vec<Unit>,
}

/// What to read.
#[derive(Debug, Clone)]
pub enum Input {
    /// A migrations folder; `include` as the environment's (for the configured folder).
    Folder {
        dir: PathBuf,
        include: Vec<glob::Pattern>,
    },
    /// A file: a migration when a migrations folder around it says so, else plain SQL.
    File(PathBuf),
}

/// What was read, and what the reader wants said.
#[derive(Debug, Default)]
pub struct Collected {
    pub runs: Vec<Run>,
    pub notes: Vec<String>,
}

/// Read `inputs` in `dialect`. `applied` holds the ids of the migrations the target has
/// applied, when it was reached; `all` lints those too.
pub fn collect(
    inputs: &[Input],
    dialect: Dialect,
    applied: Option<&HashSet<String>>,
    all: bool,
) -> Result<Collected, Error> {
    let mut out = Collected::default();
    let mut files = Run::default();
    let mut folders: HashMap<PathBuf, Option<Discovered>> = HashMap::new();
    for input in inputs {
        match input {
            Input::Folder { dir, include } => {
                let found = migrations::discover_only(dir, dialect, include)?;
                folder_runs(&found, dialect, applied, all, &mut out)?;
            }
            Input::File(path) => files.units.push(file_unit(path, dialect, &mut folders)?),
        }
    }
    if !files.units.is_empty() {
        out.runs.push(files);
    }
    Ok(out)
}

fn folder_runs(
    found: &Discovered,
    dialect: Dialect,
    applied: Option<&HashSet<String>>,
    all: bool,
    out: &mut Collected,
) -> Result<(), Error> {
    let mut pending = Run::default();
    let mut skipped = 0;
    for m in &found.migrations {
        let unit = Unit::from_script(&m.up, Some(m.id.clone()), dialect)?;
        match applied {
            Some(done) if done.contains(&m.id) && !all => skipped += 1,
            Some(done) if !done.contains(&m.id) => pending.units.push(unit),
            _ => out.runs.push(Run { units: vec![unit] }),
        }
    }
    if !pending.units.is_empty() {
        out.runs.push(pending);
    }
    if skipped > 0 {
        out.notes.push(format!(
            "{skipped} migration(s) the target has applied were not linted (`--all` lints them too)"
        ));
    }
    Ok(())
}

/// A file named on the command line: the migration it is, when the folder around it (or
/// the one above, for folder layouts) reads as a migrations folder that holds it.
fn file_unit(
    path: &Path,
    dialect: Dialect,
    folders: &mut HashMap<PathBuf, Option<Discovered>>,
) -> Result<Unit, Error> {
    let wanted = std::fs::canonicalize(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    for dir in wanted.ancestors().skip(1).take(2) {
        let found = folders
            .entry(dir.to_path_buf())
            .or_insert_with(|| migrations::discover_only(dir, dialect, &[]).ok());
        let Some(found) = found else { continue };
        for m in &found.migrations {
            if m.up.path == wanted {
                let mut unit = Unit::from_script(&m.up, Some(m.id.clone()), dialect)?;
                unit.path = path.to_path_buf();
                return Ok(unit);
            }
        }
    }
    let sql = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sql = sql
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(sql);
    Unit::plain(path, sql, dialect)
}
