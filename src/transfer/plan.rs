//! What a like-for-like transfer will do, decided before any row moves: the tables (all of
//! the source's, or those named), in foreign-key order; for each, the source query, the
//! target columns and their classes, and the DDL `--create-tables` runs (the table before
//! the load, its keys and indexes after). Every type that has no equal on the target is
//! named at once, and nothing is changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::endpoint::{Destination, Endpoint, Wanted};
use super::value::Class;
use crate::error::Error;
use crate::schema::{Name, Schema, Table};
use crate::sql::Dialect;

/// One table's part of the transfer.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    /// The table's name (unqualified), as reports and checkpoints show it.
    pub name: String,
    /// The source query: canonical select expressions, in key order (so a resumed run can
    /// skip exactly the rows it already loaded).
    pub select: String,
    /// The source's row count, without the order (a count need not sort).
    #[serde(skip)]
    pub count: String,
    #[serde(skip)]
    pub source_classes: Vec<Class>,
    /// The classes the reconciliation reads the loaded values in, on both sides (the
    /// source's for a like-for-like copy, the target's for a mapping).
    #[serde(skip)]
    pub tally_classes: Vec<Class>,
    /// Per column: whether its checksum is compared (not for `now()`).
    #[serde(skip)]
    pub compared: Vec<bool>,
    #[serde(skip)]
    pub into: Destination,
    /// The columns, unquoted, in load order.
    pub columns: Vec<String>,
    /// The target query that reads the loaded rows back for the reconciliation.
    #[serde(skip)]
    pub readback: String,
    /// `CREATE TABLE`, when the target lacks the table and `--create-tables` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<String>,
    /// The primary key added after the load, before any table's other keys (created
    /// tables on PostgreSQL: a foreign key needs its parent's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_after: Option<String>,
    /// Indexes and unique keys added after the load (created tables only): this table's
    /// alone, so they are built while the next table loads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Foreign keys added after the load, each once its parent is keyed (created tables
    /// only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign_after: Vec<ForeignAfter>,
    /// How rows are made, for a table of a mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped: Option<crate::transfer::mapping::Mapped>,
}

/// A foreign key added after the load, and the table (as `TablePlan::name`) it points at.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignAfter {
    pub parent: String,
    pub sql: String,
}

/// The tables of the source's default schema, those named first filtered.
fn chosen<'a>(source: &'a Schema, names: &[String]) -> Result<Vec<&'a Table>, Error> {
    let all: Vec<&Table> = source
        .tables
        .iter()
        .filter(|t| t.name.schema.is_empty() || t.name.schema == source.default_schema)
        .collect();
    if names.is_empty() {
        return Ok(all);
    }
    let mut picked = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        match all
            .iter()
            .find(|t| t.name.name == *n)
            .or_else(|| all.iter().find(|t| t.name.name.eq_ignore_ascii_case(n)))
        {
            Some(t) => picked.push(*t),
            None => unknown.push(n.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::Usage(format!(
            "--tables: the source has no table {}",
            unknown.join(", ")
        )));
    }
    Ok(picked)
}

/// `tables` with every table after those its foreign keys reference (among `tables`);
/// self-references do not count, and a cycle keeps the rest in name order.
pub fn fk_order<'a>(tables: &[&'a Table]) -> Vec<&'a Table> {
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.name.as_str()).collect();
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| {
            let deps = t
                .foreign_keys
                .iter()
                .map(|fk| fk.references.name.as_str())
                .filter(|r| *r != t.name.name && names.contains(r))
                .collect();
            (t.name.name.as_str(), deps)
        })
        .collect();
    let mut order = Vec::new();
    while !waiting.is_empty() {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(n, _)| *n)
            .collect();
        // A cycle: take the first in name order (its keys are added after the load).
        let ready = if ready.is_empty() {
            vec![*waiting.keys().next().expect("not empty")]
        } else {
            ready
        };
        for n in ready {
            waiting.remove(n);
            for deps in waiting.values_mut() {
                deps.remove(n);
            }
            order.push(n);
        }
    }
    order
        .into_iter()
        .filter_map(|n| tables.iter().find(|t| t.name.name == n).copied())
        .collect()
}

