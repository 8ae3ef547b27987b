//! Governed runs: `cutover deploy`, and every other change to a target that must obey the
//! environment's policy (`rollback`, `seed`, `resolve`, `baseline`, `backup restore`). Each
//! is one pipeline over one session, which holds the run lock from the preflight to the
//! end: preflight → approval → notify(start) → the work's phases → notify(result) → record.
//!
//! A deploy's work is: backup → maintenance on → hooks → migrate → hooks → seed → verify →
//! maintenance off → smoke → watch. A failure after its first change is undone by the one
//! undo (`undo.rs`) that `rollback --run` uses too, and the schema is proved back to its
//! pre-deploy fingerprint. Maintenance mode is switched off on every way out, SIGINT and
//! SIGTERM included (they stop the run after the step under way). The run's progress is
//! kept in `cutover_runs` as it goes, so a killed run is found and finished by the next.

pub mod actions;
pub mod blockers;
pub(crate) mod guarded;
pub(crate) mod journal;
mod notify;
mod phases;
pub mod plan;
pub mod plan_sql;
mod preflight;
pub mod report;
pub mod runs;
mod seed;
mod staged;
mod step;
mod undo;
mod work;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use report::RunReport;
pub use seed::{SEEDS_TABLE, Seeded};
pub use undo::{How, Undone};

pub use crate::phase::{Phase, PhaseRecord, PhaseStatus};
pub use crate::records::{Outcome, RunKind};
pub use crate::tables::RUNS_TABLE;

use crate::config::{NotifyOn, Settings};
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::records::RunRow;
use crate::runner::{Resolve, RollbackOptions};
use crate::schema::Schema;
use crate::session::{Access, Files, Session};
use journal::{Journal, Tee};
use step::{Done, Failed};

/// What a governed run changes.
#[derive(Debug, Clone)]
pub enum Work {
    /// Migrations (up to `RunOptions::to`, or an approved plan) and seeds.
    Deploy,
    /// The seeds alone, as a deploy with no migrations would run them.
    Seed,
    /// Down scripts: the newest steps, or everything after a version.
    Rollback(RollbackOptions),
    /// Undo a finished deploy by the environment's rollback strategy.
    UndoRun(String),
    Resolve(Resolve),
    Baseline(String),
    /// Take over another tool's history (`cutover adopt`).
    Adopt(crate::adopt::AdoptOptions),
    /// Replace the target with a backup.
    Restore {
        file: PathBuf,
        safety_backup: bool,
    },
    /// Replace the target with a copy of another environment (`cutover clone`).
    Clone(Box<crate::clone::CloneRequest>),
}

impl Work {
    pub fn kind(&self) -> RunKind {
        match self {
            Work::Deploy => RunKind::Deploy,
            Work::Seed => RunKind::Seed,
            Work::Rollback(_) | Work::UndoRun(_) => RunKind::Rollback,
            Work::Resolve(_) => RunKind::Resolve,
            Work::Baseline(_) => RunKind::Baseline,
            Work::Adopt(_) => RunKind::Adopt,
            Work::Restore { .. } => RunKind::Restore,
            Work::Clone(_) => RunKind::Clone,
        }
    }

