//! The work of governed runs other than a deploy (rollback, `rollback --run`, resolve,
//! baseline, restore), and the run's record in `cutover_runs`: written at the first change,
//! updated after every phase, finished at the end; a run found unfinished is closed here.

use super::step::{Done, Failed};
use super::{Run, Work};
use crate::error::Error;
use crate::events::Event;
use crate::history::State;
use crate::phase::Phase;
use crate::records::{self, Outcome, RunKind, RunRow};
use crate::runner::RollbackOptions;

impl Run<'_, '_> {
    /// What a rollback, resolve, baseline or restore will do, checked before approval.
    pub(super) fn preflight_work(
        &mut self,
        work: &Work,
        detail: &mut Vec<String>,
    ) -> Result<(), Failed> {
        match work {
            Work::Rollback(opts) => {
                let planned = self.session.rollback(&RollbackOptions {
                    dry_run: true,
                    ..opts.clone()
                })?;
                self.report.pending = planned.scripts.iter().map(|s| s.id.clone()).collect();
                if self.opts.dry_run {
                    self.report.planned = Some(planned);
                }
                detail.push(format!(
                    "{} to roll back: {}",
                    self.report.pending.len(),
                    self.report.pending.join(", ")
                ));
            }
            Work::UndoRun(id) => {
                let row = self.run_to_undo(id)?;
                self.report.pending = row.migrations.clone();
                self.report.undoes = Some(row.id.clone());
                detail.push(format!(
                    "run {} ({}, {}) applied {}",
                    row.id,
                    row.kind.as_str(),
                    row.started_at,
                    row.migrations.join(", ")
                ));
            }
            Work::Resolve(action) => {
                let r = self.session.resolve(action, true)?;
                detail.push(format!(
                    "{} is {}; will be recorded as {}",
                    r.version,
                    r.before.as_str(),
                    r.after.as_str()
                ));
            }
            Work::Baseline(version) => {
                self.report.pending = self.session.baseline(version, true)?;
                detail.push(format!(
                    "{} to mark applied: {}",
                    self.report.pending.len(),
                    self.report.pending.join(", ")
                ));
            }
            Work::Adopt(opts) => {
                let adoption = self.session.adopt(opts, true)?;
                self.report.pending = adoption.recorded.clone();
                detail.extend(mapping_lines(&adoption));
                self.report.adoption = Some(adoption);
            }
            Work::Restore { file, .. } => {
                // Opened and hashed once: the restore loads this very descriptor.
                let checked = crate::backup::check_restorable(self.settings(), file)?;
                let m = checked.manifest();
                detail.push(format!(
                    "{} holds {} at migration {} (taken {}); its checksum holds",
                    file.display(),
                    m.database,
                    m.migration.as_deref().unwrap_or("none"),
                    m.created_at
                ));
                self.checked = Some(checked);
            }
            Work::Clone(req) => {
                // The source read and the mask file checked before anyone approves.
                let prepared = crate::clone::prepare(req)?;
                detail.extend(prepared.summary());
                self.cloning = Some(prepared);
            }
            Work::Deploy | Work::Seed => {}
        }
        Ok(())
    }

