//! Journaled execution, for scripts a transaction cannot hold: MySQL/MariaDB, where DDL
//! commits implicitly, and `no-transaction` scripts on any engine.
//!
//! The history row always names the first statement not known to be applied: it is written
//! as "failed at statement k" *before* anything from statement k on can commit, and
//! replaced by the final row at the end. Runs of plain data statements (on MySQL) share one
//! transaction with the row that follows them, so they are kept or lost together and cost
//! one commit; a script that ends with such a run also writes the next script's "failed at
//! statement 1" row in that transaction. Killed at any point, the history says how far the
//! script got (at worst it names a next script that had not started yet), and `migrate`
//! refuses to go on until an operator resolves it.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::engine::{DbError, Engine};
use crate::error::MigrationFailure;
use crate::history::{Direction, HistoryRow, RowStatus};

use super::execute::{Job, RunContext, display, history_err};
use super::guard::{Guarded, Stop};

/// Statements that run alone, or together in one transaction.
enum Segment {
    Alone(usize),
    Together(Range<usize>),
}

impl Segment {
    fn start(&self) -> usize {
        match self {
            Segment::Alone(i) => *i,
            Segment::Together(r) => r.start,
        }
    }
}

fn segments(engine: &dyn Engine, job: &Job) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (i, stmt) in job.statements.iter().enumerate() {
        let alone = job.script.directives.no_transaction
            || job.online
            || engine.commits_implicitly(&stmt.sql);
        match out.last_mut() {
            Some(Segment::Together(r)) if !alone => r.end = i + 1,
            _ if alone => out.push(Segment::Alone(i)),
            _ => out.push(Segment::Together(i..i + 1)),
        }
    }
    out
}

pub(super) fn run(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
    prepared: bool,
    next: Option<&Job>,
    guard: &mut Guarded,
) -> Result<(Duration, bool), Box<MigrationFailure>> {
    let start = Instant::now();
    let n = job.statements.len();
    let mut row = intent(job, ctx);
    // The statement the durable history row names, once one has been written.
    let mut durable: Option<usize> = prepared.then_some(0);
    for segment in segments(engine, job) {
        let first = segment.start();
        if durable != Some(first) {
            point_at(&mut row, job, first, start);
            engine
                .upsert_history(&row)
                .map_err(|e| job.failure(first, history_err(e), first, first > 0))?;
            durable = Some(first);
        }
        match segment {
            Segment::Alone(i) => {
                let ran = match job.script.directives.backfill {
                    Some(how) => super::backfill::run(
                        engine,
                        &job.statements[i].sql,
                        i,
                        how,
                        guard,
                        &crate::session::signalled,
                    ),
                    None => guard.run(engine, |engine| run_alone(engine, job, i)),
                };
                if let Err(stop) = ran {
                    // An INVALID index a failed concurrent build left is something this
                    // migration kept.
                    let how = if stop.retry { Kept::Before } else { Kept::Left };
                    return Err(record_failure(engine, job, row, i, i, stop.error, how));
                }
            }
            Segment::Together(range) => {
                let fail = |engine: &mut dyn Engine, row: HistoryRow, stop: Stop| {
                    // Non-transactional tables (MyISAM, Aria) keep what the statements
                    // before the failing one wrote: they stay applied.
                    let kept = if stop.retry {
                        Kept::Before
                    } else {
                        Kept::Anyway(range.start)
                    };
                    let i = stop.index;
                    record_failure(
                        engine,
                        job,
                        row,
                        i,
                        kept.count(range.start, i),
                        stop.error,
                        kept,
                    )
                };
                engine
                    .begin()
                    .map_err(|e| job.failure(first, e, first, first > 0))?;
                // The first try runs in the transaction just begun; a try again begins its own.
                let mut begun = true;
                let tried = guard.run(engine, |engine| {
                    if !std::mem::take(&mut begun) {
                        engine.begin().map_err(|e| Stop::at(range.start, e))?;
                    }
                    run_together(engine, job, &range)
                });
                if let Err(stop) = tried {
                    return Err(fail(engine, row, stop));
                }
                let bookkeeping = if range.end == n {
                    finish(engine, job, ctx, start).and_then(|()| match next {
                        Some(next) => engine.upsert_history(&intent(next, ctx)),
                        None => Ok(()),
                    })
                } else {
                    point_at(&mut row, job, range.end, start);
                    engine.upsert_history(&row)
                };
                if let Err(e) = bookkeeping.and_then(|()| engine.commit()) {
                    let _ = engine.rollback();
                    let stop = if engine.rollback_kept_changes() {
                        Stop::kept(range.end - 1, history_err(e))
                    } else {
                        Stop::at(range.end - 1, history_err(e))
                    };
                    return Err(fail(engine, row, stop));
                }
                if range.end == n {
                    return Ok((start.elapsed(), next.is_some()));
                }
                durable = Some(range.end);
            }
        }
    }
    finish(engine, job, ctx, start)
        .map_err(|e| job.failure(n.saturating_sub(1), history_err(e), n, n > 0))?;
    Ok((start.elapsed(), false))
}

