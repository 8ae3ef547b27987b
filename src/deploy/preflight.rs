//! The preflight of a governed run: what it will do, checked before anything changes and
//! before anyone is asked to approve. It finishes runs that were killed (maintenance mode
//! switched off, their rows closed), refuses an unclean history, reads what a deploy will
//! apply (and the seeds, split), checks an approved plan still holds, reads the schema an
//! undo must get back to, and runs the preflight checks.

use std::path::Path;
use std::time::Duration;

use super::step::{Done, Failed};
use super::{Run, Work, seed};
use crate::config::TransactionScope;
use crate::error::Error;
use crate::history::State;
use crate::phase::Phase;
use crate::runner::MigrateOptions;

impl Run<'_, '_> {
    pub(super) fn preflight(&mut self) -> Result<Done, Failed> {
        let mut detail = Vec::new();
        let kind = self.settings().url.kind().name();
        let version = self
            .session
            .engine()
            .server_version()
            .map_err(|e| Failed::new(format!("cannot read the server version: {e}")))?;
        detail.push(format!("connected: {kind} {version}"));
        if self.session.is_locked() {
            detail.push("holding the run lock until this run ends".into());
            self.finish_unfinished(&mut detail)?;
        }
        if !matches!(self.work, Work::Restore { .. }) {
            self.session.refuse_unfinished_restore()?;
        }
        match self.work.clone() {
            Work::Deploy => {
                self.preflight_deploy(&mut detail)?;
                self.stage_pending(&mut detail)?;
                self.guard_pending(&version, &mut detail)?;
            }
            Work::Seed => self.preflight_seed(&mut detail)?,
            other => self.preflight_work(&other, &mut detail)?,
        }
        if self.target_exists() {
            let schema = crate::schema::introspect(self.session.engine())
                .map_err(|e| Failed::new(format!("cannot read the schema: {e}")))?;
            self.report.fingerprint_before = Some(schema.fingerprint());
            self.before = Some(schema);
        } else {
            // A SQLite file the run will create: its schema before is the empty one.
            let empty = crate::schema::Schema::default();
            self.report.fingerprint_before = Some(empty.fingerprint());
            self.before = Some(empty);
        }
        self.room_for_backup(&mut detail)?;
        if let Some(max) = self.settings().backup.max_age {
            detail.push(self.newest_backup_within(max)?);
        }
        let preflight = self.settings().preflight.clone();
        let checks = crate::checks::run_all(Some(self.session.engine()), &preflight, "preflight");
        self.record_checks(Phase::Preflight, checks, &mut detail)?;
        Ok(Done::Ran(detail))
    }

    /// The history is clean, what is pending, and whether the plan still holds.
    fn preflight_deploy(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        self.refuse_unclean_history()?;
        self.read_seeds(detail)?;
        let planned = self.session.plan_migrate(&MigrateOptions {
            to: self.opts.to.clone(),
            dry_run: true,
            exactly: None,
            stage: Some(self.stage()),
        })?;
        self.report.pending = planned.scripts.iter().map(|s| s.id.clone()).collect();
        if self.opts.dry_run {
            self.report.planned = Some(planned.clone());
        }
        detail.push(match (self.report.pending.len(), &self.opts.to) {
            (0, _) => "nothing pending: the database is up to date".to_string(),
            (n, Some(to)) => format!("{n} pending up to {to}: {}", self.report.pending.join(", ")),
            (n, None) => format!("{n} pending: {}", self.report.pending.join(", ")),
        });
        if self.settings().deploy.transaction == TransactionScope::Deploy {
            self.refuse_one_transaction(&planned)?;
            detail.push("the whole deploy runs in one transaction".into());
        }
        if let Some(approved) = &self.opts.plan {
            let stage = self.stage();
            let now = super::plan::make(&mut self.session, self.opts.to.clone(), stage)?;
            let stale = super::plan::stale(approved, &now);
            if !stale.is_empty() {
                return Err(Failed::new(format!(
                    "the plan is stale, refusing: {}",
                    stale.join("; ")
                )));
            }
            detail.push(format!(
                "the plan of {} matches the target and the files",
                approved.created_at
            ));
        }
        Ok(())
    }

