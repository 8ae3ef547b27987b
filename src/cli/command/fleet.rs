//! `cutover deploy` on a fleet environment, and `cutover fleet status`.

use cutover::Error;
use cutover::config::Settings;
use cutover::deploy::ApprovalRequest;
use cutover::fleet::FleetOptions;

use super::governed;
use crate::cli::Exit;
use crate::cli::args::{DeployArgs, FleetCommand};
use crate::cli::render::Renderer;

pub fn deploy(settings: &Settings, a: &DeployArgs, out: &mut Renderer) -> Result<Exit, Error> {
    let mut run = governed::run_options(&a.flags);
    run.to = a.to.clone();
    run.phase = a.phase.map(Into::into);
    run.plan = a
        .plan
        .as_deref()
        .map(cutover::deploy::plan::read)
        .transpose()?;
    let opts = FleetOptions {
        run,
        resume: a.resume.clone(),
        retry_failed: a.retry_failed,
        worker: a.worker,
        shard: a.shard,
    };
    let mut observer = out.observer();
    let mut ask = |r: &ApprovalRequest| governed::approve(r);
    let report = cutover::fleet::deploy(settings, &opts, &mut observer, &mut ask)?;
    drop(observer);
    out.fleet_report(&report);
    Ok(if report.succeeded() {
        Exit::Ok
    } else {
        Exit::DeployFailed
    })
}

pub fn run(settings: &Settings, cmd: &FleetCommand, out: &mut Renderer) -> Result<Exit, Error> {
    match cmd {
        FleetCommand::Status => {
            let status = cutover::fleet::status::status(settings)?;
            out.fleet_status(&status);
            Ok(if status.mixed() {
                Exit::CheckFailed
            } else {
                Exit::Ok
            })
        }
    }
}
