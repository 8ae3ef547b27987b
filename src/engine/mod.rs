//! The engine trait: everything cutover asks of a database, and one module per database
//! behind it. The rest of the program holds a `Box<dyn Engine>` and never asks which one.
//!
//! The trait is synchronous. The server drivers (sqlx) are async, so their modules drive a
//! private single-threaded tokio runtime; a migration run is one sequential conversation
//! with one connection, and a synchronous core keeps the runner, locks and progress simple.
//!
//! What differs by engine beyond the trait (dialect, capabilities, introspection, dumps,
//! scratch databases) is declared in the `driver` table, which is also where an engine is
//! added (see `driver.rs`).

pub(crate) mod mysql;
mod notices;
pub(crate) mod postgres;
mod postgres_batch;
mod rows;
pub(crate) mod sqlite;

use std::time::Duration;

use crate::history::HistoryRow;
use crate::sql::Dialect;
use crate::target::{DatabaseUrl, EngineKind};

/// An error reported by the database or its driver, with what the server said.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    /// The database's own message (and SQLSTATE/code where there is one).
    pub message: String,
    /// 1-based character position of the error in the statement, when the server says.
    pub position: Option<usize>,
    /// Extra lines the server sent (PostgreSQL DETAIL/HINT/WHERE).
    pub detail: Option<String>,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            position: None,
            detail: None,
        }
    }

    /// Whether the server said the database named in the URL does not exist (PostgreSQL
    /// SQLSTATE 3D000, MariaDB/MySQL error 1049), as the engines format their errors.
    pub fn is_unknown_database(&self) -> bool {
        self.message.contains("(SQLSTATE 3D000)") || self.message.starts_with("ERROR 1049 ")
    }
}

/// A value bound to a `?` placeholder of cutover's own SQL (`Engine::execute_bound`).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(Option<String>),
    Int(i64),
}

impl Param {
    pub fn text(s: impl Into<String>) -> Param {
        Param::Text(Some(s.into()))
    }

    pub fn opt(s: Option<impl Into<String>>) -> Param {
        Param::Text(s.map(Into::into))
    }
}

/// How to open a connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Statements run on every new connection before anything else (`init_sql`).
    pub init_sql: Vec<String>,
    /// Do not create anything (a SQLite file that does not exist stays absent; it reads as
    /// an empty database). Used by `status` and `--dry-run`.
    pub read_only: bool,
    /// Identifies this run to other sessions (PostgreSQL `application_name`, lock files).
    pub label: String,
    /// A SQLite file that does not exist yet is created only by `Engine::materialize`
    /// (until then it reads as empty), so a command that fails early leaves no file.
    pub defer_create: bool,
}

/// What differs between engines, declared instead of hidden behind no-ops.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// DDL takes part in transactions (PostgreSQL, SQLite); on MySQL/MariaDB it commits
    /// implicitly, so a migration is journaled statement by statement instead.
    pub transactional_ddl: bool,
    /// How the run lock is taken, for messages.
    pub lock_kind: &'static str,
}

/// What the security checks need to know about a session. `None`: does not apply.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Connected as a superuser (PostgreSQL `rolsuper`, MySQL `SUPER`).
    pub superuser: Option<bool>,
    /// The connection is encrypted.
    pub tls: Option<bool>,
    /// What anyone may write: tables PUBLIC can change (PostgreSQL), anonymous accounts'
    /// write grants (MySQL), a world-writable database file (SQLite).
    pub open_to_all: Vec<String>,
}

/// One table's size.
#[derive(Debug, Clone)]
pub struct TableSize {
    pub table: String,
    pub rows: RowCount,
    pub bytes: Option<i64>,
}

/// How many rows a table holds, as far as the engine can say cheaply. An estimate is never
/// shown as a count: a catalog's figure lags the table (PostgreSQL's is -1, "no estimate",
/// until the first VACUUM or ANALYZE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowCount {
    /// Counted.
    Exact(u64),
    /// The catalog's estimate, and where it comes from.
    About { rows: u64, source: String },
    /// The catalog holds no estimate, and why.
    Unknown { why: String },
}

