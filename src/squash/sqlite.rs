//! SQLite's dump for a squash: the `CREATE` statements `sqlite_schema` keeps (what the
//! `sqlite3` shell's `.schema` prints), tables first in the order they were made, then
//! indexes, views and triggers; the named tables' rows as `INSERT`s; and `sqlite_sequence`
//! as it stands, so `AUTOINCREMENT` counters continue.

use std::path::Path;

use super::dump::{SchemaDump, insert, lines, quoted_rows};
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Name;
use crate::sql::Dialect;
use crate::target::DatabaseUrl;

pub struct SqliteDump;

/// SQLite's own objects and cutover's tables are not part of the baseline.
const OURS: &str =
    "name NOT LIKE 'sqlite!_%' ESCAPE '!' AND tbl_name NOT LIKE 'cutover!_%' ESCAPE '!'";

impl SchemaDump for SqliteDump {
    fn baseline(
        &self,
        engine: &mut dyn Engine,
        _url: &DatabaseUrl,
        with_data: &[Name],
        _tools: Option<&Path>,
    ) -> Result<String, Error> {
        let mut script = String::new();
        let defs = lines(
            engine,
            &format!(
                "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND {OURS} ORDER BY \
                 CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid"
            ),
        )?;
        for sql in defs {
            script.push_str(&sql);
            script.push_str(";\n\n");
        }
        for table in with_data {
            let columns = self.columns(engine, table)?;
            let values: Vec<String> = columns
                .iter()
                .map(|c| format!("quote({})", Dialect::Sqlite.quote(c)))
                .collect();
            let names: Vec<String> = columns.iter().map(|c| Dialect::Sqlite.quote(c)).collect();
            let insert = format!(
                "SELECT 'INSERT INTO {} ({}) VALUES (' || {} || ');' FROM {} ORDER BY rowid",
                Dialect::Sqlite.quote(&table.name).replace('\'', "''"),
                names.join(", ").replace('\'', "''"),
                values.join(" || ', ' || "),
                Dialect::Sqlite.quote(&table.name)
            );
            for line in lines(engine, &insert)? {
                script.push_str(&line);
                script.push('\n');
            }
        }
        let sequences = sequence_rows(engine)?;
        if !sequences.is_empty() {
            script.push_str("\nDELETE FROM sqlite_sequence;\n");
            for (name, seq) in sequences {
                script.push_str(&format!(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('{}', {seq});\n",
                    name.replace('\'', "''")
                ));
            }
        }
        Ok(script)
    }

    /// Tables and views, then indexes, triggers and `AUTOINCREMENT` counters.
    fn sections(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        tools: Option<&Path>,
    ) -> Result<(String, String), Error> {
        let script = self.baseline(engine, url, &[], tools)?;
        let (mut pre, mut post) = (String::new(), String::new());
        let statements = crate::sql::split(&script, Dialect::Sqlite)
            .map_err(|e| Error::Usage(format!("cannot split the schema dump: {e}")))?;
        for s in statements {
            let sql = s.sql.trim();
            let late = [
                "CREATE INDEX",
                "CREATE UNIQUE INDEX",
                "CREATE TRIGGER",
                "CREATE TEMP TRIGGER",
            ]
            .iter()
            .any(|w| super::dump::starts_with(sql, w))
                || sql.contains("sqlite_sequence");
            let into = if late { &mut post } else { &mut pre };
            into.push_str(sql);
            into.push_str(";\n\n");
        }
        Ok((pre, post))
    }

    fn facts(&self, engine: &mut dyn Engine) -> Result<Vec<String>, Error> {
        let mut out = lines(
            engine,
            &format!(
                "SELECT type || ' ' || name || ' ' || sql FROM sqlite_schema WHERE type = 'trigger' AND {OURS}"
            ),
        )?;
        out.extend(
            sequence_rows(engine)?
                .into_iter()
                .map(|(n, s)| format!("sequence {n} at {s}")),
        );
        out.sort();
        Ok(out)
    }

    fn rows_sql(&self, table: &Name, columns: &[String]) -> String {
        quoted_rows(Dialect::Sqlite, table, columns, "quote", |v| {
            v.join(" || ',' || ")
        })
    }

    fn sample_sql(&self, table: &Name, columns: &[String], limit: u64) -> String {
        let rows = quoted_rows(Dialect::Sqlite, table, columns, "quote", |v| {
            v.join(" || ', ' || ")
        });
        format!("{rows} LIMIT {limit}")
    }

    fn insert_sql(&self, table: &Name, columns: &[String]) -> String {
        insert(Dialect::Sqlite, table, columns)
    }

    fn relax_foreign_keys(&self) -> &'static [&'static str] {
        &["PRAGMA foreign_keys = OFF"]
    }
}

impl SqliteDump {
    fn columns(&self, engine: &mut dyn Engine, table: &Name) -> Result<Vec<String>, Error> {
        lines(
            engine,
            &format!(
                "SELECT name FROM pragma_table_info('{}') ORDER BY cid",
                table.name.replace('\'', "''")
            ),
        )
    }
}

/// `sqlite_sequence`'s rows, when the table exists (it is made with the first
/// `AUTOINCREMENT` table).
fn sequence_rows(engine: &mut dyn Engine) -> Result<Vec<(String, String)>, Error> {
    let exists = lines(
        engine,
        "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'",
    )?;
    if exists.first().map(String::as_str) != Some("1") {
        return Ok(Vec::new());
    }
    Ok(engine
        .query("SELECT name, seq FROM sqlite_sequence ORDER BY name")
        .map_err(Error::db("cannot read sqlite_sequence"))?
        .into_iter()
        .map(|r| {
            let mut it = r.into_iter();
            (
                it.next().flatten().unwrap_or_default(),
                it.next().flatten().unwrap_or_default(),
            )
        })
        .collect())
}
