//! Blockers: the sessions that would block the pending migrations' DDL, found in the
//! preflight before anything changes. A DDL statement waits for every transaction that
//! holds a lock on its table, and every query that arrives after it waits behind it: a long
//! transaction (or one left idle in transaction) turns a 10 ms `ALTER TABLE` into an outage.
//!
//! PostgreSQL: `pg_locks` joined to `pg_stat_activity` names each session, its transaction's
//! age and the table it holds. MariaDB/MySQL: `information_schema.INNODB_TRX` with the
//! process list names long transactions (the tables they hold are not listed there, so any
//! long transaction counts). A session counts when its transaction is older than
//! `guard.blocker_age` and (where the table is known) the table is one the pending
//! migrations name. `guard.blockers` decides: wait for them (up to `guard.blockers_wait`),
//! refuse, or terminate them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::config::{Blockers, Guard};
use crate::engine::{DbError, Engine};

/// One engine's blocker query: rows of session id, user, state, seconds in transaction,
/// table (NULL when unknown) and the session's last query; and how to end a session.
pub struct Query {
    pub sql: &'static str,
    pub terminate: fn(&str) -> String,
}

pub static POSTGRES: Query = Query {
    sql: "SELECT DISTINCT a.pid::text, a.usename::text, a.state, \
          floor(extract(epoch FROM now() - a.xact_start))::bigint::text, \
          c.relname::text, left(a.query, 120) \
          FROM pg_locks l \
          JOIN pg_stat_activity a ON a.pid = l.pid \
          JOIN pg_class c ON c.oid = l.relation \
          WHERE l.locktype = 'relation' AND l.granted AND a.pid <> pg_backend_pid() \
          AND a.datname = current_database() AND a.xact_start IS NOT NULL \
          AND c.relkind IN ('r', 'p', 'm') \
          AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)",
    terminate: |id| format!("SELECT pg_terminate_backend({id})"),
};

/// InnoDB names no table a transaction holds, so a transaction counts when its session
/// uses this database: never one of another database on the same server (a shared server's
/// other applications are not this deploy's to end). A session that reaches this database's
/// tables from another one is missed here, and met by the guard's lock timeout instead.
pub static MYSQL: Query = Query {
    sql: "SELECT CAST(t.trx_mysql_thread_id AS CHAR), p.USER, COALESCE(p.COMMAND, ''), \
          CAST(TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS CHAR), NULL, \
          LEFT(COALESCE(t.trx_query, p.INFO, ''), 120) \
          FROM information_schema.INNODB_TRX t \
          JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
          WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND p.DB = DATABASE()",
    terminate: |id| format!("KILL {id}"),
};

/// A session that would block the migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub id: String,
    pub user: String,
    pub state: String,
    pub age: Duration,
    /// The table it holds a lock on, when the engine says.
    pub table: Option<String>,
    pub query: String,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "session {} ({}, {}, in a transaction for {}s",
            self.id,
            self.user,
            self.state,
            self.age.as_secs()
        )?;
        if let Some(t) = &self.table {
            write!(f, ", holding a lock on {t}")?;
        }
        write!(f, "; last query: {})", self.query.trim())
    }
}

/// The identifiers the migrations' SQL mentions, lowercased: a table they touch is one of
/// them (a word that only looks like a table costs a false alarm, never a missed blocker).
pub fn words(sql: &[&str]) -> HashSet<String> {
    sql.iter()
        .flat_map(|s| s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The sessions that block the tables named in `touched`, by `query`.
pub fn find(
    engine: &mut dyn Engine,
    query: &Query,
    touched: &HashSet<String>,
    min_age: Duration,
) -> Result<Vec<Blocker>, DbError> {
    let mut out: Vec<Blocker> = Vec::new();
    for row in engine.query(query.sql)? {
        let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let age = Duration::from_secs(text(3).parse().unwrap_or(0));
        let table = row.get(4).cloned().flatten();
        let touches = table
            .as_ref()
            .is_none_or(|t| touched.contains(&t.to_lowercase()));
        if age < min_age || !touches {
            continue;
        }
        let b = Blocker {
            id: text(0),
            user: text(1),
            state: text(2),
            age,
            table,
            query: text(5),
        };
        // One line per session: its tables joined.
        match out.iter_mut().find(|o| o.id == b.id) {
            Some(o) => {
                if let (Some(mine), Some(t)) = (&mut o.table, &b.table) {
                    mine.push_str(", ");
                    mine.push_str(t);
                }
            }
            None => out.push(b),
        }
    }
    Ok(out)
}

/// What the policy did about the blockers: lines for the preflight's detail, or why the
/// deploy must not go on.
pub fn handle(
    engine: &mut dyn Engine,
    query: &Query,
    touched: &HashSet<String>,
    guard: &Guard,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<String>, String> {
    let found = find(engine, query, touched, guard.blocker_age)
        .map_err(|e| format!("cannot look for sessions that would block the migrations: {e}"))?;
    if found.is_empty() {
        return Ok(vec![
            "no long transaction holds the tables the migrations touch".into(),
        ]);
    }
    let list = |b: &[Blocker]| {
        b.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    match guard.blockers {
        Blockers::Refuse => Err(refusal(&list(&found), "guard.blockers = \"refuse\"")),
        Blockers::Terminate => {
            let mut lines = Vec::new();
            for b in &found {
                engine
                    .execute(&(query.terminate)(&b.id))
                    .map_err(|e| format!("cannot terminate session {}: {e}", b.id))?;
                let line = format!("terminated {b} (guard.blockers = \"terminate\")");
                warn(line.clone());
                lines.push(line);
            }
            Ok(lines)
        }
        Blockers::Wait => {
            warn(format!(
                "waiting up to {}s for sessions that would block the migrations: {}",
                guard.blockers_wait.as_secs(),
                list(&found)
            ));
            let start = Instant::now();
            let mut now = found;
            while !now.is_empty() {
                if start.elapsed() >= guard.blockers_wait {
                    return Err(refusal(
                        &list(&now),
                        &format!(
                            "still there after guard.blockers_wait = {}s",
                            guard.blockers_wait.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
                now = find(engine, query, touched, guard.blocker_age)
                    .map_err(|e| format!("cannot look for blockers: {e}"))?;
            }
            Ok(vec![format!(
                "waited {:.1}s for the sessions that would have blocked the migrations",
                start.elapsed().as_secs_f64()
            )])
        }
    }
}

fn refusal(list: &str, why: &str) -> String {
    format!(
        "sessions would block the migrations' DDL ({why}): {list}; end them, or set \
         guard.blockers = \"wait\" or \"terminate\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_identifiers_mentioned() {
        let w = words(&[
            "ALTER TABLE \"Orders\" ADD COLUMN note text;",
            "UPDATE public.users SET x=1",
        ]);
        assert!(w.contains("orders") && w.contains("users") && w.contains("public"));
        assert!(!w.contains("orders\""));
    }

    #[test]
    fn a_blocker_says_who_and_what() {
        let b = Blocker {
            id: "42".into(),
            user: "app".into(),
            state: "idle in transaction".into(),
            age: Duration::from_secs(75),
            table: Some("orders".into()),
            query: "SELECT * FROM orders ".into(),
        };
        assert_eq!(
            b.to_string(),
            "session 42 (app, idle in transaction, in a transaction for 75s, holding a lock on orders; last query: SELECT * FROM orders)"
        );
    }
}
