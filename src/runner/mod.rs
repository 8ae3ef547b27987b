//! The migration runner: `status`, `migrate`, `rollback`, `resolve` and `baseline` over one
//! engine connection and one set of discovered migrations. The library and the CLI share
//! this one code path, so the lock, the checksum checks and the refusal to run past a
//! failed migration are always on.
//!
//! Every writing operation runs under the run lock (`lock.rs`), taken before the history
//! table is even created, so concurrent runners on a fresh database cannot race.

mod execute;
mod journal;
pub(crate) mod lock;
mod plan;
mod report;

use std::time::Duration;

pub use execute::RunContext;
pub use report::{MigrateReport, ResolveReport, ScriptReport, StatusEntry, StatusReport};

use crate::engine::Engine;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::history::{self, Direction, Entry, State};
use crate::migrations::Discovered;
use execute::Job;

/// What `migrate` should do.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Stop after this version (inclusive).
    pub to: Option<String>,
    /// Plan only: read the history, change nothing.
    pub dry_run: bool,
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

/// Runs operations on one database.
pub struct Runner<'o> {
    engine: Box<dyn Engine>,
    found: Discovered,
    env: Option<String>,
    lock_timeout: Duration,
    ctx: RunContext,
    observer: &'o mut dyn Observer,
}

impl<'o> Runner<'o> {
    pub fn new(
        engine: Box<dyn Engine>,
        found: Discovered,
        env: Option<String>,
        lock_timeout: Duration,
        ctx: RunContext,
        observer: &'o mut dyn Observer,
    ) -> Self {
        Runner {
            engine,
            found,
            env,
            lock_timeout,
            ctx,
            observer,
        }
    }

    pub fn run_id(&self) -> &str {
        &self.ctx.run_id
    }

    /// Every migration and its state; reads only.
    pub fn status(&mut self) -> Result<StatusReport, Error> {
        let entries = self.entries(false)?;
        let server_version = self
            .engine
            .server_version()
            .map_err(Error::db("cannot read the server version"))?;
        Ok(report::status(&self.found, &entries, server_version))
    }

    /// Apply pending migrations in order.
    pub fn migrate(&mut self, opts: &MigrateOptions) -> Result<MigrateReport, Error> {
        if opts.dry_run {
            let entries = self.entries(false)?;
            let jobs = plan::migrate(&self.found, &entries, opts, self.engine.dialect())?;
            return Ok(report::planned(&self.ctx, Direction::Up, &jobs, true));
        }
        self.locked(|r| {
            let entries = r.entries(true)?;
            let jobs = plan::migrate(&r.found, &entries, opts, r.engine.dialect())?;
            warn_out_of_order(&mut *r.observer, &entries, &jobs);
            run_jobs(
                r.engine.as_mut(),
                &r.ctx,
                &mut *r.observer,
                Direction::Up,
                &jobs,
            )
        })
    }

    /// Run down scripts, newest first.
    pub fn rollback(&mut self, opts: &RollbackOptions) -> Result<MigrateReport, Error> {
        self.found.read_downs()?;
        if opts.dry_run {
            let entries = self.entries(false)?;
            let jobs = plan::rollback(&self.found, &entries, opts, self.engine.dialect())?;
            return Ok(report::planned(&self.ctx, Direction::Down, &jobs, true));
        }
        self.locked(|r| {
            let entries = r.entries(true)?;
            let jobs = plan::rollback(&r.found, &entries, opts, r.engine.dialect())?;
            for job in &jobs {
                if job.statements.is_empty() && !is_empty_script(&job.migration.up.sql, r.engine.dialect()) {
                    r.observer.event(&Event::Warning(format!(
                        "the down script of {} is empty: rolling it back changes nothing in the database",
                        job.migration.id
                    )));
                }
                if entries.iter().any(|e| e.id == job.migration.id && e.state == State::Changed) {
                    r.observer.event(&Event::Warning(format!(
                        "{} was edited after it was applied; rolling back with the current down script",
                        job.migration.id
                    )));
                }
            }
            run_jobs(r.engine.as_mut(), &r.ctx, &mut *r.observer, Direction::Down, &jobs)
        })
    }