    /// The finished deploy `id` names, if it can be undone now: it succeeded and its
    /// migrations are the newest applied ones.
    fn run_to_undo(&mut self, id: &str) -> Result<RunRow, Failed> {
        let rows = records::list(self.session.engine()).map_err(Error::db(format!(
            "cannot read {}",
            crate::tables::RUNS_TABLE
        )))?;
        let row = rows
            .into_iter()
            .find(|r| r.id == id || r.id.starts_with(id))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no run {id} in {}; `cutover runs list` shows them",
                    crate::tables::RUNS_TABLE
                ))
            })?;
        if row.outcome != Outcome::Success || row.kind != RunKind::Deploy {
            return Err(Failed::from(Error::Refused {
                message: format!(
                    "run {} is a {} that ended `{}`: only a successful deploy is undone later",
                    row.id,
                    row.kind.as_str(),
                    row.outcome.as_str()
                ),
                hint: "`cutover runs show ID` says what happened to it".into(),
            }));
        }
        let applied: Vec<&str> = self
            .session
            .entries()
            .iter()
            .filter(|e| e.state == State::Applied)
            .map(|e| e.id.as_str())
            .collect();
        let n = row.migrations.len();
        if applied.len() < n || applied[applied.len() - n..] != row.migrations[..] {
            return Err(Failed::from(Error::Refused {
                message: format!(
                    "the migrations of run {} are not the newest applied ones",
                    row.id
                ),
                hint: "roll back what was applied after it first (`cutover rollback --to VERSION`)"
                    .into(),
            }));
        }
        Ok(row)
    }

    pub(super) fn rollback_work(&mut self) -> Result<Done, Failed> {
        match self.work.clone() {
            Work::Rollback(opts) => {
                // The server's notices go to the journal, as a deploy's do.
                self.session.engine().collect_notices(true);
                let result = self.session.rollback(&opts);
                self.session.engine().collect_notices(false);
                match result {
                    Ok(r) => {
                        self.report.applied = r.scripts.iter().map(|s| s.id.clone()).collect();
                        self.changed = !self.report.applied.is_empty();
                        Ok(Done::ran(format!(
                            "ran the down scripts of {}",
                            self.report.applied.join(", ")
                        )))
                    }
                    Err(e) => {
                        if let Error::MigrationFailed(f) = &e {
                            self.report.applied = f.completed.clone();
                            self.changed = !f.completed.is_empty() || f.recorded;
                        }
                        Err(Failed::from(e))
                    }
                }
            }
            Work::UndoRun(_) => self.undo_finished_run(),
            _ => Ok(Done::skipped("not a rollback")),
        }
    }

    /// `rollback --run`: the same undo a failing deploy uses; the application has served
    /// traffic since that deploy ended.
    fn undo_finished_run(&mut self) -> Result<Done, Failed> {
        let id = self.report.undoes.clone().unwrap_or_default();
        let row = self.run_to_undo(&id)?;
        let serving_since = row
            .finished_at
            .as_deref()
            .or(Some(row.started_at.as_str()))
            .and_then(|t| t.parse().ok());
        let plan = super::undo::UndoPlan {
            applied: row.migrations.clone(),
            partial: None,
            seeded: false,
            backup: row.backup.clone().map(Into::into),
            before: None,
            fingerprint_before: row.fingerprint_before.clone(),
            serving_since,
        };
        self.changed = true;
        let undone = super::undo::undo(&mut self.session, &plan)?;
        self.report.applied = row.migrations.clone();
        self.report.fingerprint_after = Some(undone.fingerprint.clone());
        self.report.undo = Some(undone.clone());
        // The undone deploy's own row says it was rolled back, and by whom.
        let mut undone_row = row;
        undone_row.outcome = Outcome::RolledBack;
        undone_row.undone_by = Some(self.report.run_id.clone());
        records::put(self.session.engine(), &undone_row)
            .map_err(Error::db("cannot mark the undone run"))?;
        Ok(Done::Ran(undone.detail))
    }

    pub(super) fn resolve_work(&mut self) -> Result<Done, Failed> {
        let Work::Resolve(action) = self.work.clone() else {
            return Ok(Done::skipped("not a resolve"));
        };
        let r = self.session.resolve(&action, false)?;
        self.changed = true;
        self.report.applied = vec![r.version.clone()];
        Ok(Done::ran(format!(
            "{} was {}; now {}",
            r.version,
            r.before.as_str(),
            r.after.as_str()
        )))
    }

    pub(super) fn baseline_work(&mut self) -> Result<Done, Failed> {
        let Work::Baseline(version) = self.work.clone() else {
            return Ok(Done::skipped("not a baseline"));
        };
        let marked = self.session.baseline(&version, false)?;
        self.changed = !marked.is_empty();
        self.report.applied = marked.clone();
        Ok(Done::ran(format!(
            "marked applied without running: {}",
            marked.join(", ")
        )))
    }

    pub(super) fn adopt_work(&mut self) -> Result<Done, Failed> {
        let Work::Adopt(opts) = self.work.clone() else {
            return Ok(Done::skipped("not an adoption"));
        };
        let adoption = self.session.adopt(&opts, false)?;
        self.changed = !adoption.recorded.is_empty();
        self.report.applied = adoption.recorded.clone();
        let line = format!(
            "recorded as applied without running, from {} ({}): {}",
            adoption.tool,
            adoption.table,
            adoption.recorded.join(", ")
        );
        self.report.adoption = Some(adoption);
        Ok(Done::ran(line))
    }

    pub(super) fn restore_work(&mut self) -> Result<Done, Failed> {
        let Some(checked) = self.checked.take() else {
            return Ok(Done::skipped("not a restore"));
        };
        let file = checked.file().to_path_buf();
        self.changed = true;
        let restored = crate::backup::restore_in(&mut self.session, checked)?;
        Ok(Done::ran(format!(
            "restored {}: {} tables, {} rows; row counts and schema fingerprint match the manifest",
            file.display(),
            restored.tables,
            restored.rows
        )))
    }

    pub(super) fn clone_work(&mut self) -> Result<Done, Failed> {
        let Some(prepared) = self.cloning.take() else {
            return Ok(Done::skipped("not a clone"));
        };
        self.changed = true;
        let cloned = crate::clone::run_in(&mut self.session, prepared)?;
        let line = cloned.line();
        self.report.cloned = Some(cloned);
        Ok(Done::ran(line))
    }

    /// Runs killed earlier (found under the lock, so their process is gone): switch off the
    /// maintenance mode they left on, and close their rows as interrupted.
    pub(super) fn finish_unfinished(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        let runs = records::unfinished(self.session.engine()).map_err(Error::db(format!(
            "cannot read {}",
            crate::tables::RUNS_TABLE
        )))?;
        for mut row in runs {
            let at = row.phase.clone().unwrap_or_else(|| "its start".into());
            let mut line = format!(
                "run {} ({} by {}) was interrupted at {at}",
                row.id,
                row.kind.as_str(),
                row.applied_by
            );
            if row.maintenance_on {
                if self.settings().deploy.maintenance.is_some() {
                    let m = self.maintenance(false)?;
                    if let Done::Ran(lines) = m {
                        line.push_str(&format!(
                            "; it left maintenance mode on: switched it off ({})",
                            lines.join("; ")
                        ));
                    }
                    row.maintenance_on = false;
                } else {
                    line.push_str(
                        "; it left maintenance mode on, and this environment has no maintenance action to switch it off",
                    );
                }
            }
            row.outcome = Outcome::Interrupted;
            row.finished_at = Some(jiff::Timestamp::now().to_string());
            records::put(self.session.engine(), &row)
                .map_err(Error::db("cannot close the interrupted run"))?;
            self.session.event(Event::Warning(line.clone()));
            detail.push(line);
            if row.kind == RunKind::Deploy {
                self.resumed = Some(row);
            }
        }
        Ok(())
    }

    /// The run's row, written at its first change (the target is created if it is a
    /// SQLite file that does not exist yet).
    pub(super) fn start_record(&mut self) -> Result<(), Error> {
        self.session.prepare_write()?;
        // A new table and the first row in one commit, where DDL can share a transaction
        // (a table from an older release is brought up to date on its own: a column it has
        // already refuses, which would abort the transaction on PostgreSQL).
        let engine = self.session.engine();
        let together =
            engine.capabilities().transactional_ddl && !records::exists(engine).unwrap_or(true);
        if together {
            self.session
                .engine()
                .begin()
                .map_err(Error::db("cannot start a transaction"))?;
        }
        let written = self.create_and_write();
        let engine = self.session.engine();
        match (together, written) {
            (true, Ok(())) => engine.commit().map_err(Error::db(format!(
                "cannot write {}",
                crate::tables::RUNS_TABLE
            ))),
            (true, Err(e)) => {
                let _ = engine.rollback();
                self.recorded = false;
                Err(e)
            }
            (false, written) => written,
        }
    }

    fn create_and_write(&mut self) -> Result<(), Error> {
        records::ensure(self.session.engine()).map_err(Error::db(format!(
            "cannot create {}",
            crate::tables::RUNS_TABLE
        )))?;
        self.recorded = true;
        // Nothing runs between this write and the first phase that does anything: the
        // row names that phase already, and its start need not write it again.
        let first = self.work.phases().iter().copied().find(|&p| !self.idle(p));
        if first.is_some() {
            self.report.phase = first;
            self.named_ahead = first;
        }
        self.write_record().map_err(Error::db(format!(
            "cannot write {}",
            crate::tables::RUNS_TABLE
        )))
    }

    /// Keep the row up to date after a phase: a kill leaves the last phase and the
    /// maintenance state behind. Failing to write it is a warning, not a failure.
    pub(super) fn progress(&mut self) {
        self.named_ahead = None;
        if !self.recorded || self.open_transaction {
            // Inside the deploy's one transaction the row would roll back with it.
            return;
        }
        if let Err(e) = self.write_record() {
            self.session.event(Event::Warning(format!(
                "cannot update this run's row in {}: {e}",
                crate::tables::RUNS_TABLE
            )));
        }
    }

    pub(super) fn write_record(&mut self) -> Result<(), crate::engine::DbError> {
        let r = &self.report;
        let row = RunRow {
            id: r.run_id.clone(),
            kind: r.kind,
            environment: r.environment.clone().unwrap_or_default(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            duration_ms: self.clock.elapsed().as_millis() as i64,
            outcome: r.outcome,
            phase: r.phase.map(|p: Phase| p.name().to_string()),
            maintenance_on: self.maintenance_on,
            applied_by: r.applied_by.clone(),
            migrations: if r.applied.is_empty() {
                r.pending.clone()
            } else {
                r.applied.clone()
            },
            backup: r.backup.as_ref().map(|b| b.display().to_string()),
            reason: r.reason.as_ref().map(|s| self.settings().scrub(s)),
            fingerprint_before: r.fingerprint_before.clone(),
            undone_by: None,
            undoes: r.undoes.clone(),
            writes_discarded_since: r
                .undo
                .as_ref()
                .and_then(|u| u.writes_discarded_since.clone()),
            source: match &self.work {
                Work::Clone(req) => Some(req.from_env.clone()),
                _ => None,
            },
        };
        records::put(self.session.engine(), &row)
    }
}

/// The mapping for people: one line per entry of the other tool's history.
fn mapping_lines(a: &crate::adopt::Adoption) -> Vec<String> {
    use crate::adopt::Action;
    let mut lines = vec![format!(
        "{} entr{} in {} ({}):",
        a.entries.len(),
        if a.entries.len() == 1 { "y" } else { "ies" },
        a.table,
        a.tool
    )];
    for m in &a.entries {
        let action = match m.action {
            Action::Record => "record as applied",
            Action::AlreadyRecorded => "already in cutover's history",
            Action::LeavePending => "leave pending",
            Action::Ignore => "left out (no file)",
            Action::Stop => "undecided",
        };
        lines.push(format!(
            "  {} [{}] → {}: {action}",
            m.entry,
            m.status.as_str(),
            m.migration.as_deref().unwrap_or("no file")
        ));
    }
    lines
}
