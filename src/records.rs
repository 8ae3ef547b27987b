//! cutover's record of governed runs in the target (`cutover_runs`): one row per deploy,
//! rollback, seed, resolve, baseline or restore. The row is written when the run makes its
//! first change and updated after every phase (which phase, whether maintenance mode is
//! on), so a run killed half-way is found by the next command, which can finish it.
//!
//! Every value is a bound parameter: a reason or a path with a quote or a backslash in it
//! must never cost the audit row.

use serde::{Deserialize, Serialize};

use crate::engine::{DbError, Engine, Param};
use crate::sql::Dialect;
use crate::tables::RUNS_TABLE;

/// What a governed run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Deploy,
    Seed,
    Rollback,
    Resolve,
    Baseline,
    Adopt,
    Restore,
    Clone,
}

impl RunKind {
    /// For people, as stored: `deploy`, `rollback`, …
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Deploy => "deploy",
            RunKind::Seed => "seed",
            RunKind::Rollback => "rollback",
            RunKind::Resolve => "resolve",
            RunKind::Baseline => "baseline",
            RunKind::Adopt => "adopt",
            RunKind::Restore => "restore",
            RunKind::Clone => "clone",
        }
    }
}

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running, or killed: see `RunRow::phase` and the lock.
    Running,
    /// Everything ran.
    Success,
    /// No pending migration: nothing was done.
    NothingToDo,
    /// `--dry-run`: the plan, nothing changed.
    DryRun,
    /// Stopped before anything was changed.
    Failed,
    /// Changes were undone and the schema proved back to where it was.
    RolledBack,
    /// Changes could not be undone, or the schema is not back where it was.
    RollbackFailed,
    /// Its process died; a later command found it and finished what it could.
    Interrupted,
}

impl Outcome {
    /// For people.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Success => "success",
            Outcome::NothingToDo => "nothing to do",
            Outcome::DryRun => "dry run",
            Outcome::Failed => "failed, nothing changed",
            Outcome::RolledBack => "failed and rolled back",
            Outcome::RollbackFailed => "failed; ROLLBACK INCOMPLETE",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// As stored: the serde name.
    pub fn key(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> Outcome {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            // Rows written before outcomes were an enum said "success" etc. too; anything
            // unknown is shown as what it most likely was.
            .unwrap_or(Outcome::Interrupted)
    }
}

/// One `cutover_runs` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: String,
    pub kind: RunKind,
    pub environment: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: i64,
    pub outcome: Outcome,
    /// The last phase that started.
    pub phase: Option<String>,
    /// Whether this run left maintenance mode switched on (as far as it knows).
    pub maintenance_on: bool,
    pub applied_by: String,
    pub migrations: Vec<String>,
    pub backup: Option<String>,
    pub reason: Option<String>,
    /// The schema's fingerprint before the run, which undoing it must get back to.
    pub fingerprint_before: Option<String>,
    /// The run that later undid this one.
    pub undone_by: Option<String>,
    /// The run this one undid (`rollback --run`).
    pub undoes: Option<String>,
    /// When an undo restored a backup after the application had served traffic: writes
    /// from this time on were discarded.
    pub writes_discarded_since: Option<String>,
    /// The environment a clone copied from (its name, never its URL).
    pub source: Option<String>,
}

const COLUMNS: &str = "id, kind, environment, started_at, finished_at, duration_ms, outcome, phase, \
     maintenance, applied_by, migrations, backup, reason, fingerprint_before, undone_by, undoes, \
     writes_discarded_since, source";

/// Columns added after the first release of the table, for upgrading it in place.
const ADDED: [&str; 9] = [
    "kind VARCHAR(20)",
    "finished_at VARCHAR(40)",
    "phase VARCHAR(40)",
    "maintenance VARCHAR(8)",
    "undone_by VARCHAR(64)",
    "undoes VARCHAR(64)",
    "writes_discarded_since VARCHAR(40)",
    "fingerprint_before VARCHAR(80)",
    "source VARCHAR(255)",
];

/// Create the table, or add the columns an older cutover did not have.
pub fn ensure(e: &mut dyn Engine) -> Result<(), DbError> {
    e.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (id VARCHAR(64) NOT NULL PRIMARY KEY, \
         kind VARCHAR(20), environment VARCHAR(255), started_at VARCHAR(40) NOT NULL, \
         finished_at VARCHAR(40), duration_ms BIGINT NOT NULL, outcome VARCHAR(40) NOT NULL, \
         phase VARCHAR(40), maintenance VARCHAR(8), applied_by VARCHAR(255) NOT NULL, \
         migrations TEXT NOT NULL, backup TEXT, reason TEXT, fingerprint_before VARCHAR(80), \
         undone_by VARCHAR(64), undoes VARCHAR(64), writes_discarded_since VARCHAR(40), \
         source VARCHAR(255))"
    ))?;
    if e.query(&format!("SELECT {COLUMNS} FROM {RUNS_TABLE} WHERE 1 = 0"))
        .is_err()
    {
        for column in ADDED {
            // Columns that are there already refuse; the probe below says whether the
            // table is whole now.
            let _ = e.execute(&format!("ALTER TABLE {RUNS_TABLE} ADD COLUMN {column}"));
        }
        e.query(&format!("SELECT {COLUMNS} FROM {RUNS_TABLE} WHERE 1 = 0"))?;
    }
    Ok(())
}

