//! Running one script against the database, in one of two ways:
//!
//! - **atomic**: the statements and the history change share one transaction (PostgreSQL,
//!   SQLite). Killed at any point, the database holds both or neither.
//! - **journaled**: where a transaction cannot hold the script (MySQL/MariaDB DDL commits
//!   implicitly; `no-transaction` scripts), a history row saying "failed at statement k" is
//!   written *before* statement k runs, and replaced by the final row once all have run.
//!   Killed at any point, the history says how far it got, and `migrate` refuses to go on
//!   until an operator resolves it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::engine::{DbError, Engine};
use crate::error::MigrationFailure;
use crate::history::{Direction, HistoryRow, RowStatus};
use crate::migrations::{Migration, Script};
use crate::sql::Statement;

/// Who is running, stamped on every history row.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub applied_by: String,
}

/// One script of a plan, split and ready.
pub struct Job<'a> {
    pub migration: &'a Migration,
    pub direction: Direction,
    pub script: &'a Script,
    pub statements: Vec<Statement>,
    /// The history row before this job (a rollback puts it back when nothing ran).
    pub previous: Option<HistoryRow>,
}

impl Job<'_> {
    fn file_line(&self, index: usize, err: Option<&DbError>) -> usize {
        let stmt = &self.statements[index];
        let within = err
            .and_then(|e| e.position)
            .map(|p| {
                stmt.sql
                    .chars()
                    .take(p.saturating_sub(1))
                    .filter(|c| *c == '\n')
                    .count()
            })
            .unwrap_or(0);
        stmt.line + within + self.script.line_offset
    }

    fn row(&self, ctx: &RunContext, status: RowStatus, duration: Duration) -> HistoryRow {
        HistoryRow {
            version: self.migration.id.clone(),
            name: self.migration.name.clone(),
            checksum: self.migration.checksum.clone(),
            status,
            direction: self.direction,
            applied_at: now(),
            duration_ms: i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
            applied_by: ctx.applied_by.clone(),
            run_id: ctx.run_id.clone(),
            failed_statement: None,
            failed_line: None,
            failed_file: None,
            error: None,
        }
    }

    fn failure(&self, index: usize, source: DbError, recorded: bool) -> Box<MigrationFailure> {
        Box::new(MigrationFailure {
            id: self.migration.id.clone(),
            name: self.migration.name.clone(),
            direction: self.direction,
            file: self.script.path.clone(),
            line: self.file_line(index, Some(&source)),
            statement: index + 1,
            statements: self.statements.len(),
            source,
            recorded,
            completed: Vec::new(),
        })
    }
}

/// The current time as stored in history rows.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Microsecond)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// Run `job`, atomically when the engine and the script allow it.
pub fn run(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
) -> Result<Duration, Box<MigrationFailure>> {
    if engine.capabilities().transactional_ddl && !job.script.directives.no_transaction {
        run_atomic(engine, job, ctx)
    } else {
        run_journaled(engine, job, ctx)
    }
}

fn run_atomic(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
) -> Result<Duration, Box<MigrationFailure>> {
    let start = Instant::now();
    let last = job.statements.len().saturating_sub(1);
    let fail = |engine: &mut dyn Engine, index: usize, e: DbError| {
        let _ = engine.rollback();
        job.failure(index, e, false)
    };
    engine.begin().map_err(|e| job.failure(0, e, false))?;
    for (i, stmt) in job.statements.iter().enumerate() {
        engine.execute(&stmt.sql).map_err(|e| fail(engine, i, e))?;
    }
    let bookkeeping = match job.direction {
        Direction::Up => engine.upsert_history(&job.row(ctx, RowStatus::Applied, start.elapsed())),
        Direction::Down => engine.delete_history(&job.migration.id).map(|_| ()),
    };
    bookkeeping.map_err(|e| fail(engine, last, history_err(e)))?;
    engine.commit().map_err(|e| fail(engine, last, e))?;
    Ok(start.elapsed())
}

fn run_journaled(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
) -> Result<Duration, Box<MigrationFailure>> {
    let start = Instant::now();
    let mut row = job.row(ctx, RowStatus::Failed, Duration::ZERO);
    row.failed_file = Some(display(&job.script.path));
    row.error = Some("interrupted: the run stopped before this statement completed".into());
    for (i, stmt) in job.statements.iter().enumerate() {
        row.failed_statement = Some(i as i64 + 1);
        row.failed_line = Some(job.file_line(i, None) as i64);
        row.duration_ms = start.elapsed().as_millis() as i64;
        engine
            .upsert_history(&row)
            .map_err(|e| job.failure(i, history_err(e), i > 0))?;
        if let Err(e) = engine.execute(&stmt.sql) {
            return Err(record_failure(engine, job, row, i, e));
        }
    }
    let done = match job.direction {
        Direction::Up => engine.upsert_history(&job.row(ctx, RowStatus::Applied, start.elapsed())),
        Direction::Down => engine.delete_history(&job.migration.id).map(|_| ()),
    };
    let last = job.statements.len().saturating_sub(1);
    done.map_err(|e| job.failure(last, history_err(e), !job.statements.is_empty()))?;
    Ok(start.elapsed())
}

/// A journaled statement failed. If it was the first, nothing ran: put the history back as
/// it was. Otherwise keep the failed row, now with the database's message.
fn record_failure(
    engine: &mut dyn Engine,
    job: &Job,
    mut row: HistoryRow,
    index: usize,
    err: DbError,
) -> Box<MigrationFailure> {
    let restored = if index == 0 {
        match job.direction {
            Direction::Up => engine.delete_history(&job.migration.id).map(|_| ()),
            Direction::Down => match &job.previous {
                Some(prev) => engine.upsert_history(prev),
                None => Ok(()),
            },
        }
        .is_ok()
    } else {
        false
    };
    if !restored {
        row.failed_line = Some(job.file_line(index, Some(&err)) as i64);
        row.error = Some(err.message.clone());
        let _ = engine.upsert_history(&row);
    }
    job.failure(index, err, !restored)
}

fn history_err(e: DbError) -> DbError {
    DbError::new(format!("writing the history table failed: {}", e.message))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
