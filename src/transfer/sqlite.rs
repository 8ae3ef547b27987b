//! SQLite as either side of a transfer: rows stepped out of a prepared statement, and
//! batches written through one prepared `INSERT` inside a transaction with the checkpoint.
//! Foreign keys cannot be added to a table later, so they are part of `CREATE TABLE`.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::endpoint::{Destination, Endpoint, Mark, Wanted};
use super::value::{Class, Rows, Value, from_text, utf8};
use crate::engine::DbError;
use crate::engine::sqlite::{file_path, sqlite_err};
use crate::sql::Dialect;
use crate::target::DatabaseUrl;

pub(crate) struct Lite {
    conn: Connection,
}

/// A source is opened read-only and must exist; a target is created if it does not.
pub(crate) fn open(url: &DatabaseUrl, write: bool) -> Result<Box<dyn Endpoint>, DbError> {
    let path = file_path(url)?;
    let conn = if write {
        Connection::open(&path)
    } else {
        if !path.exists() {
            return Err(DbError::new(format!("{} does not exist", path.display())));
        }
        Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }
    .map_err(|e| DbError::new(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(sqlite_err)?;
    // Keys cannot be added to a loaded SQLite table, and tables that reference each other
    // (a cycle) cannot load one after the other with them on: they are checked once the
    // load is done (`broken_keys`).
    if write {
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(sqlite_err)?;
    }
    Ok(Box::new(Lite { conn }))
}

fn value(v: ValueRef<'_>, class: &Class) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => from_text(&utf8(t), class),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn bound(v: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match v {
        Value::Null => ValueRef::Null,
        Value::Int(i) => ValueRef::Integer(*i),
        Value::Real(f) => ValueRef::Real(*f),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Bytes(b) => ValueRef::Blob(b),
    })
}

impl Lite {
    fn load(
        &mut self,
        into: &Destination,
        rows: &Rows,
        extra: &[String],
        mark: Option<&Mark>,
    ) -> Result<(), rusqlite::Error> {
        let tx = self.conn.transaction()?;
        if !rows.is_empty() {
            let marks = vec!["?"; into.columns.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                into.table,
                into.columns.join(", ")
            );
            let mut insert = tx.prepare_cached(&sql)?;
            for row in rows {
                insert.execute(rusqlite::params_from_iter(row.iter().map(bound)))?;
            }
        }
        for sql in extra {
            tx.execute_batch(sql)?;
        }
        if let Some(mark) = mark {
            tx.execute(
                "UPDATE cutover_transfer SET rows_done = ?1, tally = ?2, updated_at = datetime('now') \
                 WHERE run_id = ?3 AND table_name = ?4",
                rusqlite::params![mark.rows as i64, mark.tally, mark.run, mark.table],
            )?;
        }
        tx.commit()
    }
}

impl Endpoint for Lite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn read(
        &mut self,
        sql: &str,
        classes: &[Class],
        batch: usize,
        out: &mut dyn FnMut(Rows) -> bool,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_err)?;
        let mut cursor = stmt.query([]).map_err(sqlite_err)?;
        let mut rows = Vec::with_capacity(batch);
        while let Some(row) = cursor.next().map_err(sqlite_err)? {
            let mut values = Vec::with_capacity(classes.len());
            for (i, class) in classes.iter().enumerate() {
                values.push(value(row.get_ref(i).map_err(sqlite_err)?, class));
            }
            rows.push(values);
            if rows.len() == batch && !out(std::mem::replace(&mut rows, Vec::with_capacity(batch)))
            {
                return Ok(());
            }
        }
        if !rows.is_empty() {
            out(rows);
        }
        Ok(())
    }

    fn write(
        &mut self,
        into: &Destination,
        rows: &Rows,
        extra: &[String],
        mark: Option<&Mark>,
    ) -> Result<(), DbError> {
        self.load(into, rows, extra, mark).map_err(sqlite_err)
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(sqlite_err)
    }

    fn column_type(&self, c: &Wanted) -> Result<String, String> {
        if c.from == Dialect::Sqlite {
            return Ok(c.source_type.to_string());
        }
        let args = super::endpoint::type_args(c.source_type).unwrap_or("");
        Ok(match c.class {
            Class::Int => "INTEGER".into(),
            Class::Bool => "BOOLEAN".into(),
            Class::Decimal => format!("NUMERIC{args}"),
            Class::Float => "REAL".into(),
            Class::Text => match super::endpoint::type_length(c.source_type) {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            Class::Char => format!("CHAR{args}"),
            Class::Bytes => "BLOB".into(),
            Class::Date => "DATE".into(),
            Class::Time => "TIME".into(),
            Class::Timestamp | Class::TimestampTz => "DATETIME".into(),
            Class::Json => "JSON".into(),
            Class::Uuid | Class::Enum => "TEXT".into(),
            Class::Any => String::new(),
            Class::Other(_) if c.from == Dialect::Postgres => "TEXT".into(),
            Class::Other(t) => return Err(format!("has type {t}, which has no equal on SQLite")),
        })
    }

    fn keys_after_load(&self) -> bool {
        false
    }

    fn concurrent_reads(&self) -> bool {
        false
    }

    fn broken_keys(&mut self) -> Result<Vec<String>, DbError> {
        let mut stmt = self
            .conn
            .prepare("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .map_err(sqlite_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} row {} has no parent in {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?
                        .map_or("?".into(), |i| i.to_string()),
                    r.get::<_, String>(2)?
                ))
            })
            .map_err(sqlite_err)?;
        rows.take(20)
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite_err)
    }
}
