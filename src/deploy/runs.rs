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
}

/// Every deploy recorded in the target, newest first.
pub fn list(settings: &Settings) -> Result<Vec<RunRow>, Error> {
    let mut e = crate::connect(settings, &settings.url, true)?;
    let sql = format!(
        "SELECT id, environment, started_at, duration_ms, outcome, applied_by, migrations, backup, reason \
         FROM {RUNS_TABLE} ORDER BY started_at DESC"
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
