//! The pipeline's phases up to the watch window: each takes the run, does its step and
//! returns what it did (or why it failed); `mod.rs` orders them, rolls back and records.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Approver, Failed, Run, SKIPPED, actions, lend, seed};
use crate::config::When;
use crate::engine::Engine;
use crate::error::Error;
use crate::history::State;
use crate::runner::MigrateOptions;
use crate::validate::{CheckResult, Level, Status};

impl Run<'_> {
    /// Whether there is a database to back up or record in (a SQLite file may not exist yet).
    pub(super) fn target_exists(&self) -> bool {
        match self.settings.url.sqlite_path() {
            Some(p) => {
                let file = p.split('?').next().unwrap_or(p);
                file == ":memory:" || Path::new(file).exists()
            }
            None => true,
        }
    }

    pub(super) fn connect(&self, read_only: bool) -> Result<Box<dyn Engine>, Failed> {
        crate::connect(self.settings, &self.settings.url, read_only).map_err(Failed::from)
    }

    pub(super) fn preflight(&mut self) -> Result<Vec<String>, Failed> {
        let mut detail = Vec::new();
        let mut engine = self.connect(true)?;
        Error::refuse_interrupted(engine.as_mut())?;
        let version = engine
            .server_version()
            .map_err(|e| Failed(format!("cannot read the server version: {e}")))?;
        detail.push(format!(
            "connected: {} {version}",
            self.settings.url.kind().name()
        ));
        let mut quiet = ();
        let status = crate::open(self.settings, true, &mut quiet)?.status()?;
        let bad: Vec<String> = status
            .migrations
            .iter()
            .filter(|m| matches!(m.state, State::Failed | State::Changed | State::Missing))
            .map(|m| format!("{} {} is {}", m.version, m.name, m.state.as_str()))
            .collect();
        if !bad.is_empty() {
            return Err(Failed(format!(
                "the history is not clean: {}",
                bad.join("; ")
            )));
        }
        self.report.pending = status
            .migrations
            .iter()
            .filter(|m| m.state == State::Pending)
            .map(|m| m.version.clone())
            .collect();
        detail.push(match self.report.pending.len() {
            0 => "nothing pending: the database is up to date".to_string(),
            n => format!("{n} pending: {}", self.report.pending.join(", ")),
        });
        let schema = engine
            .introspect()
            .map_err(|e| Failed(format!("cannot read the schema: {e}")))?;
        self.report.fingerprint_before = Some(schema.fingerprint());
        self.before = Some(schema);
        // The run lock is free (another deploy or migrate is not under way). A dry run
        // leaves even SQLite's lock file alone.
        let probe_lock = !self.opts.dry_run && self.target_exists();
        match if probe_lock {
            engine.try_lock()
        } else {
            Ok(true)
        } {
            Ok(true) if probe_lock => {
                let _ = engine.unlock();
                detail.push("the run lock is free".into());
            }
            Ok(true) => {}
            Ok(false) => {
                let holder = engine.lock_holder().ok().flatten().map(|h| h.0);
                return Err(Failed(format!(
                    "the run lock is held by {}",
                    holder.as_deref().unwrap_or("another session")
                )));
            }
            Err(e) => return Err(Failed(format!("cannot check the run lock: {e}"))),
        }
        // Room for the backup the policy will take.
        if self.settings.deploy.backup_required && !self.opts.skip_backup && self.target_exists() {
            let size = engine.database_size().unwrap_or(0);
            let dir = &self.settings.backup.dir;
            let probe = dir
                .ancestors()
                .find(|d| d.exists())
                .unwrap_or(Path::new("."));
            crate::backup::check_space(probe, size)?;
            detail.push(format!("room for the backup in {}", dir.display()));
        }
        if let Some(max) = self.settings.backup.max_age {
            detail.push(self.newest_backup_within(max)?);
        }
        if let Some(approved) = &self.opts.plan {
            let now = super::plan::make(self.settings)?;
            let stale = super::plan::stale(approved, &now);
            if !stale.is_empty() {
                return Err(Failed(format!(
                    "the plan is stale, refusing: {}",
                    stale.join("; ")
                )));
            }
            detail.push(format!(
                "the plan of {} matches the target and the files",
                approved.created_at
            ));
        }
        let checks =
            crate::checks::run_all(Some(engine.as_mut()), &self.settings.preflight, "preflight");
        self.record_checks(checks, &mut detail)?;
        Ok(detail)
    }

    /// Keep check results for the report; any failure fails the phase.
    pub(super) fn record_checks(
        &mut self,
        checks: Vec<CheckResult>,
        detail: &mut Vec<String>,
    ) -> Result<(), Failed> {
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.message.clone())
            .collect();
        detail.extend(
            checks
                .iter()
                .map(|c| format!("{:?}: {}", c.status, c.message).to_lowercase()),
        );
        self.report.checks.extend(checks);
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Failed(failed.join("; ")))
        }
    }

    /// The newest verified backup of this database and environment is younger than `max`.
    fn newest_backup_within(&self, max: std::time::Duration) -> Result<String, Failed> {
        let env = self.settings.env.clone();
        let newest = crate::backup::list(&self.settings.backup.dir)?
            .into_iter()
            .find(|(_, m)| {
                m.environment == env
                    && m.engine == self.settings.url.kind().name()
                    && m.verified().is_some()
            });
        let Some((file, m)) = newest else {
            return Err(Failed(format!(
                "the policy requires a verified backup younger than {}s and {} holds none",
                max.as_secs(),
                self.settings.backup.dir.display()
            )));
        };
        let at: jiff::Timestamp = m
            .created_at
            .parse()
            .map_err(|_| Failed(format!("{}: bad created_at", file.display())))?;
        let age = jiff::Timestamp::now().duration_since(at).unsigned_abs();
        if age > max {
            return Err(Failed(format!(
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

    pub(super) fn approval(&mut self, approve: Approver) -> Result<Vec<String>, Failed> {
        if !self.settings.deploy.approval {
            return Ok(vec![
                SKIPPED.into(),
                "the policy does not require approval".into(),
            ]);
        }
        if self.opts.yes {
            return Ok(vec!["approved in advance (--yes)".into()]);
        }
        match approve(&self.report) {
            Some(true) => Ok(vec![format!("approved by {}", self.report.applied_by)]),
            Some(false) => Err(Failed("not approved".into())),
            None => Err(Failed(
                "approval is required and there is no terminal to ask on: pass --yes".into(),
            )),
        }
    }

    pub(super) fn backup(&mut self) -> Result<Vec<String>, Failed> {
        let policy = &self.settings.deploy;
        if self.opts.skip_backup {
            if !policy.allow_skip_backup {
                return Err(Failed("--skip-backup is refused: this environment's policy requires a backup (allow_skip_backup)".into()));
            }
            return Ok(vec![SKIPPED.into(), "--skip-backup".into()]);
        }
        if !policy.backup_required {
            return Ok(vec![
                SKIPPED.into(),
                "the policy does not require a backup".into(),
            ]);
        }
        if !self.target_exists() {
            // A SQLite file the migrations are about to create: back up its empty start,
            // so a rollback has a state to go back to like anywhere else.
            drop(self.connect(false)?);
        }
        let opts = crate::backup::CreateOptions {
            reason: format!("pre-deploy {}", self.report.run_id),
            ..Default::default()
        };
        let created = crate::backup::create(self.settings, &opts, self.observer)?;
        let verified = created
            .manifest
            .verified()
            .map(|v| v.level.as_str())
            .unwrap_or("not verified");
        self.report.backup = Some(created.file.clone());
        Ok(vec![format!(
            "{} ({} bytes), verified: {verified}",
            created.file.display(),
            created.manifest.size
        )])
    }

    pub(super) fn maintenance_phase(&mut self, on: bool) -> Result<Vec<String>, Failed> {
        if self.settings.deploy.maintenance.is_none() || self.opts.no_maintenance {
            return Ok(vec![
                SKIPPED.into(),
                "no maintenance mode configured (or --no-maintenance)".into(),
            ]);
        }
        self.maintenance(on)
    }

    /// Switch maintenance mode; `on` also proves it took effect when the policy says how.
    pub(super) fn maintenance(&mut self, on: bool) -> Result<Vec<String>, Failed> {
        let Some(m) = self.settings.deploy.maintenance.clone() else {
            return Ok(Vec::new());
        };
        let action = if on { &m.on } else { &m.off };
        let mut engine = self.connect(false).ok();
        // An attempt to switch on counts as on: a half-done switch is switched off too.
        if on {
            self.maintenance_on = true;
        }
        let done = actions::run(action, on, lend(&mut engine)).map_err(Failed)?;
        self.maintenance_on = on;
        let mut detail = vec![done];
        if let (true, Some(expect)) = (on, &m.expect) {
            let c = crate::checks::run(lend(&mut engine), expect, "maintenance");
            self.record_checks(vec![c], &mut detail)?;
        }
        Ok(detail)
    }

    pub(super) fn hooks(&mut self, when: When) -> Result<Vec<String>, Failed> {
        let hooks: Vec<_> = self
            .settings
            .deploy
            .hooks
            .iter()
            .filter(|h| h.when == when)
            .cloned()
            .collect();
        if hooks.is_empty() {
            return Ok(vec![SKIPPED.into()]);
        }
        let mut engine = self.connect(false).ok();
        hooks
            .iter()
            .map(|h| actions::run(&h.action, true, lend(&mut engine)).map_err(Failed))
            .collect()
    }

    pub(super) fn migrate(&mut self) -> Result<Vec<String>, Failed> {
        let mut settings = self.settings.clone();
        if let Some(limit) = self.settings.deploy.statement_timeout {
            let probe = self.connect(true)?;
            settings.init_sql.extend(probe.statement_timeout_sql(limit));
        }
        let report = {
            let mut runner = crate::open(&settings, false, self.observer)?;
            runner.migrate(&MigrateOptions::default())
        };
        match report {
            Ok(r) => {
                self.report.applied = r.scripts.iter().map(|s| s.id.clone()).collect();
                Ok(vec![format!("applied {}", self.report.applied.join(", "))])
            }
            Err(e) => {
                // What did apply before the failure is still this run's to undo.
                if let Error::MigrationFailed(f) = &e {
                    self.report.applied = f.completed.clone();
                }
                Err(Failed(e.to_string()))
            }
        }
    }

    pub(super) fn seed(&mut self) -> Result<Vec<String>, Failed> {
        let Some(dir) = self.settings.deploy.seeds.clone() else {
            return Ok(vec![SKIPPED.into(), "no seeds folder".into()]);
        };
        let mut engine = self.connect(false)?;
        self.seeded = true;
        let done = seed::run(engine.as_mut(), &dir, self.settings.env.as_deref())?;
        Ok(vec![format!(
            "ran {} seed(s), {} unchanged, {} for other environments",
            done.ran.len(),
            done.unchanged.len(),
            done.skipped.len()
        )])
    }

    pub(super) fn verify(&mut self) -> Result<Vec<String>, Failed> {
        let report = crate::validate::validate(self.settings, Level::Standard)?;
        let mut engine = self.connect(true)?;
        let mut checks: Vec<CheckResult> = report
            .checks
            .into_iter()
            .filter(|c| c.status != Status::Pass || !c.id.starts_with("connectivity"))
            .collect();
        checks.extend(crate::checks::run_all(
            Some(engine.as_mut()),
            &self.settings.verify,
            "verify",
        ));
        let mut detail = vec![format!("{} check(s)", checks.len())];
        self.record_checks(checks, &mut detail)?;
        Ok(detail)
    }

    pub(super) fn checks_phase(
        &mut self,
        checks: &[crate::config::Check],
        prefix: &str,
    ) -> Result<Vec<String>, Failed> {
        if checks.is_empty() {
            return Ok(vec![SKIPPED.into()]);
        }
        let mut engine = self.connect(true).ok();
        let results = crate::checks::run_all(lend(&mut engine), checks, prefix);
        let mut detail = Vec::new();
        self.record_checks(results, &mut detail)?;
        Ok(detail)
    }

    /// Repeat the watch checks for the window; `breaches` failed rounds in a row trip it.
    pub(super) fn watch(&mut self) -> Result<Vec<String>, Failed> {
        let Some(w) = self.settings.deploy.watch.clone() else {
            return Ok(vec![SKIPPED.into(), "no watch window".into()]);
        };
        let start = Instant::now();
        let (mut rounds, mut breaches) = (0, 0);
        while start.elapsed() < w.duration {
            if self.stop.load(Ordering::Relaxed) {
                return Err(Failed("interrupted (SIGINT/SIGTERM)".into()));
            }
            rounds += 1;
            let mut engine = self.connect(true).ok();
            let results = crate::checks::run_all(lend(&mut engine), &w.checks, "watch");
            let failed: Vec<String> = results
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.message.clone())
                .collect();
            breaches = if failed.is_empty() { 0 } else { breaches + 1 };
            if breaches >= w.breaches {
                self.report.checks.extend(results);
                return Err(Failed(format!(
                    "{breaches} failed round(s) in a row: {}",
                    failed.join("; ")
                )));
            }
            std::thread::sleep(w.interval.min(w.duration.saturating_sub(start.elapsed())));
        }
        Ok(vec![format!(
            "{rounds} round(s) over {}s, no breach",
            w.duration.as_secs()
        )])
    }
}
