//! Batched backfills (`-- cutover:backfill batch=N pause=D`): the script's one
//! `UPDATE … WHERE …` or `DELETE … WHERE …` runs outside a transaction, `batch` rows at a
//! time, each batch a short transaction of its own (under the guard's lock timeout, retried
//! like any statement), with a pause between batches so the application's queries get
//! their turn. The `WHERE` must stop matching a row once it is done (`WHERE mobile IS
//! NULL`): a backfill interrupted half-way (a signal, a kill, a failure) is resumed by
//! running it again, from where the rows say it stopped. Progress (rows, rows per second,
//! time left) is an event.
//!
//! Batches walk the table's one-column primary key: each takes the next `batch` keys
//! after the last batch's (from the key's index) and updates the rows among them that
//! still match. So a batch reads and locks only its own rows, however far the backfill
//! has got; without such a walk, "the first `batch` rows that match" reads every row done
//! before (quadratic on a large table) and, on InnoDB, locks them all until the batch
//! commits, which stalls the application's writes to rows long finished. Tables without
//! a one-column primary key take that form all the same (the driver table's `batch`:
//! PostgreSQL `ctid IN (SELECT ctid … LIMIT n)`, SQLite the same with `rowid`,
//! MariaDB/MySQL `… LIMIT n`), until a batch changes nothing.

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

/// Run statement `index` of `job` as the backfill `how`: along the table's key where it has
/// one, by the driver's batch form where it has none.
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
    let mut walk = Walk {
        batched: &batched,
        index,
        how,
        size: how.batch,
        stop,
        tally: Tally::new(total),
    };
    match primary_key(engine, &batched.table) {
        Some(key) => walk.by_key(engine, guard, &key),
        None => walk.by_scan(engine, guard),
    }
}

/// The table's one-column primary key, quoted; `None` when it has none, a composite one, or
/// the name is ambiguous (then batches take the first matching rows, the driver's form).
fn primary_key(engine: &mut dyn Engine, table: &str) -> Option<String> {
    let dialect = engine.dialect();
    let schema = (crate::driver::of(engine.kind()).introspect)(engine).ok()?;
    let parts: Vec<String> = table
        .split('.')
        .map(|p| p.trim_matches(|c| c == '"' || c == '`').to_string())
        .collect();
    let (owner, name) = match parts.as_slice() {
        [name] => (None, name.as_str()),
        [owner, name] => (Some(owner.as_str()), name.as_str()),
        _ => return None,
    };
    let named = |exact: bool| {
        schema
            .tables
            .iter()
            .filter(|t| owner.is_none_or(|o| t.name.schema == o))
            .filter(|t| match exact {
                true => t.name.name == name,
                false => t.name.name.eq_ignore_ascii_case(name),
            })
            .collect::<Vec<_>>()
    };
    let found = match named(true).as_slice() {
        [t] => Some(*t),
        [] => named(false)
            .first()
            .copied()
            .filter(|_| named(false).len() == 1),
        _ => None,
    }?;
    match found.primary_key.as_ref()?.columns.as_slice() {
        [column] => Some(dialect.quote(column)),
        _ => None,
    }
}

/// `value` as an SQL string literal (the engine casts it to the key's type).
fn literal(value: &str, dialect: Dialect) -> String {
    let value = value.replace('\'', "''");
    match dialect {
        // Backslashes escape in MariaDB/MySQL string literals (without NO_BACKSLASH_ESCAPES).
        Dialect::MySql => format!("'{}'", value.replace('\\', "\\\\")),
        _ => format!("'{value}'"),
    }
}

/// Rows done, for the progress events.
struct Tally {
    start: Instant,
    shown: Instant,
    done: u64,
    total: u64,
}

impl Tally {
    fn new(total: u64) -> Tally {
        Tally {
            start: Instant::now(),
            shown: Instant::now(),
            done: 0,
            total,
        }
    }

    /// Count a batch's rows; say how far it got every half second, and at the end.
    fn add(&mut self, guard: &mut Guarded, changed: u64, finished: bool) {
        self.done += changed;
        if finished || self.shown.elapsed() >= Duration::from_millis(500) {
            let total = self.total.max(self.done);
            guard.progress(self.done, total, self.start.elapsed(), finished);
            self.shown = Instant::now();
        }
    }
}

/// One backfill under way.
struct Walk<'w> {
    batched: &'w Batched,
    index: usize,
    how: Backfill,
    /// The next batch's rows: `how.batch`, adjusted to `how.batch_time` where it is set.
    size: u64,
    stop: &'w dyn Fn() -> bool,
    tally: Tally,
}

