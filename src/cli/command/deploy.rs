//! `cutover deploy` and `cutover plan`.

use std::path::Path;

use cutover::Error;
use cutover::config::Settings;
use cutover::deploy::Work;

use super::governed;
use crate::cli::Exit;
use crate::cli::args::DeployArgs;
use crate::cli::render::Renderer;

pub fn deploy(settings: &Settings, a: &DeployArgs, out: &mut Renderer) -> Result<Exit, Error> {
    if settings.fleet.is_some() {
        return super::fleet::deploy(settings, a, out);
    }
    if a.resume.is_some() || a.worker || a.shard.is_some() {
        return Err(Error::Usage(
            "--resume, --worker and --shard are for fleets; this environment has one target".into(),
        ));
    }
    let mut opts = governed::run_options(&a.flags);
    opts.plan = a
        .plan
        .as_deref()
        .map(cutover::deploy::plan::read)
        .transpose()?;
    // A plan stops where it was written to stop.
    opts.to =
        a.to.clone()
            .or_else(|| opts.plan.as_ref().and_then(|p| p.to.clone()));
    opts.phase = a.phase.map(Into::into);
    let report = governed::run(settings, Work::Deploy, &opts, out)?;
    Ok(governed::exit_of(&report))
}

pub fn plan(
    settings: &Settings,
    file: Option<&Path>,
    sql: Option<&Path>,
    to: &Option<String>,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    let (plan, files) = cutover::deploy::plan::plan_with_sql(settings, to.clone(), sql)?;
    if let Some(file) = file {
        cutover::deploy::plan::write(file, &plan)?;
    }
    out.planned(&plan, file, sql.map(|dir| (dir, files.as_slice())));
    Ok(Exit::Ok)
}