/// What the two sides are, for planning.
pub struct Sides<'a> {
    pub source: &'a Schema,
    pub target: &'a Schema,
    pub from: &'a dyn Endpoint,
    pub to: &'a dyn Endpoint,
    /// The source's tables that are partitions of another (read through their parent).
    pub partitions: &'a [String],
}

/// Plan every table; `notes` gets what was carried in another form. `created` names the
/// tables a resumed run created (planned as created whether or not they exist by now).
pub fn plan(
    sides: &Sides,
    names: &[String],
    create: bool,
    created: &[String],
    notes: &mut Vec<String>,
) -> Result<Vec<TablePlan>, Error> {
    let mut picked = chosen(sides.source, names)?;
    picked.retain(|t| {
        let part = sides.partitions.contains(&t.name.name);
        if part {
            notes.push(format!(
                "{} is a partition: its rows are read through its parent table",
                t.name.name
            ));
        }
        !part
    });
    let tables = fk_order(&picked);
    if tables.is_empty() {
        return Err(Error::Usage("the source has no tables to transfer".into()));
    }
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.name.clone()).collect();
    let mut refusals = Vec::new();
    let mut plans = Vec::new();
    for t in tables {
        let create = if created.contains(&t.name.name) {
            Create::Always
        } else if create {
            Create::Missing
        } else {
            Create::Never
        };
        match table_plan(sides, t, create, &names, notes) {
            Ok(p) => plans.push(p),
            Err(mut why) => refusals.append(&mut why),
        }
    }
    if !refusals.is_empty() {
        return Err(Error::Refused {
            message: format!("nothing was transferred:\n  {}", refusals.join("\n  ")),
            hint: "leave those tables out with --tables, or create them on the target yourself \
                   with a type that fits (a mapping can convert values)"
                .into(),
        });
    }
    Ok(plans)
}

/// Whether a table is created on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    Never,
    /// `--create-tables`: when the target lacks it.
    Missing,
    /// A resumed run created it (or was about to).
    Always,
}

fn enums(schema: &Schema) -> Vec<String> {
    schema.enums.iter().map(|e| e.name.name.clone()).collect()
}

fn table_plan(
    sides: &Sides,
    t: &Table,
    create: Create,
    transferred: &BTreeSet<String>,
    notes: &mut Vec<String>,
) -> Result<TablePlan, Vec<String>> {
    let (from, to) = (sides.from.dialect(), sides.to.dialect());
    let source_enums = enums(sides.source);
    let source_classes: Vec<Class> = t
        .columns
        .iter()
        .map(|c| Class::of(&c.data_type, &source_enums))
        .collect();
    let target_table = sides
        .target
        .tables
        .iter()
        .filter(|x| x.name.schema.is_empty() || x.name.schema == sides.target.default_schema)
        .find(|x| x.name.name == t.name.name);
    let target_name = Name::new(sides.target.default_schema.clone(), t.name.name.clone());
    let (target_classes, create_sql, after) = match target_table {
        Some(existing) if create != Create::Always => (
            matched(t, existing, &source_classes, sides)?,
            None,
            Keys {
                primary_after: None,
                after: Vec::new(),
                foreign_after: Vec::new(),
            },
        ),
        _ if create != Create::Never => {
            let (classes, ddl, after) =
                created(t, &target_name, &source_classes, sides, transferred, notes)?;
            (classes, Some(ddl), after)
        }
        _ => {
            return Err(vec![format!(
                "table {} does not exist on the target: create it, or pass --create-tables",
                t.name.name
            )]);
        }
    };
    let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let order: Vec<String> = match &t.primary_key {
        Some(pk) => pk.columns.iter().map(|c| from.quote(c)).collect(),
        None => columns.iter().map(|c| from.quote(c)).collect(),
    };
    let exprs: Vec<String> = columns
        .iter()
        .zip(&source_classes)
        .map(|(c, class)| sides.from.select_expr(&from.quote(c), class))
        .collect();
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        exprs.join(", "),
        t.name.sql(from),
        order.join(", ")
    );
    let back: Vec<String> = columns
        .iter()
        .zip(&target_classes)
        .map(|(c, class)| sides.to.select_expr(&to.quote(c), class))
        .collect();
    Ok(TablePlan {
        name: t.name.name.clone(),
        count: format!("SELECT count(*) FROM {}", t.name.sql(from)),
        select,
        tally_classes: source_classes.clone(),
        compared: vec![true; columns.len()],
        mapped: None,
        source_classes,
        readback: format!("SELECT {} FROM {}", back.join(", "), target_name.sql(to)),
        into: Destination {
            table: target_name.sql(to),
            columns: columns.iter().map(|c| to.quote(c)).collect(),
            classes: target_classes,
        },
        columns,
        create: create_sql,
        primary_after: after.primary_after,
        after: after.after,
        foreign_after: after.foreign_after,
    })
}

