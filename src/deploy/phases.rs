//! The phases a deploy runs after the preflight, to the watch window: each does its step on
//! the run's session and returns what it did (or why it failed); `mod.rs` orders them,
//! undoes and records.

use std::path::Path;
use std::time::{Duration, Instant};

use super::step::{Done, Failed};
use super::{ApprovalRequest, Approver, Run, Work, actions, seed};
use crate::config::{TransactionScope, When};
use crate::error::Error;
use crate::events::Event;
use crate::phase::Phase;
use crate::runner::MigrateOptions;
use crate::verdict::{CheckResult, Level, Status};

impl Run<'_, '_> {
    /// Whether there is a database to back up (a SQLite file may not exist yet).
    pub(super) fn target_exists(&self) -> bool {
        match self.settings().url.sqlite_path() {
            Some(p) => {
                let file = p.split('?').next().unwrap_or(p);
                file == ":memory:" || Path::new(file).exists()
            }
            None => true,
        }
    }

    pub(super) fn backs_up(&self) -> bool {
        if self.opts.skip_backup || self.no_safety_backup() {
            return false;
        }
        // A restore replaces everything: it always keeps what it replaces, unless told not to.
        self.settings().deploy.backup_required || matches!(self.work, Work::Restore { .. })
    }

    fn no_safety_backup(&self) -> bool {
        matches!(
            self.work,
            Work::Restore {
                safety_backup: false,
                ..
            }
        )
    }

