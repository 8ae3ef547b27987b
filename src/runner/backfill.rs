//! Batched backfills (`-- cutover:backfill batch=N pause=D`): the script's one
//! `UPDATE … WHERE …` or `DELETE … WHERE …` runs outside a transaction, `batch` rows at a
//! time, each batch a short transaction of its own (under the guard's lock timeout, retried
//! like any statement), with a pause between batches so the application's queries get
//! their turn. The `WHERE` must stop matching a row once it is done (`WHERE mobile IS
//! NULL`): batches run until one changes nothing, and a backfill interrupted half-way (a
//! signal, a kill, a failure) is resumed by running it again, from where the rows say it
//! stopped. Progress (rows, rows per second, time left) is an event.
//!
//! How a batch is bounded differs by engine (the driver table's `batch`): PostgreSQL
//! `ctid IN (SELECT ctid … LIMIT n)`, SQLite the same with `rowid`, MariaDB/MySQL
//! `… LIMIT n`.

use std::time::{Duration, Instant};

use crate::engine::{DbError, Engine};
use crate::migrations::Backfill;
use crate::sql::Dialect;

use super::guard::{Guarded, Stop};

/// What is updated or deleted: `head` (`UPDATE t SET …`, `DELETE FROM t`), its table and
/// its condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batched {
    pub head: String,
    pub table: String,
    pub condition: String,
}

impl Batched {
    /// Read the backfill's statement, or say why it cannot be batched.
    pub fn read(sql: &str, dialect: Dialect) -> Result<Batched, String> {
        let sql = sql.trim().trim_end_matches(';').trim();
        let words: Vec<String> = sql
            .split_whitespace()
            .take(3)
            .map(str::to_ascii_uppercase)
            .collect();
        let table_word = match words.as_slice() {
            [w, ..] if w == "UPDATE" => 1,
            [d, f, ..] if d == "DELETE" && f == "FROM" => 2,
            _ => {
                return Err(
                    "a backfill is one `UPDATE … WHERE …` or `DELETE FROM … WHERE …`".into(),
                );
            }
        };
        let wheres = crate::sql::outline::top_level_keyword(sql, dialect, "WHERE");
        let [at] = wheres.as_slice() else {
            return Err(
                "a backfill needs one WHERE that stops matching a row once it is done (e.g. `WHERE mobile IS NULL`)"
                    .into(),
            );
        };
        let head = sql[..*at].trim().to_string();
        // DELETE's own FROM is the one allowed; a join (UPDATE … FROM, DELETE … USING) is not.
        let froms = usize::from(table_word == 2);
        for (word, allowed) in [("FROM", froms), ("USING", 0), ("LIMIT", 0), ("ORDER", 0)] {
            if crate::sql::outline::top_level_keyword(&head, dialect, word).len() > allowed {
                return Err(format!(
                    "a backfill cannot batch an UPDATE or DELETE with {word}"
                ));
            }
        }
        let condition = sql[*at + "WHERE".len()..].trim().to_string();
        for word in ["LIMIT", "ORDER", "RETURNING"] {
            if !crate::sql::outline::top_level_keyword(&condition, dialect, word).is_empty() {
                return Err(format!(
                    "a backfill cannot batch an UPDATE or DELETE with {word}"
                ));
            }
        }
        let table = head
            .split_whitespace()
            .nth(table_word)
            .ok_or("a backfill names its table")?
            .to_string();
        Ok(Batched {
            head,
            table,
            condition,
        })
    }

    /// How many rows are still to do.
    fn remaining(&self, engine: &mut dyn Engine) -> Result<u64, DbError> {
        let rows = engine.query(&format!(
            "SELECT count(*) FROM {} WHERE {}",
            self.table, self.condition
        ))?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

/// Run statement `index` of `job` as the backfill `how`: batches until one changes nothing.
pub fn run(
    engine: &mut dyn Engine,
    sql: &str,
    index: usize,
    how: Backfill,
    guard: &mut Guarded,
    stop: &dyn Fn() -> bool,
) -> Result<(), Stop> {
    let batched =
        Batched::read(sql, engine.dialect()).map_err(|m| Stop::kept(index, DbError::new(m)))?;
    let total = batched.remaining(engine).map_err(|e| Stop::at(index, e))?;
    let batch_sql = (crate::driver::of(engine.kind()).batch)(&batched, how.batch);
    let start = Instant::now();
    let mut done = 0u64;
    let mut shown = Instant::now();
    loop {
        let changed = guard.run(engine, |engine| {
            engine
                .execute_bound(&batch_sql, &[])
                .map_err(|e| Stop::at(index, e))
        })?;
        done += changed;
        let finished = changed == 0;
        if finished || shown.elapsed() >= Duration::from_millis(500) {
            guard.progress(done, total.max(done), start.elapsed(), finished);
            shown = Instant::now();
        }
        if finished {
            return Ok(());
        }
        if stop() {
            return Err(Stop::at(
                index,
                DbError::new(format!(
                    "interrupted (SIGINT/SIGTERM) after {done} of about {total} rows; run it again to resume the backfill"
                )),
            ));
        }
        std::thread::sleep(how.pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_and_deletes_are_read() {
        let b = Batched::read(
            "UPDATE students SET mobile = phone WHERE mobile IS NULL AND phone IS NOT NULL;",
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(b.head, "UPDATE students SET mobile = phone");
        assert_eq!(b.table, "students");
        assert_eq!(b.condition, "mobile IS NULL AND phone IS NOT NULL");
        let d = Batched::read("delete from logs where at < '2024-01-01'", Dialect::MySql).unwrap();
        assert_eq!(
            (d.head.as_str(), d.table.as_str()),
            ("delete from logs", "logs")
        );
    }

    #[test]
    fn what_cannot_be_batched_is_named() {
        let no_where = Batched::read("UPDATE t SET a = 1", Dialect::Postgres).unwrap_err();
        assert!(no_where.contains("needs one WHERE"), "{no_where}");
        let from = Batched::read(
            "UPDATE t SET a = u.a FROM u WHERE t.id = u.id",
            Dialect::Postgres,
        )
        .unwrap_err();
        assert!(from.contains("FROM"), "{from}");
        let insert = Batched::read("INSERT INTO t VALUES (1)", Dialect::Sqlite).unwrap_err();
        assert!(insert.contains("one `UPDATE"), "{insert}");
        // A WHERE inside a subquery is not the statement's.
        let sub = Batched::read(
            "UPDATE t SET a = (SELECT max(b) FROM u WHERE u.id = t.id) WHERE a IS NULL",
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(sub.condition, "a IS NULL");
    }
}