    /// Correct the history by hand.
    pub fn resolve(&mut self, action: &Resolve) -> Result<ResolveReport, Error> {
        self.locked(|r| {
            let entries = r.entries(true)?;
            let (entry, row) = plan::resolve(&r.found, &entries, action, &r.ctx)?;
            match &row {
                Some(row) => r.engine.upsert_history(row),
                None => r.engine.delete_history(&entry.id).map(|_| ()),
            }
            .map_err(Error::db("cannot write the history table"))?;
            Ok(ResolveReport {
                version: entry.id.clone(),
                name: entry.name.clone(),
                before: entry.state,
                after: if row.is_some() {
                    State::Applied
                } else {
                    State::Pending
                },
            })
        })
    }

    /// Mark every pending migration up to `version` as applied without running it.
    pub fn baseline(&mut self, version: &str) -> Result<Vec<String>, Error> {
        self.locked(|r| {
            let entries = r.entries(true)?;
            plan::refuse_problems(&entries)?;
            let target = plan::find(&entries, version)?.version.clone();
            let mut marked = Vec::new();
            for e in entries
                .iter()
                .filter(|e| e.state == State::Pending && e.version <= target)
            {
                let m = &r.found.migrations[e.migration.expect("pending entries have files")];
                let mut row = execute::applied_row(&m.id, &m.name, &m.checksum, &r.ctx);
                row.error = Some("baseline: marked applied without running".into());
                r.engine
                    .upsert_history(&row)
                    .map_err(Error::db("cannot write the history table"))?;
                marked.push(m.id.clone());
            }
            Ok(marked)
        })
    }

    /// Files against history. `create` makes the history table when it is missing (under
    /// the lock). The rows are read first and the table looked for only when that fails,
    /// so the common case costs one query.
    fn entries(&mut self, create: bool) -> Result<Vec<Entry>, Error> {
        Error::refuse_interrupted(self.engine.as_mut())?;
        let rows = match self.engine.load_history() {
            Ok(rows) => rows,
            Err(e) => {
                let exists = self
                    .engine
                    .history_exists()
                    .map_err(Error::db("cannot look for the history table"))?;
                if exists {
                    return Err(Error::db(
                        "cannot read the history table cutover_migrations",
                    )(e));
                }
                if create {
                    self.engine.ensure_history().map_err(Error::db(
                        "cannot create the history table cutover_migrations",
                    ))?;
                }
                Vec::new()
            }
        };
        Ok(history::reconcile(
            &self.found.migrations,
            &rows,
            self.env.as_deref(),
        ))
    }

    /// Run `f` holding the run lock, and release it on every path.
    fn locked<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        lock::acquire(self.engine.as_mut(), self.lock_timeout, &mut *self.observer)?;
        let out = f(self);
        let released = self.engine.unlock();
        let value = out?;
        released.map_err(Error::db("cannot release the run lock"))?;
        Ok(value)
    }
}

/// Run the planned scripts in order; stop at the first failure.
fn run_jobs(
    engine: &mut dyn Engine,
    ctx: &RunContext,
    observer: &mut dyn Observer,
    direction: Direction,
    jobs: &[Job],
) -> Result<MigrateReport, Error> {
    observer.event(&Event::Planned { total: jobs.len() });
    let mut done = report::planned(ctx, direction, &[], false);
    let mut prepared = false;
    for (index, job) in jobs.iter().enumerate() {
        observer.event(&Event::ScriptStarted {
            index,
            id: job.migration.id.clone(),
            name: job.migration.name.clone(),
            rollback: direction == Direction::Down,
        });
        match execute::run(engine, job, ctx, prepared, jobs.get(index + 1)) {
            Ok((duration, next_prepared)) => {
                prepared = next_prepared;
                observer.event(&Event::ScriptFinished {
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
    Ok(done)
}

fn warn_out_of_order(observer: &mut dyn Observer, entries: &[Entry], jobs: &[Job]) {
    let newest = entries
        .iter()
        .filter(|e| e.row.is_some())
        .map(|e| &e.version)
        .max();
    for job in jobs {
        if newest.is_some_and(|n| job.migration.version < *n) {
            observer.event(&Event::Warning(format!(
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