    /// Keep check results for the report, tell the observer of each, and fail the phase on
    /// any failure. Messages keep their case.
    pub(super) fn record_checks(
        &mut self,
        phase: Phase,
        checks: Vec<CheckResult>,
        detail: &mut Vec<String>,
    ) -> Result<(), Failed> {
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.message.clone())
            .collect();
        for c in &checks {
            detail.push(format!("{}: {}", c.status.as_str(), c.message));
            self.session.event(Event::Check {
                phase,
                result: c.clone(),
            });
        }
        self.report.checks.extend(checks);
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Failed::new(failed.join("; ")))
        }
    }

    /// The newest verified backup of this database and environment is younger than `max`.
    pub(super) fn approval(&mut self, approve: Approver) -> Result<Done, Failed> {
        let always = matches!(self.work, Work::Restore { .. });
        if !self.settings().deploy.approval && !always {
            return Ok(Done::skipped("the policy does not require approval"));
        }
        if self.opts.yes {
            return Ok(Done::ran("approved in advance (--yes)"));
        }
        let environment = self
            .settings()
            .env
            .clone()
            .unwrap_or_else(|| "default".into());
        let confirm = match &self.checked {
            Some(c) => c.manifest().database.clone(),
            None => environment.clone(),
        };
        let request = ApprovalRequest {
            kind: self.work.kind(),
            environment,
            target: self.settings().url.to_string(),
            summary: self.summary(),
            confirm,
        };
        match approve(&request) {
            Some(true) => Ok(Done::ran(format!("approved by {}", self.report.applied_by))),
            Some(false) => Err(Failed::from(Error::Refused {
                message: "not approved".into(),
                hint: "nothing was changed".into(),
            })),
            None => {
                let message = "approval is required and there is no terminal to ask on: pass --yes to approve in advance";
                Err(Failed {
                    message: message.into(),
                    error: Some(Error::Refused {
                        message: message.into(),
                        hint: "nothing was changed".into(),
                    }),
                })
            }
        }
    }

    /// What this run will change, in one line, for the approval prompt.
    fn summary(&self) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        match &self.work {
            Work::Deploy => format!(
                "deploy {} migration(s): {}",
                self.report.pending.len(),
                list(&self.report.pending)
            ),
            Work::Seed => "run the seeds".into(),
            Work::Rollback(_) | Work::UndoRun(_) => format!(
                "roll back {} migration(s): {}",
                self.report.pending.len(),
                list(&self.report.pending)
            ),
            Work::Resolve(r) => match r {
                crate::runner::Resolve::Applied(v) => {
                    format!("record {v} as applied (finished by hand)")
                }
                crate::runner::Resolve::RolledBack(v) => {
                    format!("forget {v} (undone by hand)")
                }
                crate::runner::Resolve::AcceptChecksum(v) => {
                    format!("accept the edited checksum of {v}")
                }
            },
            Work::Baseline(_) => format!(
                "mark {} migration(s) applied without running them: {}",
                self.report.pending.len(),
                list(&self.report.pending)
            ),
            Work::Adopt(_) => format!(
                "record {} migration(s) another tool applied, without running them: {}",
                self.report.pending.len(),
                list(&self.report.pending)
            ),
            Work::Restore { file, .. } => {
                format!("replace everything in the database with {}", file.display())
            }
            Work::Clone(req) => format!(
                "replace everything in the database with a clone of {}",
                req.from_env
            ),
        }
    }

    pub(super) fn backup(&mut self) -> Result<Done, Failed> {
        if self.opts.skip_backup || self.no_safety_backup() {
            self.no_maintenance_serving();
            return Ok(Done::skipped("no backup asked for (--skip-backup)"));
        }
        if !self.backs_up() {
            self.no_maintenance_serving();
            return Ok(Done::skipped("the policy does not require a backup"));
        }
        let started = jiff::Timestamp::now();
        let opts = crate::backup::CreateOptions {
            reason: format!("pre-{} {}", self.work.kind().as_str(), self.report.run_id),
            ..Default::default()
        };
        let created = crate::backup::create_in(&mut self.session, &opts)?;
        let verified = created
            .manifest
            .verified()
            .map(|v| v.level.as_str())
            .unwrap_or("not verified");
        self.report.backup = Some(created.file.clone());
        self.progress();
        if self.serving_since.is_none() && !self.has_maintenance() {
            // No maintenance mode keeps the application out: it writes from now on.
            self.serving_since = Some(started);
        }
        Ok(Done::ran(format!(
            "{} ({} bytes), verified: {verified}",
            created.file.display(),
            created.manifest.size
        )))
    }

    /// Without a maintenance mode, the application serves all along.
    fn no_maintenance_serving(&mut self) {
        if self.serving_since.is_none() && !self.has_maintenance() {
            self.serving_since = Some(jiff::Timestamp::now());
        }
    }

    /// Whether this run switches maintenance mode.
    pub(super) fn has_maintenance(&self) -> bool {
        self.settings().deploy.maintenance.is_some() && !self.opts.no_maintenance
    }

    pub(super) fn maintenance_phase(&mut self, on: bool) -> Result<Done, Failed> {
        if !self.has_maintenance() {
            return Ok(Done::skipped(
                "no maintenance mode configured (or --no-maintenance)",
            ));
        }
        let done = self.maintenance(on)?;
        if !on {
            self.serving_since = Some(jiff::Timestamp::now());
        }
        Ok(done)
    }

    /// Switch maintenance mode; `on` also proves it took effect when the policy says how.
    pub(super) fn maintenance(&mut self, on: bool) -> Result<Done, Failed> {
        let Some(m) = self.settings().deploy.maintenance.clone() else {
            return Ok(Done::skipped("no maintenance mode configured"));
        };
        let action = if on { &m.on } else { &m.off };
        // An attempt to switch on counts as on: a half-done switch is switched off too.
        if on {
            self.maintenance_on = true;
            self.progress();
        }
        let done = actions::run(action, on, Some(self.session.engine())).map_err(Failed::new)?;
        self.maintenance_on = on;
        self.progress();
        let mut detail = vec![done];
        if let (true, Some(expect)) = (on, &m.expect) {
            let c = crate::checks::run(Some(self.session.engine()), expect, "maintenance");
            self.record_checks(Phase::MaintenanceOn, vec![c], &mut detail)?;
        }
        Ok(Done::Ran(detail))
    }

    /// The hooks configured for `when`, in order.
    fn hooks_for(&self, when: When) -> Vec<crate::config::Hook> {
        let hooks = &self.settings().deploy.hooks;
        hooks.iter().filter(|h| h.when == when).cloned().collect()
    }

    /// A phase this run has nothing configured for: it will only say so. Such a phase
    /// writes no progress row (on SQLite each write is a durable commit, most of a small
    /// deploy's time). Each condition is the one its phase returns early on.
    pub(super) fn idle(&self, phase: Phase) -> bool {
        let deploy = &self.settings().deploy;
        match phase {
            Phase::Backup => !self.backs_up(),
            Phase::MaintenanceOn | Phase::MaintenanceOff => !self.has_maintenance(),
            Phase::HooksBeforeMigrate => self.hooks_for(When::BeforeMigrate).is_empty(),
            Phase::HooksAfterMigrate => self.hooks_for(When::AfterMigrate).is_empty(),
            Phase::HooksAfterDeploy => self.hooks_for(When::AfterDeploy).is_empty(),
            Phase::Seed => deploy.seeds.is_none(),
            Phase::Transfer => deploy.transfer.is_none(),
            Phase::Smoke => self.settings().smoke.is_empty(),
            Phase::Watch => deploy.watch.is_none(),
            _ => false,
        }
    }

    pub(super) fn hooks(&mut self, when: When) -> Result<Done, Failed> {
        let hooks = self.hooks_for(when);
        if hooks.is_empty() {
            let name = serde_json::to_value(when)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Ok(Done::skipped(format!("no {name} hooks")));
        }
        let mut detail = Vec::new();
        for h in &hooks {
            detail.push(
                actions::run(&h.action, true, Some(self.session.engine())).map_err(Failed::new)?,
            );
        }
        Ok(Done::Ran(detail))
    }

    pub(super) fn migrate(&mut self) -> Result<Done, Failed> {
        if let Some(limit) = self.settings().deploy.statement_timeout {
            self.session.set_statement_timeout(limit)?;
        }
        let opts = MigrateOptions {
            to: self.opts.to.clone(),
            stage: Some(self.stage()),
            dry_run: false,
            exactly: self.opts.plan.as_ref().map(|p| {
                p.migrations
                    .iter()
                    .map(|m| (m.id.clone(), m.checksum.clone()))
                    .collect()
            }),
        };
        if self.settings().deploy.transaction == TransactionScope::Deploy {
            self.session.prepare_write()?;
            self.session
                .engine()
                .begin()
                .map_err(|e| Failed::new(format!("cannot start the deploy's transaction: {e}")))?;
            self.open_transaction = true;
            self.session.set_outer_transaction(true);
        }
        // What the server says while the migrations run goes to the journal (and, with
        // -v, to the terminal).
        self.session.engine().collect_notices(true);
        let result = self.session.migrate(&opts);
        self.session.engine().collect_notices(false);
        match result {
            Ok(r) => {
                self.report.applied = r.scripts.iter().map(|s| s.id.clone()).collect();
                self.changed |= !self.report.applied.is_empty();
                self.progress();
                if self.report.applied.is_empty() {
                    Ok(Done::skipped("nothing pending"))
                } else {
                    Ok(Done::ran(format!(
                        "applied {}",
                        self.report.applied.join(", ")
                    )))
                }
            }
            Err(e) => {
                // What did apply before the failure is still this run's to undo, and so is
                // a migration that stopped half-way with its effects kept.
                match &e {
                    Error::MigrationFailed(f) => {
                        self.report.applied = f.completed.clone();
                        if f.recorded {
                            self.partial = Some(f.id.clone());
                        }
                    }
                    Error::Interrupted { completed, .. } => {
                        self.report.applied = completed.clone();
                    }
                    _ => {}
                }
                self.changed |= !self.report.applied.is_empty() || self.partial.is_some();
                self.progress();
                Err(Failed::from(max_locks_hint(e)))
            }
        }
    }

    pub(super) fn seed(&mut self) -> Result<Done, Failed> {
        if self.settings().deploy.seeds.is_none() {
            return Ok(Done::skipped("no seeds folder"));
        }
        let env = self.settings().env.clone();
        self.session.prepare_write()?;
        let in_transaction = self.open_transaction;
        let seeds = std::mem::take(&mut self.seeds);
        let done = seed::run(
            self.session.engine(),
            &seeds,
            env.as_deref(),
            in_transaction,
        );
        self.seeds = seeds;
        match done {
            Ok(done) => {
                if !done.ran.is_empty() {
                    self.seeded = true;
                    self.changed = true;
                }
                Ok(Done::ran(format!(
                    "ran {} seed(s), {} unchanged, {} for other environments",
                    done.ran.len(),
                    done.unchanged.len(),
                    done.skipped.len()
                )))
            }
            Err(failed) => {
                // Seeds before the failing one were committed (and, where DDL commits
                // implicitly, part of the failing one); a seed that failed alone in its
                // own transaction left nothing to undo.
                if failed.kept {
                    self.seeded = true;
                    self.changed = true;
                }
                Err(Failed::from(failed.error))
            }
        }
    }

    /// The environment's transfer: legacy rows loaded by its mapping, on connections of the
    /// transfer's own, reconciled. Rows it loaded count as a change: a failure (or a later
    /// phase's) is undone like any other, by the policy's rollback (the pre-deploy backup).
    pub(super) fn transfer(&mut self) -> Result<Done, Failed> {
        let Some(t) = self.settings().deploy.transfer.clone() else {
            return Ok(Done::skipped("no transfer"));
        };
        if self.open_transaction {
            return Err(Failed::new(
                "a transfer loads on connections of its own and cannot join the deploy's one \
                 transaction (transaction = \"deploy\")",
            ));
        }
        let request = crate::transfer::Request {
            from: t.from,
            to: self.settings().url.clone(),
            tables: Vec::new(),
            create_tables: false,
            dry_run: false,
            resume: None,
            mapping: Some(t.mapping),
            check_only: false,
            batch: crate::transfer::DEFAULT_BATCH,
        };
        self.changed = true;
        let report = crate::transfer::run(&request, self.session.observer())?;
        if let Some(why) = report.stopped {
            return Err(Failed::new(why));
        }
        let mut lines: Vec<String> = report
            .tables
            .iter()
            .map(|t| {
                format!(
                    "{}: {} loaded, {} already there, {} rejected{}",
                    t.table,
                    t.loaded,
                    t.existing,
                    t.rejected,
                    if t.reconciled { "" } else { ", NOT reconciled" }
                )
            })
            .collect();
        if !report.reconciled {
            let bad: Vec<String> = report
                .tables
                .iter()
                .filter(|t| !t.reconciled)
                .map(|t| format!("{}: {}", t.table, t.mismatches.join("; ")))
                .collect();
            return Err(Failed::new(format!(
                "run {} is not reconciled: {}",
                report.run,
                bad.join(" | ")
            )));
        }
        lines.insert(0, format!("run {} reconciled", report.run));
        Ok(Done::Ran(lines))
    }

    pub(super) fn verify(&mut self) -> Result<Done, Failed> {
        let report = crate::validate::validate_in(&mut self.session, Level::Standard)?;
        let mut checks: Vec<CheckResult> = report
            .checks
            .into_iter()
            .filter(|c| c.status != Status::Pass || !c.id.starts_with("connectivity"))
            .collect();
        let verify = self.settings().verify.clone();
        checks.extend(crate::checks::run_all(
            Some(self.session.engine()),
            &verify,
            "verify",
        ));
        let mut detail = vec![format!("{} check(s)", checks.len())];
        self.record_checks(Phase::Verify, checks, &mut detail)?;
        if self.open_transaction {
            self.session
                .engine()
                .commit()
                .map_err(|e| Failed::new(format!("cannot commit the deploy's transaction: {e}")))?;
            self.open_transaction = false;
            self.session.set_outer_transaction(false);
            detail.push("committed the deploy's transaction".into());
        }
        Ok(Done::Ran(detail))
    }

    pub(super) fn smoke(&mut self) -> Result<Done, Failed> {
        let checks = self.settings().smoke.clone();
        if checks.is_empty() {
            return Ok(Done::skipped("no smoke checks"));
        }
        let results = crate::checks::run_all(Some(self.session.engine()), &checks, "smoke");
        let mut detail = Vec::new();
        self.record_checks(Phase::Smoke, results, &mut detail)?;
        Ok(Done::Ran(detail))
    }

    /// Repeat the watch checks for the window, one line per round; `breaches` failed rounds
    /// in a row trip it.
    pub(super) fn watch(&mut self) -> Result<Done, Failed> {
        let Some(w) = self.settings().deploy.watch.clone() else {
            return Ok(Done::skipped("no watch window"));
        };
        let start = Instant::now();
        let (mut rounds, mut breaches) = (0u32, 0u32);
        let mut last_round = 0;
        while start.elapsed() < w.duration {
            if self.session.stopping() {
                return Err(Failed::new("interrupted (SIGINT/SIGTERM)"));
            }
            rounds += 1;
            let results = crate::checks::run_all(Some(self.session.engine()), &w.checks, "watch");
            let failed: Vec<String> = results
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.message.clone())
                .collect();
            breaches = if failed.is_empty() { 0 } else { breaches + 1 };
            self.session.event(Event::WatchRound {
                round: rounds,
                failed_in_a_row: breaches,
                results: results.clone(),
            });
            // The report keeps the latest round (the journal has every one).
            let kept = self.report.checks.len() - last_round;
            self.report.checks.truncate(kept);
            last_round = results.len();
            self.report.checks.extend(results);
            if breaches >= w.breaches {
                return Err(Failed::new(format!(
                    "{breaches} failed round(s) in a row: {}",
                    failed.join("; ")
                )));
            }
            let left = w.duration.saturating_sub(start.elapsed());
            self.sleep(w.interval.min(left));
        }
        Ok(Done::ran(format!(
            "{rounds} round(s) over {:.1}s, no breach",
            w.duration.as_secs_f64()
        )))
    }

    /// Sleep, waking early when a signal asks the run to stop.
    fn sleep(&self, total: Duration) {
        let end = Instant::now() + total;
        while Instant::now() < end && !self.session.stopping() {
            std::thread::sleep((end - Instant::now()).min(Duration::from_millis(100)));
        }
    }
}

/// PostgreSQL's lock table bounds how many objects one transaction may create or lock:
/// say which setting that is when a one-transaction deploy runs into it.
fn max_locks_hint(e: Error) -> Error {
    let text = e.to_string();
    if text.contains("max_locks_per_transaction") || text.contains("SQLSTATE 53200") {
        return Error::Refused {
            message: format!(
                "{text}\nthe deploy's single transaction ran out of PostgreSQL's lock table, which max_locks_per_transaction sizes"
            ),
            hint: "raise max_locks_per_transaction on the server (it needs a restart), or deploy in smaller steps with `--to`, or use one transaction per migration".into(),
        };
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DbError;

    #[test]
    fn running_out_of_locks_names_the_setting() {
        let e = Error::Database {
            context: "migration 7 failed".into(),
            source: DbError::new("ERROR: out of shared memory (SQLSTATE 53200)"),
        };
        let said = max_locks_hint(e).to_string();
        assert!(said.contains("max_locks_per_transaction"), "{said}");
        let other = Error::Usage("no migration".into());
        assert_eq!(max_locks_hint(other).to_string(), "no migration");
    }
}
