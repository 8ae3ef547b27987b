//! SQLite introspection: `sqlite_schema` and the table-valued pragmas
//! (`pragma_table_xinfo`, `pragma_foreign_key_list`, `pragma_index_list`,
//! `pragma_index_info`) joined over every table, so four queries read any schema.
//! Check constraints, index expressions and partial-index predicates live only in the
//! stored `CREATE` text and are read from it (`sql::outline`).

use std::collections::HashMap;

use super::rows::text;
use super::{Check, Column, ForeignKey, Index, Key, Name, Rule, Schema, Table, View};
use crate::engine::{DbError, Engine};
use crate::sql::{Dialect, outline};

/// SQLite's own objects (`sqlite_sequence`, `sqlite_stat1`, autoindexes) are not the
/// application's.
const USER_OBJECT: &str = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

fn objects() -> String {
    format!("SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_schema m WHERE {USER_OBJECT}")
}

fn columns() -> String {
    format!(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden
         FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p
         WHERE m.type = 'table' AND {USER_OBJECT} ORDER BY m.name, p.cid"
    )
}

fn foreign_keys() -> String {
    format!(
        "SELECT m.name, p.id, p.\"table\", p.\"from\", p.\"to\", p.on_update, p.on_delete
         FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) p
         WHERE m.type = 'table' AND {USER_OBJECT} ORDER BY m.name, p.id, p.seq"
    )
}

fn indexes() -> String {
    format!(
        "SELECT m.name, il.name, il.\"unique\", il.origin, ii.name
         FROM sqlite_schema m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii
         WHERE m.type = 'table' AND {USER_OBJECT} ORDER BY m.name, il.name, ii.seqno"
    )
}

/// What `pragma_index_info` names an indexed expression by (it gives no name).
const EXPRESSION: &str = "<expression>";

pub(crate) fn introspect(e: &mut dyn Engine) -> Result<Schema, DbError> {
    let mut tables = Vec::new();
    let mut views = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut table_sql: HashMap<String, String> = HashMap::new();
    let mut index_sql: HashMap<String, String> = HashMap::new();
    for row in e.query(&objects())? {
        let (name, sql) = (text(&row, 1), text(&row, 3));
        match text(&row, 0).as_str() {
            "table" => {
                at.insert(name.clone(), tables.len());
                tables.push(Table {
                    name: Name::new("", name.clone()),
                    checks: outline::checks(&sql, Dialect::Sqlite)
                        .into_iter()
                        .map(|expression| Check {
                            name: None,
                            expression,
                        })
                        .collect(),
                    ..Table::default()
                });
                table_sql.insert(name, sql);
            }
            "view" => views.push(View {
                name: Name::new("", name),
                materialized: false,
                definition: sql.trim().to_string(),
            }),
            "index" => {
                index_sql.insert(name, sql);
            }
            _ => {}
        }
    }
    let mut pk: HashMap<usize, Vec<(i64, String)>> = HashMap::new();
    for row in e.query(&columns())? {
        let Some(&i) = at.get(&text(&row, 0)) else {
            continue;
        };
        let name = text(&row, 1);
        let order: i64 = text(&row, 5).parse().unwrap_or(0);
        if order > 0 {
            pk.entry(i).or_default().push((order, name.clone()));
        }
        let autoincrement = order > 0
            && table_sql[&text(&row, 0)]
                .to_ascii_uppercase()
                .contains("AUTOINCREMENT");
        let generated = match text(&row, 6).as_str() {
            "2" => Some("virtual".to_string()),
            "3" => Some("stored".to_string()),
            _ if autoincrement => Some("autoincrement".to_string()),
            _ => None,
        };
        tables[i].columns.push(Column {
            name,
            data_type: text(&row, 2),
            nullable: text(&row, 3) == "0",
            default: row[4].clone(),
            generated,
        });
    }
    for (i, mut cols) in pk {
        cols.sort();
        tables[i].primary_key = Some(Key {
            name: None,
            columns: cols.into_iter().map(|(_, c)| c).collect(),
        });
    }
    read_foreign_keys(e, &mut tables, &at)?;
    read_indexes(e, &mut tables, &at, &index_sql)?;
    Ok(Schema {
        default_schema: String::new(),
        tables,
        views,
        ..Schema::default()
    }
    .normalize())
}

fn read_foreign_keys(
    e: &mut dyn Engine,
    tables: &mut [Table],
    at: &HashMap<String, usize>,
) -> Result<(), DbError> {
    let mut last: Option<(usize, String)> = None;
    let mut unresolved = Vec::new();
    for row in e.query(&foreign_keys())? {
        let Some(&i) = at.get(&text(&row, 0)) else {
            continue;
        };
        let id = text(&row, 1);
        if last.as_ref() != Some(&(i, id.clone())) {
            tables[i].foreign_keys.push(ForeignKey {
                name: None,
                columns: Vec::new(),
                references: Name::new("", text(&row, 2)),
                referenced_columns: Vec::new(),
                on_delete: Rule::parse(&text(&row, 6)).unwrap_or_default(),
                on_update: Rule::parse(&text(&row, 5)).unwrap_or_default(),
                validated: true,
            });
            last = Some((i, id));
        }
        let fk = tables[i].foreign_keys.last_mut().expect("pushed above");
        fk.columns.push(text(&row, 3));
        match &row[4] {
            Some(to) => fk.referenced_columns.push(to.clone()),
            None => unresolved.push((i, tables[i].foreign_keys.len() - 1)),
        }
    }
    // `REFERENCES parent` without columns means the parent's primary key.
    for (i, k) in unresolved {
        let parent = tables[i].foreign_keys[k].references.name.clone();
        let cols = at
            .get(&parent)
            .and_then(|&p| tables[p].primary_key.as_ref())
            .map(|pk| pk.columns.clone())
            .unwrap_or_default();
        tables[i].foreign_keys[k].referenced_columns = cols;
    }
    Ok(())
}

fn read_indexes(
    e: &mut dyn Engine,
    tables: &mut [Table],
    at: &HashMap<String, usize>,
    index_sql: &HashMap<String, String>,
) -> Result<(), DbError> {
    // (table, index name) → (unique, origin, column names from the pragma)
    let mut found: Vec<(usize, String, bool, String, Vec<String>)> = Vec::new();
    for row in e.query(&indexes())? {
        let Some(&i) = at.get(&text(&row, 0)) else {
            continue;
        };
        let name = text(&row, 1);
        if found.last().is_none_or(|f| (f.0, &f.1) != (i, &name)) {
            found.push((i, name, text(&row, 2) == "1", text(&row, 3), Vec::new()));
        }
        let entry = found.last_mut().expect("pushed above");
        entry
            .4
            .push(row[4].clone().unwrap_or_else(|| EXPRESSION.into()));
    }
    for (i, name, unique, origin, columns) in found {
        match origin.as_str() {
            "pk" => {}
            "u" => tables[i].uniques.push(Key {
                name: None,
                columns,
            }),
            _ => {
                let parts = index_sql
                    .get(&name)
                    .and_then(|sql| outline::index_parts(sql, Dialect::Sqlite));
                // Plain column names from the pragma; the CREATE text only for expressions.
                let (parsed, predicate) = parts.unwrap_or_default();
                let columns = if columns.iter().any(|c| c == EXPRESSION) && !parsed.is_empty() {
                    parsed
                } else {
                    columns
                };
                tables[i].indexes.push(Index {
                    name,
                    unique,
                    columns,
                    predicate,
                    method: None,
                });
            }
        }
    }
    Ok(())
}
