//! PostgreSQL introspection from `pg_catalog`: seven queries whatever the schema's size.
//!
//! Every user schema is read (not `pg_catalog`, `information_schema`, `pg_toast` or temp
//! schemas), and objects that belong to an extension are left out: they are the
//! extension's, not the application's.

use std::collections::HashMap;

use super::rows::{Row, opt, text};
use super::{
    Check, Column, EnumType, ForeignKey, Index, Key, Name, Rule, Schema, Sequence, Table, View,
    split_list,
};
use crate::engine::{DbError, Engine};

/// The relations that belong to the application, as a CTE every query starts from.
const RELATIONS: &str = "WITH rel AS (
  SELECT c.oid, n.nspname AS nsp, c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
";

const COLUMNS: &str = "SELECT r.nsp, r.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p')
ORDER BY r.nsp, r.relname, a.attnum";

/// Column names of a constraint's key, in key order, joined by U+001F.
macro_rules! key_columns {
    ($rel:literal, $key:literal) => {
        concat!(
            "(SELECT string_agg(a.attname, chr(31) ORDER BY k.i) FROM unnest(con.",
            $key,
            ") WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.",
            $rel,
            " AND a.attnum = k.n)"
        )
    };
}

const CONSTRAINTS: &str = concat!(
    "SELECT r.nsp, r.relname, con.conname, con.contype, ",
    key_columns!("conrelid", "conkey"),
    ", fn.nspname, f.relname, ",
    key_columns!("confrelid", "confkey"),
    ", con.confdeltype, con.confupdtype, con.convalidated, pg_get_constraintdef(con.oid, true)
FROM rel r
JOIN pg_constraint con ON con.conrelid = r.oid
LEFT JOIN pg_class f ON f.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')"
);

/// Key columns are named by `attname`, as constraints are: `pg_get_indexdef` quotes a name
/// that needs it (`"moduleId"`), and the model holds names unquoted. It prints what has
/// no column (`indkey` 0): an expression, kept as SQL text.
const INDEXES: &str = "SELECT r.nsp, r.relname, i.relname, x.indisunique, am.amname,
       (SELECT string_agg(CASE WHEN x.indkey[k - 1] <> 0 THEN a.attname::text
                               ELSE pg_get_indexdef(x.indexrelid, k, true) END,
                          chr(31) ORDER BY k)
        FROM generate_series(1, x.indnkeyatts) k
        LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1]),
       pg_get_expr(x.indpred, x.indrelid, true)
FROM rel r
JOIN pg_index x ON x.indrelid = r.oid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))";

const VIEWS: &str = "SELECT r.nsp, r.relname, r.relkind = 'm', pg_get_viewdef(r.oid, true)
FROM rel r WHERE r.relkind IN ('v', 'm')";

const ENUMS: &str =
    "SELECT n.nspname, t.typname, string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
GROUP BY n.nspname, t.typname";

const SEQUENCES: &str =
    "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')";

fn flag(row: &Row, i: usize) -> bool {
    matches!(row.get(i), Some(Some(v)) if v == "t" || v == "true")
}

pub(crate) fn introspect(e: &mut dyn Engine) -> Result<Schema, DbError> {
    let q = |e: &mut dyn Engine, sql: &str| e.query(&format!("{RELATIONS}{sql}"));
    let default_schema = e
        .query("SELECT current_schema()")?
        .first()
        .map(|r| text(r, 0))
        .unwrap_or_default();
    let mut tables: Vec<Table> = Vec::new();
    let mut at: HashMap<Name, usize> = HashMap::new();
    for row in q(e, COLUMNS)? {
        let name = Name::new(text(&row, 0), text(&row, 1));
        let i = *at.entry(name.clone()).or_insert_with(|| {
            tables.push(Table {
                name,
                ..Table::default()
            });
            tables.len() - 1
        });
        tables[i].columns.push(column(&row));
    }
    let table =
        |row: &Row| -> Option<usize> { at.get(&Name::new(text(row, 0), text(row, 1))).copied() };
    let mut constraints = Vec::new();
    for row in q(e, CONSTRAINTS)? {
        if let Some(i) = table(&row) {
            constraints.push((i, row));
        }
    }
    for (i, row) in constraints {
        add_constraint(&mut tables[i], &row);
    }
    for row in q(e, INDEXES)? {
        if let Some(i) = table(&row) {
            tables[i].indexes.push(Index {
                name: text(&row, 2),
                unique: flag(&row, 3),
                method: opt(&row, 4),
                columns: split_list(row[5].as_deref()),
                predicate: opt(&row, 6).map(|p| strip_casts(&p)),
            });
        }
    }
    let views = q(e, VIEWS)?
        .iter()
        .map(|row| View {
            name: Name::new(text(row, 0), text(row, 1)),
            materialized: flag(row, 2),
            definition: text(row, 3).trim().to_string(),
        })
        .collect();
    let enums = e
        .query(ENUMS)?
        .iter()
        .map(|row| EnumType {
            name: Name::new(text(row, 0), text(row, 1)),
            values: split_list(row[2].as_deref()),
        })
        .collect();
    let sequences = e
        .query(SEQUENCES)?
        .iter()
        .map(|row| Sequence {
            name: Name::new(text(row, 0), text(row, 1)),
            data_type: text(row, 2),
            start: text(row, 3),
            increment: text(row, 4),
        })
        .collect();
    Ok(Schema {
        default_schema,
        tables,
        views,
        enums,
        sequences,
    }
    .normalize())
}

