//! Running one script against the database, in one of two ways:
//!
//! - **atomic**: the statements and the history change share one transaction (PostgreSQL,
//!   SQLite). Killed at any point, the database holds both or neither.
//! - **journaled** (`journal.rs`): where a transaction cannot hold the script (MySQL/MariaDB
//!   DDL commits implicitly; `no-transaction` scripts).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::engine::{DbError, Engine};
use crate::error::MigrationFailure;
use crate::history::{Direction, HistoryRow, RowStatus};
use crate::migrations::{Migration, Script};
use crate::sql::Statement;

use super::guard::{Guarded, Stop};

pub use crate::session::RunContext;

/// One script of a plan, split and ready.
pub struct Job<'a> {
    pub migration: &'a Migration,
    pub direction: Direction,
    pub script: &'a Script,
    /// The script's statements, then its verify script's (sqitch), which run in the same
    /// transaction where the engine allows and fail the migration when they raise.
    pub statements: Vec<Statement>,
    /// The verify script, whose statements start at `verify_at`.
    pub verify: Option<&'a Script>,
    pub verify_at: usize,
    /// The history row before this job (a rollback puts it back when nothing ran).
    pub previous: Option<HistoryRow>,
    /// Rewritten to build its indexes online, outside a transaction (`online.rs`).
    pub online: bool,
}

impl Job<'_> {
    /// The script statement `index` comes from: the up (or down) script, or the verify
    /// script after it.
    pub(super) fn source(&self, index: usize) -> &Script {
        match self.verify {
            Some(verify) if index >= self.verify_at => verify,
            _ => self.script,
        }
    }

    /// The file statement `index` comes from.
    pub(super) fn file_of(&self, index: usize) -> &Path {
        &self.source(index).path
    }

    pub(super) fn file_line(&self, index: usize, err: Option<&DbError>) -> usize {
        let offset = self.source(index).line_offset;
        // A script without statements (comments only) fails, if at all, at its first line.
        let Some(stmt) = self.statements.get(index).or(self.statements.last()) else {
            return 1 + offset;
        };
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
        stmt.line + within + offset
    }

    pub(super) fn row(
        &self,
        ctx: &RunContext,
        status: RowStatus,
        duration: Duration,
    ) -> HistoryRow {
        let m = self.migration;
        let mut row = applied_row(&m.id, &m.name, &m.checksum, ctx);
        row.status = status;
        row.direction = self.direction;
        row.duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        row
    }

    /// Statement `index` failed; `kept` statements before it are known to be applied, and
    /// `recorded` says whether the history holds a failed row for it.
    pub(super) fn failure(
        &self,
        index: usize,
        mut source: DbError,
        kept: usize,
        recorded: bool,
    ) -> Box<MigrationFailure> {
        let bookkeeping = source
            .message
            .starts_with("writing the history table failed");
        if self.verify.is_some() && index >= self.verify_at && !bookkeeping {
            source.message = format!("the verify script failed: {}", source.message);
        }
        Box::new(MigrationFailure {
            id: self.migration.id.clone(),
            name: self.migration.name.clone(),
            direction: self.direction,
            file: self.file_of(index).to_path_buf(),
            line: self.file_line(index, Some(&source)),
            statement: index + 1,
            statements: self.statements.len(),
            source,
            kept,
            recorded,
            completed: Vec::new(),
        })
    }
}

/// A history row for this run saying the migration is applied, with no failure recorded.
pub fn applied_row(version: &str, name: &str, checksum: &str, ctx: &RunContext) -> HistoryRow {
    HistoryRow {
        version: version.to_string(),
        name: name.to_string(),
        checksum: checksum.to_string(),
        status: RowStatus::Applied,
        direction: Direction::Up,
        applied_at: now(),
        duration_ms: 0,
        applied_by: ctx.applied_by.clone(),
        run_id: ctx.run_id.clone(),
        failed_statement: None,
        failed_line: None,
        failed_file: None,
        error: None,
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
/// Whether `job` runs journaled rather than in one transaction.
pub fn journaled(engine: &dyn Engine, job: &Job) -> bool {
    !engine.capabilities().transactional_ddl || job.script.directives.no_transaction || job.online
}

/// Run `job`, atomically when the engine and the script allow it. `prepared` says that the
/// previous job already wrote this one's "failed at statement 1" row; `next` is the job
/// that follows, whose row a journaled job writes in its last transaction (one commit
/// less per migration). Returns the duration and whether `next`'s row was written.
/// `guard` tries a statement again after a lock timeout.
pub fn run(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
    prepared: bool,
    next: Option<&Job>,
    guard: &mut Guarded,
) -> Result<(Duration, bool), Box<MigrationFailure>> {
    if journaled(engine, job) {
        let next = next.filter(|n| journaled(engine, n));
        super::journal::run(engine, job, ctx, prepared, next, guard)
    } else {
        run_atomic(engine, job, ctx, guard).map(|d| (d, false))
    }
}

/// Run `job` inside a transaction the caller holds (a one-transaction deploy): its
/// statements in as few round trips as the engine allows, no BEGIN or COMMIT of its own.
/// An applied script's history row is returned for the caller to write with the others
/// before it commits (one insert, not one per script); a rolled-back script's row goes at
/// once. A failure leaves the caller's transaction to be rolled back.
pub fn run_inside(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
) -> Result<(Duration, Option<HistoryRow>), Box<MigrationFailure>> {
    let start = Instant::now();
    let statements: Vec<&str> = job.statements.iter().map(|s| s.sql.as_str()).collect();
    engine
        .execute_all(&statements)
        .map_err(|(i, e)| job.failure(i, e, 0, false))?;
    match job.direction {
        Direction::Up => Ok((
            start.elapsed(),
            Some(job.row(ctx, RowStatus::Applied, start.elapsed())),
        )),
        Direction::Down => {
            let last = job.statements.len().saturating_sub(1);
            engine
                .delete_history(&job.migration.id)
                .map_err(|e| job.failure(last, history_err(e), 0, false))?;
            Ok((start.elapsed(), None))
        }
    }
}

/// The whole script in one transaction; after a lock timeout the transaction is rolled
/// back and the script tried again from its start.
fn run_atomic(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
    guard: &mut Guarded,
) -> Result<Duration, Box<MigrationFailure>> {
    let start = Instant::now();
    let baseline = guard.baseline();
    let mut first = true;
    guard
        .run(engine, |engine| {
            if !std::mem::take(&mut first) {
                // The rollback took the session's settings with it (set in the transaction).
                engine
                    .reset_session(&baseline)
                    .map_err(|e| Stop::at(0, e))?;
            }
            attempt_atomic(engine, job, ctx, start)
        })
        .map_err(|stop| job.failure(stop.index, stop.error, 0, false))
}

fn attempt_atomic(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
    start: Instant,
) -> Result<Duration, Stop> {
    let last = job.statements.len().saturating_sub(1);
    let fail = |engine: &mut dyn Engine, index: usize, e: DbError| {
        let _ = engine.rollback();
        Stop::at(index, e)
    };
    engine.begin().map_err(|e| Stop::at(0, e))?;
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

pub(super) fn history_err(e: DbError) -> DbError {
    DbError::new(format!("writing the history table failed: {}", e.message))
}

pub(super) fn display(path: &Path) -> String {
    path.display().to_string()
}
