//! `[expect]` against the introspected schema: counts, required tables, foreign keys with
//! their delete rule, and indexes. Needs no queries beyond the introspection.

use std::time::Instant;

use super::{Category, CheckResult, Evidence, Status};
use crate::config::{Expect, ExpectForeignKey, ExpectIndex};
use crate::schema::{ForeignKey, Schema, Table};

pub(super) fn schema(expect: &Expect, schema: &Schema) -> Vec<CheckResult> {
    let t = Instant::now();
    let mut out = Vec::new();
    if let Some(min) = expect.min_tables {
        out.push(at_least(
            "schema.min_tables",
            "tables",
            schema.tables.len(),
            min,
        ));
    }
    if let Some(min) = expect.min_foreign_keys {
        let n = schema.foreign_key_count();
        out.push(at_least("schema.min_foreign_keys", "foreign keys", n, min));
    }
    for name in &expect.tables {
        let id = format!("schema.table.{name}");
        out.push(match schema.table(name) {
            Some(_) => CheckResult::new(
                id,
                Category::Schema,
                Status::Pass,
                format!("table {name} exists"),
            ),
            None => CheckResult::new(
                id,
                Category::Schema,
                Status::Fail,
                format!("table {name} does not exist"),
            ),
        });
    }
    out.extend(expect.foreign_keys.iter().map(|e| foreign_key(schema, e)));
    out.extend(expect.indexes.iter().map(|e| index(schema, e)));
    out.into_iter().map(|c| c.since(t)).collect()
}

fn at_least(id: &str, what: &str, n: usize, min: usize) -> CheckResult {
    let status = if n >= min { Status::Pass } else { Status::Fail };
    CheckResult::new(
        id,
        Category::Schema,
        status,
        format!("{n} {what} (expected at least {min})"),
    )
}

/// The keys of `table` that reference `references` (through the given columns, if any).
pub(super) fn matching_keys<'s>(
    schema: &'s Schema,
    table: &'s Table,
    e: &ExpectForeignKey,
) -> Vec<&'s ForeignKey> {
    let parent = schema.table(&e.references).map(|p| &p.name);
    table
        .foreign_keys
        .iter()
        .filter(|k| Some(&k.references) == parent || k.references.name == e.references)
        .filter(|k| e.columns.is_empty() || k.columns == e.columns)
        .collect()
}

fn foreign_key(schema: &Schema, e: &ExpectForeignKey) -> CheckResult {
    let cols = if e.columns.is_empty() {
        String::new()
    } else {
        format!(".{}", e.columns.join("_"))
    };
    let id = format!("schema.foreign_key.{}{cols}.{}", e.table, e.references);
    let what = format!("{} → {}", e.table, e.references);
    let Some(table) = schema.table(&e.table) else {
        return CheckResult::new(
            id,
            Category::Schema,
            Status::Fail,
            format!("{what}: table {} does not exist", e.table),
        );
    };
    let keys = matching_keys(schema, table, e);
    let Some(key) = keys.first() else {
        return CheckResult::new(
            id,
            Category::Schema,
            Status::Fail,
            format!("{what}: no foreign key declared"),
        );
    };
    let shown = format!(
        "{} ({}) → {}",
        e.table,
        key.columns.join(", "),
        e.references
    );
    let evidence = Evidence {
        notes: keys
            .iter()
            .map(|k| {
                format!(
                    "({}) on delete {}{}",
                    k.columns.join(", "),
                    k.on_delete.as_str(),
                    if k.validated { "" } else { " NOT VALID" }
                )
            })
            .collect(),
        ..Evidence::default()
    };
    let result = match e.on_delete {
        Some(rule) if key.on_delete != rule => CheckResult::new(
            id,
            Category::Schema,
            Status::Fail,
            format!(
                "{shown}: on delete {}, expected {}",
                key.on_delete.as_str(),
                rule.as_str()
            ),
        ),
        _ if !key.validated => CheckResult::new(
            id,
            Category::Schema,
            Status::Warn,
            format!("{shown}: declared NOT VALID, so existing rows were never checked"),
        ),
        _ => CheckResult::new(
            id,
            Category::Schema,
            Status::Pass,
            format!("{shown} on delete {}", key.on_delete.as_str()),
        ),
    };
    result.with_evidence(evidence)
}

