//! PostgreSQL through sqlx. The run lock is a session-level advisory lock, so it survives
//! the per-migration transactions and dies with the connection. Statements go through the
//! simple query protocol (`raw_sql`), as psql sends them, so any statement a file holds
//! runs unchanged.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgErrorPosition};
use sqlx::{AssertSqlSafe, Connection, Row};
use tokio::runtime::Runtime;

use super::{ConnectOptions, DbError, Engine, LockHolder, Param, RowCount, Security, TableSize};
use crate::history::HistoryRow;

use crate::target::{DatabaseUrl, EngineKind};

/// The advisory lock key: "cutover" in ASCII, split so both 32-bit halves stay positive
/// (`pg_locks` shows them as `classid` and `objid`).
const LOCK_HIGH: i64 = 0x2c75_7430;
const LOCK_LOW: i64 = 0x7665_7200;

pub(crate) fn connect(
    url: &DatabaseUrl,
    opts: &ConnectOptions,
) -> Result<Box<dyn Engine>, DbError> {
    let (rt, conn) = open(url, &opts.label)?;
    Ok(Box::new(Postgres {
        rt,
        conn,
        table: "cutover_migrations".into(),
        lock: (LOCK_HIGH, LOCK_LOW),
        pending_reset: None,
        notices: false,
    }))
}

/// A runtime and a connection to `url`, named `label` in `pg_stat_activity` (the engine's,
/// and the transfer's own connections).
pub(crate) fn open(url: &DatabaseUrl, label: &str) -> Result<(Runtime, PgConnection), DbError> {
    let options = PgConnectOptions::from_str(url.expose())
        .map_err(|e| DbError::new(url.scrub(&e.to_string())))?
        .application_name(label);
    let rt = super::runtime()?;
    let conn = rt
        .block_on(PgConnection::connect_with(&options))
        .map_err(|e| connect_err(url, e))?;
    Ok((rt, conn))
}

/// The run lock's key in a schema: the historical key in `public`, so that every cutover
/// excludes every other there; a key of its own in any other schema, so that tenants kept
/// in one database each (a fleet's schema per tenant) are locked one by one.
fn lock_for(schema: &str) -> (i64, i64) {
    if schema == "public" {
        return (LOCK_HIGH, LOCK_LOW);
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(schema.as_bytes());
    let low =
        i64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff);
    (LOCK_HIGH, low)
}

fn connect_err(url: &DatabaseUrl, e: sqlx::Error) -> DbError {
    let mut err = pg_err(e);
    err.message = url.scrub(&err.message);
    err
}

/// `?` placeholders (cutover's own SQL, which has no `?` in literals) as `$1`, `$2`, …
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

struct Postgres {
    rt: Runtime,
    conn: PgConnection,
    /// The history table, qualified with the schema current at connect time, so that a
    /// migration changing `search_path` cannot make cutover lose its history.
    table: String,
    /// The run lock's two halves (`pg_locks` shows them as `classid` and `objid`).
    lock: (i64, i64),
    /// A `RESET ALL` and the baseline, sent with the next statement (one round trip less
    /// per migration: it rides along with the migration's `BEGIN`).
    pending_reset: Option<String>,
    notices: bool,
}

pub(crate) fn pg_err(e: sqlx::Error) -> DbError {
    let Some(db) = e.as_database_error() else {
        return DbError::new(e.to_string());
    };
    let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() else {
        return DbError::new(db.message().to_string());
    };
    let extra: Vec<String> = [
        pg.detail().map(|d| format!("DETAIL: {d}")),
        pg.hint().map(|h| format!("HINT: {h}")),
        pg.r#where().map(|w| format!("CONTEXT: {w}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    DbError {
        message: format!("ERROR: {} (SQLSTATE {})", pg.message(), pg.code()),
        position: match pg.position() {
            Some(PgErrorPosition::Original(p)) => Some(p),
            _ => None,
        },
        detail: (!extra.is_empty()).then(|| extra.join("\n")),
    }
}

impl Postgres {
    fn lock_key(&self) -> i64 {
        (self.lock.0 << 32) | self.lock.1
    }

