//! The proof of a squash: what a database holds that a baseline must reproduce — the
//! schema model (tables, columns, keys, indexes, checks, views, enums, sequences), the
//! engine's facts beyond it (grants, routines, triggers, where sequences stand) and the
//! rows of the `--with-data` tables — taken from both scratch databases and compared.

use std::collections::BTreeMap;

use super::dump::{SchemaDump, lines};
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::{Name, Schema};

/// What one database holds, as far as a squash is concerned.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub schema: Schema,
    pub facts: Vec<String>,
    /// Per `--with-data` table, its rows as text, sorted.
    pub rows: BTreeMap<String, Vec<String>>,
}

impl Snapshot {
    pub fn take(
        engine: &mut dyn Engine,
        dump: &dyn SchemaDump,
        with_data: &[Name],
    ) -> Result<Snapshot, Error> {
        let schema = crate::schema::introspect(engine)
            .map_err(Error::db("cannot read the scratch database's schema"))?;
        let facts = dump.facts(engine)?;
        let mut rows = BTreeMap::new();
        for name in with_data {
            let ds = schema.default_schema.as_str();
            let table = schema
                .tables
                .iter()
                .find(|t| {
                    t.name.name == name.name
                        && (name.schema.is_empty()
                            || t.name.schema == name.schema
                            || t.name.schema.is_empty())
                })
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--with-data {}: no such table once the squashed migrations are applied",
                        name.display(ds)
                    ))
                })?;
            let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let mut found = lines(engine, &dump.rows_sql(name, &columns))?;
            found.sort();
            rows.insert(name.display(ds), found);
        }
        Ok(Snapshot {
            schema,
            facts,
            rows,
        })
    }

    /// Everything `other` (the baseline's database) lacks or has beyond this one.
    pub fn differences(&self, other: &Snapshot) -> Vec<String> {
        let mut out: Vec<String> = crate::schema::diff(&self.schema, &other.schema)
            .iter()
            .map(|c| c.to_string())
            .collect();
        out.extend(lists("", &self.facts, &other.facts));
        for (table, rows) in &self.rows {
            let theirs = other.rows.get(table).cloned().unwrap_or_default();
            out.extend(lists(&format!("row of {table}: "), rows, &theirs));
        }
        out
    }
}

/// `- x` for what only `ours` holds, `+ x` for what only `theirs` does (both sorted).
fn lists(prefix: &str, ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut a, mut b) = (ours.iter().peekable(), theirs.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x == y => {
                a.next();
                b.next();
            }
            (Some(x), Some(y)) if x < y => {
                out.push(format!("- {prefix}{x}"));
                a.next();
            }
            (Some(_), Some(y)) => {
                out.push(format!("+ {prefix}{y}"));
                b.next();
            }
            (Some(x), None) => {
                out.push(format!("- {prefix}{x}"));
                a.next();
            }
            (None, Some(y)) => {
                out.push(format!("+ {prefix}{y}"));
                b.next();
            }
            (None, None) => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lists_differ_line_by_line() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            lists("", &s(&["a", "b", "d"]), &s(&["b", "c", "d", "e"])),
            ["- a", "+ c", "+ e"]
        );
        assert!(lists("", &s(&["a"]), &s(&["a"])).is_empty());
    }
}
