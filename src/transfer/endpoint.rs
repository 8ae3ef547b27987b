//! One side of a transfer, behind a trait with one module per engine (`postgres`, `mysql`,
//! `sqlite`): rows streamed out of a query in batches, and batches written in with the
//! checkpoint that records them, in one transaction. The driver table opens one.
//!
//! An endpoint holds its own connection, separate from the `Engine` that reads the schema,
//! so that the reading side can run on a thread of its own while the writing side writes.

use crate::engine::DbError;
use crate::sql::Dialect;

use super::tally::Tally;
use super::value::{Class, Rows, Value};

/// Where a batch goes: a table's quoted name, its quoted columns, and their classes on the
/// target.
#[derive(Debug, Clone)]
pub struct Destination {
    pub table: String,
    pub columns: Vec<String>,
    pub classes: Vec<Class>,
}

/// The checkpoint written with a batch: the run, the table, the rows done so far with this
/// batch, and the running reconciliation tally (JSON).
#[derive(Debug, Clone)]
pub struct Mark<'a> {
    pub run: &'a str,
    pub table: &'a str,
    pub rows: u64,
    pub tally: &'a str,
}

/// A column to create on the target, as the source has it.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    /// `table.column`, for messages.
    pub name: String,
    pub class: &'a Class,
    /// The source's own spelling of the type (`NVARCHAR(160)`, `numeric(10,2)`).
    pub source_type: &'a str,
    /// The source's dialect: on the same engine, type names are kept verbatim.
    pub from: Dialect,
    /// Part of a key or index: MariaDB needs a bounded length there.
    pub keyed: bool,
}

/// One side of a transfer.
pub trait Endpoint: Send {
    fn dialect(&self) -> Dialect;

    /// The select-list expression that reads `quoted` so that its values arrive in their
    /// class's canonical form (booleans as 0/1, time stamps in UTC).
    fn select_expr(&self, quoted: &str, _class: &Class) -> String {
        quoted.to_string()
    }

    /// Stream the rows of `sql` (one column per class) in batches of `batch` rows to `out`,
    /// which returns false to stop early. At most one batch is held at a time.
    fn read(
        &mut self,
        sql: &str,
        classes: &[Class],
        batch: usize,
        out: &mut dyn FnMut(Rows) -> bool,
    ) -> Result<(), DbError>;

    /// Count the rows of `sql` into `tally`: each value read in its class of `classes` (the
    /// target's) and counted in `counted_as` (the source's), as `from_text` and
    /// `Tally::add` would. The servers count the text they receive without building rows.
    fn tally(
        &mut self,
        sql: &str,
        classes: &[Class],
        counted_as: &[Class],
        tally: &mut Tally,
    ) -> Result<(), DbError> {
        self.read(sql, classes, super::DEFAULT_BATCH, &mut |rows| {
            for row in &rows {
                tally.add(row, counted_as);
            }
            true
        })
    }

    /// Write `rows` into `into`, run `extra` (a mapping's updates of rows that exist), and
    /// update the checkpoint row, in one transaction: a batch is either loaded and
    /// recorded, or neither. Without a mark (a clone, which is not resumed), no
    /// checkpoint is written.
    fn write(
        &mut self,
        into: &Destination,
        rows: &Rows,
        extra: &[String],
        mark: Option<&Mark>,
    ) -> Result<(), DbError>;

    /// Stream the rows of a `COPY … TO STDOUT` statement in the engine's own text format, in
    /// chunks of about a megabyte, for a load into the same engine that needs no value
    /// (`cutover clone` of a table that is not masked or filtered). `None`: the engine has no
    /// such format, and rows go through `read`.
    fn copy_out(
        &mut self,
        _sql: &str,
        _out: &mut dyn FnMut(Vec<u8>) -> bool,
    ) -> Option<Result<(), DbError>> {
        None
    }

