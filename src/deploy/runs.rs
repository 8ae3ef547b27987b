//! Reading the record of past governed runs: the `cutover_runs` rows in the target, and
//! the journal and report a run left in `.cutover/runs/<id>/`.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::error::Error;
use crate::records::{self, Outcome, RunRow};
use crate::session::Session;
use crate::tables::RUNS_TABLE;

/// Every run recorded in the target, newest first. A run still marked running whose
/// process is gone (the run lock is free) is shown as interrupted.
pub fn list(settings: &Settings) -> Result<Vec<RunRow>, Error> {
    let mut quiet = ();
    let mut session = Session::open_for_checks(settings, &mut quiet)?;
    let engine = session.engine();
    let mut rows = records::list(engine).map_err(Error::db(format!("cannot read {RUNS_TABLE}")))?;
    if rows.iter().any(|r| r.outcome == Outcome::Running) {
        let free = engine.try_lock().unwrap_or(false);
        if free {
            let _ = engine.unlock();
            for r in rows.iter_mut().filter(|r| r.outcome == Outcome::Running) {
                r.outcome = Outcome::Interrupted;
            }
        }
    }
    Ok(rows)
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
