//! Data integrity: orphaned rows for every foreign key (declared, `NOT VALID`, disabled
//! while loading, or only listed in `[expect]`), and duplicates where `[expect.unique]`
//! says a column set is unique. One count query per key, and a sample of the offending
//! rows' keys only when there are any.

use std::time::Instant;

use super::{Category, CheckResult, Evidence, SAMPLE_ROWS, Status};
use crate::config::Expect;
use crate::engine::Engine;
use crate::schema::{Name, Schema, Table};

/// A relationship to check: child columns → parent columns.
struct Link<'a> {
    child: &'a Table,
    columns: Vec<String>,
    parent: Name,
    parent_columns: Vec<String>,
    /// Why it is worth a note (`NOT VALID`, not declared).
    note: Option<String>,
}

pub(super) fn orphans(e: &mut dyn Engine, schema: &Schema, expect: &Expect) -> Vec<CheckResult> {
    let mut links: Vec<Link> = Vec::new();
    for t in &schema.tables {
        for k in &t.foreign_keys {
            links.push(Link {
                child: t,
                columns: k.columns.clone(),
                parent: k.references.clone(),
                parent_columns: k.referenced_columns.clone(),
                note: (!k.validated)
                    .then(|| "declared NOT VALID: existing rows were never checked".into()),
            });
        }
    }
    // Relationships `[expect]` names that no key declares, where the columns are known.
    for x in &expect.foreign_keys {
        let (Some(child), Some(parent)) = (schema.table(&x.table), schema.table(&x.references))
        else {
            continue;
        };
        let declared = !super::expect::matching_keys(schema, child, x).is_empty();
        let parent_columns = parent
            .primary_key
            .as_ref()
            .map(|k| k.columns.clone())
            .unwrap_or_default();
        if declared || x.columns.is_empty() || parent_columns.len() != x.columns.len() {
            continue;
        }
        links.push(Link {
            child,
            columns: x.columns.clone(),
            parent: parent.name.clone(),
            parent_columns,
            note: Some("no foreign key declares this relationship ([expect])".into()),
        });
    }
    links.iter().map(|l| orphan_check(e, schema, l)).collect()
}

fn orphan_check(e: &mut dyn Engine, schema: &Schema, l: &Link) -> CheckResult {
    let t = Instant::now();
    let d = e.dialect();
    let ds = &schema.default_schema;
    let child = l.child.name.display(ds);
    let id = format!("integrity.orphans.{child}.{}", l.columns.join("_"));
    let what = format!(
        "{child} ({}) → {} ({})",
        l.columns.join(", "),
        l.parent.display(ds),
        l.parent_columns.join(", ")
    );
    let c = |col: &str| format!("c.{}", d.quote(col));
    let not_null: Vec<String> = l
        .columns
        .iter()
        .map(|k| format!("{} IS NOT NULL", c(k)))
        .collect();
    let joins: Vec<String> = l
        .columns
        .iter()
        .zip(&l.parent_columns)
        .map(|(k, p)| format!("p.{} = {}", d.quote(p), c(k)))
        .collect();
    let filter = format!(
        "FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
        l.child.name.sql(d),
        not_null.join(" AND "),
        l.parent.sql(d),
        joins.join(" AND ")
    );
    let count_sql = format!("SELECT count(*) {filter}");
    let keys = row_keys(l.child, &l.columns);
    let sample_sql = format!(
        "SELECT {} {filter} LIMIT {SAMPLE_ROWS}",
        keys.iter().map(|k| c(k)).collect::<Vec<_>>().join(", ")
    );
    let mut evidence = Evidence {
        query: Some(count_sql.clone()),
        notes: l.note.iter().cloned().collect(),
        ..Evidence::default()
    };
    let n = match count(e, &count_sql) {
        Ok(n) => n,
        Err(msg) => return cannot_run(id, Category::Integrity, &what, msg, evidence).since(t),
    };
    if n == 0 {
        let status = if l.note.is_some() {
            Status::Warn
        } else {
            Status::Pass
        };
        let msg = match &l.note {
            Some(note) => format!("{what}: no orphaned rows, but {note}"),
            None => format!("{what}: no orphaned rows"),
        };
        return CheckResult::new(id, Category::Integrity, status, msg)
            .with_evidence(evidence)
            .since(t);
    }
    evidence.columns = keys;
    evidence.rows = sample(e, &sample_sql);
    CheckResult::new(
        id,
        Category::Integrity,
        Status::Fail,
        format!("{what}: {n} orphaned row(s)"),
    )
    .with_evidence(evidence)
    .since(t)
}

