//! Live table sizes from the target, for "rewrites `orders` (2.1 GB, about 4 min)".
//!
//! Sizes come from `Engine::table_sizes` (catalog statistics: `pg_total_relation_size`,
//! `information_schema.TABLES`, counts on SQLite). Whether a table is empty is asked of
//! the table itself (`SELECT 1 … LIMIT 1`, which stops at the first row), because a
//! catalog's estimate lags: PostgreSQL says nothing until the first ANALYZE.
//!
//! Times are the size divided by a rate (`[lint] rewrite_rate` for copies, `scan_rate` for
//! scans and index builds), and are said to be estimates made that way.

use std::collections::HashMap;

use crate::engine::{DbError, Engine, RowCount, TableSize};
use crate::sql::Dialect;

/// What the target says about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFacts {
    /// Not on the target (created by something not linted, or misspelt).
    Missing,
    /// On the target, holding no row.
    Empty,
    /// On the target, with rows.
    Size { bytes: Option<u64>, rows: RowCount },
}

/// The target's tables, read once, and what was asked of them since.
pub struct Sizes {
    engine: Box<dyn Engine>,
    tables: HashMap<String, TableSize>,
    empty: HashMap<String, bool>,
    /// The live schema (columns as the catalog types them, foreign keys): what the tables
    /// are before the linted migrations run.
    pub schema: Option<crate::schema::Schema>,
}

impl Sizes {
    /// Read every table's size through `engine` (kept open for emptiness probes).
    pub fn read(mut engine: Box<dyn Engine>) -> Result<Sizes, DbError> {
        let mut tables = HashMap::new();
        for t in engine.table_sizes(1_000_000)? {
            let full = t.table.to_lowercase();
            // PostgreSQL names come schema-qualified; migrations mostly name tables bare,
            // and `public` is where a bare name lands (the default search_path).
            if let Some(bare) = full.strip_prefix("public.") {
                tables.insert(bare.to_string(), t.clone());
            }
            tables.insert(full, t);
        }
        // The schema is only context (column types before a change): a catalog this role
        // cannot read leaves it out rather than failing the lint.
        let schema = crate::schema::introspect(engine.as_mut()).ok();
        Ok(Sizes {
            engine,
            tables,
            empty: HashMap::new(),
            schema,
        })
    }

    /// What the target says about `table` (as the linter normalised it).
    pub fn facts(&mut self, table: &str) -> TableFacts {
        let key = table.to_lowercase();
        let Some(size) = self.tables.get(&key).cloned() else {
            return TableFacts::Missing;
        };
        if self.is_empty(&key, &size.table) {
            return TableFacts::Empty;
        }
        TableFacts::Size {
            bytes: size.bytes.and_then(|b| u64::try_from(b).ok()),
            rows: size.rows,
        }
    }

    fn is_empty(&mut self, key: &str, name: &str) -> bool {
        if let Some(&empty) = self.empty.get(key) {
            return empty;
        }
        let dialect = self.engine.dialect();
        let quoted: Vec<String> = match dialect {
            Dialect::Postgres => name.split('.').map(|p| dialect.quote(p)).collect(),
            _ => vec![dialect.quote(name)],
        };
        let sql = format!("SELECT 1 FROM {} LIMIT 1", quoted.join("."));
        // A probe that fails (no privilege) says nothing: the table counts as non-empty.
        let empty = self.engine.query(&sql).is_ok_and(|rows| rows.is_empty());
        self.empty.insert(key.to_string(), empty);
        empty
    }
}

/// `2.1 GB`, `512 kB`, `12 B` (decimal units).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, scale) in UNITS {
        let n = bytes as f64 / scale;
        if n >= 1.0 {
            return if n < 10.0 {
                format!("{n:.1} {unit}")
            } else {
                format!("{n:.0} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

/// `about 4 min`, `about 20 s`, `under a second`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 1.0 {
        "under a second".into()
    } else if seconds < 90.0 {
        format!("about {:.0} s", seconds)
    } else if seconds < 90.0 * 60.0 {
        format!("about {:.0} min", seconds / 60.0)
    } else {
        format!("about {:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(2_100_000_000), "2.1 GB");
        assert_eq!(human_bytes(512_000), "512 kB");
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_duration(240.0), "about 4 min");
        assert_eq!(human_duration(20.0), "about 20 s");
        assert_eq!(human_duration(0.2), "under a second");
        assert_eq!(human_duration(3.0 * 3600.0), "about 3.0 h");
    }
}
