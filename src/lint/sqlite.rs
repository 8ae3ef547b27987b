//! SQLite rules (cutover's own).
//!
//! - `sqlite-rebuild-foreign-keys`: the table-rebuild pattern (a table dropped or renamed
//!   away and put back under its name) while foreign keys are on. cutover's SQLite has them
//!   on by default (its bundled library is built with `SQLITE_DEFAULT_FOREIGN_KEYS=1`), so a
//!   `DROP TABLE` first deletes every row (ON DELETE CASCADE empties the children, other
//!   references fail), and since SQLite 3.26 renaming a table away rewrites the other
//!   tables' foreign keys to follow it to the name about to be dropped.
//! - `sqlite-pragma-in-transaction`: `PRAGMA foreign_keys` inside a transaction (an
//!   explicit BEGIN, or the one cutover runs the migration in) does nothing.
//! - `sqlite-unsupported-alter`: ALTER TABLE forms SQLite does not have (ALTER COLUMN, ADD
//!   CONSTRAINT, …), forms newer than the library that runs them (DROP COLUMN before 3.35,
//!   RENAME COLUMN before 3.25), and ADD COLUMN forms SQLite refuses (PRIMARY KEY or
//!   UNIQUE, NOT NULL without a default, a non-constant default).
//! - `renaming-column`, `renaming-table`, `ban-drop-column`, `ban-drop-table`, except
//!   for the tables a rebuild puts back.

use sqlparser::ast::{AlterTableOperation as Op, Statement};
use sqlparser::dialect::SQLiteDialect;

use super::context::{Context, Found};
use super::input::Unit;
use super::parsed::{self, Memory, Parsed, found, name, squash};
use super::report::Report;

/// Whether foreign keys are on, and whether the script is in a transaction, statement by
/// statement.
struct Connection {
    foreign_keys: bool,
    legacy_alter_table: bool,
    in_transaction: bool,
    /// cutover's own transaction around the migration.
    wrapped: bool,
}

pub(crate) fn lint(
    unit: &Unit,
    around: &[parsed::Event],
    ctx: &mut Context<'_>,
    memory: &mut Memory,
    report: &mut Report,
) -> Vec<Found> {
    ctx.next_unit();
    let list = parsed::parse(unit, &SQLiteDialect {}, report);
    let replaced = parsed::replaced(around);
    let mut conn = Connection {
        foreign_keys: !ctx
            .target
            .init_sql
            .iter()
            .any(|s| pragma(s, "foreign_keys") == Some(false)),
        legacy_alter_table: ctx
            .target
            .init_sql
            .iter()
            .any(|s| pragma(s, "legacy_alter_table") == Some(true)),
        in_transaction: unit.in_transaction,
        wrapped: unit.in_transaction,
    };
    let mut out = Vec::new();
    for p in &list {
        transaction(&p.sql, &mut conn);
        pragmas(p, &mut conn, &mut out);
        rebuild(p, &conn, &replaced, memory, ctx, &mut out);
        if let Some(Statement::AlterTable(a)) = &p.ast {
            let table = name(&a.name);
            for op in &a.operations {
                if let Some((rule, message)) = parsed::breaking_op(op, &table, &replaced) {
                    out.push(found(p, rule, message, Some(&table)));
                }
                unsupported(p, op, &table, ctx, &mut out);
            }
        }
        parsed::drops_and_renames(p, &replaced, &mut out);
        parsed::record(p, ctx, memory);
    }
    out
}

/// BEGIN and COMMIT/END/ROLLBACK as the script writes them.
fn transaction(sql: &str, conn: &mut Connection) {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(2)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("BEGIN") => conn.in_transaction = true,
        Some("COMMIT" | "END") => conn.in_transaction = conn.wrapped,
        Some("ROLLBACK") if words.get(1).map(String::as_str) != Some("TO") => {
            conn.in_transaction = conn.wrapped
        }
        _ => {}
    }
}

/// `PRAGMA foreign_keys` and `legacy_alter_table`: in effect outside a transaction, a
/// no-op (and a finding) inside one.
fn pragmas(p: &Parsed, conn: &mut Connection, out: &mut Vec<Found>) {
    if let Some(on) = pragma(&p.sql, "foreign_keys") {
        if conn.in_transaction {
            let why = if conn.wrapped {
                "cutover runs this migration in a transaction (it is not marked `-- cutover:no-transaction`)"
            } else {
                "it comes after BEGIN"
            };
            out.push(found(
                p,
                "sqlite-pragma-in-transaction",
                format!(
                    "PRAGMA foreign_keys = {} does nothing here: {why}, and SQLite ignores the pragma inside a transaction",
                    if on { "ON" } else { "OFF" }
                ),
                None,
            ));
        } else {
            conn.foreign_keys = on;
        }
    }
    if let Some(on) = pragma(&p.sql, "legacy_alter_table") {
        conn.legacy_alter_table = on;
    }
}