/// `[expect.unique]`: no duplicates in the data, and a key that enforces it.
pub(super) fn unique(e: &mut dyn Engine, schema: &Schema, expect: &Expect) -> Vec<CheckResult> {
    expect
        .unique
        .iter()
        .map(|u| {
            let t = Instant::now();
            let id = format!("integrity.unique.{}.{}", u.table, u.columns.join("_"));
            let what = format!("{} ({})", u.table, u.columns.join(", "));
            let Some(table) = schema.table(&u.table) else {
                let msg = format!("{what}: table {} does not exist", u.table);
                return CheckResult::new(id, Category::Integrity, Status::Fail, msg).since(t);
            };
            duplicates(e, table, &u.columns, id, &what).since(t)
        })
        .collect()
}

fn duplicates(
    e: &mut dyn Engine,
    table: &Table,
    columns: &[String],
    id: String,
    what: &str,
) -> CheckResult {
    let d = e.dialect();
    let cols: Vec<String> = columns.iter().map(|c| d.quote(c)).collect();
    let not_null: Vec<String> = cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    let groups = format!(
        "SELECT {cols}, count(*) AS copies FROM {t} WHERE {nn} GROUP BY {cols} HAVING count(*) > 1",
        cols = cols.join(", "),
        t = table.name.sql(d),
        nn = not_null.join(" AND ")
    );
    let count_sql = format!("SELECT count(*) FROM ({groups}) dup");
    let mut evidence = Evidence {
        query: Some(groups.clone()),
        ..Evidence::default()
    };
    let n = match count(e, &count_sql) {
        Ok(n) => n,
        Err(msg) => return cannot_run(id, Category::Integrity, what, msg, evidence),
    };
    if n > 0 {
        evidence.columns = columns
            .iter()
            .cloned()
            .chain(["copies".to_string()])
            .collect();
        evidence.rows = sample(
            e,
            &format!("{groups} ORDER BY count(*) DESC LIMIT {SAMPLE_ROWS}"),
        );
        let msg = format!("{what}: {n} value(s) appear more than once");
        return CheckResult::new(id, Category::Integrity, Status::Fail, msg)
            .with_evidence(evidence);
    }
    let enforced = table
        .primary_key
        .iter()
        .chain(&table.uniques)
        .any(|k| same_set(&k.columns, columns))
        || table
            .indexes
            .iter()
            .any(|i| i.unique && i.predicate.is_none() && same_set(&i.columns, columns));
    if enforced {
        CheckResult::new(
            id,
            Category::Integrity,
            Status::Pass,
            format!("{what}: unique, enforced by a key"),
        )
        .with_evidence(evidence)
    } else {
        let msg = format!("{what}: unique in the data today, but no unique key enforces it");
        CheckResult::new(id, Category::Integrity, Status::Warn, msg).with_evidence(evidence)
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// The columns that identify an offending row: the primary key, then the checked columns.
fn row_keys(t: &Table, columns: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = t
        .primary_key
        .iter()
        .flat_map(|k| k.columns.clone())
        .collect();
    for c in columns {
        if !keys.contains(c) {
            keys.push(c.clone());
        }
    }
    keys
}

pub(super) fn count(e: &mut dyn Engine, sql: &str) -> Result<i64, String> {
    let rows = e.query(sql).map_err(|err| err.message)?;
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "the count query returned no number".to_string())
}

/// Up to `SAMPLE_ROWS` rows as text; a failing sample query leaves the evidence without rows.
pub(super) fn sample(e: &mut dyn Engine, sql: &str) -> Vec<Vec<String>> {
    e.query(sql)
        .map(|rows| {
            rows.into_iter()
                .take(SAMPLE_ROWS)
                .map(|r| {
                    r.into_iter()
                        .map(|v| v.unwrap_or_else(|| "NULL".into()))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A check whose query the server refused: a warning that says why.
pub(super) fn cannot_run(
    id: String,
    category: Category,
    what: &str,
    msg: String,
    evidence: Evidence,
) -> CheckResult {
    CheckResult::new(
        id,
        category,
        Status::Warn,
        format!("{what}: could not check: {msg}"),
    )
    .with_evidence(evidence)
}
