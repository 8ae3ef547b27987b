//! The mapping file (`--mapping FILE`, TOML): for each target table, its source (a table or
//! a query), a filter, an expression per column, the unique key that makes a load
//! idempotent (rows already there are skipped or updated), and what to do with a row that
//! fails (stop, or reject it to a file within a budget). Everything is checked against both
//! schemas before a row is read: an unknown table or column, a type that cannot convert, a
//! lookup cycle — each an error naming the file's line.
//!
//! ```toml
//! [[tables]]
//! target = "students"
//! source = "Student_LegacyTable"
//! filter = "StudEmail IS NOT NULL"
//! key = ["email"]
//! on_error = "reject"
//! [tables.columns]
//! id = "StudentID"
//! email = "lower(trim(StudEmail))"
//! ```

pub mod expr;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::endpoint::Destination;
use super::plan::{Sides, TablePlan};
use super::value::Class;
use crate::error::Error;
use crate::schema::{Name, Schema, Table};
use expr::{Expr, Func};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tables: Vec<TableSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    target: Spanned<String>,
    source: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    filter: Option<String>,
    key: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    on_existing: OnExisting,
    #[serde(default)]
    on_error: OnError,
    max_rejects: Option<u64>,
    reject_file: Option<PathBuf>,
    columns: BTreeMap<String, Spanned<String>>,
    /// Quality checks: a mapped column's values must match (`email`, or a regular
    /// expression).
    #[serde(default)]
    patterns: BTreeMap<String, Spanned<String>>,
    /// Rows a quality check may find before it fails (it warns up to this); default 0.
    #[serde(default)]
    thresholds: BTreeMap<String, Spanned<u64>>,
}

/// The quality checks a table's rows go through (`--check-only`, and before every load).
pub const CHECK_KINDS: [&str; 6] = [
    "conversion",
    "not_null",
    "length",
    "pattern",
    "duplicates",
    "orphans",
];

/// What `patterns = { email = "email" }` means.
const EMAIL: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

/// What to do with a row whose key the target already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExisting {
    #[default]
    Skip,
    Update,
}

/// What to do with a row that fails (an expression, a lookup, NOT NULL, a length).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    #[default]
    Stop,
    Reject,
}

/// A lookup resolved against the target: `SELECT column, key FROM table`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Lookup {
    /// `students.email`, for messages.
    pub name: String,
    pub table: String,
    pub column: String,
    pub key: String,
}

/// How a mapped table's rows are made from the source's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mapped {
    #[serde(skip)]
    pub exprs: Vec<Expr>,
    /// Per target column: its lookup, if its expression is one.
    pub lookups: Vec<Option<Lookup>>,
    /// Source columns in select order, then the `sql()` expressions.
    pub reads: Vec<String>,
    pub sqls: Vec<String>,
    /// Target columns of the unique key, by index.
    pub key: Vec<usize>,
    pub on_existing: OnExisting,
    pub on_error: OnError,
    pub max_rejects: Option<u64>,
    pub reject_file: PathBuf,
    /// Per target column: NOT NULL, and the longest text it holds.
    pub not_null: Vec<bool>,
    pub max_len: Vec<Option<usize>>,
    /// `file:line` of each column's expression, for messages.
    pub lines: Vec<String>,
    /// Per pattern: the column, the pattern as written, and the expression.
    #[serde(skip)]
    pub patterns: Vec<(usize, String, regex::Regex)>,
    /// Rows each check kind may find and only warn.
    pub thresholds: BTreeMap<String, u64>,
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Check a mapping's TOML and every expression in it, without the databases (the README's
/// examples are proved this way).
pub fn check_text(text: &str) -> Result<(), String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for t in &file.tables {
        for (name, e) in &t.columns {
            expr::parse(e.get_ref()).map_err(|m| format!("{}.{name}: {m}", t.target.get_ref()))?;
        }
    }
    Ok(())
}

/// Read and check a mapping file; plan its tables in dependency order.
pub fn plan(path: &Path, sides: &Sides, notes: &mut Vec<String>) -> Result<Vec<TablePlan>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: File = toml::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
    let at =
        |span: std::ops::Range<usize>| format!("{}:{}", path.display(), line_of(&text, span.start));
    let mut plans = Vec::new();
    for spec in &file.tables {
        plans.push(table(spec, sides, path, &at, notes)?);
    }
    order(plans, &file, &at)
}