    fn run(&mut self, sql: &str) -> Result<(), DbError> {
        self.flush_reset()?;
        self.rt
            .block_on(sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut self.conn))
            .map(|_| ())
            .map_err(pg_err)
    }

    /// Send a deferred reset on its own (before a statement whose errors must point into
    /// its own text).
    fn flush_reset(&mut self) -> Result<(), DbError> {
        match self.pending_reset.take() {
            Some(reset) => self
                .rt
                .block_on(sqlx::raw_sql(AssertSqlSafe(reset)).execute(&mut self.conn))
                .map(|_| ())
                .map_err(pg_err),
            None => Ok(()),
        }
    }
}

impl Engine for Postgres {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    /// The schema current once `init_sql` ran (a tenant's `search_path`) holds the history
    /// and names the run lock.
    fn settle(&mut self) -> Result<(), DbError> {
        let schema: String = self
            .rt
            .block_on(sqlx::query_scalar("SELECT current_schema()").fetch_one(&mut self.conn))
            .map_err(pg_err)?;
        self.table = format!("{}.cutover_migrations", quote_ident(&schema));
        self.lock = lock_for(&schema);
        Ok(())
    }

    fn server_version(&mut self) -> Result<String, DbError> {
        self.rt
            .block_on(sqlx::query_scalar("SHOW server_version").fetch_one(&mut self.conn))
            .map_err(pg_err)
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.run(sql)
    }