/// An index, unique key or primary key whose leading columns are the expected ones.
fn index(schema: &Schema, e: &ExpectIndex) -> CheckResult {
    let id = format!("schema.index.{}.{}", e.table, e.columns.join("_"));
    let what = format!("index on {} ({})", e.table, e.columns.join(", "));
    let Some(table) = schema.table(&e.table) else {
        return CheckResult::new(
            id,
            Category::Schema,
            Status::Fail,
            format!("{what}: table {} does not exist", e.table),
        );
    };
    match supporting_index(table, &e.columns) {
        Some(name) => CheckResult::new(
            id,
            Category::Schema,
            Status::Pass,
            format!("{what}: {name}"),
        ),
        None => CheckResult::new(id, Category::Schema, Status::Fail, format!("{what}: none")),
    }
}

/// The name of an index or key on `table` that starts with `columns`, if there is one.
pub(super) fn supporting_index(table: &Table, columns: &[String]) -> Option<String> {
    let leads = |cols: &[String]| cols.len() >= columns.len() && cols[..columns.len()] == *columns;
    let pk = table
        .primary_key
        .iter()
        .map(|k| ("primary key".to_string(), &k.columns));
    let uniques = table.uniques.iter().map(|k| {
        (
            k.name.clone().unwrap_or_else(|| "unique key".into()),
            &k.columns,
        )
    });
    let indexes = table
        .indexes
        .iter()
        .filter(|i| i.predicate.is_none())
        .map(|i| (i.name.clone(), &i.columns));
    pk.chain(uniques)
        .chain(indexes)
        .find(|(_, cols)| leads(cols))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, Key, Name, Rule};

    fn lms() -> Schema {
        let col = |n: &str| Column {
            name: n.into(),
            data_type: "int".into(),
            ..Column::default()
        };
        let students = Table {
            name: Name::new("", "students"),
            columns: vec![col("id"), col("email")],
            primary_key: Some(Key {
                name: None,
                columns: vec!["id".into()],
            }),
            ..Table::default()
        };
        let enrollments = Table {
            name: Name::new("", "enrollments"),
            columns: vec![col("id"), col("student_id")],
            foreign_keys: vec![ForeignKey {
                columns: vec!["student_id".into()],
                references: Name::new("", "students"),
                referenced_columns: vec!["id".into()],
                on_delete: Rule::Cascade,
                validated: true,
                ..ForeignKey::default()
            }],
            ..Table::default()
        };
        Schema {
            tables: vec![students, enrollments],
            ..Schema::default()
        }
    }

    fn statuses(expect: &Expect) -> Vec<(String, Status)> {
        schema(expect, &lms())
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect()
    }

    #[test]
    fn expectations_that_hold_and_that_fail() {
        let fk = |rule| ExpectForeignKey {
            table: "enrollments".into(),
            references: "students".into(),
            columns: vec![],
            on_delete: Some(rule),
        };
        let expect = Expect {
            min_tables: Some(2),
            min_foreign_keys: Some(2),
            tables: vec!["students".into(), "courses".into()],
            foreign_keys: vec![fk(Rule::Cascade), fk(Rule::SetNull)],
            indexes: vec![
                ExpectIndex {
                    table: "students".into(),
                    columns: vec!["id".into()],
                },
                ExpectIndex {
                    table: "enrollments".into(),
                    columns: vec!["student_id".into()],
                },
            ],
            ..Expect::default()
        };
        let got: Vec<Status> = statuses(&expect).into_iter().map(|(_, s)| s).collect();
        use Status::*;
        assert_eq!(got, vec![Pass, Fail, Pass, Fail, Pass, Fail, Pass, Fail]);
    }

    #[test]
    fn not_valid_key_is_a_warning() {
        let mut s = lms();
        s.tables[1].foreign_keys[0].validated = false;
        let expect = Expect {
            foreign_keys: vec![ExpectForeignKey {
                table: "enrollments".into(),
                references: "students".into(),
                ..ExpectForeignKey::default()
            }],
            ..Expect::default()
        };
        let got = schema(&expect, &s);
        assert_eq!(got[0].status, Status::Warn, "{}", got[0].message);
    }
}