/// Tables after the tables their lookups read; a cycle is an error naming its lines.
fn order(
    plans: Vec<TablePlan>,
    file: &File,
    at: &dyn Fn(std::ops::Range<usize>) -> String,
) -> Result<Vec<TablePlan>, Error> {
    let names: BTreeSet<String> = plans.iter().map(|p| p.name.clone()).collect();
    let mut waiting: Vec<(TablePlan, BTreeSet<String>)> = plans
        .into_iter()
        .map(|p| {
            let deps = p
                .mapped
                .iter()
                .flat_map(|m| m.lookups.iter().flatten())
                .map(|l| l.name.split('.').next().unwrap_or("").to_string())
                .filter(|t| *t != p.name && names.contains(t))
                .collect();
            (p, deps)
        })
        .collect();
    let mut out = Vec::new();
    while !waiting.is_empty() {
        let Some(i) = waiting.iter().position(|(_, d)| d.is_empty()) else {
            let lines: Vec<String> = waiting
                .iter()
                .filter_map(|(p, _)| file.tables.iter().find(|t| *t.target.get_ref() == p.name))
                .map(|t| format!("{} ({})", at(t.target.span()), t.target.get_ref()))
                .collect();
            return Err(Error::Usage(format!(
                "the mapping's lookups form a cycle: {}",
                lines.join(", ")
            )));
        };
        let (p, _) = waiting.remove(i);
        for (_, deps) in &mut waiting {
            deps.remove(&p.name);
        }
        out.push(p);
    }
    Ok(out)
}

fn find<'a>(schema: &'a Schema, name: &str) -> Option<&'a Table> {
    let tables = || {
        schema
            .tables
            .iter()
            .filter(|t| t.name.schema.is_empty() || t.name.schema == schema.default_schema)
    };
    tables()
        .find(|t| t.name.name == name)
        .or_else(|| tables().find(|t| t.name.name.eq_ignore_ascii_case(name)))
}