/// Write `row`: insert it, or update the row with its id.
pub fn put(e: &mut dyn Engine, row: &RunRow) -> Result<(), DbError> {
    let values = params(row);
    let set: Vec<String> = COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = ?"))
        .collect();
    let mut update = values[1..].to_vec();
    update.push(values[0].clone());
    let changed = e.execute_bound(
        &format!("UPDATE {RUNS_TABLE} SET {} WHERE id = ?", set.join(", ")),
        &update,
    )?;
    if changed == 0 {
        let marks = vec!["?"; values.len()].join(", ");
        e.execute_bound(
            &format!("INSERT INTO {RUNS_TABLE} ({COLUMNS}) VALUES ({marks})"),
            &values,
        )?;
    }
    Ok(())
}

fn params(r: &RunRow) -> Vec<Param> {
    vec![
        Param::text(&r.id),
        Param::text(key(&r.kind)),
        Param::text(&r.environment),
        Param::text(&r.started_at),
        Param::opt(r.finished_at.clone()),
        Param::Int(r.duration_ms),
        Param::text(r.outcome.key()),
        Param::opt(r.phase.clone()),
        Param::text(if r.maintenance_on { "on" } else { "off" }),
        Param::text(&r.applied_by),
        Param::text(r.migrations.join(",")),
        Param::opt(r.backup.clone()),
        Param::opt(r.reason.clone()),
        Param::opt(r.fingerprint_before.clone()),
        Param::opt(r.undone_by.clone()),
        Param::opt(r.undoes.clone()),
        Param::opt(r.writes_discarded_since.clone()),
        Param::opt(r.source.clone()),
    ]
}

fn key<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether the table (or anything of that name) exists, asked of the catalog: one that is
/// there but cannot be read is an error for the caller, never "no runs".
pub fn exists(e: &mut dyn Engine) -> Result<bool, DbError> {
    let sql = match e.dialect() {
        Dialect::Sqlite => {
            format!("SELECT count(*) FROM sqlite_master WHERE name = '{RUNS_TABLE}'")
        }
        Dialect::Postgres => {
            format!(
                "SELECT count(*) FROM (SELECT to_regclass('{RUNS_TABLE}') AS t) r WHERE t IS NOT NULL"
            )
        }
        Dialect::MySql => format!(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{RUNS_TABLE}'"
        ),
    };
    let rows = e.query(&sql)?;
    let n = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(n > 0)
}

/// Every run recorded in the target, newest first. No table: no runs.
pub fn list(e: &mut dyn Engine) -> Result<Vec<RunRow>, DbError> {
    if !exists(e)? {
        return Ok(Vec::new());
    }
    if e.query(&format!("SELECT {COLUMNS} FROM {RUNS_TABLE} WHERE 1 = 0"))
        .is_err()
    {
        return list_first_release(e);
    }
    let rows = e.query(&format!(
        "SELECT {COLUMNS} FROM {RUNS_TABLE} ORDER BY started_at DESC, id DESC"
    ))?;
    Ok(rows.into_iter().map(|r| row(&r)).collect())
}

/// Rows of a table written by cutover before runs had kinds and progress.
fn list_first_release(e: &mut dyn Engine) -> Result<Vec<RunRow>, DbError> {
    let rows = e.query(&format!(
        "SELECT id, environment, started_at, duration_ms, outcome, applied_by, migrations, \
         backup, reason FROM {RUNS_TABLE} ORDER BY started_at DESC"
    ))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut full = vec![
                r[0].clone(),
                Some("deploy".into()),
                r[1].clone(),
                r[2].clone(),
                None,
                r[3].clone(),
                r[4].clone(),
            ];
            full.extend([
                None,
                None,
                r[5].clone(),
                r[6].clone(),
                r[7].clone(),
                r[8].clone(),
            ]);
            full.extend([None, None, None, None, None]);
            row(&full)
        })
        .collect())
}

fn row(r: &[Option<String>]) -> RunRow {
    let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let opt = |i: usize| r.get(i).cloned().flatten().filter(|s| !s.is_empty());
    RunRow {
        id: text(0),
        kind: serde_json::from_value(serde_json::Value::String(text(1))).unwrap_or(RunKind::Deploy),
        environment: text(2),
        started_at: text(3),
        finished_at: opt(4),
        duration_ms: text(5).parse().unwrap_or(0),
        outcome: Outcome::parse(&text(6)),
        phase: opt(7),
        maintenance_on: text(8) == "on",
        applied_by: text(9),
        migrations: text(10)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        backup: opt(11),
        reason: opt(12),
        fingerprint_before: opt(13),
        undone_by: opt(14),
        undoes: opt(15),
        writes_discarded_since: opt(16),
        source: opt(17),
    }
}

/// Runs still marked running. Called under the run lock, they are runs whose process died.
pub fn unfinished(e: &mut dyn Engine) -> Result<Vec<RunRow>, DbError> {
    Ok(list(e)?
        .into_iter()
        .filter(|r| r.outcome == Outcome::Running)
        .collect())
}
