//! cutover: safe production database deployments.
//!
//! Data flows one way: **configuration → plan → executor → report**. `config` resolves
//! flags and `cutover.toml` into `Settings`; `migrations` reads the files; `engine` talks to
//! one database behind one trait; a `Session` is opened once per command (one connection,
//! the run lock, the migrations and the history); `runner` plans and executes on it and
//! reports through `events`; `schema`, `validate`, `checks` and `backup` build on the
//! engine; `deploy` runs them all as one pipeline; the `cli` module (binary only) parses
//! and renders.
//! See ARCHITECTURE.md for the module map.

pub mod adopt;
pub mod backup;
pub mod checks;
pub mod clone;
pub mod config;
pub mod deploy;
pub mod drift;
pub mod driver;
pub mod engine;
pub mod error;
pub mod events;
pub mod fleet;
pub mod history;
pub mod interrupt;
pub mod lint;
pub mod migrations;
pub mod phase;
pub mod records;
pub mod redact;
pub mod rehearse;
pub mod runner;
pub mod schema;
pub mod scratch;
pub mod session;
pub mod sql;
pub mod squash;
pub mod tables;
pub mod target;
pub mod transfer;
pub mod units;
pub mod validate;
pub mod verdict;

pub use config::Settings;
pub use error::Error;
pub use session::{Access, Files, Session, connect};

/// `user@host` of this process, for the history's `applied_by`.
pub fn applied_by() -> String {
    let user = whoami::username().unwrap_or_else(|_| "unknown".into());
    let host = whoami::hostname().unwrap_or_else(|_| "unknown-host".into());
    format!("{user}@{host}")
}