fn column_names(t: &Table) -> String {
    t.columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether values of class `from` can be written to a column of class `to` (checked once
/// more per row where the text decides: a text that is not a date).
fn converts(from: &Class, to: &Class) -> bool {
    use Class::*;
    match (from, to) {
        (Any | Text | Char | Enum, _) | (_, Text | Char | Any | Enum | Json) => {
            !matches!((from, to), (Bytes, Text | Char | Enum | Json))
        }
        (Int | Bool | Decimal | Float, Int | Bool | Decimal | Float) => true,
        (Date | Timestamp | TimestampTz, Date | Timestamp | TimestampTz) => true,
        (Time, Time) | (Bytes, Bytes) | (Uuid, Uuid) => true,
        (Other(a), Other(b)) => a == b,
        _ => false,
    }
}

/// The class an expression's values have.
fn class_of(e: &Expr, source: Option<&Table>, enums: &[String]) -> Class {
    match e {
        Expr::Column(c) => source
            .and_then(|t| t.columns.iter().find(|x| x.name == *c))
            .map_or(Class::Any, |x| Class::of(&x.data_type, enums)),
        Expr::Literal(v) => match v {
            super::value::Value::Int(_) => Class::Int,
            super::value::Value::Real(_) => Class::Float,
            _ => Class::Any,
        },
        Expr::Call(Func::Coalesce, args) => class_of(&args[0], source, enums),
        Expr::Call(Func::Now, _) => Class::Timestamp,
        Expr::Call(..) => Class::Text,
        Expr::Cast(_, c) => c.class(),
        Expr::Sql(_) => Class::Any,
        Expr::Lookup { .. } => Class::Int,
    }
}

fn table(
    spec: &TableSpec,
    sides: &Sides,
    path: &Path,
    at: &dyn Fn(std::ops::Range<usize>) -> String,
    notes: &mut Vec<String>,
) -> Result<TablePlan, Error> {
    let (from, to) = (sides.from.dialect(), sides.to.dialect());
    let bad =
        |span: std::ops::Range<usize>, msg: String| Error::Usage(format!("{}: {msg}", at(span)));
    let target_name = spec.target.get_ref();
    let target = find(sides.target, target_name).ok_or_else(|| {
        bad(
            spec.target.span(),
            format!("the target has no table `{target_name}`"),
        )
    })?;
    let (source, from_sql) = match (&spec.source, &spec.query) {
        (Some(s), None) => {
            let t = find(sides.source, s.get_ref()).ok_or_else(|| {
                bad(
                    s.span(),
                    format!("the source has no table `{}`", s.get_ref()),
                )
            })?;
            (Some(t), t.name.sql(from))
        }
        (None, Some(q)) => (None, format!("({}) q", q.get_ref())),
        _ => {
            return Err(bad(
                spec.target.span(),
                format!("table `{target_name}`: give either `source` (a table) or `query`"),
            ));
        }
    };
    let source_enums: Vec<String> = sides
        .source
        .enums
        .iter()
        .map(|e| e.name.name.clone())
        .collect();
    let target_enums: Vec<String> = sides
        .target
        .enums
        .iter()
        .map(|e| e.name.name.clone())
        .collect();
    let mut columns = Vec::new();
    let mut exprs = Vec::new();
    let mut lines = Vec::new();
    let mut lookups = Vec::new();
    let mut classes = Vec::new();
    let mut not_null = Vec::new();
    let mut max_len = Vec::new();
    let mut reads: Vec<String> = Vec::new();
    let mut sqls: Vec<String> = Vec::new();
    let mut compared = Vec::new();
    for (name, text) in &spec.columns {
        let span = text.span();
        let e = expr::parse(text.get_ref())
            .map_err(|m| bad(span.clone(), format!("{target_name}.{name}: {m}")))?;
        let tc = target
            .columns
            .iter()
            .find(|c| c.name == *name)
            .ok_or_else(|| {
                bad(
                    span.clone(),
                    format!(
                        "{target_name} has no column `{name}` (it has {})",
                        column_names(target)
                    ),
                )
            })?;
        let mut used = Vec::new();
        e.columns(&mut used);
        for c in used {
            if let Some(t) = source
                && !t.columns.iter().any(|x| x.name == c)
            {
                return Err(bad(
                    span.clone(),
                    format!(
                        "{target_name}.{name}: {} has no column `{c}` (it has {})",
                        t.name.name,
                        column_names(t)
                    ),
                ));
            }
            if !reads.iter().any(|r| r == c) {
                reads.push(c.to_string());
            }
        }
        let mut s = Vec::new();
        e.sqls(&mut s);
        for q in s {
            if !sqls.iter().any(|x| x == q) {
                sqls.push(q.to_string());
            }
        }
        let target_class = Class::of(&tc.data_type, &target_enums);
        let lookup = match e.lookup() {
            Some((table, column, _)) => Some(
                lookup_of(sides, table, column)
                    .map_err(|m| bad(span.clone(), format!("{target_name}.{name}: {m}")))?,
            ),
            None => None,
        };
        let class = class_of(&e, source, &source_enums);
        if !converts(&class, &target_class) {
            return Err(bad(
                span.clone(),
                format!(
                    "{target_name}.{name}: values of class {class:?} cannot be written to {} (use cast)",
                    tc.data_type
                ),
            ));
        }
        compared.push(!e.uses_now());
        lookups.push(lookup);
        exprs.push(e);
        lines.push(at(span));
        not_null.push(!tc.nullable);
        max_len.push(
            super::endpoint::type_length(&tc.data_type)
                .filter(|_| matches!(target_class, Class::Text | Class::Char))
                .map(|n| n as usize),
        );
        classes.push(target_class);
        columns.push(name.clone());
    }
    let key = match &spec.key {
        None => Vec::new(),
        Some(key) => key
            .get_ref()
            .iter()
            .map(|k| {
                columns.iter().position(|c| c == k).ok_or_else(|| {
                    bad(
                        key.span(),
                        format!(
                            "{target_name}: the key column `{k}` is not one of the mapped columns"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut patterns = Vec::new();
    for (col, text) in &spec.patterns {
        let j = columns.iter().position(|c| c == col).ok_or_else(|| {
            bad(
                text.span(),
                format!(
                    "{target_name}: the pattern's column `{col}` is not one of the mapped columns"
                ),
            )
        })?;
        let source = if text.get_ref() == "email" {
            EMAIL
        } else {
            text.get_ref()
        };
        let re = regex::Regex::new(source).map_err(|e| {
            bad(
                text.span(),
                format!("{target_name}.{col}: not a regular expression: {e}"),
            )
        })?;
        patterns.push((j, text.get_ref().clone(), re));
    }
    let mut thresholds = BTreeMap::new();
    for (kind, n) in &spec.thresholds {
        if !CHECK_KINDS.contains(&kind.as_str()) {
            return Err(bad(
                n.span(),
                format!(
                    "{target_name}: no check `{kind}` (checks: {})",
                    CHECK_KINDS.join(", ")
                ),
            ));
        }
        thresholds.insert(kind.clone(), *n.get_ref());
    }
    if spec.on_existing == OnExisting::Update && key.is_empty() {
        return Err(bad(
            spec.target.span(),
            format!("{target_name}: on_existing = \"update\" needs a key"),
        ));
    }
    // The source query: the columns read, then the source-side expressions; in key order.
    let mut select: Vec<String> = reads
        .iter()
        .map(|c| {
            let class = source
                .and_then(|t| t.columns.iter().find(|x| x.name == *c))
                .map_or(Class::Any, |x| Class::of(&x.data_type, &source_enums));
            sides.from.select_expr(&from.quote(c), &class)
        })
        .collect();
    select.extend(sqls.iter().map(|s| format!("({s})")));
    if select.is_empty() {
        select.push("1".into());
    }
    let source_classes: Vec<Class> = reads
        .iter()
        .map(|c| {
            source
                .and_then(|t| t.columns.iter().find(|x| x.name == *c))
                .map_or(Class::Any, |x| Class::of(&x.data_type, &source_enums))
        })
        .chain(sqls.iter().map(|_| Class::Any))
        .collect();
    let order = match source.and_then(|t| t.primary_key.as_ref()) {
        Some(pk) => pk
            .columns
            .iter()
            .map(|c| from.quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        None => (1..=select.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let filter = spec
        .filter
        .as_ref()
        .map(|f| format!(" WHERE {f}"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {} FROM {from_sql}{filter} ORDER BY {order}",
        select.join(", ")
    );
    let target_sql = Name::new(
        sides.target.default_schema.clone(),
        target.name.name.clone(),
    )
    .sql(to);
    let reject_file = spec
        .reject_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{target_name}.rejects.jsonl")));
    let reject_file = match path.parent() {
        Some(dir) if reject_file.is_relative() => dir.join(reject_file),
        _ => reject_file,
    };
    if compared.iter().any(|c| !c) {
        notes.push(format!(
            "{target_name}: columns computed with now() are counted but not checksummed (they differ between runs)"
        ));
    }
    let back: Vec<String> = columns
        .iter()
        .zip(&classes)
        .map(|(c, class)| sides.to.select_expr(&to.quote(c), class))
        .collect();
    Ok(TablePlan {
        name: target.name.name.clone(),
        count: format!("SELECT count(*) FROM {from_sql}{filter}"),
        select: sql,
        source_classes,
        tally_classes: classes.clone(),
        compared,
        readback: format!("SELECT {} FROM {target_sql}", back.join(", ")),
        into: Destination {
            table: target_sql,
            columns: columns.iter().map(|c| to.quote(c)).collect(),
            classes,
        },
        columns,
        create: None,
        primary_after: None,
        after: Vec::new(),
        foreign_after: Vec::new(),
        mapped: Some(Mapped {
            exprs,
            lookups,
            reads,
            sqls,
            key,
            on_existing: spec.on_existing,
            on_error: spec.on_error,
            max_rejects: spec.max_rejects,
            reject_file,
            not_null,
            max_len,
            lines,
            patterns,
            thresholds,
        }),
    })
}

/// `lookup(table.column = …)`: the target table, the natural key column, and the table's
/// one-column primary key the lookup returns.
fn lookup_of(sides: &Sides, table: &str, column: &str) -> Result<Lookup, String> {
    let to = sides.to.dialect();
    let t = find(sides.target, table)
        .ok_or_else(|| format!("lookup: the target has no table `{table}`"))?;
    if !t.columns.iter().any(|c| c.name == column) {
        return Err(format!(
            "lookup: {table} has no column `{column}` (it has {})",
            column_names(t)
        ));
    }
    let key = match &t.primary_key {
        Some(pk) if pk.columns.len() == 1 => pk.columns[0].clone(),
        _ => {
            return Err(format!(
                "lookup: {table} needs a one-column primary key to return"
            ));
        }
    };
    Ok(Lookup {
        name: format!("{table}.{column}"),
        table: Name::new(sides.target.default_schema.clone(), t.name.name.clone()).sql(to),
        column: to.quote(column),
        key: to.quote(&key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_convert_where_values_can() {
        assert!(converts(&Class::Text, &Class::Int));
        assert!(converts(&Class::Int, &Class::Decimal));
        assert!(converts(&Class::Timestamp, &Class::Date));
        assert!(!converts(&Class::Date, &Class::Int));
        assert!(!converts(&Class::Bytes, &Class::Text));
        assert!(!converts(&Class::Float, &Class::Timestamp));
    }
}
