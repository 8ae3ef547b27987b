//! The command-line layer: parse arguments, call the library, render the result, map
//! errors to exit codes. No migration logic lives here.

mod args;
mod backup;
mod render;
mod scaffold;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cutover::Error;
use cutover::config::{Overrides, Settings};
use cutover::drift::Side;
use cutover::runner::{MigrateOptions, Resolve, RollbackOptions};

use args::{Cli, Command, FailOnArg, Global, LevelArg};
use cutover::config::FailOn;
use cutover::validate::Level;
use render::Renderer;

/// Documented exit codes (see `cutover --help`).
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Exit {
    Ok = 0,
    CheckFailed = 1,
    BadInput = 2,
    Database = 3,
    MigrationFailed = 4,
    Refused = 5,
    LockTimeout = 6,
    Prerequisite = 7,
    BackupFailed = 8,
    DeployFailed = 10,
    RolledBack = 11,
    RollbackFailed = 12,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    let mut out = Renderer::new(&cli.global);
    let code = match run(&cli, &mut out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            exit_for(&e)
        }
    };
    ExitCode::from(code as u8)
}

fn exit_for(e: &Error) -> Exit {
    match e {
        Error::Connect { .. } | Error::Database { .. } => Exit::Database,
        Error::MigrationFailed(_) => Exit::MigrationFailed,
        Error::Refused { .. } => Exit::Refused,
        Error::LockTimeout { .. } => Exit::LockTimeout,
        Error::Prerequisite { .. } => Exit::Prerequisite,
        Error::Backup(_) => Exit::BackupFailed,
        _ => Exit::BadInput,
    }
}

fn overrides(g: &Global) -> Overrides {
    Overrides {
        url: g.url.clone(),
        database_url_env: std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()),
        migrations: g.migrations.clone(),
        config: g.config.clone(),
        env: g.env.clone(),
        init_sql: g.init_sql.clone(),
        lock_timeout: g.lock_timeout,
    }
}

