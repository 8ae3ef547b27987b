//! The migration operations on a session: `status`, `migrate`, `rollback`, `resolve` and
//! `baseline`. The library and the CLI share this one code path, so the lock, the checksum
//! checks and the refusal to run past a failed migration are always on.
//!
//! A writing operation runs in a session opened with `Access::Change`: the run lock is held
//! for the whole command, taken before the history is read, so concurrent runners on a
//! fresh database cannot race. Nothing is created (not even the history table, nor a
//! SQLite file) until the plan has been made and found sound.

mod backfill;
mod execute;
mod guard;
mod invalid;
mod journal;
pub mod online;
mod plan;
mod report;

pub use backfill::Batched;
pub use execute::RunContext;
pub use plan::{find, resumable};
pub use report::{
    MigrateReport, ResolveReport, ScriptReport, SquashCase, SquashStatus, StatusEntry, StatusReport,
};

use crate::error::Error;
use crate::events::Event;
use crate::history::{Direction, Entry, State};
use crate::session::Session;
use execute::Job;

/// What `migrate` should do.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Stop after this migration (inclusive): a whole id, or a version number that only
    /// one migration has.
    pub to: Option<String>,
    /// Plan only: read the history, change nothing.
    pub dry_run: bool,
    /// Apply exactly these migrations (id and checksum, in order), or refuse: an approved
    /// plan.
    pub exactly: Option<Vec<(String, String)>>,
    /// Expand and contract: `Expand` stops before the first pending contract migration;
    /// `Contract` applies the contract migrations at the head of what is pending (refused
    /// when something else is pending before them). `None`: everything (`migrate`).
    pub stage: Option<crate::migrations::Stage>,
}

/// What `rollback` should do: the newest `steps` (default 1), or everything after `to`.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    pub steps: Option<usize>,
    pub to: Option<String>,
    pub dry_run: bool,
}

/// A hand correction of the history.
#[derive(Debug, Clone)]
pub enum Resolve {
    /// The migration is (now) fully applied: record it so.
    Applied(String),
    /// The migration is not (or no longer) applied: forget it.
    RolledBack(String),
    /// The edited file has been reviewed: store its new checksum.
    AcceptChecksum(String),
}

/// `cutover status`: every migration and its state, in a read-only session.
pub fn status(
    settings: &crate::config::Settings,
    observer: &mut dyn crate::events::Observer,
) -> Result<StatusReport, Error> {
    Session::open(settings, crate::session::Access::Read, observer)?.status()
}

/// `cutover migrate`: a session that holds the run lock (read-only for a dry run), with
/// the server's notices reported when `notices` asks for them.
pub fn migrate(
    settings: &crate::config::Settings,
    opts: &MigrateOptions,
    notices: bool,
    observer: &mut dyn crate::events::Observer,
) -> Result<MigrateReport, Error> {
    let access = if opts.dry_run {
        crate::session::Access::Read
    } else {
        crate::session::Access::Change
    };
    let mut session = Session::open(settings, access, observer)?;
    session.engine().collect_notices(notices);
    session.migrate(opts)
}

