//! One module per command: each turns its arguments into the library's options, calls the
//! library, and renders what comes back.

mod adopt;
mod backup;
mod clone;
mod config;
mod deploy;
mod diff;
mod fleet;
mod governed;
mod lint;
mod migrate;
mod rehearse;
mod runs;
mod scaffold;
mod schema;
mod squash;
mod status;
mod transfer;
mod validate;

use std::io::Write;

use clap::CommandFactory;
use cutover::Error;
use cutover::config::Settings;

use super::args::{Cli, Command};
use super::render::Renderer;
use super::{Exit, overrides};

/// Run the parsed command.
pub fn run(cli: &Cli, out: &mut Renderer) -> Result<Exit, Error> {
    let o = overrides(&cli.global);
    match &cli.command {
        Command::Init => scaffold::init(cli, out),
        Command::New { name, no_down } => scaffold::new(o, name, *no_down, out),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cutover", &mut buf);
            let _ = std::io::stdout().write_all(&buf);
            Ok(Exit::Ok)
        }
        Command::Backup(cmd) => backup::run(cmd, o, out),
        Command::Lint(a) => lint::run(a, &cli.global, o, out),
        Command::Config(_) => config::check(&fleet_or_target(o, out)?, out),
        Command::Status { check } => status::run(&settings(o, out)?, *check, out),
        Command::Migrate { to, dry_run } => migrate::run(&settings(o, out)?, to, *dry_run, out),
        Command::Rollback(a) => governed::rollback(&settings(o, out)?, a, out),
        Command::Resolve(a) => governed::resolve(&settings(o, out)?, a, out),
        Command::Baseline { version, run } => {
            governed::baseline(&settings(o, out)?, version, run, out)
        }
        Command::Adopt(a) => adopt::run(&settings(o, out)?, a, out),
        Command::Seed(run) => governed::seed(&settings(o, out)?, run, out),
        Command::Schema => schema::run(&settings(o, out)?, out),
        Command::Diff { from, to } => diff::run(&settings(o, out)?, from, to, out),
        Command::Rehearse {
            copy,
            sample_rows,
            report,
        } => rehearse::run(&settings(o, out)?, *copy, *sample_rows, report, out),
        Command::Squash {
            through,
            with_data,
            dry_run,
        } => squash::run(&settings(o, out)?, through, with_data, *dry_run, out),
        Command::Validate {
            level,
            report,
            fail_on,
        } => validate::run(&settings(o, out)?, *level, report, *fail_on, out),
        Command::Deploy(a) => deploy::deploy(&fleet_or_target(o, out)?, a, out),
        Command::Fleet(cmd) => fleet::run(&fleet_or_target(o, out)?, cmd, out),
        Command::Plan { out: file, sql, to } => {
            deploy::plan(&settings(o, out)?, file.as_deref(), sql.as_deref(), to, out)
        }
        Command::Runs(cmd) => runs::run(&settings(o, out)?, cmd, out),
        Command::Transfer(a) => transfer::run(a, o, out),
        Command::Clone(a) => clone::run(a, o, out),
    }
}

/// Resolve the settings of one target, and hide its password in everything printed from
/// now on. A fleet environment names many targets: this command works on one.
fn settings(o: cutover::config::Overrides, out: &mut Renderer) -> Result<Settings, Error> {
    let settings = fleet_or_target(o, out)?;
    if settings.fleet.is_some() {
        return Err(Error::Usage(format!(
            "environment {} is a fleet of targets: `cutover deploy` and `cutover fleet status` \
             work on all of them; for one target, pass --url",
            settings.env.as_deref().unwrap_or("")
        )));
    }
    Ok(settings)
}

/// Resolve the settings of a target or a fleet.
fn fleet_or_target(o: cutover::config::Overrides, out: &mut Renderer) -> Result<Settings, Error> {
    let settings = Settings::resolve(o)?;
    out.add_secret_source(settings.url.clone());
    for w in &settings.warnings {
        cutover::events::Observer::event(
            &mut out.observer(),
            &cutover::events::Event::Warning(w.clone()),
        );
    }
    Ok(settings)
}
