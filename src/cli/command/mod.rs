//! One module per command: each turns its arguments into the library's options, calls the
//! library, and renders what comes back.

mod backup;
mod config;
mod deploy;
mod diff;
mod governed;
mod lint;
mod migrate;
mod runs;
mod scaffold;
mod schema;
mod status;
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
        Command::Config(_) => config::check(&settings(o, out)?, out),
        Command::Status { check } => status::run(&settings(o, out)?, *check, out),
        Command::Migrate { to, dry_run } => migrate::run(&settings(o, out)?, to, *dry_run, out),
        Command::Rollback(a) => governed::rollback(&settings(o, out)?, a, out),
        Command::Resolve(a) => governed::resolve(&settings(o, out)?, a, out),
        Command::Baseline { version, run } => {
            governed::baseline(&settings(o, out)?, version, run, out)
        }
        Command::Seed(run) => governed::seed(&settings(o, out)?, run, out),
        Command::Schema => schema::run(&settings(o, out)?, out),
        Command::Diff { from, to } => diff::run(&settings(o, out)?, from, to, out),
        Command::Validate {
            level,
            report,
            fail_on,
        } => validate::run(&settings(o, out)?, *level, report, *fail_on, out),
        Command::Deploy(a) => deploy::deploy(&settings(o, out)?, a, out),
        Command::Plan { out: file, to } => deploy::plan(&settings(o, out)?, file, to, out),
        Command::Runs(cmd) => runs::run(&settings(o, out)?, cmd, out),
    }
}

/// Resolve the settings, and hide the target's password in everything printed from now on.
fn settings(o: cutover::config::Overrides, out: &mut Renderer) -> Result<Settings, Error> {
    let settings = Settings::resolve(o)?;
    out.add_secret_source(settings.url.clone());
    Ok(settings)
}