fn run(cli: &Cli, out: &mut Renderer) -> Result<Exit, Error> {
    let o = overrides(&cli.global);
    match &cli.command {
        Command::Init => {
            let created = scaffold::init(cli.global.config.as_deref())?;
            out.init(&created);
            return Ok(Exit::Ok);
        }
        Command::New { name, no_down } => {
            let dir = Settings::migrations_dir(&o)?;
            let created = scaffold::new(&dir, name, !no_down)?;
            out.created(&created);
            return Ok(Exit::Ok);
        }
        Command::Backup(cmd) => return backup::run(cmd, o, out),
        Command::Deploy {
            dry_run,
            yes,
            no_maintenance,
            skip_backup,
            report_dir,
            plan,
        } => {
            let settings = Settings::resolve(o)?;
            out.add_secret_source(settings.url.clone());
            let plan = plan
                .as_deref()
                .map(cutover::deploy::plan::read)
                .transpose()?;
            let opts = cutover::deploy::DeployOptions {
                plan,
                dry_run: *dry_run,
                yes: *yes,
                no_maintenance: *no_maintenance,
                skip_backup: *skip_backup,
                report_dir: report_dir.clone(),
            };
            let mut observer = out.observer();
            let mut approve = |r: &cutover::deploy::DeployReport| approve(r);
            let report = cutover::deploy::deploy(&settings, &opts, &mut observer, &mut approve)?;
            drop(observer);
            out.deployed(&report);
            use cutover::deploy::Outcome;
            return Ok(match report.outcome {
                Outcome::Success | Outcome::NothingToDo | Outcome::DryRun => Exit::Ok,
                Outcome::Failed => Exit::DeployFailed,
                Outcome::RolledBack => Exit::RolledBack,
                Outcome::RollbackFailed => Exit::RollbackFailed,
            });
        }
        Command::Plan { out: file } => {
            let settings = Settings::resolve(o)?;
            out.add_secret_source(settings.url.clone());
            let plan = cutover::deploy::plan::make(&settings)?;
            cutover::deploy::plan::write(file, &plan)?;
            out.planned(&plan, file);
            return Ok(Exit::Ok);
        }
        Command::Rollback { run: Some(id), .. } => {
            let settings = Settings::resolve(o)?;
            out.add_secret_source(settings.url.clone());
            let mut observer = out.observer();
            let undone = cutover::deploy::runs::undo(&settings, id, &mut observer)?;
            drop(observer);
            out.undone(&undone);
            return Ok(Exit::Ok);
        }
        Command::Runs(cmd) => {
            let settings = Settings::resolve(o)?;
            out.add_secret_source(settings.url.clone());
            match cmd {
                args::RunsCommand::List => out.runs(&cutover::deploy::runs::list(&settings)?),
                args::RunsCommand::Show { id } => {
                    let (row, report) = cutover::deploy::runs::show(&settings, id)?;
                    out.run(&row, report.as_ref());
                }
            }
            return Ok(Exit::Ok);
        }
        Command::Config(args::ConfigCommand::Check) => {
            let settings = Settings::resolve(o)?;
            out.add_secret_source(settings.url.clone());
            out.effective(&settings.effective());
            return Ok(Exit::Ok);
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cutover", &mut buf);
            let _ = std::io::stdout().write_all(&buf);
            return Ok(Exit::Ok);
        }
        _ => {}
    }
    let settings = Settings::resolve(o)?;
    out.add_secret_source(settings.url.clone());
    match &cli.command {
        Command::Schema => {
            out.schema(&cutover::drift::inspect(&settings)?);
            return Ok(Exit::Ok);
        }
        Command::Validate {
            level,
            report,
            fail_on,
        } => return validate(&settings, out, *level, report, *fail_on),
        Command::Diff { from, to } => {
            let (from, to) = (Side::parse(from)?, Side::parse(to)?);
            if let Side::Url(u) = &from {
                out.add_secret_source(u.clone());
            }
            if let Side::Url(u) = &to {
                out.add_secret_source(u.clone());
            }
            let report = cutover::drift::diff(&settings, &from, &to)?;
            out.diff(&report);
            return Ok(if report.changes.is_empty() {
                Exit::Ok
            } else {
                Exit::CheckFailed
            });
        }
        _ => {}
    }
    let read_only = matches!(
        cli.command,
        Command::Status { .. }
            | Command::Migrate { dry_run: true, .. }
            | Command::Rollback { dry_run: true, .. }
    );
    let mut observer = out.observer();
    let mut runner = cutover::open(&settings, read_only, &mut observer)?;
    match &cli.command {
        Command::Status { check } => {
            let report = runner.status()?;
            drop(runner);
            out.status(&report, &settings);
            Ok(if *check && report.has_problems() {
                Exit::CheckFailed
            } else {
                Exit::Ok
            })
        }
        Command::Migrate { to, dry_run } => {
            let report = runner.migrate(&MigrateOptions {
                to: to.clone(),
                dry_run: *dry_run,
            })?;
            drop(runner);
            out.migrate(&report);
            Ok(Exit::Ok)
        }
        Command::Rollback {
            steps, to, dry_run, ..
        } => {
            let report = runner.rollback(&RollbackOptions {
                steps: *steps,
                to: to.clone(),
                dry_run: *dry_run,
            })?;
            drop(runner);
            out.migrate(&report);
            Ok(Exit::Ok)
        }
        Command::Resolve(a) => {
            let action = match (&a.applied, &a.rolled_back, &a.accept_checksum) {
                (Some(v), _, _) => Resolve::Applied(v.clone()),
                (_, Some(v), _) => Resolve::RolledBack(v.clone()),
                (_, _, Some(v)) => Resolve::AcceptChecksum(v.clone()),
                _ => unreachable!("clap requires one of the three"),
            };
            let report = runner.resolve(&action)?;
            drop(runner);
            out.resolved(&report);
            Ok(Exit::Ok)
        }
        Command::Baseline { version } => {
            let marked = runner.baseline(version)?;
            drop(runner);
            out.baseline(&marked);
            Ok(Exit::Ok)
        }
        Command::Init
        | Command::New { .. }
        | Command::Completions { .. }
        | Command::Schema
        | Command::Backup(_)
        | Command::Config(_)
        | Command::Deploy { .. }
        | Command::Runs(_)
        | Command::Plan { .. }
        | Command::Validate { .. }
        | Command::Diff { .. } => {
            unreachable!("handled above")
        }
    }
}

fn validate(
    settings: &Settings,
    out: &mut Renderer,
    level: Option<LevelArg>,
    reports: &[std::path::PathBuf],
    fail_on: Option<FailOnArg>,
) -> Result<Exit, Error> {
    for path in reports {
        render::check_report_path(path)?;
    }
    let level = match level {
        Some(LevelArg::Basic) => Level::Basic,
        Some(LevelArg::Standard) => Level::Standard,
        Some(LevelArg::Comprehensive) => Level::Comprehensive,
        None => settings.validate.level.unwrap_or(Level::Standard),
    };
    let warnings_fail = match fail_on {
        Some(FailOnArg::Warn) => true,
        Some(FailOnArg::Fail) => false,
        None => settings.validate.fail_on == Some(FailOn::Warn),
    };
    let report = cutover::validate::validate(settings, level)?;
    out.validation(&report);
    for path in reports {
        out.write_report(&report, path)?;
    }
    Ok(if report.failed(warnings_fail) {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

/// Ask on the terminal for the environment's name; `None` when there is no terminal.
fn approve(r: &cutover::deploy::DeployReport) -> Option<bool> {
    use std::io::{BufRead, IsTerminal};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    let env = r.environment.clone().unwrap_or_else(|| "default".into());
    eprint!(
        "Deploy {} migration(s) ({}) to {} [{env}]?\nType the environment's name ({env}) to approve: ",
        r.pending.len(),
        r.pending.join(", "),
        r.target
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(answer.trim() == env)
}