fn column(row: &Row) -> Column {
    let generated = match (text(row, 6).as_str(), text(row, 7).as_str()) {
        ("a", _) => Some("identity always".to_string()),
        ("d", _) => Some("identity by default".to_string()),
        (_, "s") => Some("stored".to_string()),
        _ => None,
    };
    let default = opt(row, 5);
    // A stored generated column's "default" is its expression.
    let (default, generated) = match (generated.as_deref(), default) {
        (Some("stored"), Some(expr)) => (None, Some(format!("stored as {expr}"))),
        (_, d) => (d, generated),
    };
    Column {
        name: text(row, 2),
        data_type: text(row, 3),
        nullable: flag(row, 4),
        default,
        generated,
    }
}

fn add_constraint(t: &mut Table, row: &Row) {
    let name = opt(row, 2);
    let columns = split_list(row[4].as_deref());
    match text(row, 3).as_str() {
        "p" => t.primary_key = Some(Key { name, columns }),
        "u" => t.uniques.push(Key { name, columns }),
        "f" => t.foreign_keys.push(ForeignKey {
            name,
            columns,
            references: Name::new(text(row, 5), text(row, 6)),
            referenced_columns: split_list(row[7].as_deref()),
            on_delete: rule(&text(row, 8)),
            on_update: rule(&text(row, 9)),
            validated: flag(row, 10),
        }),
        _ => t.checks.push(Check {
            name,
            expression: check_expression(&text(row, 11)),
        }),
    }
}

/// `CHECK ((a > 0))` as `a > 0`: the expression alone, as the other engines give it,
/// without casts (see `strip_casts`). Exclusion constraints keep their whole definition.
fn check_expression(def: &str) -> String {
    match def
        .strip_prefix("CHECK (")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        Some(expr) => strip_casts(expr),
        None => def.to_string(),
    }
}

/// An expression without its `::type` casts. PostgreSQL prints the same constraint with
/// different casts after a dump and restore (`ARRAY['a'::character varying]::text[]`
/// comes back as `ARRAY['a'::character varying::text]`), so a schema that went through
/// a backup would never match itself; without the casts both read `ARRAY['a']`.
pub(crate) fn strip_casts(expr: &str) -> String {
    const MORE: [&str; 6] = ["varying", "precision", "with", "without", "time", "zone"];
    let b = expr.as_bytes();
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                let mut j = i + 1;
                while j < b.len() && !(b[j] == q && b.get(j + 1) != Some(&q)) {
                    j += if b[j] == q { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                out.push_str(&expr[i..end]);
                i = end;
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i = skip_type(expr, i + 2, &MORE);
            }
            _ => {
                let ch = expr[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Past a type name at `i`: words (multi-word types too), a `(…)` modifier, `[]`s.
fn skip_type(expr: &str, mut i: usize, more: &[&str]) -> usize {
    let b = expr.as_bytes();
    let word = |i: usize| {
        let n = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.'))
            .count();
        i + n
    };
    if b.get(i) == Some(&b'"') {
        i += 1 + b[i + 1..]
            .iter()
            .position(|&c| c == b'"')
            .map_or(b.len() - i - 1, |n| n + 1);
    } else {
        i = word(i);
    }
    loop {
        let spaces = b[i..].iter().take_while(|c| **c == b' ').count();
        let next = word(i + spaces);
        if next > i + spaces && more.contains(&&expr[i + spaces..next]) {
            i = next;
        } else {
            break;
        }
    }
    if b.get(i) == Some(&b'(') {
        i += b[i..]
            .iter()
            .position(|&c| c == b')')
            .map_or(b.len() - i, |n| n + 1);
    }
    while b[i..].starts_with(b"[]") {
        i += 2;
    }
    i
}

/// `pg_constraint.confdeltype` / `confupdtype` codes.
fn rule(code: &str) -> Rule {
    match code {
        "r" => Rule::Restrict,
        "c" => Rule::Cascade,
        "n" => Rule::SetNull,
        "d" => Rule::SetDefault,
        _ => Rule::NoAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_go_quotes_stay() {
        let before = "status::text = ANY (ARRAY['active'::character varying, 'a::b'::character varying]::text[])";
        let after = "status::text = ANY (ARRAY['active'::character varying::text, 'a::b'::character varying::text])";
        assert_eq!(
            strip_casts(before),
            "status = ANY (ARRAY['active', 'a::b'])"
        );
        assert_eq!(strip_casts(before), strip_casts(after));
        assert_eq!(
            strip_casts("x::numeric(10,2) > 0::double precision"),
            "x > 0"
        );
        assert_eq!(
            strip_casts("t >= '2020-01-01'::timestamp without time zone"),
            "t >= '2020-01-01'"
        );
        assert_eq!(
            strip_casts("\"Mixed\"::\"my type\" IS NOT NULL"),
            "\"Mixed\" IS NOT NULL"
        );
    }
}
