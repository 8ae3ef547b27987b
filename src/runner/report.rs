//! What operations return: plain data for the CLI to render as text or JSON.

use serde::Serialize;
use std::time::Duration;

use crate::history::{Direction, Entry, State};
use crate::migrations::Discovered;

use super::execute::{Job, RunContext};

/// `cutover status`.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub layout: String,
    pub server_version: String,
    pub migrations: Vec<StatusEntry>,
}

impl StatusReport {
    pub fn count(&self, state: State) -> usize {
        self.migrations.iter().filter(|m| m.state == state).count()
    }

    /// Whether `status --check` should fail.
    pub fn has_problems(&self) -> bool {
        self.migrations
            .iter()
            .any(|m| m.state.is_problem() || m.state == State::Pending)
    }
}

#[derive(Debug, Serialize)]
pub struct StatusEntry {
    pub version: String,
    pub name: String,
    pub state: State,
    pub file: Option<String>,
    pub applied_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub applied_by: Option<String>,
    pub failed_statement: Option<i64>,
    pub failed_line: Option<i64>,
    pub error: Option<String>,
    /// `-- cutover:phase expand|contract`, when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<crate::migrations::Stage>,
}

pub(super) fn status(
    found: &Discovered,
    entries: &[Entry],
    server_version: String,
) -> StatusReport {
    let migrations = entries
        .iter()
        .map(|e| {
            let row = e.row.as_ref();
            let failed = row.filter(|_| e.state == State::Failed);
            StatusEntry {
                version: e.id.clone(),
                name: e.name.clone(),
                state: e.state,
                file: e
                    .migration
                    .map(|i| found.migrations[i].up.path.display().to_string()),
                applied_at: row.map(|r| r.applied_at.clone()),
                duration_ms: row.map(|r| r.duration_ms),
                applied_by: row.map(|r| r.applied_by.clone()),
                failed_statement: failed.and_then(|r| r.failed_statement),
                failed_line: failed.and_then(|r| r.failed_line),
                error: failed.and_then(|r| r.error.clone()),
                phase: e
                    .migration
                    .and_then(|i| found.migrations[i].up.directives.phase),
            }
        })
        .collect();
    StatusReport {
        layout: found.layout.to_string(),
        server_version,
        migrations,
    }
}

/// `cutover migrate` / `rollback`: what ran (or, with `dry_run`, what would run).
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    pub run_id: String,
    pub direction: Direction,
    pub dry_run: bool,
    pub scripts: Vec<ScriptReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScriptReport {
    pub id: String,
    pub name: String,
    pub file: String,
    pub no_transaction: bool,
    pub statements: usize,
    pub duration_ms: Option<u64>,
    /// The statements with their file lines (dry runs only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sql: Vec<PlannedStatement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStatement {
    pub line: usize,
    pub sql: String,
}

pub(super) fn planned(
    ctx: &RunContext,
    direction: Direction,
    jobs: &[Job],
    dry_run: bool,
) -> MigrateReport {
    MigrateReport {
        run_id: ctx.run_id.clone(),
        direction,
        dry_run,
        scripts: jobs.iter().map(|j| script(j, None, true)).collect(),
    }
}

pub(super) fn script(job: &Job, duration: Option<Duration>, with_sql: bool) -> ScriptReport {
    ScriptReport {
        id: job.migration.id.clone(),
        name: job.migration.name.clone(),
        file: job.script.path.display().to_string(),
        no_transaction: job.script.directives.no_transaction,
        statements: job.statements.len(),
        duration_ms: duration.map(|d| d.as_millis() as u64),
        sql: if with_sql {
            job.statements
                .iter()
                .enumerate()
                .map(|(i, s)| PlannedStatement {
                    line: job.file_line(i, None),
                    sql: s.sql.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// `cutover resolve`.
#[derive(Debug, Serialize)]
pub struct ResolveReport {
    pub version: String,
    pub name: String,
    pub before: State,
    pub after: State,
    /// Said what it would do; changed nothing.
    pub dry_run: bool,
}