/// Statement `i` alone. A failed concurrent index build leaves an INVALID index: it is
/// dropped (so a try again can build it), and one that cannot be dropped is kept (never
/// tried again).
fn run_alone(engine: &mut dyn Engine, job: &Job, i: usize) -> Result<(), Stop> {
    let sql = &job.statements[i].sql;
    let watched = super::invalid::builds_index_concurrently(sql)
        .then(|| engine.invalid_indexes().unwrap_or_default());
    engine.execute(sql).map_err(|mut e| {
        let Some(before) = watched else {
            return Stop::at(i, e);
        };
        let leftovers = super::invalid::clear(engine, &before);
        super::invalid::explain(&mut e, &leftovers);
        if leftovers.left.is_empty() {
            Stop::at(i, e)
        } else {
            Stop::kept(i, e)
        }
    })
}

/// Statements `range` in the open transaction; after a failure it is rolled back, and the
/// failure may be tried again when the rollback left nothing behind.
fn run_together(engine: &mut dyn Engine, job: &Job, range: &Range<usize>) -> Result<(), Stop> {
    for i in range.clone() {
        if let Err(e) = engine.execute(&job.statements[i].sql) {
            let _ = engine.rollback();
            return Err(if engine.rollback_kept_changes() {
                Stop::kept(i, e)
            } else {
                Stop::at(i, e)
            });
        }
    }
    Ok(())
}

/// The row that says `job` stopped before its first statement completed.
fn intent(job: &Job, ctx: &RunContext) -> HistoryRow {
    let mut row = job.row(ctx, RowStatus::Failed, Duration::ZERO);
    row.failed_file = Some(display(job.file_of(0)));
    row.error = Some("interrupted: the run stopped before this statement completed".into());
    row.failed_statement = Some(1);
    row.failed_line = job
        .statements
        .first()
        .map(|_| job.file_line(0, None) as i64);
    row
}

/// Make `row` say the script stopped at statement `index`.
fn point_at(row: &mut HistoryRow, job: &Job, index: usize, start: Instant) {
    row.failed_file = Some(display(job.file_of(index)));
    row.failed_statement = Some(index as i64 + 1);
    row.failed_line = Some(job.file_line(index, None) as i64);
    row.duration_ms = start.elapsed().as_millis() as i64;
}

/// The history once every statement has run: applied (up) or gone (down).
fn finish(
    engine: &mut dyn Engine,
    job: &Job,
    ctx: &RunContext,
    start: Instant,
) -> Result<(), DbError> {
    match job.direction {
        Direction::Up => engine.upsert_history(&job.row(ctx, RowStatus::Applied, start.elapsed())),
        Direction::Down => engine.delete_history(&job.migration.id).map(|_| ()),
    }
}

/// What a failure left applied.
#[derive(Clone, Copy)]
enum Kept {
    /// The statements before the failing segment; the segment was rolled back.
    Before,
    /// The ROLLBACK of the segment starting at this statement could not undo everything
    /// (non-transactional tables): its statements before the failing one stay applied, and
    /// the failing one may have written some rows too.
    Anyway(usize),
    /// The failing statement itself left something behind (an INVALID index of a failed
    /// concurrent build that could not be dropped), named in the error's detail.
    Left,
}

impl Kept {
    /// How many statements are applied when statement `failed` of a segment that starts at
    /// `start` fails.
    fn count(self, start: usize, failed: usize) -> usize {
        match self {
            Kept::Before | Kept::Left => start,
            Kept::Anyway(_) => failed,
        }
    }
}

/// Statement `failed` failed with `kept` statements applied. With none applied (and nothing
/// kept anyway), put the history back as it was; otherwise keep the failed row, with the
/// database's message.
fn record_failure(
    engine: &mut dyn Engine,
    job: &Job,
    mut row: HistoryRow,
    failed: usize,
    kept: usize,
    err: DbError,
    how: Kept,
) -> Box<MigrationFailure> {
    let restored = kept == 0
        && matches!(how, Kept::Before)
        && match job.direction {
            Direction::Up => engine.delete_history(&job.migration.id).map(|_| ()),
            Direction::Down => match &job.previous {
                Some(prev) => engine.upsert_history(prev),
                None => Ok(()),
            },
        }
        .is_ok();
    if !restored {
        row.failed_file = Some(display(job.file_of(kept)));
        row.failed_statement = Some(kept as i64 + 1);
        row.failed_line = Some(job.file_line(kept, (failed == kept).then_some(&err)) as i64);
        let verify = job.verify.is_some() && failed >= job.verify_at;
        let what = if verify {
            format!("the verify script failed: {}", err.message)
        } else {
            err.message.clone()
        };
        let mut error = if failed == kept {
            what
        } else {
            format!("statement {} failed: {what}", failed + 1)
        };
        if let (Kept::Left, Some(detail)) = (how, &err.detail) {
            error = format!("{error}\n{detail}");
        }
        if let Kept::Anyway(start) = how {
            error.push_str(&format!(
                " (ROLLBACK left non-transactional tables, such as MyISAM or Aria, with what statements {}..{} wrote)",
                start + 1,
                failed + 1
            ));
        }
        row.error = Some(error);
        let _ = engine.upsert_history(&row);
    }
    job.failure(failed, err, kept, !restored)
}