    /// Read and split the seeds now: a broken one stops the run before any change.
    fn read_seeds(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        if let Some(dir) = self.settings().deploy.seeds.clone() {
            self.seeds = seed::read(&dir, self.session.dialect())?;
            detail.push(format!("{} seed(s) in {}", self.seeds.len(), dir.display()));
        }
        Ok(())
    }

    fn preflight_seed(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        self.refuse_unclean_history()?;
        match &self.settings().deploy.seeds {
            Some(_) => self.read_seeds(detail)?,
            None => {
                return Err(Failed::from(Error::Usage(format!(
                    "{} has no `seeds` folder to run",
                    self.settings()
                        .env
                        .as_deref()
                        .map_or("this environment".into(), |e| format!("environment {e}"))
                ))));
            }
        }
        Ok(())
    }

    fn refuse_unclean_history(&mut self) -> Result<(), Failed> {
        let bad: Vec<String> = self
            .session
            .entries()
            .iter()
            .filter(|e| matches!(e.state, State::Failed | State::Changed | State::Missing))
            .filter(|e| !crate::runner::resumable(self.session.migrations(), e))
            .map(|e| format!("{} {} is {}", e.id, e.name, e.state.as_str()))
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        Err(Failed::new(format!(
            "the history is not clean: {}",
            bad.join("; ")
        )))
    }

    /// One transaction for the whole deploy needs transactional DDL and no migration that
    /// must run outside a transaction.
    fn refuse_one_transaction(
        &mut self,
        planned: &crate::runner::MigrateReport,
    ) -> Result<(), Failed> {
        let engine = self.settings().url.kind();
        if !self.session.engine().capabilities().transactional_ddl {
            return Err(Failed::from(Error::Refused {
                message: format!(
                    "transaction = \"deploy\" is refused on {}: its DDL commits implicitly, so one transaction cannot hold a deploy",
                    engine.name()
                ),
                hint: "remove `transaction = \"deploy\"` from this environment".into(),
            }));
        }
        let outside: Vec<String> = planned
            .scripts
            .iter()
            .filter(|s| s.no_transaction)
            .map(|s| format!("{} ({})", s.id, s.file))
            .collect();
        if !outside.is_empty() {
            return Err(Failed::from(Error::Refused {
                message: format!(
                    "transaction = \"deploy\" is refused: these migrations must run outside a transaction: {}",
                    outside.join(", ")
                ),
                hint: "deploy them on their own first (`cutover deploy --to VERSION`), or use one transaction per migration".into(),
            }));
        }
        Ok(())
    }

    /// Room for the backup the policy will take.
    fn room_for_backup(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        if !self.backs_up() || !self.target_exists() {
            return Ok(());
        }
        let size = self.session.engine().database_size().unwrap_or(0);
        let dir = self.settings().backup.dir.clone();
        let probe = dir
            .ancestors()
            .find(|d| d.exists())
            .unwrap_or(Path::new("."));
        crate::backup::check_space(probe, size)?;
        detail.push(format!("room for the backup in {}", dir.display()));
        Ok(())
    }

    /// Whether the backup phase will take a backup.
    fn newest_backup_within(&self, max: Duration) -> Result<String, Failed> {
        let env = self.settings().env.clone();
        let engine = self.settings().url.kind().name();
        let newest = crate::backup::list(&self.settings().backup.dir)?
            .into_iter()
            .find(|(_, m)| m.environment == env && m.engine == engine && m.verified().is_some());
        let Some((file, m)) = newest else {
            return Err(Failed::new(format!(
                "the policy requires a verified backup younger than {}s and {} holds none",
                max.as_secs(),
                self.settings().backup.dir.display()
            )));
        };
        let at: jiff::Timestamp = m
            .created_at
            .parse()
            .map_err(|_| Failed::new(format!("{}: bad created_at", file.display())))?;
        let age = jiff::Timestamp::now().duration_since(at).unsigned_abs();
        if age > max {
            return Err(Failed::new(format!(
                "the newest verified backup, {}, is {}s old; the policy allows {}s",
                file.display(),
                age.as_secs(),
                max.as_secs()
            )));
        }
        Ok(format!(
            "newest verified backup {} is {}s old",
            file.display(),
            age.as_secs()
        ))
    }
}