impl RowCount {
    /// The figure alone, for a table cell: `4`, `about 4`, `unknown`.
    pub fn short(&self) -> String {
        match self {
            RowCount::Exact(n) => n.to_string(),
            RowCount::About { rows, .. } => format!("about {rows}"),
            RowCount::Unknown { .. } => "unknown".into(),
        }
    }

    /// Where the figure comes from: `counted`, the estimate's source, or why it is unknown.
    pub fn source(&self) -> &str {
        match self {
            RowCount::Exact(_) => "counted",
            RowCount::About { source, .. } => source,
            RowCount::Unknown { why } => why,
        }
    }

    /// The number to rank tables by (0 when unknown).
    pub fn rank(&self) -> u64 {
        match self {
            RowCount::Exact(n) | RowCount::About { rows: n, .. } => *n,
            RowCount::Unknown { .. } => 0,
        }
    }
}

impl std::fmt::Display for RowCount {
    /// `1 row`, `about 4 rows (pg_class.reltuples, …)`, `row count unknown (…)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = |n: u64| {
            if n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows")
            }
        };
        match self {
            RowCount::Exact(n) => f.write_str(&rows(*n)),
            RowCount::About { rows: n, source } => write!(f, "about {} ({source})", rows(*n)),
            RowCount::Unknown { why } => write!(f, "row count unknown ({why})"),
        }
    }
}

/// Who holds the run lock, as far as the database can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder(pub String);

/// One database connection and everything cutover does with it.
pub trait Engine {
    /// Which engine this is; everything that differs by engine is in its `driver` row.
    fn kind(&self) -> EngineKind;

    /// The SQL dialect scripts for this engine are read in.
    fn dialect(&self) -> Dialect {
        crate::driver::of(self.kind()).dialect
    }

    /// What this engine can and cannot do.
    fn capabilities(&self) -> Capabilities {
        crate::driver::of(self.kind()).capabilities
    }

    /// The server's version string (`15.20`, `10.11.19-MariaDB`, `3.46.0`).
    fn server_version(&mut self) -> Result<String, DbError>;

