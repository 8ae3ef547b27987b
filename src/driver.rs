//! The driver table: for each engine, how to connect, its SQL dialect, what it can do
//! (transactional DDL, how its run lock is taken, how a statement's run time is bounded),
//! how its schema is read, how it is dumped and restored, and where its scratch databases
//! live. `of` is the only `match` on the engine kind in cutover; everything else asks the
//! table.
//!
//! ## Adding an engine
//! 1. Add a variant to `target::EngineKind` and its URL schemes in `DatabaseUrl::parse`.
//! 2. Write `engine/<name>.rs` (`connect` and an `impl Engine`), `schema/<name>.rs`
//!    (introspection), `backup/<name>.rs` (a `Native` dump/restore driver) and
//!    `squash/<name>.rs` (the schema dump a squash writes a baseline from).
//! 3. Add its row below and its arm to `of`.
//! 4. Run the engine-parametrised tests in `tests/it` against it.

use std::path::PathBuf;
use std::time::Duration;

use crate::backup::native::Native;
use crate::engine::{Capabilities, ConnectOptions, DbError, Engine};
use crate::schema::Schema;
use crate::sql::Dialect;
use crate::target::{DatabaseUrl, EngineKind};
use crate::transfer::endpoint::Endpoint;

/// Where an engine's scratch databases (diffs, restore checks) are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScratchPlace {
    /// A temporary file.
    TempFile,
    /// A database created and dropped on the target's server.
    Server,
}

/// Opens a connection.
pub type Connect = fn(&DatabaseUrl, &ConnectOptions) -> Result<Box<dyn Engine>, DbError>;

/// Opens one side of a transfer (`true`: the side written to).
pub type OpenEndpoint = fn(&DatabaseUrl, bool) -> Result<Box<dyn Endpoint>, DbError>;

/// One engine's row.
pub struct Driver {
    pub kind: EngineKind,
    /// As it appears in manifests, reports and `--json` (`postgres`).
    pub name: &'static str,
    pub dialect: Dialect,
    pub capabilities: Capabilities,
    pub connect: Connect,
    /// Read the live schema from the catalog (a fixed number of queries).
    pub introspect: fn(&mut dyn Engine) -> Result<Schema, DbError>,
    /// The dump/restore driver, with the folder its tools are looked for in first.
    pub native: fn(Option<PathBuf>) -> Box<dyn Native>,
    /// The session setting that bounds every statement's run time, where there is one.
    pub statement_timeout: fn(Duration) -> Option<String>,
    /// The session setting that makes a statement give up waiting for a lock, where there
    /// is one (guarded execution, `config::Guard`).
    pub lock_timeout: fn(Duration) -> Option<String>,
    /// Whether an error says the statement gave up waiting for a lock (and may be tried
    /// again: nothing of it was applied).
    pub is_lock_timeout: fn(&str) -> bool,
    /// The sessions that could block DDL: what `deploy::blockers` asks, where it can.
    pub blockers: Option<&'static crate::deploy::blockers::Query>,
    /// One batch of a backfill: `n` rows of what `Batched` updates or deletes.
    pub batch: fn(&crate::runner::Batched, u64) -> String,
    pub scratch: ScratchPlace,
    /// Where sqitch keeps its registry, when a connection to the target can read it.
    pub sqitch: Option<SqitchRegistry>,
    /// The database an administrative connection opens, to create a missing one
    /// (`create_database = true`); `None` where databases are files.
    pub admin_database: Option<&'static str>,
    /// The schema dump a squash turns into a baseline, and the facts its proof compares.
    pub squash: &'static dyn crate::squash::SchemaDump,
    /// One side of `cutover transfer` (`true`: the side written to).
    pub transfer: OpenEndpoint,
}

/// sqitch's registry as seen from a connection to the target: `<registry>.changes`.
pub struct SqitchRegistry {
    /// The engine's name in `sqitch.conf` (`[engine "pg"]`), whose `registry` names it.
    pub engine: &'static str,
    /// The registry is a database of the server that other targets' registries sit
    /// beside (MariaDB), rather than a schema of the target itself (PostgreSQL): it is read
    /// only for the sqitch project in the migrations folder.
    pub beside_target: bool,
    /// The registry is a database file of its own beside the target's (SQLite), attached
    /// to the connection to be read.
    pub file: bool,
}

/// The row for `kind`.
pub fn of(kind: EngineKind) -> &'static Driver {
    match kind {
        EngineKind::Sqlite => &SQLITE,
        EngineKind::Postgres => &POSTGRES,
        EngineKind::MySql => &MYSQL,
    }
}