    /// The phases between approval and the record, in order.
    fn phases(&self) -> &'static [Phase] {
        use Phase::*;
        match self {
            Work::Deploy => &[
                Backup,
                MaintenanceOn,
                HooksBeforeMigrate,
                Migrate,
                HooksAfterMigrate,
                Seed,
                Transfer,
                Verify,
                MaintenanceOff,
                Smoke,
                Watch,
            ],
            Work::Seed => &[
                Backup,
                MaintenanceOn,
                Seed,
                Verify,
                MaintenanceOff,
                Smoke,
                Watch,
            ],
            Work::Rollback(_) | Work::UndoRun(_) => &[
                Backup,
                MaintenanceOn,
                HooksBeforeRollback,
                Rollback,
                HooksAfterRollback,
                MaintenanceOff,
            ],
            Work::Resolve(_) => &[Backup, Resolve],
            Work::Baseline(_) => &[Backup, Baseline],
            Work::Adopt(_) => &[Backup, Adopt],
            Work::Restore { .. } => &[Backup, MaintenanceOn, Restore, MaintenanceOff],
            Work::Clone(_) => &[Backup, MaintenanceOn, Clone, MaintenanceOff],
        }
    }

    /// Whether a failure after the first change is undone (deploys and seeds), rather than
    /// reported as it is.
    fn undoes_on_failure(&self) -> bool {
        matches!(self, Work::Deploy | Work::Seed)
    }
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Preflight and the plan; change nothing, notify nobody.
    pub dry_run: bool,
    /// Approved in advance (`--yes`).
    pub yes: bool,
    pub no_maintenance: bool,
    pub skip_backup: bool,
    /// The folder each run writes its journal and reports into, as `<dir>/<run id>/`
    /// (default `.cutover/runs` beside cutover.toml).
    pub report_dir: Option<PathBuf>,
    /// An approved plan (`cutover plan`): apply exactly it, or refuse.
    pub plan: Option<plan::Plan>,
    /// Stop after this migration (an expand step before its contract step).
    pub to: Option<String>,
    /// `--phase`: expand (the default: everything pending before the first contract
    /// migration) or contract (the contract migrations, after the contract gate).
    pub phase: Option<crate::migrations::Stage>,
    /// Keep the journal but write no report files: a fleet's target, which the fleet's
    /// own report covers (three files per target, a thousand targets).
    pub journal_only: bool,
}

/// What a person is asked to approve.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub kind: RunKind,
    pub environment: String,
    /// The target, password hidden.
    pub target: String,
    /// What will change, in one line.
    pub summary: String,
    /// What a person types to approve: the environment's name, or for a restore the
    /// database's.
    pub confirm: String,
}

/// Asks a person to approve; returns whether they did. `None`: nobody to ask.
pub type Approver<'a> = &'a mut dyn FnMut(&ApprovalRequest) -> Option<bool>;

/// Run a deploy.
pub fn deploy(
    settings: &Settings,
    opts: &RunOptions,
    observer: &mut dyn Observer,
    approve: Approver,
) -> Result<RunReport, Error> {
    run(settings, Work::Deploy, opts, observer, approve)
}