    /// Run one statement (no result rows expected; rows are discarded).
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Run a script's statements in order inside a transaction the caller holds, in as
    /// few round trips as the engine allows (a one-transaction deploy). A failure names
    /// the index of the statement that failed, with the error as `execute` would give it
    /// for that statement alone.
    fn execute_all(&mut self, statements: &[&str]) -> Result<(), (usize, DbError)> {
        for (i, sql) in statements.iter().enumerate() {
            self.execute(sql).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// Whether `sql` may commit on its own (DDL on MySQL) and so cannot share a transaction
    /// with the history row. Engines with transactional DDL never ask.
    fn commits_implicitly(&self, _sql: &str) -> bool {
        true
    }

    /// Run one query and return its rows as text (`None` for NULL), for checks and tests.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError>;

    /// Start a transaction.
    fn begin(&mut self) -> Result<(), DbError>;
    /// Commit the open transaction.
    fn commit(&mut self) -> Result<(), DbError>;
    /// Roll back the open transaction; harmless when none is open.
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Whether the last rollback left changes behind: tables that are not transactional
    /// (MariaDB/MySQL MyISAM or Aria, warning 1196) keep what was written to them.
    fn rollback_kept_changes(&mut self) -> bool {
        false
    }

    /// Run one of cutover's own statements with `?` placeholders bound to `params`, never
    /// with values spliced into the text. Returns the number of rows changed.
    fn execute_bound(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError>;

    /// Put the session's settings back to where a fresh connection starts, then run
    /// `baseline` (`init_sql`, timeouts), so one migration's `SET` cannot leak into the
    /// next. An engine may defer the work to the next statement to save a round trip.
    fn reset_session(&mut self, baseline: &[String]) -> Result<(), DbError> {
        for sql in baseline {
            self.execute(sql)?;
        }
        Ok(())
    }

    /// A deferred SQLite file that another process created meanwhile: use it from now on
    /// (called after waiting for the run lock, before reading the history).
    fn attach_if_created(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// Called once `init_sql` has run: an engine reads what the session's settings decide
    /// (PostgreSQL: the current schema, which holds the history and names the run lock).
    fn settle(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// Create the database if it exists only in name so far (a SQLite file opened with
    /// `ConnectOptions::defer_create`); a no-op elsewhere.
    fn materialize(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// What the server said besides results since the last call: PostgreSQL notices
    /// (`RAISE NOTICE`), MariaDB/MySQL warnings. Empty unless `collect_notices(true)`.
    fn take_notices(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Start or stop collecting notices (they cost a round trip per statement on MySQL).
    fn collect_notices(&mut self, _on: bool) {}

    /// Indexes left invalid by a failed `CREATE INDEX CONCURRENTLY` (PostgreSQL), as
    /// schema-qualified names.
    fn invalid_indexes(&mut self) -> Result<Vec<String>, DbError> {
        Ok(Vec::new())
    }

    /// Try once to take the run lock, held until `unlock` or the connection closes.
    fn try_lock(&mut self) -> Result<bool, DbError>;
    /// Describe the session holding the run lock, if it can be seen.
    fn lock_holder(&mut self) -> Result<Option<LockHolder>, DbError>;
    /// Release the run lock.
    fn unlock(&mut self) -> Result<(), DbError>;

    /// Whether the history table exists (without creating it).
    fn history_exists(&mut self) -> Result<bool, DbError>;
    /// Create the history table if it does not exist (and upgrade its columns if needed).
    fn ensure_history(&mut self) -> Result<(), DbError>;
    /// Every history row, in no particular order.
    fn load_history(&mut self) -> Result<Vec<HistoryRow>, DbError>;
    /// Insert or replace the row for `row.version`.
    fn upsert_history(&mut self, row: &HistoryRow) -> Result<(), DbError>;
    /// Insert or replace several rows at once, in the caller's transaction (a
    /// one-transaction deploy writes its history rows together before it commits).
    fn upsert_history_many(&mut self, rows: &[HistoryRow]) -> Result<(), DbError> {
        rows.iter().try_for_each(|row| self.upsert_history(row))
    }
    /// Delete the row for `version`; returns whether one existed.
    fn delete_history(&mut self, version: &str) -> Result<bool, DbError>;

    /// The session setting that bounds every statement's run time, where the engine has
    /// one (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`).
    fn statement_timeout_sql(&self, limit: Duration) -> Option<String> {
        (crate::driver::of(self.kind()).statement_timeout)(limit)
    }

    /// A restore that started and did not finish (`file`, when, by whom), for engines whose
    /// restore is not one transaction.
    fn interrupted_restore(&mut self) -> Result<Option<String>, DbError> {
        Ok(None)
    }

    /// The database's size on disk in bytes, to estimate a backup's size.
    fn database_size(&mut self) -> Result<u64, DbError>;

    /// How this session is connected, for the security checks.
    fn security(&mut self) -> Result<Security, DbError>;

    /// The largest tables, biggest first (from catalog statistics where the engine keeps
    /// them, so this stays cheap on big tables).
    fn table_sizes(&mut self, limit: usize) -> Result<Vec<TableSize>, DbError>;

    /// Create another database on this server (scratch databases; servers only).
    fn create_database(&mut self, name: &str) -> Result<(), DbError> {
        self.execute(&format!("CREATE DATABASE {name}"))
    }

    /// Drop another database on this server, even if sessions are still connected to it.
    fn drop_database(&mut self, name: &str) -> Result<(), DbError> {
        self.execute(&format!("DROP DATABASE IF EXISTS {name}"))
    }
}

/// Open a connection to `url` (by its engine's `driver` row) and run `init_sql` on it.
pub fn connect(url: &DatabaseUrl, opts: &ConnectOptions) -> Result<Box<dyn Engine>, DbError> {
    let mut engine = (crate::driver::of(url.kind()).connect)(url, opts)?;
    for sql in &opts.init_sql {
        engine
            .execute(sql)
            .map_err(|e| DbError::new(format!("init_sql `{sql}` failed: {}", e.message)))?;
    }
    engine.settle()?;
    Ok(engine)
}

/// How long to wait between two attempts at a busy lock.
pub(crate) const LOCK_POLL: Duration = Duration::from_millis(100);

pub use crate::tables::{HISTORY_TABLE, RESTORE_MARKER};

/// The single-threaded runtime a server engine drives its async driver with.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, DbError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::new(format!("cannot start the I/O runtime: {e}")))
}

/// The first value of the first row as a number (0 when absent).
fn first_number(rows: &[Vec<Option<String>>]) -> u64 {
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
