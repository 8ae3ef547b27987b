//! MariaDB and MySQL through sqlx. DDL commits implicitly here, so the runner journals a
//! migration statement by statement (see `runner::execute`). The run lock is `GET_LOCK`,
//! named after the database because MySQL lock names are server-wide; it is held by the
//! session and released when the connection closes.
//!
//! The connection is set up to behave like the `mariadb`/`mysql` client: sqlx's defaults
//! that change the session (`PIPES_AS_CONCAT`, `NO_ENGINE_SUBSTITUTION`, `time_zone`, the
//! extra `SET NAMES`) are switched off, and the `IGNORE_SPACE` its handshake adds to
//! `sql_mode` is taken out, so scripts see the server's own settings unless `init_sql` says
//! otherwise.

use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::{AssertSqlSafe, Connection, Row};
use tokio::runtime::Runtime;

use super::{ConnectOptions, DbError, Engine, LockHolder, Param, RowCount, Security, TableSize};
use crate::history::HistoryRow;

use crate::target::{DatabaseUrl, EngineKind};

pub(crate) fn connect(
    url: &DatabaseUrl,
    _opts: &ConnectOptions,
) -> Result<Box<dyn Engine>, DbError> {
    let (rt, mut conn, database) = open(url)?;
    let fresh = rt
        .block_on(
            sqlx::raw_sql(AssertSqlSafe(format!(
                "{CLIENT_SQL_MODE}; SHOW SESSION VARIABLES WHERE Variable_name IN ({})",
                RESET_VARIABLES
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
            .fetch_all(&mut conn),
        )
        .map_err(my_err)?;
    let fresh = super::rows::as_text(&fresh).map_err(my_err)?;
    // Lock names are at most 64 characters.
    let lock_name: String = format!("cutover:{database}").chars().take(64).collect();
    Ok(Box::new(MySql {
        rt,
        conn,
        lock_name,
        reset: reset_sql(&database, &fresh),
        pending_reset: None,
        notices: None,
    }))
}

/// A runtime, a connection to `url` and the name of its database (the engine's, and the
/// transfer's own connections).
pub(crate) fn open(url: &DatabaseUrl) -> Result<(Runtime, MySqlConnection, String), DbError> {
    let raw = url.expose();
    // sqlx knows only the mysql:// scheme; mariadb:// means the same server protocol.
    let raw = match raw.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql://{rest}"),
        _ => raw.to_string(),
    };
    let options = MySqlConnectOptions::from_str(&raw)
        .map_err(|e| DbError::new(url.scrub(&e.to_string())))?
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        // The handshake already sets the connection's character set to utf8mb4.
        .set_names(false);
    let database = options.get_database().unwrap_or_default().to_string();
    if database.is_empty() {
        return Err(DbError::new(format!(
            "no database in {url}; add it as the path, e.g. mysql://user@host/app"
        )));
    }
    let rt = super::runtime()?;
    let conn = rt
        .block_on(MySqlConnection::connect_with(&options))
        .map_err(|e| {
            let mut err = my_err(e);
            err.message = url.scrub(&err.message);
            err
        })?;
    Ok((rt, conn, database))
}

/// sqlx asks for the `CLIENT_IGNORE_SPACE` capability, which adds `IGNORE_SPACE` to the
/// session's `sql_mode`: function names become reserved words (`CREATE TABLE count (…)`
/// fails) and every trigger, view and routine created records the mode. The mysql and
/// mariadb clients and the other tools' drivers do not ask for it, so it is taken out
/// again unless the server's own `sql_mode` has it.
const CLIENT_SQL_MODE: &str = "SET SESSION sql_mode = IF(FIND_IN_SET('IGNORE_SPACE', @@GLOBAL.sql_mode), \
     @@SESSION.sql_mode, TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',IGNORE_SPACE,', ',')))";

/// The session variables a migration may plausibly change and the next must not inherit.
const RESET_VARIABLES: &[&str] = &[
    "sql_mode",
    "time_zone",
    "foreign_key_checks",
    "unique_checks",
    "max_statement_time",
    "sql_safe_updates",
    "character_set_client",
    "character_set_results",
    "collation_connection",
    "sql_notes",
];

/// `SET SESSION` of every variable as the fresh connection had it, and `USE` of its
/// database (a migration's `USE` would send the next one elsewhere).
fn reset_sql(database: &str, fresh: &[Vec<Option<String>>]) -> String {
    let mut sets = Vec::new();
    for row in fresh {
        let (Some(name), Some(value)) = (&row[0], &row[1]) else {
            continue;
        };
        let literal = if value.parse::<f64>().is_ok() || value == "ON" || value == "OFF" {
            value.clone()
        } else {
            format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
        };
        sets.push(format!("{name} = {literal}"));
    }
    let mut sql = format!("USE `{}`", database.replace('`', "``"));
    if !sets.is_empty() {
        sql = format!("SET SESSION {}; {sql}", sets.join(", "));
    }
    sql
}

struct MySql {
    rt: Runtime,
    conn: MySqlConnection,
    lock_name: String,
    /// Puts the session back as it was when connected (see `reset_sql`).
    reset: String,
    /// That reset and the baseline, sent with the next statement `run` sends (one round
    /// trip less per migration); every other call sends it on its own first.
    pending_reset: Option<String>,
    /// Warnings collected since the last `take_notices`, when asked for.
    notices: Option<Vec<String>>,
}

pub(crate) fn my_err(e: sqlx::Error) -> DbError {
    let Some(db) = e.as_database_error() else {
        return DbError::new(e.to_string());
    };
    let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() else {
        return DbError::new(db.message().to_string());
    };
    // The same shape as the mysql client: ERROR 1146 (42S02): Table 'x.y' doesn't exist
    DbError::new(format!(
        "ERROR {} ({}): {}",
        my.number(),
        my.code().unwrap_or("HY000"),
        my.message()
    ))
}

impl MySql {
    /// Send `sql` (one or more statements), after a deferred reset in the same round trip.
    fn run(&mut self, sql: &str) -> Result<(), DbError> {
        let sql = match self.pending_reset.take() {
            Some(reset) => format!("{reset};\n{sql}"),
            None => sql.to_string(),
        };
        self.rt
            .block_on(sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut self.conn))
            .map(|_| ())
            .map_err(my_err)
    }

    /// Send a deferred reset on its own, before a call that does not go through `run`.
    fn flush_reset(&mut self) -> Result<(), DbError> {
        match self.pending_reset.take() {
            Some(reset) => self.run(&reset),
            None => Ok(()),
        }
    }

    /// `SHOW WARNINGS` as `Level code: message` lines.
    fn warnings(&mut self) -> Vec<(i64, String)> {
        let rows = self
            .rt
            .block_on(sqlx::raw_sql(AssertSqlSafe("SHOW WARNINGS")).fetch_all(&mut self.conn));
        let Ok(rows) = rows else {
            return Vec::new();
        };
        super::rows::as_text(&rows)
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let field = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                let code = field(1).parse().unwrap_or(0);
                (code, format!("{} {}: {}", field(0), field(1), field(2)))
            })
            .collect()
    }
}

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS cutover_migrations (
    version VARCHAR(255) NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    direction VARCHAR(8) NOT NULL DEFAULT 'up',
    applied_at DATETIME(6) NOT NULL,
    duration_ms BIGINT NOT NULL,
    applied_by VARCHAR(255) NOT NULL,
    run_id VARCHAR(64) NOT NULL,
    failed_statement BIGINT NULL,
    failed_line BIGINT NULL,
    failed_file TEXT NULL,
    error TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

impl Engine for MySql {
    fn kind(&self) -> EngineKind {
        EngineKind::MySql
    }

    /// Only plain data statements are known to stay inside a transaction; anything else
    /// (DDL, `CALL`, `SET`, executable comments, …) is treated as committing on its own.
    fn commits_implicitly(&self, sql: &str) -> bool {
        let word = sql
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        !["INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT"]
            .iter()
            .any(|dml| word.eq_ignore_ascii_case(dml))
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        self.flush_reset()?;
        self.rt
            .block_on(sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut self.conn))
            .map_err(my_err)
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.run(sql)?;
        if self.notices.is_some() {
            let found = self.warnings();
            if let Some(kept) = self.notices.as_mut() {
                kept.extend(found.into_iter().map(|(_, text)| text));
            }
        }
        Ok(())
    }

    fn execute_bound(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        self.flush_reset()?;
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in params {
            q = match p {
                Param::Text(t) => q.bind(t.clone()),
                Param::Int(i) => q.bind(*i),
            };
        }
        self.rt
            .block_on(q.execute(&mut self.conn))
            .map(|r| r.rows_affected())
            .map_err(my_err)
    }

    fn reset_session(&mut self, baseline: &[String]) -> Result<(), DbError> {
        let mut sql = self.reset.clone();
        for s in baseline {
            sql.push_str(";\n");
            sql.push_str(s);
        }
        self.pending_reset = Some(sql);
        Ok(())
    }

    fn collect_notices(&mut self, on: bool) {
        self.notices = on.then(Vec::new);
    }

    fn take_notices(&mut self) -> Vec<String> {
        self.notices
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Warning 1196: "Some non-transactional changed tables couldn't be rolled back".
    fn rollback_kept_changes(&mut self) -> bool {
        self.warnings().iter().any(|(code, _)| *code == 1196)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        self.flush_reset()?;
        let rows = self
            .rt
            .block_on(sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut self.conn))
            .map_err(my_err)?;
        super::rows::as_text(&rows).map_err(my_err)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.run("BEGIN")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.run("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.run("ROLLBACK")
    }

    fn try_lock(&mut self) -> Result<bool, DbError> {
        self.flush_reset()?;
        let got: Option<i64> = self
            .rt
            .block_on(
                sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
                    .bind(&self.lock_name)
                    .fetch_one(&mut self.conn),
            )
            .map_err(my_err)?;
        Ok(got == Some(1))
    }

    fn lock_holder(&mut self) -> Result<Option<LockHolder>, DbError> {
        self.flush_reset()?;
        // Everything as text: `ID` is a signed BIGINT on MariaDB and `TIME` an INT, which
        // the typed getters refused (the message said "connection 0"). The lock's owner is
        // known even when PROCESSLIST hides its row (no PROCESS privilege).
        let row = self
            .rt
            .block_on(
                sqlx::query(
                    "SELECT CAST(l.id AS CHAR), p.USER, p.HOST, p.COMMAND, CAST(p.TIME AS CHAR)
                     FROM (SELECT IS_USED_LOCK(?) AS id) l
                     LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id
                     WHERE l.id IS NOT NULL",
                )
                .bind(&self.lock_name)
                .fetch_optional(&mut self.conn),
            )
            .map_err(my_err)?;
        Ok(row.map(|r| {
            let get = |i: usize| r.try_get::<Option<String>, _>(i).ok().flatten();
            LockHolder(describe_holder(
                &get(0).unwrap_or_else(|| "?".into()),
                get(1).as_deref(),
                get(2).as_deref(),
                get(3).as_deref(),
                get(4).as_deref(),
            ))
        }))
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        // GET_LOCK names are server-wide: no session setting matters, and a failed reset
        // must not keep the lock.
        self.rt
            .block_on(
                sqlx::query("SELECT RELEASE_LOCK(?)")
                    .bind(&self.lock_name)
                    .execute(&mut self.conn),
            )
            .map(|_| ())
            .map_err(my_err)
    }

    fn history_exists(&mut self) -> Result<bool, DbError> {
        self.flush_reset()?;
        let n: i64 = self
            .rt
            .block_on(
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.TABLES
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cutover_migrations'",
                )
                .fetch_one(&mut self.conn),
            )
            .map_err(my_err)?;
        Ok(n > 0)
    }

    fn ensure_history(&mut self) -> Result<(), DbError> {
        self.run(CREATE_HISTORY)
    }

    fn load_history(&mut self) -> Result<Vec<HistoryRow>, DbError> {
        self.flush_reset()?;
        let rows = self
            .rt
            .block_on(
                sqlx::query(
                    "SELECT version, name, checksum, status, direction,
                            DATE_FORMAT(applied_at, '%Y-%m-%dT%H:%i:%s.%fZ'),
                            duration_ms, applied_by, run_id, failed_statement, failed_line,
                            failed_file, error
                     FROM cutover_migrations",
                )
                .fetch_all(&mut self.conn),
            )
            .map_err(my_err)?;
        rows.iter()
            .map(super::rows::history)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(my_err)
    }

    fn upsert_history(&mut self, row: &HistoryRow) -> Result<(), DbError> {
        self.flush_reset()?;
        // DATETIME has no zone: store the UTC wall time.
        let at = row.applied_at.trim_end_matches('Z').replace('T', " ");
        self.rt
            .block_on(
                sqlx::query(
                    "INSERT INTO cutover_migrations (version, name, checksum, status, direction,
                         applied_at, duration_ms, applied_by, run_id, failed_statement,
                         failed_line, failed_file, error)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                     ON DUPLICATE KEY UPDATE name = VALUES(name), checksum = VALUES(checksum),
                         status = VALUES(status), direction = VALUES(direction),
                         applied_at = VALUES(applied_at), duration_ms = VALUES(duration_ms),
                         applied_by = VALUES(applied_by), run_id = VALUES(run_id),
                         failed_statement = VALUES(failed_statement),
                         failed_line = VALUES(failed_line), failed_file = VALUES(failed_file),
                         error = VALUES(error)",
                )
                .bind(&row.version)
                .bind(&row.name)
                .bind(&row.checksum)
                .bind(row.status.as_str())
                .bind(row.direction.as_str())
                .bind(at)
                .bind(row.duration_ms)
                .bind(&row.applied_by)
                .bind(&row.run_id)
                .bind(row.failed_statement)
                .bind(row.failed_line)
                .bind(&row.failed_file)
                .bind(&row.error)
                .execute(&mut self.conn),
            )
            .map(|_| ())
            .map_err(my_err)
    }

    fn delete_history(&mut self, version: &str) -> Result<bool, DbError> {
        self.flush_reset()?;
        self.rt
            .block_on(
                sqlx::query("DELETE FROM cutover_migrations WHERE version = ?")
                    .bind(version)
                    .execute(&mut self.conn),
            )
            .map(|r| r.rows_affected() > 0)
            .map_err(my_err)
    }

    fn database_size(&mut self) -> Result<u64, DbError> {
        self.flush_reset()?;
        let rows = self.query(
            "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        )?;
        Ok(super::first_number(&rows))
    }

    fn interrupted_restore(&mut self) -> Result<Option<String>, DbError> {
        self.flush_reset()?;
        let exists = self.query(&format!(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{}'",
            super::RESTORE_MARKER
        ))?;
        if super::first_number(&exists) == 0 {
            return Ok(None);
        }
        let rows = self.query(&format!(
            "SELECT file, started_at, started_by FROM `{}`",
            super::RESTORE_MARKER
        ))?;
        let field = |i: usize| {
            rows.first()
                .and_then(|r| r[i].clone())
                .unwrap_or_else(|| "?".into())
        };
        Ok(Some(format!(
            "a restore of {} started at {} by {}",
            field(0),
            field(1),
            field(2)
        )))
    }

    fn security(&mut self) -> Result<Security, DbError> {
        self.flush_reset()?;
        // GRANTEE is written 'user'@'host'.
        let superuser = self.query(
            "SELECT count(*) FROM information_schema.USER_PRIVILEGES
             WHERE PRIVILEGE_TYPE = 'SUPER'
               AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',
                                    SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
        )?;
        let tls = self.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")?;
        let open = self.query(
            "SELECT CONCAT(GRANTEE, ' ', PRIVILEGE_TYPE) FROM information_schema.SCHEMA_PRIVILEGES
             WHERE GRANTEE LIKE '''''@%' AND TABLE_SCHEMA = DATABASE()
               AND PRIVILEGE_TYPE IN ('INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER')",
        )?;
        Ok(Security {
            superuser: superuser
                .first()
                .and_then(|r| r[0].as_deref())
                .map(|n| n != "0"),
            tls: Some(
                tls.first()
                    .and_then(|r| r[1].as_deref())
                    .is_some_and(|c| !c.is_empty()),
            ),
            open_to_all: open.into_iter().filter_map(|r| r[0].clone()).collect(),
        })
    }

    fn table_sizes(&mut self, limit: usize) -> Result<Vec<TableSize>, DbError> {
        self.flush_reset()?;
        let rows = self.query(&format!(
            "SELECT TABLE_NAME, TABLE_ROWS, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0), ENGINE
             FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
             ORDER BY 3 DESC, 1 LIMIT {limit}"
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| TableSize {
                table: r[0].clone().unwrap_or_default(),
                rows: table_rows(r[1].as_deref(), r[3].as_deref().unwrap_or("?")),
                bytes: r[2].as_deref().and_then(|v| v.parse().ok()),
            })
            .collect())
    }
}

/// `TABLE_ROWS` as what it is: the count the engine keeps (MyISAM, Aria, MEMORY), or an
/// estimate (InnoDB samples pages, and its figure can be far off on a small or fresh table).
fn table_rows(value: Option<&str>, engine: &str) -> RowCount {
    let exact = ["MyISAM", "Aria", "MEMORY"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(engine));
    match value.and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if exact => RowCount::Exact(n),
        Some(n) => RowCount::About {
            rows: n,
            source: format!("information_schema.TABLES.TABLE_ROWS, {engine}'s estimate"),
        },
        None => RowCount::Unknown {
            why: format!("the server keeps no row count for {engine} tables"),
        },
    }
}

/// `connection 42 (user app from 10.0.0.7:51234, idle for 3s)`. `PROCESSLIST.HOST` is
/// `host:port` over TCP and a bare `localhost` over the Unix socket, which says nothing of
/// the client's host; an empty host or a hidden row is said in words too.
fn describe_holder(
    id: &str,
    user: Option<&str>,
    host: Option<&str>,
    command: Option<&str>,
    secs: Option<&str>,
) -> String {
    let Some(user) = user else {
        return format!(
            "connection {id} (its user and host need the PROCESS privilege to be seen)"
        );
    };
    let from = match host.unwrap_or("") {
        "" => "client host not reported".to_string(),
        h if h.contains(':') => format!("from {h}"),
        _ => "over a Unix socket on the database server (client host unknown)".to_string(),
    };
    let doing = match command.unwrap_or("") {
        "Sleep" => "idle".to_string(),
        "Query" => "running a statement".to_string(),
        other => format!("in command {other}"),
    };
    format!(
        "connection {id} (user {user} {from}, {doing} for {}s)",
        secs.unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_says_when_the_host_is_unknown() {
        let tcp = describe_holder(
            "42",
            Some("app"),
            Some("10.0.0.7:51234"),
            Some("Sleep"),
            Some("3"),
        );
        assert_eq!(
            tcp,
            "connection 42 (user app from 10.0.0.7:51234, idle for 3s)"
        );
        let socket = describe_holder(
            "42",
            Some("root"),
            Some("localhost"),
            Some("Query"),
            Some("1"),
        );
        assert_eq!(
            socket,
            "connection 42 (user root over a Unix socket on the database server (client host \
             unknown), running a statement for 1s)"
        );
        let empty = describe_holder("7", Some("root"), Some(""), Some("Sleep"), Some("0"));
        assert!(empty.contains("client host not reported"), "{empty}");
        let hidden = describe_holder("7", None, None, None, None);
        assert!(hidden.contains("PROCESS privilege"), "{hidden}");
    }

    #[test]
    fn table_rows_are_estimates_for_innodb() {
        assert_eq!(
            table_rows(Some("0"), "InnoDB").to_string(),
            "about 0 rows (information_schema.TABLES.TABLE_ROWS, InnoDB's estimate)"
        );
        assert_eq!(table_rows(Some("4"), "Aria"), RowCount::Exact(4));
    }
}
