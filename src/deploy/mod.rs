//! `cutover deploy`: the runbook as one pipeline over a shared context. Each phase is
//! timed, recorded in the journal (`.cutover/runs/<id>/journal.jsonl`) and reported to the
//! observer; a failure after the first change rolls back (down scripts or the pre-deploy
//! backup) and proves the schema is back to its pre-deploy fingerprint. Maintenance mode is
//! switched off on every way out, SIGINT and SIGTERM included (they stop the run after the
//! step under way).
//!
//! preflight → approval → notify(start) → backup → maintenance on → hooks → migrate →
//! hooks → seed → verify → maintenance off → smoke → watch → notify(result) → record

pub mod actions;
mod phases;
pub mod plan;
pub mod report;
pub mod runs;
mod seed;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use report::{DeployReport, Outcome, PhaseRecord};
pub use seed::SEEDS_TABLE;

use crate::config::{NotifyOn, RollbackStrategy, Settings, When};
use crate::engine::Engine;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::runner::RollbackOptions;
use crate::schema::Schema;
use crate::validate::Status;

/// The table where each deploy leaves a summary row.
pub const RUNS_TABLE: &str = "cutover_runs";

/// What `deploy` should do.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Preflight and the plan; change nothing.
    pub dry_run: bool,
    /// Approved in advance (`--yes`).
    pub yes: bool,
    pub no_maintenance: bool,
    pub skip_backup: bool,
    /// Where the journal and reports go (default `.cutover/runs/<id>` beside cutover.toml).
    pub report_dir: Option<PathBuf>,
    /// An approved plan (`cutover plan`): apply exactly it, or refuse.
    pub plan: Option<plan::Plan>,
}

/// Asks a person to approve; returns whether they did. `None`: nobody to ask.
pub type Approver<'a> = &'a mut dyn FnMut(&DeployReport) -> Option<bool>;

/// Why a phase failed.
struct Failed(String);

impl From<Error> for Failed {
    fn from(e: Error) -> Failed {
        Failed(e.to_string())
    }
}

struct Run<'a> {
    settings: &'a Settings,
    opts: &'a DeployOptions,
    observer: &'a mut dyn Observer,
    report: DeployReport,
    journal: Option<std::fs::File>,
    maintenance_on: bool,
    before: Option<Schema>,
    seeded: bool,
    stop: Arc<AtomicBool>,
    clock: Instant,
}

/// Run the pipeline for the configured environment.
pub fn deploy(
    settings: &Settings,
    opts: &DeployOptions,
    observer: &mut dyn Observer,
    approve: Approver,
) -> Result<DeployReport, Error> {
    let run_id = uuid::Uuid::now_v7().to_string();
    let dir = opts
        .report_dir
        .clone()
        .unwrap_or_else(|| runs::dir(settings, &run_id));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let journal = std::fs::File::create(dir.join("journal.jsonl")).ok();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
    let mut run = Run {
        settings,
        opts,
        observer,
        report: DeployReport {
            run_id,
            environment: settings.env.clone(),
            target: settings.url.to_string(),
            engine: settings.url.kind().name().to_string(),
            started_at: jiff::Timestamp::now().to_string(),
            duration_ms: 0,
            outcome: Outcome::Success,
            reason: None,
            phases: Vec::new(),
            applied: Vec::new(),
            pending: Vec::new(),
            backup: None,
            fingerprint_before: None,
            fingerprint_after: None,
            checks: Vec::new(),
            applied_by: crate::applied_by(),
            report_dir: Some(dir.clone()),
        },
        journal,
        maintenance_on: false,
        before: None,
        seeded: false,
        stop,
        clock: Instant::now(),
    };
    run.pipeline(approve);
    if run.maintenance_on {
        // Every way out: failure, rollback, interruption.
        let _ = run.phase("maintenance off", |r| r.maintenance(false));
    }
    run.finish(&dir);
    Ok(run.report)
}