/// `PRAGMA name = on|off|1|0|true|false` (or `(…)`) → its value.
fn pragma(sql: &str, pragma: &str) -> Option<bool> {
    let s = squash(sql);
    let rest = s.strip_prefix("pragma")?.trim_start_matches("main.");
    let value = rest.strip_prefix(pragma)?;
    let value = value
        .trim_start_matches(['=', '('])
        .trim_end_matches([')', ';'])
        .trim_matches(['\'', '"']);
    match value {
        "on" | "1" | "true" | "yes" => Some(true),
        "off" | "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// The rebuild pattern while foreign keys are on (or, for a rename away, unless
/// `legacy_alter_table` is on).
fn rebuild(
    p: &Parsed,
    conn: &Connection,
    replaced: &parsed::Replaced,
    memory: &Memory,
    ctx: &Context<'_>,
    out: &mut Vec<Found>,
) {
    let children = |t: &str| -> Option<String> {
        let list = memory.referencing(t);
        if !list.is_empty() {
            Some(format!("`{}`", list.join("`, `")))
        } else if !memory.known.contains(t) {
            Some("tables whose definition the linted files do not hold".into())
        } else {
            None
        }
    };
    match p.ast.as_ref() {
        Some(Statement::Drop {
            names,
            object_type: sqlparser::ast::ObjectType::Table,
            ..
        }) if conn.foreign_keys => {
            for t in names
                .iter()
                .map(name)
                .filter(|t| replaced.originals.contains(t) && !ctx.created(t, p.ordinal))
            {
                if let Some(who) = children(&t) {
                    out.push(found(
                        p,
                        "sqlite-rebuild-foreign-keys",
                        format!(
                            "drops `{t}` to rebuild it while foreign keys are on: SQLite first deletes every row, so references from {who} cascade (ON DELETE CASCADE empties them) or fail"
                        ),
                        Some(&t),
                    ));
                }
            }
        }
        Some(Statement::AlterTable(a)) if !conn.legacy_alter_table => {
            let from = name(&a.name);
            for op in &a.operations {
                let Op::RenameTable { table_name } = op else {
                    continue;
                };
                let to = match table_name {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => name(n),
                };
                // Renaming the original away (not the new copy into place) moves the
                // references with it.
                if replaced.originals.contains(&from)
                    && !ctx.created(&from, p.ordinal)
                    && let Some(who) = children(&from)
                {
                    out.push(found(
                        p,
                        "sqlite-rebuild-foreign-keys",
                        format!(
                            "renames `{from}` to `{to}` to rebuild it: SQLite rewrites the foreign keys of {who} to point at `{to}`, which the rebuild then drops (unless PRAGMA legacy_alter_table = ON)"
                        ),
                        Some(&from),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// ALTER TABLE forms SQLite refuses.
fn unsupported(p: &Parsed, op: &Op, table: &str, ctx: &Context<'_>, out: &mut Vec<Found>) {
    let target = ctx.target;
    let version = target.version_text();
    let mut say = |what: String| {
        out.push(found(p, "sqlite-unsupported-alter", what, Some(table)));
    };
    match op {
        Op::AddColumn { column_def, .. } => {
            let o = parsed::options(column_def.options.iter().map(|d| &d.option));
            let c = &column_def.name.value;
            if o.primary_or_unique {
                say(format!(
                    "SQLite cannot add a PRIMARY KEY or UNIQUE column (`{table}`.`{c}`)"
                ));
            } else if o.not_null
                && o.default
                    .as_deref()
                    .is_none_or(|d| d.eq_ignore_ascii_case("null"))
                && !o.generated
            {
                say(format!(
                    "SQLite cannot add `{table}`.`{c}` NOT NULL without a non-NULL default"
                ));
            } else if let Some(d) = o.default.as_deref().filter(|d| not_constant(d)) {
                say(format!(
                    "SQLite cannot add `{table}`.`{c}` with the non-constant default {d}"
                ));
            }
        }
        Op::RenameTable { .. } => {}
        Op::RenameColumn { .. } if !target.at_least((3, 25, 0)) => say(format!(
            "RENAME COLUMN needs SQLite 3.25.0; this target runs {version}"
        )),
        Op::RenameColumn { .. } => {}
        Op::DropColumn { .. } if !target.at_least((3, 35, 0)) => say(format!(
            "DROP COLUMN needs SQLite 3.35.0; this target runs {version}"
        )),
        Op::DropColumn { .. } => {}
        other => {
            let text = other.to_string();
            let words: Vec<&str> = text.split_whitespace().take(3).collect();
            say(format!(
                "SQLite's ALTER TABLE has no `{}`: only RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN",
                words.join(" ")
            ))
        }
    }
}

/// `CURRENT_TIMESTAMP`, `(datetime('now'))`: SQLite's ADD COLUMN takes constants only.
fn not_constant(default: &str) -> bool {
    let d = default.trim().to_ascii_uppercase();
    d.starts_with("CURRENT_") || d.starts_with('(') || d.contains("(")
}