/// The classes of an existing target table's columns, in the source's column order.
fn matched(
    t: &Table,
    existing: &Table,
    source_classes: &[Class],
    sides: &Sides,
) -> Result<Vec<Class>, Vec<String>> {
    let target_enums = enums(sides.target);
    let mut classes = Vec::new();
    let mut why = Vec::new();
    for (c, class) in t.columns.iter().zip(source_classes) {
        let Some(tc) = existing.columns.iter().find(|x| x.name == c.name) else {
            why.push(format!(
                "{}.{} has no column of that name on the target",
                t.name.name, c.name
            ));
            continue;
        };
        let target_class = Class::of(&tc.data_type, &target_enums);
        let carried = match (class, &target_class) {
            (Class::Other(a), Class::Other(b)) => {
                a == b && sides.from.dialect() == sides.to.dialect()
            }
            (Class::Other(_), Class::Text | Class::Any) => {
                sides.from.dialect() == Dialect::Postgres
            }
            (Class::Other(_), _) => false,
            (_, Class::Other(_)) => false,
            _ => true,
        };
        if !carried {
            why.push(format!(
                "{}.{}: {} on the source has no equal in {} on the target",
                t.name.name, c.name, c.data_type, tc.data_type
            ));
        }
        classes.push(target_class);
    }
    if why.is_empty() {
        Ok(classes)
    } else {
        Err(why)
    }
}

