//! cutover: safe production database deployments.
//!
//! Data flows one way: **configuration → plan → executor → report**. `config` resolves
//! flags and `cutover.toml` into `Settings`; `migrations` reads the files; `engine` talks to
//! one database behind one trait; `runner` plans and executes under the run lock and
//! reports through `events`; `schema`, `validate`, `checks` and `backup` build on the
//! engine; `deploy` runs them all as one pipeline; the `cli` module (binary only) parses
//! and renders.
//! See ARCHITECTURE.md for the module map.

pub mod backup;
pub mod checks;
pub mod config;
pub mod deploy;
pub mod drift;
pub mod engine;
pub mod error;
pub mod events;
pub mod history;
pub mod interrupt;
pub mod migrations;
pub mod runner;
pub mod schema;
pub mod scratch;
pub mod sql;
pub mod target;
pub mod validate;

pub use config::Settings;
pub use error::Error;

use events::Observer;
use runner::{RunContext, Runner};

/// Read the migrations, connect, and return a runner for `settings`.
///
/// Files are read (and rejected) before any connection is made. `read_only` opens the
/// target without creating anything, for `status` and dry runs.
pub fn open<'o>(
    settings: &Settings,
    read_only: bool,
    observer: &'o mut dyn Observer,
) -> Result<Runner<'o>, Error> {
    let dialect = settings.url.kind().dialect();
    let found = migrations::discover_only(&settings.migrations, dialect, &settings.include)?;
    let ctx = RunContext {
        run_id: uuid::Uuid::now_v7().to_string(),
        applied_by: applied_by(),
    };
    let engine = connect_as(settings, &settings.url, read_only, &ctx)?;
    Ok(Runner::new(
        engine,
        found,
        settings.env.clone(),
        settings.lock_timeout,
        ctx,
        observer,
    ))
}

/// Connect to `url` with the environment's session settings, outside any run: for
/// reading schemas and running checks. `read_only` creates nothing (a missing SQLite
/// file reads as an empty database).
pub fn connect(
    settings: &Settings,
    url: &target::DatabaseUrl,
    read_only: bool,
) -> Result<Box<dyn engine::Engine>, Error> {
    let ctx = RunContext {
        run_id: uuid::Uuid::now_v7().to_string(),
        applied_by: applied_by(),
    };
    connect_as(settings, url, read_only, &ctx)
}

fn connect_as(
    settings: &Settings,
    url: &target::DatabaseUrl,
    read_only: bool,
    ctx: &RunContext,
) -> Result<Box<dyn engine::Engine>, Error> {
    let opts = engine::ConnectOptions {
        init_sql: settings.init_sql.clone(),
        read_only,
        label: format!(
            "cutover {} run {} by {}",
            env!("CARGO_PKG_VERSION"),
            ctx.run_id,
            ctx.applied_by
        ),
    };
    engine::connect(url, &opts).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })
}

/// `user@host` of this process, for the history's `applied_by`.
pub fn applied_by() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".into());
    let host = whoami::hostname().unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host}")
}