impl Run<'_> {
    fn pipeline(&mut self, approve: Approver) {
        if let Err(Failed(reason)) = self.phase("preflight", Run::preflight) {
            return self.failed(reason, Outcome::Failed);
        }
        if self.report.pending.is_empty() {
            self.report.outcome = Outcome::NothingToDo;
            return;
        }
        if self.opts.dry_run {
            self.report.outcome = Outcome::DryRun;
            return;
        }
        if let Err(Failed(reason)) = self.phase("approval", |r| r.approval(approve)) {
            return self.failed(reason, Outcome::Failed);
        }
        self.notify(NotifyOn::Start, "started");
        if let Err(Failed(reason)) = self.phase("backup", Run::backup) {
            return self.failed(reason, Outcome::Failed);
        }
        let changes = [
            "maintenance on",
            "hooks before migrate",
            "migrate",
            "hooks after migrate",
            "seed",
            "verify",
            "maintenance off",
            "smoke",
            "watch",
        ];
        for name in changes {
            if self.stop.load(Ordering::Relaxed) {
                let reason = "interrupted (SIGINT/SIGTERM)".to_string();
                return self.rollback(reason);
            }
            if let Err(Failed(reason)) = self.phase(name, |r| r.step(name)) {
                return self.rollback(format!("{name}: {reason}"));
            }
        }
        let _ = self.phase("hooks after deploy", |r| r.hooks(When::AfterDeploy));
        self.notify(NotifyOn::Success, "succeeded");
    }

    fn step(&mut self, name: &str) -> Result<Vec<String>, Failed> {
        match name {
            "maintenance on" => self.maintenance_phase(true),
            "hooks before migrate" => self.hooks(When::BeforeMigrate),
            "migrate" => self.migrate(),
            "hooks after migrate" => self.hooks(When::AfterMigrate),
            "seed" => self.seed(),
            "verify" => self.verify(),
            "maintenance off" => self.maintenance_phase(false),
            "smoke" => self.checks_phase(&self.settings.smoke.clone(), "smoke"),
            "watch" => self.watch(),
            _ => unreachable!("every phase is listed"),
        }
    }

    /// Time a phase, tell the observer and the journal, and record it.
    fn phase(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Self) -> Result<Vec<String>, Failed>,
    ) -> Result<(), Failed> {
        let started_at = jiff::Timestamp::now().to_string();
        let t = Instant::now();
        self.event(name, None, "", Duration::ZERO);
        let result = f(self);
        let (status, detail) = match &result {
            Ok(d) if d.first().is_some_and(|l| l == SKIPPED) => ("skipped", d[1..].to_vec()),
            Ok(d) => ("ok", d.clone()),
            Err(Failed(reason)) => ("failed", vec![reason.clone()]),
        };
        self.event(name, Some(status), &detail.join("; "), t.elapsed());
        self.report.phases.push(PhaseRecord {
            name: name.to_string(),
            status: status.to_string(),
            started_at,
            duration_ms: t.elapsed().as_millis() as u64,
            detail,
        });
        result.map(|_| ())
    }

    fn event(&mut self, name: &str, status: Option<&str>, detail: &str, duration: Duration) {
        let scrubbed = self.settings.url.scrub(detail);
        if let Some(j) = &mut self.journal {
            let line = serde_json::json!({
                "at": jiff::Timestamp::now().to_string(),
                "run": self.report.run_id,
                "phase": name,
                "status": status.unwrap_or("started"),
                "detail": scrubbed,
                "duration_ms": duration.as_millis() as u64,
            });
            let _ = writeln!(j, "{line}");
        }
        self.observer.event(&Event::Phase {
            name: name.to_string(),
            status: status.map(str::to_string),
            detail: scrubbed,
            duration,
        });
    }

    /// Undo this run's changes by the policy's strategy, then prove the schema is back.
    fn rollback(&mut self, reason: String) {
        self.report.reason = Some(reason);
        // Maintenance stays on while undoing; it goes off at the end either way.
        let result = self.phase("rollback", Run::undo);
        self.report.outcome = match result {
            Ok(()) => Outcome::RolledBack,
            Err(_) => Outcome::RollbackFailed,
        };
        let _ = self.phase("hooks after rollback", |r| r.hooks(When::AfterRollback));
        let text = format!(
            "rolled back: {}",
            self.report.reason.clone().unwrap_or_default()
        );
        self.notify(NotifyOn::Rollback, &text);
        self.notify(NotifyOn::Failure, &text);
    }

    fn undo(&mut self) -> Result<Vec<String>, Failed> {
        let mut detail = Vec::new();
        let n = self.report.applied.len();
        let strategy = self.settings.deploy.rollback;
        let downs_cover = self.downs_cover_run()?;
        let use_down = match strategy {
            RollbackStrategy::None => {
                return Err(Failed(
                    "the policy says rollback = none: nothing was undone".into(),
                ));
            }
            RollbackStrategy::Down => true,
            RollbackStrategy::Restore => false,
            RollbackStrategy::Auto => downs_cover && !self.seeded || self.report.backup.is_none(),
        };
        if n == 0 && !self.seeded {
            detail.push("no migration was applied: nothing to undo".into());
        } else if use_down {
            match self.run_downs(n) {
                Ok(()) => detail.push(format!("ran the down scripts of {n} migration(s)")),
                // A migration that stopped half-way (MariaDB) blocks its down scripts: with
                // `auto` and a backup, the backup puts everything back instead.
                Err(Failed(why))
                    if strategy == RollbackStrategy::Auto && self.report.backup.is_some() =>
                {
                    detail.push(format!(
                        "the down scripts could not run ({why}); restoring the backup"
                    ));
                    detail.push(self.restore_backup()?);
                }
                Err(e) => return Err(e),
            }
        } else {
            detail.push(self.restore_backup()?);
        }
        let mut engine = self.connect(true)?;
        let now = engine.introspect().map_err(|e| Failed(e.to_string()))?;
        self.report.fingerprint_after = Some(now.fingerprint());
        let before = self.before.clone().unwrap_or_default();
        let changes = crate::schema::diff(&before, &now);
        if !changes.is_empty() {
            let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
            return Err(Failed(format!(
                "the schema is NOT back to its pre-deploy state: {}",
                lines.join("; ")
            )));
        }
        detail.push(format!(
            "schema back to its pre-deploy fingerprint {}",
            now.fingerprint()
        ));
        Ok(detail)
    }

    fn run_downs(&mut self, n: usize) -> Result<(), Failed> {
        let mut runner = crate::open(self.settings, false, self.observer)?;
        let opts = RollbackOptions {
            steps: Some(n),
            ..Default::default()
        };
        runner.rollback(&opts)?;
        Ok(())
    }

    fn restore_backup(&mut self) -> Result<String, Failed> {
        let file = self
            .report
            .backup
            .clone()
            .ok_or_else(|| Failed("no pre-deploy backup to restore".into()))?;
        let opts = crate::backup::RestoreOptions {
            confirmed: true,
            safety_backup: false,
        };
        crate::backup::restore(self.settings, &file, &opts, self.observer)?;
        Ok(format!("restored {}", file.display()))
    }

    /// Whether every migration this run applied has a non-empty down script.
    fn downs_cover_run(&self) -> Result<bool, Failed> {
        let found = crate::migrations::discover(
            &self.settings.migrations,
            self.settings.url.kind().dialect(),
        )
        .map_err(|e| Failed(e.to_string()))?;
        Ok(self.report.applied.iter().all(|id| {
            found
                .migrations
                .iter()
                .any(|m| &m.id == id && m.down.as_ref().is_some_and(|d| !d.sql.trim().is_empty()))
        }))
    }

    fn failed(&mut self, reason: String, outcome: Outcome) {
        self.report.reason = Some(reason.clone());
        self.report.outcome = outcome;
        self.notify(NotifyOn::Failure, &format!("failed: {reason}"));
    }

    fn notify(&mut self, on: NotifyOn, what: &str) {
        let targets: Vec<_> = self
            .settings
            .deploy
            .notify
            .iter()
            .filter(|n| n.on.contains(&on))
            .cloned()
            .collect();
        if targets.is_empty() {
            return;
        }
        let r = &self.report;
        let text = format!(
            "cutover deploy {} of {} {what} ({} migration(s): {}; {} ms){}",
            r.run_id,
            r.environment.as_deref().unwrap_or("default"),
            r.pending.len(),
            r.pending.join(", "),
            self.clock.elapsed().as_millis(),
            r.backup
                .as_ref()
                .map(|b| format!("; backup {}", b.display()))
                .unwrap_or_default()
        );
        let payload = serde_json::json!({
            "text": self.settings.url.scrub(&text),
            "event": on,
            "run_id": r.run_id,
            "environment": r.environment,
            "target": r.target,
            "outcome": r.outcome,
            "reason": r.reason,
            "pending": r.pending,
            "applied": r.applied,
            "backup": r.backup,
            "checks": { "failed": r.checks.iter().filter(|c| c.status == Status::Fail).count(), "total": r.checks.len() },
            "duration_ms": self.clock.elapsed().as_millis() as u64,
        });
        for n in targets {
            for problem in actions::notify(&n, &payload) {
                self.event("notify", Some("failed"), &problem, Duration::ZERO);
            }
        }
    }

    /// The summary row in the target, and the report files.
    fn finish(&mut self, dir: &Path) {
        self.report.duration_ms = self.clock.elapsed().as_millis() as u64;
        if !matches!(self.report.outcome, Outcome::NothingToDo | Outcome::DryRun)
            && self.target_exists()
            && let Err(e) = self.record_row()
        {
            {
                self.event("record", Some("failed"), &e, Duration::ZERO);
            }
        }
        let files = [
            (
                "report.json",
                serde_json::to_string_pretty(&self.report).expect("a report serialises"),
            ),
            ("report.md", report::markdown(&self.report)),
            ("report.html", report::html(&self.report)),
        ];
        for (name, text) in files {
            let _ = std::fs::write(dir.join(name), self.settings.url.scrub(&text));
        }
    }

    fn record_row(&mut self) -> Result<(), String> {
        let mut e = self.connect(false).map_err(|Failed(m)| m)?;
        let q = |s: &str| s.replace('\'', "''");
        e.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (id VARCHAR(64) NOT NULL PRIMARY KEY, environment VARCHAR(255), \
             started_at VARCHAR(40) NOT NULL, duration_ms BIGINT NOT NULL, outcome VARCHAR(40) NOT NULL, \
             applied_by VARCHAR(255) NOT NULL, migrations TEXT NOT NULL, backup TEXT, reason TEXT, \
             fingerprint_before VARCHAR(80))"
        ))
        .map_err(|e| e.message)?;
        let r = &self.report;
        e.execute(&format!(
            "INSERT INTO {RUNS_TABLE} (id, environment, started_at, duration_ms, outcome, applied_by, migrations, backup, reason, \
             fingerprint_before) VALUES ('{}', '{}', '{}', {}, '{}', '{}', '{}', {}, {}, '{}')",
            q(&r.run_id),
            q(r.environment.as_deref().unwrap_or("")),
            q(&r.started_at),
            r.duration_ms,
            q(serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(str::to_string)).as_deref().unwrap_or("")),
            q(&r.applied_by),
            q(&r.applied.join(",")),
            r.backup.as_ref().map_or("NULL".into(), |b| format!("'{}'", q(&b.display().to_string()))),
            r.reason.as_ref().map_or("NULL".into(), |s| format!("'{}'", q(&self.settings.url.scrub(s)))),
            q(r.fingerprint_before.as_deref().unwrap_or("")),
        ))
        .map_err(|e| e.message)
    }
}

/// Lend an optional connection for one call.
fn lend(e: &mut Option<Box<dyn Engine>>) -> Option<&mut dyn Engine> {
    match e {
        Some(b) => Some(&mut **b),
        None => None,
    }
}

/// A phase's detail starting with this was skipped.
const SKIPPED: &str = "\u{0}skipped";