    fn execute_all(&mut self, statements: &[&str]) -> Result<(), (usize, DbError)> {
        let reset = self.pending_reset.take();
        super::postgres_batch::execute_all(&self.rt, &mut self.conn, reset.as_deref(), statements)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        self.flush_reset()?;
        let rows = self
            .rt
            .block_on(sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut self.conn))
            .map_err(pg_err)?;
        super::rows::as_text(&rows).map_err(pg_err)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        // The simple query protocol runs `RESET ALL; …; BEGIN` in one round trip.
        let sql = match self.pending_reset.take() {
            Some(reset) => format!("{reset}; BEGIN"),
            None => "BEGIN".to_string(),
        };
        self.rt
            .block_on(sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut self.conn))
            .map(|_| ())
            .map_err(pg_err)
    }

    fn execute_bound(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        self.flush_reset()?;
        let sql = dollar_placeholders(sql);
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
            .map_err(pg_err)
    }

    fn reset_session(&mut self, baseline: &[String]) -> Result<(), DbError> {
        let mut sql = "RESET ALL".to_string();
        for s in baseline {
            sql.push_str(";\n");
            sql.push_str(s);
        }
        self.pending_reset = Some(sql);
        Ok(())
    }

    fn collect_notices(&mut self, on: bool) {
        self.notices = on;
        super::notices::collect(on);
    }

    fn take_notices(&mut self) -> Vec<String> {
        if self.notices {
            super::notices::take()
        } else {
            Vec::new()
        }
    }

    fn invalid_indexes(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.query(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT i.indisvalid ORDER BY 1",
        )?;
        Ok(rows.into_iter().filter_map(|r| r[0].clone()).collect())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.run("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.run("ROLLBACK")
    }

    fn try_lock(&mut self) -> Result<bool, DbError> {
        self.rt
            .block_on(
                sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(self.lock_key())
                    .fetch_one(&mut self.conn),
            )
            .map_err(pg_err)
    }

    fn lock_holder(&mut self) -> Result<Option<LockHolder>, DbError> {
        // As text: a role without pg_read_all_stats sees NULL for another role's address,
        // port, state and times, and the message says what is not known.
        let row = self
            .rt
            .block_on(
                sqlx::query(
                    "SELECT a.pid::text, a.usename::text, a.application_name, host(a.client_addr),
                            a.client_port::text, a.state,
                            to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                            to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND l.classid::bigint = $1 AND l.objid::bigint = $2
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     LIMIT 1",
                )
                .bind(self.lock.0)
                .bind(self.lock.1)
                .fetch_optional(&mut self.conn),
            )
            .map_err(pg_err)?;
        Ok(row.map(|r| {
            let get = |i: usize| r.try_get::<Option<String>, _>(i).ok().flatten();
            LockHolder(describe_holder(&Session {
                pid: get(0),
                user: get(1),
                application: get(2),
                address: get(3),
                port: get(4),
                state: get(5),
                connected: get(6),
                state_since: get(7),
            }))
        }))
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        self.rt
            .block_on(
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(self.lock_key())
                    .execute(&mut self.conn),
            )
            .map(|_| ())
            .map_err(pg_err)
    }

    fn history_exists(&mut self) -> Result<bool, DbError> {
        self.rt
            .block_on(
                sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(&self.table)
                    .fetch_one(&mut self.conn),
            )
            .map_err(pg_err)
    }

    fn ensure_history(&mut self) -> Result<(), DbError> {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {} (
                version text PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                status text NOT NULL,
                direction text NOT NULL DEFAULT 'up',
                applied_at timestamptz NOT NULL,
                duration_ms bigint NOT NULL,
                applied_by text NOT NULL,
                run_id text NOT NULL,
                failed_statement bigint,
                failed_line bigint,
                failed_file text,
                error text
            )",
            self.table
        );
        self.run(&ddl)
    }

    fn load_history(&mut self) -> Result<Vec<HistoryRow>, DbError> {
        self.flush_reset()?;
        let sql = format!(
            "SELECT version, name, checksum, status, direction,
                    to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                    duration_ms, applied_by, run_id, failed_statement, failed_line, failed_file, error
             FROM {}",
            self.table
        );
        let rows = self
            .rt
            .block_on(sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut self.conn))
            .map_err(pg_err)?;
        rows.iter()
            .map(super::rows::history)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(pg_err)
    }

    fn upsert_history(&mut self, row: &HistoryRow) -> Result<(), DbError> {
        self.upsert_history_many(std::slice::from_ref(row))
    }

    fn upsert_history_many(&mut self, rows: &[HistoryRow]) -> Result<(), DbError> {
        self.flush_reset()?;
        super::postgres_batch::upsert_history_many(&self.rt, &mut self.conn, &self.table, rows)
    }

    fn delete_history(&mut self, version: &str) -> Result<bool, DbError> {
        self.flush_reset()?;
        let sql = format!("DELETE FROM {} WHERE version = $1", self.table);
        self.rt
            .block_on(
                sqlx::query(AssertSqlSafe(sql))
                    .bind(version)
                    .execute(&mut self.conn),
            )
            .map(|r| r.rows_affected() > 0)
            .map_err(pg_err)
    }

    fn drop_database(&mut self, name: &str) -> Result<(), DbError> {
        self.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    }

    fn database_size(&mut self) -> Result<u64, DbError> {
        let rows = self.query("SELECT pg_database_size(current_database())")?;
        Ok(super::first_number(&rows))
    }

    fn security(&mut self) -> Result<Security, DbError> {
        let rows = self.query(
            "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                    (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
        )?;
        let flag = |i: usize| rows.first().and_then(|r| r[i].as_deref()).map(|v| v == "t");
        let open = self.query(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND has_table_privilege('public', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
             ORDER BY 1",
        )?;
        Ok(Security {
            superuser: flag(0),
            tls: flag(1).or(Some(false)),
            open_to_all: open.into_iter().filter_map(|r| r[0].clone()).collect(),
        })
    }

    fn table_sizes(&mut self, limit: usize) -> Result<Vec<TableSize>, DbError> {
        let rows = self.query(&format!(
            "SELECT n.nspname || '.' || c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid),
                    to_char(greatest(s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze)
                            AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
             WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%'
             ORDER BY 3 DESC, 1 LIMIT {limit}"
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| TableSize {
                table: r[0].clone().unwrap_or_default(),
                rows: reltuples(r[1].as_deref(), r[3].as_deref()),
                bytes: r[2].as_deref().and_then(|v| v.parse().ok()),
            })
            .collect())
    }
}

/// `pg_class.reltuples` as what it is: an estimate from the last VACUUM or ANALYZE (`when`,
/// if the statistics say), or none at all (-1) on a table never vacuumed or analyzed.
fn reltuples(value: Option<&str>, when: Option<&str>) -> RowCount {
    match value.and_then(|v| v.parse::<i64>().ok()) {
        Some(n) if n >= 0 => RowCount::About {
            rows: n as u64,
            source: match when {
                Some(t) => format!("pg_class.reltuples, as of the last VACUUM or ANALYZE at {t}"),
                None => "pg_class.reltuples, as of the last VACUUM or ANALYZE".into(),
            },
        },
        _ => RowCount::Unknown {
            why: "never analyzed: pg_class.reltuples is -1 until the first VACUUM or ANALYZE"
                .into(),
        },
    }
}

/// The lock holder's row of `pg_stat_activity`, as text (`None`: NULL or not visible).
#[derive(Default)]
struct Session {
    pid: Option<String>,
    user: Option<String>,
    application: Option<String>,
    address: Option<String>,
    port: Option<String>,
    state: Option<String>,
    connected: Option<String>,
    state_since: Option<String>,
}

/// `psql (PostgreSQL user app from 10.0.0.7, backend pid 81, connected since …, idle since …)`.
/// Nothing is left blank: an unnamed session, a Unix socket (no client address, port -1)
/// and details hidden from this role are each said in words.
fn describe_holder(s: &Session) -> String {
    let unknown = || "?".to_string();
    let who = match s.application.as_deref() {
        Some(app) if !app.is_empty() => app.to_string(),
        _ => "a session with no application name".to_string(),
    };
    let from = match (s.address.as_deref(), s.port.as_deref()) {
        (Some(addr), _) => format!("from {addr}"),
        (None, Some("-1")) => {
            "over a Unix socket on the database server (client host unknown)".to_string()
        }
        (None, Some(_)) => "client host unknown".to_string(),
        (None, None) => "client host not visible to this role".to_string(),
    };
    let mut parts = vec![
        format!(
            "PostgreSQL user {} {from}",
            s.user.clone().unwrap_or_else(unknown)
        ),
        format!("backend pid {}", s.pid.clone().unwrap_or_else(unknown)),
    ];
    if let Some(t) = &s.connected {
        parts.push(format!("connected since {t}"));
    }
    if let (Some(state), Some(t)) = (&s.state, &s.state_since) {
        let doing = match state.as_str() {
            "active" => "running a statement",
            "idle in transaction" => "idle in a transaction",
            other => other,
        };
        parts.push(format!("{doing} since {t}"));
    }
    format!("{who} ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_what_is_not_known() {
        let tcp = Session {
            pid: Some("81".into()),
            user: Some("app".into()),
            application: Some("psql".into()),
            address: Some("10.0.0.7".into()),
            port: Some("5000".into()),
            state: Some("active".into()),
            connected: Some("T1".into()),
            state_since: Some("T2".into()),
        };
        assert_eq!(
            describe_holder(&tcp),
            "psql (PostgreSQL user app from 10.0.0.7, backend pid 81, connected since T1, \
             running a statement since T2)"
        );
        let socket = Session {
            application: Some(String::new()),
            address: None,
            port: Some("-1".into()),
            ..tcp
        };
        assert_eq!(
            describe_holder(&socket),
            "a session with no application name (PostgreSQL user app over a Unix socket on \
             the database server (client host unknown), backend pid 81, connected since T1, \
             running a statement since T2)"
        );
        let hidden = Session {
            pid: Some("9".into()),
            user: Some("other".into()),
            ..Session::default()
        };
        assert_eq!(
            describe_holder(&hidden),
            "a session with no application name (PostgreSQL user other client host not \
             visible to this role, backend pid 9)"
        );
    }

    #[test]
    fn reltuples_is_an_estimate_or_unknown() {
        assert_eq!(
            reltuples(Some("4"), Some("T")).to_string(),
            "about 4 rows (pg_class.reltuples, as of the last VACUUM or ANALYZE at T)"
        );
        assert!(matches!(
            reltuples(Some("-1"), None),
            RowCount::Unknown { .. }
        ));
    }
}