/// `CREATE TABLE` for the target's engine, and the keys and indexes to add after the load.
fn created(
    t: &Table,
    target_name: &Name,
    source_classes: &[Class],
    sides: &Sides,
    transferred: &BTreeSet<String>,
    notes: &mut Vec<String>,
) -> Result<(Vec<Class>, String, Keys), Vec<String>> {
    let (from, to) = (sides.from.dialect(), sides.to.dialect());
    let keyed: BTreeSet<&str> = t
        .primary_key
        .iter()
        .chain(&t.uniques)
        .flat_map(|k| k.columns.iter())
        .chain(t.foreign_keys.iter().flat_map(|fk| fk.columns.iter()))
        .chain(
            t.indexes
                .iter()
                .filter(|i| {
                    i.method
                        .as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case("btree"))
                })
                .flat_map(|i| i.columns.iter()),
        )
        .map(String::as_str)
        .collect();
    let mut lines = Vec::new();
    let mut classes = Vec::new();
    let mut why = Vec::new();
    for (c, class) in t.columns.iter().zip(source_classes) {
        let wanted = Wanted {
            name: format!("{}.{}", t.name.name, c.name),
            class,
            source_type: &c.data_type,
            from,
            keyed: keyed.contains(c.name.as_str()),
        };
        match sides.to.column_type(&wanted) {
            Ok(ty) => {
                if let Class::Other(name) = class
                    && from != to
                {
                    notes.push(format!(
                        "{} ({name}) is carried as its text form in {ty}",
                        wanted.name
                    ));
                }
                let null = if c.nullable { "" } else { " NOT NULL" };
                lines.push(format!("{} {ty}{null}", to.quote(&c.name)).replace("  ", " "));
                classes.push(Class::of(&ty, &[]));
            }
            Err(reason) => why.push(format!("{} {reason}", wanted.name)),
        }
    }
    if !why.is_empty() {
        return Err(why);
    }
    let cols = |cs: &[String]| {
        cs.iter()
            .map(|c| to.quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let table_sql = target_name.sql(to);
    let mut primary_after = None;
    if let Some(pk) = &t.primary_key {
        let key = format!("PRIMARY KEY ({})", cols(&pk.columns));
        if sides.to.primary_key_after_load() {
            primary_after = Some(format!("ALTER TABLE {table_sql} ADD {key}"));
        } else {
            lines.push(key);
        }
    }
    let mut after = Vec::new();
    let mut uniques = Vec::new();
    let mut keys = Vec::new();
    // Named, so that a resumed run adding them again is told they exist.
    let named = |what: &str, i: usize| {
        let name: String = format!("{}_{what}{i}", t.name.name)
            .chars()
            .take(60)
            .collect();
        format!("CONSTRAINT {}", to.quote(&name))
    };
    for (i, u) in t.uniques.iter().enumerate() {
        uniques.push(format!(
            "{} UNIQUE ({})",
            named("uq", i + 1),
            cols(&u.columns)
        ));
    }
    for (i, fk) in t.foreign_keys.iter().enumerate() {
        // A key to a table left out (and not on the target) would have nothing to point at.
        let parent_there = transferred.contains(&fk.references.name)
            || sides
                .target
                .tables
                .iter()
                .any(|x| x.name.name == fk.references.name);
        if !parent_there {
            notes.push(format!(
                "{}: its foreign key to {} was not created (that table is not transferred)",
                t.name.name, fk.references.name
            ));
            continue;
        }
        let parent = Name::new(target_name.schema.clone(), fk.references.name.clone());
        keys.push((
            fk.references.name.clone(),
            format!(
                "{} FOREIGN KEY ({}) REFERENCES {} ({})",
                named("fk", i + 1),
                cols(&fk.columns),
                parent.sql(to),
                cols(&fk.referenced_columns)
            ),
        ));
    }
    // Foreign keys after the indexes: MariaDB would otherwise build an index of its own
    // for a foreign key's columns, and then the plan's index on the same columns again.
    let (mut unique_after, mut foreign_after) = (Vec::new(), Vec::new());
    if sides.to.keys_after_load() {
        let alter = |k: &String| format!("ALTER TABLE {table_sql} ADD {k}");
        unique_after.extend(uniques.iter().map(alter));
        foreign_after.extend(keys.iter().map(|(parent, k)| ForeignAfter {
            parent: parent.clone(),
            sql: alter(k),
        }));
    } else {
        lines.extend(uniques);
        lines.extend(keys.into_iter().map(|(_, k)| k));
    }
    for ix in &t.indexes {
        // Expression and partial indexes are the source engine's SQL, and access methods
        // (gist, gin, FULLTEXT) its own; plain B-tree ones carry.
        let method_carries = sides.from.dialect() == to
            || ix
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case("btree"));
        let plain = method_carries
            && ix.predicate.is_none()
            && ix
                .columns
                .iter()
                .all(|c| t.columns.iter().any(|x| x.name == *c));
        if !plain {
            notes.push(format!(
                "index {} on {} is not plain columns and was not created",
                ix.name, t.name.name
            ));
            continue;
        }
        let unique = if ix.unique { "UNIQUE " } else { "" };
        let name: String = format!("{}_{}", t.name.name, ix.name)
            .chars()
            .take(60)
            .collect();
        after.push(format!(
            "CREATE {unique}INDEX {} ON {table_sql} ({})",
            to.quote(&name),
            cols(&ix.columns)
        ));
    }
    after.extend(unique_after);
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {table_sql} (\n  {}\n)",
        lines.join(",\n  ")
    );
    Ok((
        classes,
        ddl,
        Keys {
            primary_after,
            after,
            foreign_after,
        },
    ))
}

/// What a created table gets after its load.
struct Keys {
    primary_after: Option<String>,
    after: Vec<String>,
    foreign_after: Vec<ForeignAfter>,
}