    /// Load chunks `copy_out` produced into `into`, as one statement; returns the rows
    /// loaded. An error among the chunks (the source failed) aborts the statement, so
    /// nothing of it stays. `None`: not supported.
    fn copy_in(
        &mut self,
        _into: &Destination,
        _chunks: &mut dyn Iterator<Item = Result<Vec<u8>, DbError>>,
    ) -> Option<Result<u64, DbError>> {
        None
    }

    /// A value as a SQL literal of this engine (a mapping's lookups and key probes).
    fn literal(&self, v: &Value) -> String {
        match v {
            Value::Null => "NULL".into(),
            Value::Int(i) => i.to_string(),
            Value::Real(f) => super::value::real_text(*f),
            Value::Bytes(b) => format!("X'{}'", hex::encode(b)),
            Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        }
    }

    /// Run one statement of the transfer's own (DDL, the checkpoint table).
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// The type a created column gets on this engine, or why there is none.
    fn column_type(&self, col: &Wanted) -> Result<String, String>;

    /// Whether foreign keys and indexes can be added to a loaded table (`ALTER TABLE`); on
    /// SQLite they are part of `CREATE TABLE`.
    fn keys_after_load(&self) -> bool {
        true
    }

    /// Whether a created table's primary key is added after the load too: PostgreSQL sorts
    /// the loaded keys into its index faster than it inserts them one by one. MariaDB's rows
    /// live in their primary key's order, so adding one later rebuilds the table.
    fn primary_key_after_load(&self) -> bool {
        false
    }

    /// Whether a second connection may read a loaded table while this one loads the next
    /// and adds keys (the servers); SQLite's writer would wait on such a reader's lock.
    fn concurrent_reads(&self) -> bool {
        true
    }

    /// Tables that are partitions of another table (PostgreSQL): their rows are read
    /// through their parent, so they are not transferred on their own.
    fn partitions(&mut self) -> Result<Vec<String>, DbError> {
        Ok(Vec::new())
    }

    /// Add the foreign keys that follow without the engine checking the rows already there
    /// (`on`), or with it again. MariaDB/MySQL checks them by rebuilding the table (a minute
    /// for a million rows here), so it adds them unchecked and `broken_keys` checks them
    /// with one query each; the others check as they add.
    fn keys_unchecked(&mut self, _on: bool) -> Result<(), DbError> {
        Ok(())
    }

    /// Rows that break a foreign key, once everything is loaded (SQLite loads with its keys
    /// off, MariaDB/MySQL adds them unchecked); PostgreSQL checks keys as it adds them.
    fn broken_keys(&mut self) -> Result<Vec<String>, DbError> {
        Ok(Vec::new())
    }

    /// Work after a table is loaded with explicit key values: PostgreSQL moves the table's
    /// sequences past them.
    fn after_load(&mut self, _table: &str, _columns: &[String]) -> Result<(), DbError> {
        Ok(())
    }
}

/// `(p,s)` or `(n)` of a type as written, if any.
pub fn type_args(source_type: &str) -> Option<&str> {
    let open = source_type.find('(')?;
    let close = source_type.rfind(')')?;
    (close > open).then(|| &source_type[open..=close])
}

/// The `n` of `varchar(n)`, if any.
pub fn type_length(source_type: &str) -> Option<u64> {
    type_args(source_type)?
        .trim_matches(['(', ')'])
        .split(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// An integer type's width on engines that have several: `small`, `int`, `big`, or
/// `huge` (an unsigned 64-bit integer). SQLite's integers are all 64-bit, whatever the
/// column says; an unsigned type needs the next width up.
pub fn int_width(source_type: &str, from: Dialect) -> &'static str {
    let t = source_type.to_ascii_lowercase();
    let widths = ["small", "int", "big", "huge"];
    let at = if from == Dialect::Sqlite || t.contains("big") {
        2
    } else if t.contains("small") || t.contains("tiny") {
        0
    } else {
        1
    };
    widths[at + usize::from(t.contains("unsigned"))]
}
