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
    /// Another tool's history, when cutover has none here (`cutover adopt` takes it over).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign: Option<crate::adopt::Foreign>,
    /// The squash in the migrations folder, and what it means for this database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub squash: Option<SquashStatus>,
}

/// Where a database stands with a squash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SquashCase {
    /// It has none of the squashed migrations: `migrate` runs only the baseline.
    Fresh,
    /// It ran the baseline itself.
    Baseline,
    /// It applied every squashed migration: the baseline counts as applied.
    Complete,
    /// It stopped part-way through them: refused until they are finished.
    Partial,
}

/// `status` on a folder with a squash.
#[derive(Debug, Clone, Serialize)]
pub struct SquashStatus {
    pub baseline: String,
    pub squashed: usize,
    pub archive: String,
    pub case: SquashCase,
    /// For `partial`: the newest squashed migration it applied.
    pub stopped_at: Option<String>,
}

fn squash_status(found: &Discovered, entries: &[Entry]) -> Option<SquashStatus> {
    let squash = found.squash.as_ref()?;
    let archived: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.state == State::Squashed)
        .collect();
    let baseline = entries.iter().find(|e| e.id == squash.baseline);
    let case = match baseline.map(|e| e.state) {
        Some(State::PartlySquashed) => SquashCase::Partial,
        Some(State::Applied | State::Changed) if archived.is_empty() => SquashCase::Baseline,
        Some(State::Applied | State::Changed) => SquashCase::Complete,
        _ => SquashCase::Fresh,
    };
    let stopped_at = (case == SquashCase::Partial)
        .then(|| {
            archived
                .iter()
                .filter(|e| {
                    e.row
                        .as_ref()
                        .is_some_and(|r| r.status == crate::history::RowStatus::Applied)
                })
                .max_by(|a, b| a.version.cmp(&b.version))
                .map(|e| e.id.clone())
        })
        .flatten();
    Some(SquashStatus {
        baseline: squash.baseline.clone(),
        squashed: squash.migrations.len(),
        archive: squash.dir.display().to_string(),
        case,
        stopped_at,
    })
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
        foreign: None,
        squash: squash_status(found, entries),
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
        no_transaction: job.script.directives.no_transaction || job.online,
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