static SQLITE: Driver = Driver {
    kind: EngineKind::Sqlite,
    name: "sqlite",
    dialect: Dialect::Sqlite,
    capabilities: Capabilities {
        transactional_ddl: true,
        lock_kind: "lock file",
    },
    connect: crate::engine::sqlite::connect,
    introspect: crate::schema::sqlite::introspect,
    native: |_| Box::new(crate::backup::sqlite::Sqlite),
    // SQLite has no per-statement limit a session can set.
    statement_timeout: |_| None,
    // One writer at a time, and busy_timeout already bounds the wait for it.
    lock_timeout: |_| None,
    is_lock_timeout: |_| false,
    blockers: None,
    batch: |b, n| {
        format!(
            "{} WHERE rowid IN (SELECT rowid FROM {} WHERE {} LIMIT {n})",
            b.head, b.table, b.condition
        )
    },
    scratch: ScratchPlace::TempFile,
    // sqitch keeps it in a file of its own beside the database (`sqitch.db`).
    sqitch: Some(SqitchRegistry {
        engine: "sqlite",
        beside_target: false,
        file: true,
    }),
    admin_database: None,
    squash: &crate::squash::sqlite::SqliteDump,
    transfer: crate::transfer::sqlite::open,
};

static POSTGRES: Driver = Driver {
    kind: EngineKind::Postgres,
    name: "postgres",
    dialect: Dialect::Postgres,
    capabilities: Capabilities {
        transactional_ddl: true,
        lock_kind: "advisory lock",
    },
    connect: crate::engine::postgres::connect,
    introspect: crate::schema::postgres::introspect,
    native: |tools| Box::new(crate::backup::postgres::Postgres::new(tools)),
    statement_timeout: |limit| Some(format!("SET statement_timeout = {}", limit.as_millis())),
    lock_timeout: |limit| Some(format!("SET lock_timeout = {}", limit.as_millis().max(1))),
    // 55P03 lock_not_available: "canceling statement due to lock timeout".
    is_lock_timeout: |message| message.contains("(SQLSTATE 55P03)"),
    blockers: Some(&crate::deploy::blockers::POSTGRES),
    batch: |b, n| {
        format!(
            "{} WHERE ctid IN (SELECT ctid FROM {} WHERE {} LIMIT {n})",
            b.head, b.table, b.condition
        )
    },
    scratch: ScratchPlace::Server,
    sqitch: Some(SqitchRegistry {
        engine: "pg",
        beside_target: false,
        file: false,
    }),
    admin_database: Some("postgres"),
    squash: &crate::squash::postgres::PostgresDump,
    transfer: crate::transfer::postgres::open,
};

static MYSQL: Driver = Driver {
    kind: EngineKind::MySql,
    name: "mysql",
    dialect: Dialect::MySql,
    capabilities: Capabilities {
        // DDL commits implicitly: a migration is journaled statement by statement.
        transactional_ddl: false,
        lock_kind: "GET_LOCK",
    },
    connect: crate::engine::mysql::connect,
    introspect: crate::schema::mysql::introspect_server,
    native: |tools| Box::new(crate::backup::mysql::MySql::new(tools)),
    // MariaDB's name (seconds); MySQL's max_execution_time bounds SELECTs only.
    statement_timeout: |limit| {
        Some(format!(
            "SET SESSION max_statement_time = {}",
            limit.as_secs_f64()
        ))
    },
    // Metadata locks, which DDL waits for (InnoDB row locks keep innodb_lock_wait_timeout):
    // whole seconds, at least one.
    lock_timeout: |limit| {
        let secs = limit.as_millis().div_ceil(1000).max(1);
        Some(format!("SET SESSION lock_wait_timeout = {secs}"))
    },
    // 1205: "Lock wait timeout exceeded; try restarting transaction".
    is_lock_timeout: |message| message.starts_with("ERROR 1205 "),
    blockers: Some(&crate::deploy::blockers::MYSQL),
    // Single-table UPDATE and DELETE take a LIMIT of their own.
    batch: |b, n| format!("{} WHERE {} LIMIT {n}", b.head, b.condition),
    scratch: ScratchPlace::Server,
    sqitch: Some(SqitchRegistry {
        engine: "mysql",
        beside_target: true,
        file: false,
    }),
    // Every user may open information_schema.
    admin_database: Some("information_schema"),
    squash: &crate::squash::mysql::MySqlDump,
    transfer: crate::transfer::mysql::open,
};