impl Session<'_> {
    /// Every migration and its state; reads only.
    pub fn status(&mut self) -> Result<StatusReport, Error> {
        let server_version = self
            .engine()
            .server_version()
            .map_err(Error::db("cannot read the server version"))?;
        let mut report = report::status(self.migrations(), self.entries(), server_version);
        report.foreign = self.foreign_history();
        Ok(report)
    }

    /// The migrations `migrate` would apply, split and checked; changes nothing.
    pub fn plan_migrate(&mut self, opts: &MigrateOptions) -> Result<MigrateReport, Error> {
        self.refuse_foreign()?;
        let jobs = plan::migrate(self.migrations(), self.entries(), opts, self.dialect())?;
        Ok(report::planned(self.context(), Direction::Up, &jobs, true))
    }

    /// Apply pending migrations in order.
    pub fn migrate(&mut self, opts: &MigrateOptions) -> Result<MigrateReport, Error> {
        if opts.dry_run {
            return self.plan_migrate(opts);
        }
        self.refresh()?;
        self.refuse_foreign()?;
        // Planned against a copy: the jobs borrow the migrations while the session runs.
        let found = self.migrations().clone();
        let jobs = plan::migrate(&found, self.entries(), opts, self.dialect())?;
        self.prepare_write()?;
        let entries = self.entries().to_vec();
        warn_out_of_order(self, &entries, &jobs);
        let report = self.run_jobs(Direction::Up, &jobs);
        self.refreshed(report)
    }

    /// Run down scripts, newest first.
    pub fn rollback(&mut self, opts: &RollbackOptions) -> Result<MigrateReport, Error> {
        self.migrations_mut().read_downs()?;
        self.refresh()?;
        let found = self.migrations().clone();
        let jobs = plan::rollback(&found, self.entries(), opts, self.dialect())?;
        if opts.dry_run {
            return Ok(report::planned(
                self.context(),
                Direction::Down,
                &jobs,
                true,
            ));
        }
        self.prepare_write()?;
        let entries = self.entries().to_vec();
        for job in &jobs {
            if job.statements.is_empty() && !is_empty_script(&job.migration.up.sql, self.dialect())
            {
                self.event(Event::Warning(format!(
                    "the {} of {} is empty: rolling it back changes nothing in the database",
                    job.migration.down_noun(),
                    job.migration.id
                )));
            }
            if entries
                .iter()
                .any(|e| e.id == job.migration.id && e.state == State::Changed)
            {
                self.event(Event::Warning(format!(
                    "{} was edited after it was applied; rolling back with the current {}",
                    job.migration.id,
                    job.migration.down_noun()
                )));
            }
        }
        let report = self.run_jobs(Direction::Down, &jobs);
        self.refreshed(report)
    }

    /// Correct the history by hand. `dry_run` says what would change.
    pub fn resolve(&mut self, action: &Resolve, dry_run: bool) -> Result<ResolveReport, Error> {
        self.refresh()?;
        let found = self.migrations().clone();
        let entries = self.entries().to_vec();
        let (entry, row) = plan::resolve(&found, &entries, action, self.context())?;
        let report = ResolveReport {
            version: entry.id.clone(),
            name: entry.name.clone(),
            before: entry.state,
            after: if row.is_some() {
                State::Applied
            } else {
                State::Pending
            },
            dry_run,
        };
        if dry_run {
            return Ok(report);
        }
        self.prepare_write()?;
        match &row {
            Some(row) => self.engine().upsert_history(row),
            None => self.engine().delete_history(&entry.id).map(|_| ()),
        }
        .map_err(Error::db("cannot write the history table"))?;
        self.refresh()?;
        Ok(report)
    }

    /// Mark every pending migration up to and including `version` as applied without
    /// running it. `dry_run` lists them and marks nothing.
    pub fn baseline(&mut self, version: &str, dry_run: bool) -> Result<Vec<String>, Error> {
        self.refresh()?;
        let entries = self.entries().to_vec();
        plan::refuse_problems(&entries)?;
        let upto = plan::upto(&entries, version)?;
        let chosen: Vec<usize> = entries[..upto]
            .iter()
            .filter(|e| e.state == State::Pending)
            .filter_map(|e| e.migration)
            .collect();
        let ids: Vec<String> = chosen
            .iter()
            .map(|&i| self.migrations().migrations[i].id.clone())
            .collect();
        if dry_run {
            return Ok(ids);
        }
        self.mark_applied(&chosen, "baseline: marked applied without running")?;
        Ok(ids)
    }

    /// Record the migrations at `chosen` (indexes into the discovered migrations) as
    /// applied without running them, each row carrying `note` (baseline, adopt).
    pub(crate) fn mark_applied(&mut self, chosen: &[usize], note: &str) -> Result<(), Error> {
        self.prepare_write()?;
        for &i in chosen {
            let m = &self.migrations().migrations[i];
            let mut row = execute::applied_row(&m.id, &m.name, &m.checksum, self.context());
            row.error = Some(note.to_string());
            self.engine()
                .upsert_history(&row)
                .map_err(Error::db("cannot write the history table"))?;
        }
        self.refresh()
    }

    /// Re-read the history after running scripts; a script's failure says more than a
    /// failure to re-read after it.
    fn refreshed(&mut self, report: Result<MigrateReport, Error>) -> Result<MigrateReport, Error> {
        let refreshed = self.refresh();
        let report = report?;
        refreshed.map(|()| report)
    }

    /// Run the planned scripts in order; stop at the first failure, or before the next
    /// script when a signal asked the command to stop. Each script starts from the
    /// session's baseline settings, and so does whatever runs after the last one (seeds,
    /// checks, cutover's own records, an undo): a script's `SET search_path` or
    /// `SET statement_timeout` ends with it.
    fn run_jobs(&mut self, direction: Direction, jobs: &[Job]) -> Result<MigrateReport, Error> {
        if jobs.is_empty() {
            return self.run_each(direction, jobs, None);
        }
        let guard = self.arm_guard()?;
        let result = self.run_each(direction, jobs, guard);
        if jobs.is_empty() {
            return result;
        }
        let reset = self.reset();
        match result {
            // The script's failure says more than a reset's after it.
            Err(e) => Err(e),
            Ok(done) => reset.map(|()| done),
        }
    }

    fn run_each(
        &mut self,
        direction: Direction,
        jobs: &[Job],
        guard: Option<crate::config::Guard>,
    ) -> Result<MigrateReport, Error> {
        self.event(Event::Planned { total: jobs.len() });
        let mut done = report::planned(self.context(), direction, &[], false);
        let mut prepared = false;
        // A one-transaction deploy's history rows, written together before it commits.
        let mut deferred = Vec::new();
        let existing = self.existing_tables(jobs);
        for (index, job) in jobs.iter().enumerate() {
            if self.stopping() {
                self.write_deferred(&deferred, &jobs[..index], &done)?;
                if prepared {
                    // The previous script's last transaction wrote this one's "stopped
                    // before statement 1" row; it never started, so it is not in the
                    // history at all.
                    self.engine()
                        .delete_history(&job.migration.id)
                        .map_err(Error::db(
                            "cannot take back the row of a script that never started",
                        ))?;
                }
                return Err(Error::Interrupted {
                    completed: done.scripts.iter().map(|s| s.id.clone()).collect(),
                    remaining: jobs[index..]
                        .iter()
                        .map(|j| j.migration.id.clone())
                        .collect(),
                });
            }
            if index > 0 {
                self.reset()?;
            }
            self.event(Event::ScriptStarted {
                index,
                id: job.migration.id.clone(),
                name: job.migration.name.clone(),
                rollback: direction == Direction::Down,
            });
            let ctx = self.context().clone();
            let outer = self.in_outer_transaction();
            let rewritten = self.online(job, &existing);
            let job = rewritten.as_ref().unwrap_or(job);
            let result = if outer {
                execute::run_inside(self.engine(), job, &ctx).map(|(d, row)| {
                    deferred.extend(row);
                    (d, false)
                })
            } else {
                let baseline = self.session_baseline().to_vec();
                let (engine, observer, _) = self.parts();
                let mut guarded = guard::Guarded::new(
                    guard.clone(),
                    engine,
                    observer,
                    &job.migration.id,
                    &baseline,
                );
                execute::run(
                    engine,
                    job,
                    &ctx,
                    prepared,
                    jobs.get(index + 1),
                    &mut guarded,
                )
            };
            for text in self.engine().take_notices() {
                self.event(Event::Notice {
                    id: job.migration.id.clone(),
                    text,
                });
            }
            match result {
                Ok((duration, next_prepared)) => {
                    prepared = next_prepared;
                    self.event(Event::ScriptFinished {
                        index,
                        id: job.migration.id.clone(),
                        duration,
                    });
                    done.scripts
                        .push(report::script(job, Some(duration), false));
                }
                Err(mut failure) => {
                    failure.completed = done.scripts.iter().map(|s| s.id.clone()).collect();
                    return Err(Error::MigrationFailed(failure));
                }
            }
        }
        self.write_deferred(&deferred, jobs, &done)?;
        Ok(done)
    }

    /// `job` with its index builds made online, when it has any on the `existing` tables
    /// (none when the guard says not to: `existing_tables`); the rewrite is shown and
    /// journaled.
    fn online<'j>(
        &mut self,
        job: &Job<'j>,
        existing: &std::collections::HashSet<String>,
    ) -> Option<Job<'j>> {
        if existing.is_empty() || job.verify.is_some() {
            return None;
        }
        let (statements, outside) = online::rewrite(&job.statements, self.dialect(), existing)?;
        let how = if outside {
            "CREATE INDEX CONCURRENTLY, outside a transaction"
        } else {
            "ALGORITHM=INPLACE, LOCK=NONE"
        };
        self.event(Event::Notice {
            id: job.migration.id.clone(),
            text: format!("index builds run online ({how}; guard.online_indexes)"),
        });
        Some(Job {
            migration: job.migration,
            direction: job.direction,
            script: job.script,
            verify_at: statements.len(),
            statements,
            verify: None,
            previous: job.previous.clone(),
            online: outside,
        })
    }

    /// The tables there before `jobs` run, when one of them may build an index online (an
    /// empty set otherwise: `guard.online_indexes` off, inside a deploy's one transaction, or
    /// a catalog that cannot be read; then nothing is rewritten).
    fn existing_tables(&mut self, jobs: &[Job]) -> std::collections::HashSet<String> {
        let dialect = self.dialect();
        let wanted = self.settings().guard.online_indexes
            && !self.in_outer_transaction()
            && jobs
                .iter()
                .any(|j| online::candidate(&j.statements, dialect));
        let Some(sql) = online::existing_tables_sql(dialect).filter(|_| wanted) else {
            return Default::default();
        };
        self.engine()
            .query(sql)
            .map(|rows| {
                rows.into_iter()
                    .filter_map(|r| r.into_iter().next().flatten())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Write the history rows a one-transaction deploy held back; a failure is the last
    /// script's (its row could not be written).
    fn write_deferred(
        &mut self,
        rows: &[crate::history::HistoryRow],
        ran: &[Job],
        done: &MigrateReport,
    ) -> Result<(), Error> {
        let Some(last) = ran.last().filter(|_| !rows.is_empty()) else {
            return Ok(());
        };
        self.engine().upsert_history_many(rows).map_err(|e| {
            let at = last.statements.len().saturating_sub(1);
            let mut failure = last.failure(at, execute::history_err(e), 0, false);
            failure.completed = done.scripts.iter().map(|s| s.id.clone()).collect();
            Error::MigrationFailed(failure)
        })
    }
}

fn warn_out_of_order(session: &mut Session, entries: &[Entry], jobs: &[Job]) {
    let newest = entries
        .iter()
        .filter(|e| e.row.is_some())
        .map(|e| &e.version)
        .max();
    for job in jobs {
        // A repeatable that runs again because it changed is not out of order.
        let rerun = entries
            .iter()
            .any(|e| e.id == job.migration.id && e.row.is_some());
        if !rerun && newest.is_some_and(|n| job.migration.version < *n) {
            session.event(Event::Warning(format!(
                "{} is older than migrations already applied; applying it out of order",
                job.migration.id
            )));
        }
    }
}

/// Whether a script holds no statement at all (placeholders, comment-only files).
fn is_empty_script(sql: &str, dialect: crate::sql::Dialect) -> bool {
    crate::sql::split(sql, dialect).is_ok_and(|s| s.is_empty())
}
