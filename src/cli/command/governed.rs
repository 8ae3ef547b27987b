//! The commands that change a target under the environment's policy, as governed runs
//! (approval, safety backup, hooks, notifications, a `cutover_runs` row): `rollback`,
//! `resolve`, `baseline`, `seed`, and `backup restore` (in `backup.rs`). The approval
//! prompt lives here: a person types the name they are shown.

use std::io::{BufRead, IsTerminal, Write};

use cutover::Error;
use cutover::config::Settings;
use cutover::deploy::{ApprovalRequest, RunOptions, RunReport, Work};
use cutover::runner::{Resolve, RollbackOptions};

use crate::cli::Exit;
use crate::cli::args::{ResolveArgs, RollbackArgs, RunArgs};
use crate::cli::render::Renderer;

pub fn rollback(settings: &Settings, a: &RollbackArgs, out: &mut Renderer) -> Result<Exit, Error> {
    let work = match &a.run {
        Some(id) => Work::UndoRun(id.clone()),
        None => Work::Rollback(RollbackOptions {
            steps: a.steps,
            to: a.to.clone(),
            dry_run: a.flags.dry_run,
        }),
    };
    governed(settings, work, &a.flags, out)
}

pub fn resolve(settings: &Settings, a: &ResolveArgs, out: &mut Renderer) -> Result<Exit, Error> {
    let action = match (&a.applied, &a.rolled_back, &a.accept_checksum) {
        (Some(v), _, _) => Resolve::Applied(v.clone()),
        (_, Some(v), _) => Resolve::RolledBack(v.clone()),
        (_, _, Some(v)) => Resolve::AcceptChecksum(v.clone()),
        _ => {
            return Err(Error::Usage(
                "give one of --applied, --rolled-back or --accept-checksum".into(),
            ));
        }
    };
    governed(settings, Work::Resolve(action), &a.flags, out)
}

pub fn baseline(
    settings: &Settings,
    version: &str,
    flags: &RunArgs,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    governed(settings, Work::Baseline(version.to_string()), flags, out)
}

/// A seed script that failed is exit 4, as a failed migration script is (the report says
/// whether anything had to be undone); an undo that failed too stays exit 12.
pub fn seed(settings: &Settings, flags: &RunArgs, out: &mut Renderer) -> Result<Exit, Error> {
    use cutover::deploy::{Phase, PhaseStatus};
    let report = run(settings, Work::Seed, &run_options(flags), out)?;
    let seed_failed = report
        .phases
        .iter()
        .any(|p| p.name == Phase::Seed && p.status == PhaseStatus::Failed);
    Ok(match exit_of(&report) {
        Exit::RollbackFailed => Exit::RollbackFailed,
        _ if seed_failed => Exit::MigrationFailed,
        other => other,
    })
}

/// Run `work` under the policy and render its report. A deploy-like outcome maps to the
/// deploy exit codes; other work that failed has already returned its error.
pub fn governed(
    settings: &Settings,
    work: Work,
    flags: &RunArgs,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    let opts = run_options(flags);
    let report = run(settings, work, &opts, out)?;
    Ok(exit_of(&report))
}

pub fn run_options(flags: &RunArgs) -> RunOptions {
    RunOptions {
        dry_run: flags.dry_run,
        yes: flags.yes,
        no_maintenance: flags.no_maintenance,
        skip_backup: flags.skip_backup,
        report_dir: flags.report_dir.clone(),
        plan: None,
        to: None,
        phase: None,
        journal_only: false,
    }
}

/// Run it, with the terminal to ask for approval on.
pub fn run(
    settings: &Settings,
    work: Work,
    opts: &RunOptions,
    out: &mut Renderer,
) -> Result<RunReport, Error> {
    let mut observer = out.observer();
    let mut ask = |r: &ApprovalRequest| approve(r);
    let report = cutover::deploy::run(settings, work, opts, &mut observer, &mut ask)?;
    drop(observer);
    out.run_report(&report);
    Ok(report)
}

pub fn exit_of(report: &RunReport) -> Exit {
    use cutover::deploy::Outcome;
    match report.outcome {
        Outcome::Success | Outcome::NothingToDo | Outcome::DryRun => Exit::Ok,
        Outcome::Failed | Outcome::Running | Outcome::Interrupted => Exit::DeployFailed,
        Outcome::RolledBack => Exit::RolledBack,
        Outcome::RollbackFailed => Exit::RollbackFailed,
    }
}

/// Ask on the terminal for the name the request shows; `None` when there is no terminal.
pub fn approve(r: &ApprovalRequest) -> Option<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    eprint!(
        "{} on {} [{}].\nType {} to approve: ",
        r.summary, r.target, r.environment, r.confirm
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(answer.trim() == r.confirm)
}