impl Walk<'_> {
    /// Batches along the primary key: each one the next `batch` keys after the last one
    /// (read from the key's index, so a batch never reads the rows done before it, and
    /// holds locks on at most `batch` rows), updated where the condition still matches.
    /// A pass ends at the last key; rows that matched behind it meanwhile (inserted or
    /// changed by the application) are caught by another pass, until none match.
    fn by_key(
        &mut self,
        engine: &mut dyn Engine,
        guard: &mut Guarded,
        key: &str,
    ) -> Result<(), Stop> {
        let mut left_before = self.tally.total;
        loop {
            let mut after: Option<String> = None;
            loop {
                let began = Instant::now();
                let Some(upper) = self.bound(engine, key, after.as_deref())? else {
                    break;
                };
                let sql = self.range(engine.dialect(), key, after.as_deref(), &upper);
                let changed = self.batch(engine, guard, &sql)?;
                self.between(guard, changed, began.elapsed())?;
                after = Some(upper);
            }
            let left = self
                .batched
                .remaining(engine)
                .map_err(|e| Stop::at(self.index, e))?;
            if left == 0 {
                self.tally.add(guard, 0, true);
                return Ok(());
            }
            // A whole pass that left as many rows matching would be followed by another,
            // forever: the SET does not make a row stop matching.
            if left >= left_before {
                return Err(Stop::kept(
                    self.index,
                    DbError::new(format!(
                        "the backfill's WHERE still matches {left} rows after a pass over the whole table: its SET must make a row stop matching (e.g. `SET b = … WHERE b IS NULL`)"
                    )),
                ));
            }
            left_before = left;
        }
    }

    /// The batch form of engines' own (the first `batch` rows that match), until a batch
    /// changes nothing: for tables without a one-column primary key.
    fn by_scan(&mut self, engine: &mut dyn Engine, guard: &mut Guarded) -> Result<(), Stop> {
        let form = crate::driver::of(engine.kind()).batch;
        loop {
            let began = Instant::now();
            let changed = self.batch(engine, guard, &form(self.batched, self.size))?;
            if changed == 0 {
                self.tally.add(guard, 0, true);
                return Ok(());
            }
            self.between(guard, changed, began.elapsed())?;
        }
    }

    /// The last of the next `batch` keys after `after`, or `None` past the last key.
    fn bound(
        &self,
        engine: &mut dyn Engine,
        key: &str,
        after: Option<&str>,
    ) -> Result<Option<String>, Stop> {
        let from = after
            .map(|a| format!(" WHERE {key} > {}", literal(a, engine.dialect())))
            .unwrap_or_default();
        let sql = format!(
            "SELECT max({key}) FROM (SELECT {key} FROM {}{from} ORDER BY {key} LIMIT {}) AS batch",
            self.batched.table, self.size
        );
        let rows = engine.query(&sql).map_err(|e| Stop::at(self.index, e))?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    /// The statement for the keys after `after` up to `upper`.
    fn range(&self, dialect: Dialect, key: &str, after: Option<&str>, upper: &str) -> String {
        let from = after
            .map(|a| format!("{key} > {} AND ", literal(a, dialect)))
            .unwrap_or_default();
        format!(
            "{} WHERE {from}{key} <= {} AND ({})",
            self.batched.head,
            literal(upper, dialect),
            self.batched.condition
        )
    }

    /// One batch, its own short transaction, under the guard.
    fn batch(&self, engine: &mut dyn Engine, guard: &mut Guarded, sql: &str) -> Result<u64, Stop> {
        let index = self.index;
        guard.run(engine, |engine| {
            engine
                .execute_bound(sql, &[])
                .map_err(|e| Stop::at(index, e))
        })
    }

    /// After a batch that took `took`: the progress, the next batch's size, a signal, the
    /// pause (not after a batch that changed nothing: a resumed backfill goes quickly over
    /// the rows done before, and those batches say nothing of what a row costs).
    fn between(&mut self, guard: &mut Guarded, changed: u64, took: Duration) -> Result<(), Stop> {
        self.tally.add(guard, changed, false);
        if let (Some(target), true) = (self.how.batch_time, changed > 0) {
            self.size = next_size(self.size, took, target);
        }
        if (self.stop)() {
            return Err(Stop::at(
                self.index,
                DbError::new(format!(
                    "interrupted (SIGINT/SIGTERM) after {} of about {} rows; run it again to resume the backfill",
                    self.tally.done, self.tally.total
                )),
            ));
        }
        if changed > 0 {
            std::thread::sleep(self.how.pause);
        }
        Ok(())
    }
}

/// The most rows a batch grows to under `batch_time`.
const MOST_ROWS: u64 = 100_000;

/// The size after a batch of `size` rows that took `took`, aiming at `target`: in
/// proportion, but at most halved or doubled at a time (one slow or quick batch is not a
/// trend), and from 1 to `MOST_ROWS` rows.
fn next_size(size: u64, took: Duration, target: Duration) -> u64 {
    let ratio = (target.as_secs_f64() / took.as_secs_f64().max(1e-6)).clamp(0.5, 2.0);
    ((size as f64 * ratio).round() as u64).clamp(1, MOST_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_their_target_time() {
        let ms = Duration::from_millis;
        assert_eq!(next_size(1000, ms(400), ms(200)), 500, "slow: halved");
        assert_eq!(
            next_size(1000, ms(10_000), ms(200)),
            500,
            "never below half"
        );
        assert_eq!(next_size(1000, ms(160), ms(200)), 1250, "in proportion");
        assert_eq!(next_size(1000, ms(1), ms(200)), 2000, "never above double");
        assert_eq!(next_size(1, ms(500), ms(200)), 1, "at least one row");
        assert_eq!(next_size(MOST_ROWS, ms(1), ms(200)), MOST_ROWS);
        assert_eq!(next_size(1000, Duration::ZERO, ms(200)), 2000);
    }

    #[test]
    fn keys_are_quoted_as_literals() {
        assert_eq!(literal("12", Dialect::Postgres), "'12'");
        assert_eq!(literal("o'k", Dialect::Sqlite), "'o''k'");
        assert_eq!(literal(r"a\b'", Dialect::MySql), r"'a\\b'''");
    }

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
