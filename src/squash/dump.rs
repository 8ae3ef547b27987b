//! What a squash asks of an engine: the schema its own tool writes (`pg_dump`,
//! `mariadb-dump`, SQLite's `sqlite_schema`), cleaned into a script any later migration can
//! follow; the rows of the tables the operator names; and the facts the schema model does
//! not hold (grants, routines, triggers, where sequences stand) that the proof compares.
//! One implementation per engine, in this folder, wired through the driver table.

use std::path::Path;

use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Name;
use crate::sql::{Dialect, Statement};
use crate::target::DatabaseUrl;

/// One engine's dump for a squash.
pub trait SchemaDump: Sync {
    /// The baseline script: the schema of `url` (which `engine` is connected to), the rows
    /// of `with_data`, and sequences set where they stand.
    fn baseline(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        with_data: &[Name],
        tools: Option<&Path>,
    ) -> Result<String, Error>;

    /// The schema of `url` in two parts, for a load in between (`cutover clone`): what the
    /// rows go into (tables, types, views, routines), then what is cheaper to build or
    /// must not fire while they load (indexes, keys, triggers, sequence positions).
    fn sections(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        tools: Option<&Path>,
    ) -> Result<(String, String), Error> {
        Ok((self.baseline(engine, url, &[], tools)?, String::new()))
    }

    /// Facts outside the schema model that a baseline must reproduce, one line each.
    fn facts(&self, engine: &mut dyn Engine) -> Result<Vec<String>, Error>;

    /// A query returning one text per row of `table` (all `columns`), for comparing rows.
    fn rows_sql(&self, table: &Name, columns: &[String]) -> String;

    /// A query returning up to `limit` rows of `table` as SQL value lists (`'a', 1, NULL`)
    /// of `columns`, for a rehearsal's sample.
    fn sample_sql(&self, table: &Name, columns: &[String], limit: u64) -> String;

    /// The `INSERT` a sampled value list follows (up to `VALUES`), for `columns`.
    fn insert_sql(&self, table: &Name, columns: &[String]) -> String;

    /// Statements run on the connection that loads a sample, so rows load without the
    /// rows they reference (a sample is not closed under its foreign keys).
    fn relax_foreign_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// For a statement of the schema dump that adds a foreign key checked against existing
    /// rows: the same statement checking none of them, to run once the sample is in.
    fn deferred_foreign_key(&self, _sql: &str) -> Option<String> {
        None
    }
}

/// The statements of `script` that `keep` accepts (given their text), written back as a
/// script the engine's splitter reads the same way: a statement holding the delimiter
/// (a trigger or routine body on MariaDB) gets a `DELIMITER` block of its own.
pub(crate) fn rewrite(
    script: &str,
    dialect: Dialect,
    keep: impl Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    let statements: Vec<Statement> = crate::sql::split(script, dialect)
        .map_err(|e| Error::Usage(format!("cannot split the schema dump: {e}")))?;
    let mut out = String::new();
    for s in statements {
        let Some(sql) = keep(s.sql.trim()) else {
            continue;
        };
        if dialect == Dialect::MySql && sql.contains(';') {
            out.push_str(&format!("DELIMITER ;;\n{sql};;\nDELIMITER ;\n\n"));
        } else {
            out.push_str(&format!("{sql};\n\n"));
        }
    }
    Ok(out)
}

/// Whether a statement starts with `word` (case-insensitive), after MySQL's `/*!NNNNN`.
pub(crate) fn starts_with(sql: &str, word: &str) -> bool {
    let s = sql.trim_start();
    let s = s
        .strip_prefix("/*!")
        .map(|rest| {
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start()
        })
        .unwrap_or(s);
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// The server's version string, to find a dump tool not older than it.
pub(crate) fn server_version(engine: &mut dyn Engine) -> Result<String, Error> {
    engine
        .server_version()
        .map_err(Error::db("cannot read the server version"))
}

/// A query returning each row of `table` as one text: `quote` applied to every column,
/// joined with `join` (`CONCAT_WS(',', …)` or `||` chains, as the engine writes them).
pub(crate) fn quoted_rows(
    dialect: Dialect,
    table: &Name,
    columns: &[String],
    quote: &str,
    join: impl Fn(Vec<String>) -> String,
) -> String {
    let values: Vec<String> = columns
        .iter()
        .map(|c| format!("{quote}({})", dialect.quote(c)))
        .collect();
    format!(
        "SELECT {} FROM {}",
        join(values),
        dialect.quote(&table.name)
    )
}

/// `INSERT INTO t (columns) VALUES`, quoted for `dialect`.
pub(crate) fn insert(dialect: Dialect, table: &Name, columns: &[String]) -> String {
    let names: Vec<String> = columns.iter().map(|c| dialect.quote(c)).collect();
    format!(
        "INSERT INTO {} ({}) VALUES",
        dialect.quote(&table.name),
        names.join(", ")
    )
}

/// The rows of `query` (one text column) on `engine`, for facts.
pub(crate) fn lines(engine: &mut dyn Engine, query: &str) -> Result<Vec<String>, Error> {
    Ok(engine
        .query(query)
        .map_err(Error::db("cannot read the schema's facts"))?
        .into_iter()
        .map(|r| r.into_iter().next().flatten().unwrap_or_default())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_bodies_get_a_delimiter_of_their_own() {
        let script = "DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END;;\nDELIMITER ;\n/*!40101 SET NAMES utf8 */;\nCREATE TABLE a (x int);\n";
        let out = rewrite(script, Dialect::MySql, |s| {
            (!starts_with(s, "SET")).then(|| s.to_string())
        })
        .unwrap();
        assert!(!out.contains("SET NAMES"), "{out}");
        let again = crate::sql::split(&out, Dialect::MySql).unwrap();
        assert_eq!(again.len(), 2, "{out}");
        assert!(again[0].sql.ends_with("END"), "{out}");
    }
}