/// Run `work` under the environment's policy. A deploy or seed reports its failure in
/// the report's outcome; any other work returns the error that stopped it, after the
/// record and the notifications.
pub fn run(
    settings: &Settings,
    work: Work,
    opts: &RunOptions,
    observer: &mut dyn Observer,
    approve: Approver,
) -> Result<RunReport, Error> {
    let refused = match refuse_early(settings, &work, opts) {
        Err(e) if !work.undoes_on_failure() => return Err(e),
        other => other,
    };
    let run_id = uuid::Uuid::now_v7().to_string();
    let dir = match &opts.report_dir {
        Some(base) => base.join(&run_id),
        None => runs::dir(settings, &run_id),
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let mut journal = Journal::create(&dir, settings);
    let mut report = RunReport::new(settings, &run_id, work.kind(), dir.clone());
    let access = if opts.dry_run {
        Access::Read
    } else {
        Access::Change
    };
    let clock = Instant::now();
    if let Err(e) = refused {
        // A deploy refused before it starts is a deploy that failed before changing
        // anything: no lock, no approval, no notification.
        let failed = Failed::from(e);
        report.failed_to_start(&failed.message, clock.elapsed());
        write_reports(&mut report, &dir, opts, settings, observer);
        return Ok(report);
    }
    let outcome = {
        let mut tee = Tee::new(&mut journal, observer, &run_id);
        let files = match work {
            Work::Restore { .. } | Work::Clone(_) => Files::Optional,
            _ => Files::Required,
        };
        match Session::open_run(settings, access, &mut tee, run_id.clone(), files) {
            Ok(session) => {
                let mut run = Run::new(session, work, opts, report, clock);
                run.pipeline(approve);
                Ok(run.finish())
            }
            Err(e) => Err((Failed::from(e), report)),
        }
    };
    let outcome = outcome.unwrap_or_else(|(failed, mut report)| {
        report.failed_to_start(&failed.message, clock.elapsed());
        let event = Event::Phase {
            phase: Phase::Preflight,
            status: Some(PhaseStatus::Failed),
            detail: vec![settings.scrub(&failed.message)],
            duration: clock.elapsed(),
        };
        Tee::new(&mut journal, observer, &run_id).event(&event);
        (report, failed.error)
    });
    let (mut report, error) = outcome;
    if let Some(lost) = journal.lost() {
        report.warnings.push(lost);
    }
    write_reports(&mut report, &dir, opts, settings, observer);
    match error {
        // Bad input is bad input whatever the work: exit 2, not "the deploy failed".
        Some(e)
            if is_bad_input(&e)
                || matches!(e, Error::Adoptable { .. })
                || !matches!(report.kind, RunKind::Deploy | RunKind::Seed) =>
        {
            Err(e)
        }
        _ => Ok(report),
    }
}

/// An unknown version, a broken file, a bad setting: refused before anything was done,
/// and never recorded in the target.
fn is_bad_input(e: &Error) -> bool {
    matches!(
        e,
        Error::Usage(_) | Error::Config(_) | Error::Migrations(_) | Error::Split { .. }
    )
}

/// The run's report files in its folder, unless the run keeps only its journal. Warnings
/// about them go to the operator directly: the journal is closed.
fn write_reports(
    report: &mut RunReport,
    dir: &std::path::Path,
    opts: &RunOptions,
    settings: &Settings,
    observer: &mut dyn Observer,
) {
    if !opts.journal_only {
        report.write_files(dir, settings, &mut |w| observer.event(&Event::Warning(w)));
    }
}

/// Refusals that need nothing but the settings, before anything happens: no lock, no
/// notification, no approval.
fn refuse_early(settings: &Settings, work: &Work, opts: &RunOptions) -> Result<(), Error> {
    let skips = opts.skip_backup
        || matches!(
            work,
            Work::Restore {
                safety_backup: false,
                ..
            }
        );
    if skips
        && settings.deploy.backup_required
        && !settings.deploy.allow_skip_backup
        && !opts.dry_run
    {
        return Err(Error::Refused {
            message: format!(
                "--skip-backup is refused: the policy of {} requires a backup before any change",
                settings.env.as_deref().unwrap_or("this environment")
            ),
            hint:
                "run without --skip-backup, or set `allow_skip_backup = true` for this environment"
                    .into(),
        });
    }
    if let Work::Clone(req) = work {
        crate::clone::refuse(settings, req)?;
    }
    // A backup lost here is fetched from an off-site copy when the policy has some.
    if let Work::Restore { file, .. } = work
        && !file.exists()
        && crate::backup::offsite::fetch_missing(&settings.backup, file)?.is_none()
    {
        return Err(Error::Usage(format!(
            "{} does not exist; `cutover backup list` shows the backups",
            file.display()
        )));
    }
    Ok(())
}

/// A governed run in progress.
pub(crate) struct Run<'s, 'o> {
    session: Session<'o>,
    work: Work,
    opts: &'s RunOptions,
    report: RunReport,
    /// The schema before the first change, which an undo must get back to.
    before: Option<Schema>,
    /// Whether maintenance mode is (or may be) on.
    maintenance_on: bool,
    /// When the application started serving the new schema (maintenance went off, or,
    /// without a maintenance mode, when the first change was made).
    serving_since: Option<jiff::Timestamp>,
    /// The work changed the target (an undo has something to do).
    changed: bool,
    seeded: bool,
    /// A migration that stopped half-way with its effects kept.
    partial: Option<String>,
    /// The seed scripts, read and split in the preflight.
    seeds: Vec<seed::SeedFile>,
    /// The backup a restore loads, opened and checked in the preflight.
    checked: Option<crate::backup::Checked>,
    /// The clone to load: its source opened and its mask file checked in the preflight.
    cloning: Option<crate::clone::Prepared>,
    /// A run killed earlier that this one finishes (so "nothing pending" still runs).
    resumed: Option<RunRow>,
    /// Whether this run's row exists in `cutover_runs`.
    recorded: bool,
    /// The phase the row was first written naming, before it began: its start writes
    /// nothing new.
    named_ahead: Option<Phase>,
    /// The whole deploy runs in one transaction that is still open.
    open_transaction: bool,
    clock: Instant,
    error: Option<Error>,
}

impl<'s, 'o> Run<'s, 'o> {
    fn new(
        session: Session<'o>,
        work: Work,
        opts: &'s RunOptions,
        report: RunReport,
        clock: Instant,
    ) -> Self {
        Run {
            session,
            work,
            opts,
            report,
            before: None,
            maintenance_on: false,
            serving_since: None,
            changed: false,
            seeded: false,
            partial: None,
            seeds: Vec::new(),
            checked: None,
            cloning: None,
            resumed: None,
            recorded: false,
            named_ahead: None,
            open_transaction: false,
            clock,
            error: None,
        }
    }

    fn settings(&self) -> &Settings {
        self.session.settings()
    }

    /// The expand-and-contract phase this deploy applies.
    fn stage(&self) -> crate::migrations::Stage {
        self.opts.phase.unwrap_or(crate::migrations::Stage::Expand)
    }

    fn pipeline(&mut self, approve: Approver) {
        if let Err(f) = self.phase(Phase::Preflight, Run::preflight) {
            return self.failed(f);
        }
        if self.nothing_to_do() {
            self.report.outcome = Outcome::NothingToDo;
            return;
        }
        if self.opts.dry_run {
            self.report.outcome = Outcome::DryRun;
            return;
        }
        if let Err(f) = self.phase(Phase::Approval, |r| r.approval(approve)) {
            return self.failed(f);
        }
        if let Err(e) = self.start_record() {
            return self.failed(e.into());
        }
        self.notify(NotifyOn::Start);
        for &phase in self.work.phases() {
            if self.session.stopping() {
                return self.fail_or_undo(Failed::new("interrupted (SIGINT/SIGTERM)"));
            }
            if let Err(mut f) = self.phase(phase, |r| r.step(phase)) {
                f.message = format!("{phase}: {}", f.message);
                return self.fail_or_undo(f);
            }
        }
        if matches!(self.work, Work::Deploy | Work::Seed) {
            let _ = self.phase(Phase::HooksAfterDeploy, |r| {
                r.hooks(crate::config::When::AfterDeploy)
            });
        }
        self.report.outcome = Outcome::Success;
        self.notify(NotifyOn::Success);
    }

    /// Nothing pending and no unfinished run to finish (deploy), nothing to roll back or
    /// to mark applied.
    fn nothing_to_do(&self) -> bool {
        let none = self.report.pending.is_empty();
        match self.work {
            Work::Deploy => none && self.resumed.is_none(),
            Work::Rollback(_) | Work::Baseline(_) | Work::Adopt(_) => none,
            _ => false,
        }
    }

    /// The work of one phase.
    fn step(&mut self, phase: Phase) -> Result<Done, Failed> {
        use crate::config::When;
        match phase {
            Phase::Backup => self.backup(),
            Phase::MaintenanceOn => self.maintenance_phase(true),
            Phase::HooksBeforeMigrate => self.hooks(When::BeforeMigrate),
            Phase::Migrate => self.migrate(),
            Phase::HooksAfterMigrate => self.hooks(When::AfterMigrate),
            Phase::Seed => self.seed(),
            Phase::Transfer => self.transfer(),
            Phase::Verify => self.verify(),
            Phase::MaintenanceOff => self.maintenance_phase(false),
            Phase::Smoke => self.smoke(),
            Phase::Watch => self.watch(),
            Phase::HooksBeforeRollback => self.hooks(When::BeforeRollback),
            Phase::Rollback => self.rollback_work(),
            Phase::HooksAfterRollback => self.hooks(When::AfterRollback),
            Phase::Resolve => self.resolve_work(),
            Phase::Baseline => self.baseline_work(),
            Phase::Adopt => self.adopt_work(),
            Phase::Restore => self.restore_work(),
            Phase::Clone => self.clone_work(),
            Phase::HooksAfterDeploy => self.hooks(When::AfterDeploy),
            Phase::Preflight | Phase::Approval | Phase::Notify | Phase::Record => {
                Ok(Done::skipped("runs outside the work's phases"))
            }
        }
    }

    /// Time a phase, tell the observer (and so the journal), and record it.
    fn phase(
        &mut self,
        phase: Phase,
        f: impl FnOnce(&mut Self) -> Result<Done, Failed>,
    ) -> Result<(), Failed> {
        let started_at = jiff::Timestamp::now().to_string();
        let t = Instant::now();
        self.session.event(Event::Phase {
            phase,
            status: None,
            detail: Vec::new(),
            duration: Duration::ZERO,
        });
        self.report.phase = Some(phase);
        // The row names the phase under way, so a run killed in it is found there.
        if !self.idle(phase) && self.named_ahead.take() != Some(phase) {
            self.progress();
        }
        let result = f(self);
        let (status, detail) = match &result {
            Ok(Done::Ran(lines)) => (PhaseStatus::Ok, lines.clone()),
            Ok(Done::Skipped(why)) => (PhaseStatus::Skipped, vec![why.clone()]),
            Err(f) => (PhaseStatus::Failed, vec![f.message.clone()]),
        };
        let detail: Vec<String> = detail.iter().map(|d| self.settings().scrub(d)).collect();
        self.session.event(Event::Phase {
            phase,
            status: Some(status),
            detail: detail.clone(),
            duration: t.elapsed(),
        });
        self.report.phases.push(PhaseRecord {
            name: phase,
            status,
            started_at,
            duration_ms: t.elapsed().as_millis() as u64,
            detail,
        });
        // The row is not written again here: the next phase that does anything writes it
        // at its start (naming itself, with what this one did), and the run's end writes it
        // last. A kill between the two, where nothing runs, finds this phase named. (On
        // SQLite every write is a durable commit, the bulk of a small deploy's time.)
        result.map(|_| ())
    }

    /// A failure: undo what the run changed when the work calls for it, else report it.
    fn fail_or_undo(&mut self, f: Failed) {
        if self.open_transaction {
            return self.roll_back_transaction(f);
        }
        if self.changed && self.work.undoes_on_failure() {
            return self.undo_run(f);
        }
        if self.changed {
            // A rollback, resolve, baseline or restore that failed part-way: say so; the
            // error says what was left.
            self.report.reason = Some(f.message.clone());
            self.report.outcome = Outcome::RollbackFailed;
            self.error = f.error;
            self.notify(NotifyOn::Failure);
            return;
        }
        self.failed(f)
    }

    /// Stopped before changing anything.
    fn failed(&mut self, f: Failed) {
        self.report.reason = Some(f.message.clone());
        self.report.outcome = Outcome::Failed;
        self.error = f.error;
        self.notify(NotifyOn::Failure);
    }

    /// Switch maintenance off if this run left it on; write the final record. Returns the
    /// report, and the error behind a failure.
    fn finish(mut self) -> (RunReport, Option<Error>) {
        if self.maintenance_on {
            // Every way out: failure, rollback, interruption.
            let _ = self.phase(Phase::MaintenanceOff, |r| r.maintenance(false));
        }
        self.report.duration_ms = self.clock.elapsed().as_millis() as u64;
        self.report.finished_at = Some(jiff::Timestamp::now().to_string());
        // A run refused before any change is kept for the audit, in a target that exists;
        // bad input (an unknown version, a broken file) leaves no trace.
        if !self.recorded
            && self.report.outcome == Outcome::Failed
            && self.session.is_locked()
            && self.target_exists()
            && !self.error.as_ref().is_some_and(is_bad_input)
        {
            self.recorded = crate::records::ensure(self.session.engine()).is_ok();
        }
        if self.recorded
            && let Err(e) = self.write_record()
        {
            let message = format!("cannot record the run in {RUNS_TABLE}: {e}");
            self.session.event(Event::Warning(message.clone()));
            self.report.warnings.push(message);
        }
        (self.report, self.error)
    }
}
