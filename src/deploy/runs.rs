//! Reading the record of past deploys: the `cutover_runs` rows in the target, and the
//! journal and report a run left in `.cutover/runs/<id>/`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::RUNS_TABLE;
use crate::config::Settings;
use crate::error::Error;

/// One `cutover_runs` row.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: String,
    pub environment: String,
    pub started_at: String,
    pub duration_ms: i64,
    pub outcome: String,
    pub applied_by: String,
    pub migrations: Vec<String>,
    pub backup: Option<String>,
    pub reason: Option<String>,
    /// The schema's fingerprint before the deploy, which undoing it must get back to.
    pub fingerprint_before: Option<String>,
}

/// Every deploy recorded in the target, newest first.
pub fn list(settings: &Settings) -> Result<Vec<RunRow>, Error> {
    let mut e = crate::connect(settings, &settings.url, true)?;
    let sql = format!(
        "SELECT id, environment, started_at, duration_ms, outcome, applied_by, migrations, backup, reason, \
         fingerprint_before FROM {RUNS_TABLE} ORDER BY started_at DESC"
    );
    let rows = match e.query(&sql) {
        Ok(rows) => rows,
        // No deploy has run here yet: no table.
        Err(_) => return Ok(Vec::new()),
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            RunRow {
                id: text(0),
                environment: text(1),
                started_at: text(2),
                duration_ms: text(3).parse().unwrap_or(0),
                outcome: text(4),
                applied_by: text(5),
                migrations: text(6)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                backup: r.get(7).cloned().flatten(),
                reason: r.get(8).cloned().flatten(),
                fingerprint_before: r.get(9).cloned().flatten().filter(|f| !f.is_empty()),
            }
        })
        .collect())
}

/// The folder a run's journal and reports were written to, by default.
pub fn dir(settings: &Settings, id: &str) -> PathBuf {
    let base = settings
        .config_path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    base.join(".cutover").join("runs").join(id)
}

/// One run: its row, and its report when the folder is here.
pub fn show(settings: &Settings, id: &str) -> Result<(RunRow, Option<serde_json::Value>), Error> {
    let row = list(settings)?
        .into_iter()
        .find(|r| r.id == id || r.id.starts_with(id))
        .ok_or_else(|| {
            Error::Usage(format!(
                "no run {id} in {RUNS_TABLE}; `cutover runs list` shows them"
            ))
        })?;
    let report = std::fs::read_to_string(dir(settings, &row.id).join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok((row, report))
}

/// What `rollback --run` did.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub run: String,
    pub migrations: Vec<String>,
    /// `down scripts` or `restored <file>`.
    pub how: String,
    pub fingerprint: String,
}

/// Undo a finished deploy by the environment's rollback rules, and prove the schema is
/// back to the fingerprint it had before that deploy.
pub fn undo(
    settings: &Settings,
    id: &str,
    observer: &mut dyn crate::events::Observer,
) -> Result<Undone, Error> {
    use crate::config::RollbackStrategy;
    let (row, _) = show(settings, id)?;
    if row.outcome != "success" {
        return Err(Error::Refused {
            message: format!(
                "run {} ended `{}`: only a successful deploy is undone later",
                row.id, row.outcome
            ),
            hint: "`cutover runs show ID` says what happened to it".into(),
        });
    }
    let mut quiet = ();
    let status = crate::open(settings, true, &mut quiet)?.status()?;
    let applied: Vec<String> = status
        .migrations
        .iter()
        .filter(|m| m.state == crate::history::State::Applied)
        .map(|m| m.version.clone())
        .collect();
    let n = row.migrations.len();
    if applied.len() < n || applied[applied.len() - n..] != row.migrations[..] {
        return Err(Error::Refused {
            message: format!(
                "the migrations of run {} are not the newest applied ones",
                row.id
            ),
            hint: "roll back what was applied after it first (`cutover rollback --to VERSION`)"
                .into(),
        });
    }
    let found = crate::migrations::discover(&settings.migrations, settings.url.kind().dialect())?;
    let downs = row.migrations.iter().all(|id| {
        found
            .migrations
            .iter()
            .any(|m| &m.id == id && m.down.as_ref().is_some_and(|d| !d.sql.trim().is_empty()))
    });
    let use_down = match settings.deploy.rollback {
        RollbackStrategy::None => {
            return Err(Error::Refused {
                message: "this environment's policy says rollback = none".into(),
                hint: "roll back by hand with `cutover rollback --steps N` or `cutover backup restore FILE`".into(),
            });
        }
        RollbackStrategy::Down => true,
        RollbackStrategy::Restore => false,
        RollbackStrategy::Auto => downs || row.backup.is_none(),
    };
    let how = if use_down {
        let mut runner = crate::open(settings, false, observer)?;
        let opts = crate::runner::RollbackOptions {
            steps: Some(n),
            ..Default::default()
        };
        runner.rollback(&opts)?;
        "down scripts".to_string()
    } else {
        let file = PathBuf::from(row.backup.clone().expect("checked above"));
        let opts = crate::backup::RestoreOptions {
            confirmed: true,
            safety_backup: true,
        };
        crate::backup::restore(settings, &file, &opts, observer)?;
        format!("restored {}", file.display())
    };
    let mut e = crate::connect(settings, &settings.url, true)?;
    let now = e
        .introspect()
        .map_err(Error::db("cannot read the schema"))?
        .fingerprint();
    if let Some(before) = &row.fingerprint_before
        && before != &now
    {
        return Err(Error::Backup(format!(
            "undid run {} ({how}), but the schema's fingerprint {now} is not the pre-deploy {before}",
            row.id
        )));
    }
    Ok(Undone {
        run: row.id,
        migrations: row.migrations,
        how,
        fingerprint: now,
    })
}
