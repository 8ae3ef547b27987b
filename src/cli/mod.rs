//! The command-line layer: parse arguments, call the library, render the result, map
//! errors to exit codes. One module per command under `command/`, each of which only
//! turns arguments into library options and a result into output; no decision about the
//! target (what to lock, what to ask, what the policy says) is made here.

mod args;
mod command;
mod render;
mod scaffold;

use std::process::ExitCode;

use clap::Parser;
use cutover::Error;
use cutover::config::Overrides;

use args::{Cli, Global};
use render::Renderer;

/// Documented exit codes (see `cutover --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Io = 9,
    DeployFailed = 10,
    RolledBack = 11,
    RollbackFailed = 12,
    Adoptable = 13,
    Interrupted = 130,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    let mut out = Renderer::new(&cli.global);
    let code = match command::run(&cli, &mut out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            exit_for(&e)
        }
    };
    ExitCode::from(code as u8)
}

/// The exit code of an error: what kind of failure it is, not where it happened.
fn exit_for(e: &Error) -> Exit {
    match e {
        Error::Connect { .. } | Error::Database { .. } => Exit::Database,
        Error::MigrationFailed(_) | Error::Seed { .. } => Exit::MigrationFailed,
        Error::Refused { .. } => Exit::Refused,
        Error::Adoptable { .. } => Exit::Adoptable,
        Error::LockTimeout { .. } => Exit::LockTimeout,
        Error::Prerequisite { .. } => Exit::Prerequisite,
        Error::Backup(_) => Exit::BackupFailed,
        Error::Io { .. } => Exit::Io,
        Error::Interrupted { .. } => Exit::Interrupted,
        Error::Config(_)
        | Error::Url(_)
        | Error::Migrations(_)
        | Error::Split { .. }
        | Error::Usage(_) => Exit::BadInput,
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
        run_lock_timeout: g.run_lock_timeout,
    }
}
