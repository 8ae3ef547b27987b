//! MariaDB/MySQL rules (cutover's own; squawk reads PostgreSQL only).
//!
//! - `mysql-table-copy`: an ALTER TABLE the server would do by copying the table (a type
//!   change, dropping the primary key) without `ALGORITHM=INPLACE|INSTANT` or `LOCK=NONE`,
//!   which would make the server refuse instead; or an explicit `ALGORITHM=COPY`.
//! - `mysql-enum-copy`: an ENUM/SET list changed other than by appending members.
//! - `mysql-foreign-key-copy`: ADD FOREIGN KEY with `foreign_key_checks` on (a copy and a
//!   check of every row).
//! - `mysql-several-ddl`: more than one DDL statement in a script: each commits on its own.
//! - `renaming-column`, `renaming-table`, `ban-drop-column`, `ban-drop-table`,
//!   `changing-column-type`, `adding-required-field` (NOT NULL without a default, which the
//!   running application's INSERTs do not set), `adding-not-nullable-field`.
//!
//! What is done in place: MySQL 8.0 and MariaDB 10.3+ add columns instantly, rename and drop
//! them in place, and build indexes without blocking writes (the manuals' "Online DDL
//! operations" tables); none of that is flagged as a copy.

use sqlparser::ast::{
    AlterTable, AlterTableAlgorithm, AlterTableLock, AlterTableOperation as Op, DataType,
    Statement, TableConstraint,
};
use sqlparser::dialect::MySqlDialect;

use super::context::{Context, Found};
use super::input::Unit;
use super::parsed::{self, Memory, Parsed, found, name, squash};
use super::report::Report;

pub(crate) fn lint(
    unit: &Unit,
    around: &[parsed::Event],
    ctx: &mut Context<'_>,
    memory: &mut Memory,
    report: &mut Report,
) -> Vec<Found> {
    ctx.next_unit();
    let list = parsed::parse(unit, &MySqlDialect {}, report);
    let replaced = parsed::replaced(around);
    let mut out = Vec::new();
    let mut fk_checks_off = false;
    let mut ddl = 0;
    for p in &list {
        if sets_foreign_key_checks_off(&p.sql) {
            fk_checks_off = true;
        }
        if is_ddl(&p.sql) {
            ddl += 1;
            if ddl == 2 {
                let total = list.iter().filter(|q| is_ddl(&q.sql)).count();
                out.push(found(
                    p,
                    "mysql-several-ddl",
                    format!(
                        "{total} DDL statements in one script: each commits on its own, so a failure part-way leaves the earlier ones applied (and the application running against half the change) until an operator resumes or resolves it"
                    ),
                    None,
                ));
            }
        }
        // Rules read the columns as they were before this statement.
        if let Some(Statement::AlterTable(a)) = &p.ast {
            alter(p, a, fk_checks_off, memory, &replaced, &mut out);
        }
        parsed::drops_and_renames(p, &replaced, &mut out);
        parsed::record(p, ctx, memory);
        learn(p, memory);
    }
    out
}

/// Findings for one ALTER TABLE.
fn alter(
    p: &Parsed,
    a: &AlterTable,
    fk_checks_off: bool,
    memory: &Memory,
    replaced: &parsed::Replaced,
    out: &mut Vec<Found>,
) {
    let table = name(&a.name);
    let t = Some(table.as_str());
    let mut algorithm = None;
    let mut lock = None;
    for op in &a.operations {
        match op {
            Op::Algorithm { algorithm: x, .. } => algorithm = Some(*x),
            Op::Lock { lock: x, .. } => lock = Some(*x),
            _ => {}
        }
    }
    // ALGORITHM=INPLACE/INSTANT or LOCK=NONE make the server refuse what it cannot do that
    // way, instead of copying the table under a lock.
    let guarded = matches!(
        algorithm,
        Some(AlterTableAlgorithm::Inplace | AlterTableAlgorithm::Instant)
    ) || lock == Some(AlterTableLock::None);
    // Why the server would copy, and whether that is certain (a type the files do not
    // give may not change at all).
    let mut copies: Vec<(String, bool)> = Vec::new();
    if algorithm == Some(AlterTableAlgorithm::Copy) {
        copies.push(("it asks for ALGORITHM=COPY".into(), true));
    }
    let adds_primary_key = a.operations.iter().any(|op| {
        matches!(
            op,
            Op::AddConstraint {
                constraint: TableConstraint::PrimaryKey(_),
                ..
            }
        )
    });
    for op in &a.operations {
        if let Some((rule, message)) = parsed::breaking_op(op, &table, replaced) {
            out.push(found(p, rule, message, t));
        }
        match op {
            Op::AddColumn { column_def, .. } => {
                let o = parsed::options(column_def.options.iter().map(|d| &d.option));
                if o.not_null && o.default.is_none() && !o.generated {
                    out.push(found(
                        p,
                        "adding-required-field",
                        format!(
                            "adds `{table}`.`{}` NOT NULL without a default: INSERTs of the application version still running do not set it, and fail in strict mode",
                            column_def.name.value
                        ),
                        t,
                    ));
                }
            }
            Op::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                if old_name.value.to_lowercase() != new_name.value.to_lowercase() {
                    out.push(found(
                        p,
                        "renaming-column",
                        format!(
                            "renames `{table}`.`{}` to `{}`: the running application still uses the old name",
                            old_name.value, new_name.value
                        ),
                        t,
                    ));
                }
                redefine(p, &table, &old_name.value, data_type, options, memory, guarded, &mut copies, out);
            }
            Op::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => redefine(p, &table, &col_name.value, data_type, options, memory, guarded, &mut copies, out),
            Op::AlterColumn {
                column_name,
                op: sqlparser::ast::AlterColumnOperation::SetDataType { data_type, .. },
            } => {
                type_change(p, &table, &column_name.value, data_type, memory, &mut copies, out);
            }
            Op::AddConstraint {
                constraint: TableConstraint::ForeignKey(fk),
                ..
            } if !fk_checks_off && !guarded => out.push(found(
                p,
                "mysql-foreign-key-copy",
                format!(
                    "adds a foreign key from `{table}` to `{}` with foreign_key_checks on: the server copies `{table}` and checks every row, blocking writes",
                    name(&fk.foreign_table)
                ),
                t,
            )),
            Op::DropPrimaryKey { .. } if !adds_primary_key => {
                copies.push(("dropping the primary key copies the table".into(), true))
            }
            _ => {}
        }
    }
    if !copies.is_empty() && (!guarded || algorithm == Some(AlterTableAlgorithm::Copy)) {
        let certain = copies.iter().any(|(_, c)| *c);
        let why: Vec<&str> = copies.iter().map(|(w, _)| w.as_str()).collect();
        let mut f = found(
            p,
            "mysql-table-copy",
            format!(
                "{} `{table}` while blocking writes ({}), and no ALGORITHM=INPLACE/INSTANT or LOCK=NONE makes the server refuse instead",
                if certain { "copies" } else { "may copy" },
                why.join("; ")
            ),
            t,
        );
        if !certain {
            f.severity = Some(super::rules::Severity::Warning);
        }
        out.push(f);
    }
}

/// MODIFY/CHANGE: a column's whole definition restated.
#[allow(clippy::too_many_arguments)]
fn redefine(
    p: &Parsed,
    table: &str,
    column: &str,
    data_type: &DataType,
    options: &[sqlparser::ast::ColumnOption],
    memory: &Memory,
    guarded: bool,
    copies: &mut Vec<(String, bool)>,
    out: &mut Vec<Found>,
) {
    let t = Some(table);
    let before = memory.column(table, column).cloned();
    let o = parsed::options(options);
    if o.not_null && o.default.is_none() && before.as_ref().is_none_or(|b| !b.not_null) {
        let what = if before.is_some() {
            "makes"
        } else {
            "may make"
        };
        let mut f = found(
            p,
            "adding-not-nullable-field",
            format!(
                "{what} `{table}`.`{column}` NOT NULL without a default: the server checks every row (rows with NULL fail in strict mode) and the running application's INSERTs that leave it out fail"
            ),
            t,
        );
        if before.is_none() {
            // The linted files do not say whether it was nullable.
            f.severity = Some(super::rules::Severity::Warning);
        }
        out.push(f);
    }
    let new = squash(&data_type.to_string());
    if is_enum(&new) {
        match before.as_ref().filter(|b| is_enum(&b.ty)) {
            Some(b) if appends(&b.ty, &new) => {}
            Some(b) if b.ty == new => {}
            Some(b) if !guarded => out.push(found(
                p,
                "mysql-enum-copy",
                format!(
                    "changes `{table}`.`{column}` from {} to {new}: anything but appending members copies the table while blocking writes",
                    b.ty
                ),
                t,
            )),
            None if !guarded => {
                let mut f = found(
                    p,
                    "mysql-enum-copy",
                    format!(
                        "redefines `{table}`.`{column}` as {new}: the linted files do not say what it was, and anything but appending members copies the table while blocking writes"
                    ),
                    t,
                );
                f.severity = Some(super::rules::Severity::Warning);
                out.push(f);
            }
            _ => {}
        }
        return;
    }
    type_change(p, table, column, data_type, memory, copies, out);
}

/// A column's type set again: a change of type copies the table and breaks readers.
fn type_change(
    p: &Parsed,
    table: &str,
    column: &str,
    data_type: &DataType,
    memory: &Memory,
    copies: &mut Vec<(String, bool)>,
    out: &mut Vec<Found>,
) {
    let new = squash(&data_type.to_string());
    let before = memory.column(table, column);
    match before {
        Some(b) if same_type(&b.ty, &new) => {}
        Some(b) if widens_in_place(&b.ty, &new) => {}
        Some(b) => {
            out.push(found(
                p,
                "changing-column-type",
                format!(
                    "changes `{table}`.`{column}` from {} to {new}: readers and writers of the running application expect the old type",
                    b.ty
                ),
                Some(table),
            ));
            copies.push((format!("`{column}` changes type"), true));
        }
        None => copies.push((
            format!(
                "`{column}` is redefined as {new}: a change of type copies, and the linted files do not say what it was"
            ),
            false,
        )),
    }
}

fn is_enum(ty: &str) -> bool {
    ty.starts_with("enum(") || ty.starts_with("set(")
}

/// `enum('a','b')` → `enum('a','b','c')`: members only appended (done instantly while the
/// list stays under 256 members).
fn appends(old: &str, new: &str) -> bool {
    let (Some(o), Some(n)) = (old.strip_suffix(')'), new.strip_suffix(')')) else {
        return false;
    };
    old.split('(').next() == new.split('(').next()
        && n.len() > o.len()
        && n.starts_with(o)
        && n[o.len()..].starts_with(',')
}

/// Types equal once MySQL's synonyms and integer display widths are set aside.
fn same_type(a: &str, b: &str) -> bool {
    canonical(a) == canonical(b)
}

fn canonical(ty: &str) -> String {
    let mut t = ty
        .replace("integer", "int")
        .replace("boolean", "tinyint(1)")
        .replace("bool", "tinyint(1)");
    for int in ["tinyint", "smallint", "mediumint", "bigint", "int"] {
        if let Some(rest) = t.strip_prefix(int)
            && rest.starts_with('(')
            && int != "tinyint"
            && let Some(close) = rest.find(')')
        {
            t = format!("{int}{}", &rest[close + 1..]);
            break;
        }
    }
    t
}

/// VARCHAR made longer without its length prefix growing from one byte to two (at four
/// bytes a character, the worst case): done in place, and readers see no difference.
fn widens_in_place(old: &str, new: &str) -> bool {
    let len =
        |t: &str| -> Option<u32> { t.strip_prefix("varchar(")?.split(')').next()?.parse().ok() };
    match (len(old), len(new)) {
        (Some(o), Some(n)) => n >= o && ((o * 4 < 256) == (n * 4 < 256)),
        _ => false,
    }
}

/// What the statement teaches about columns after it ran (MODIFY, CHANGE, ADD).
fn learn(p: &Parsed, memory: &mut Memory) {
    let Some(Statement::AlterTable(a)) = &p.ast else {
        return;
    };
    let table = name(&a.name);
    for op in &a.operations {
        match op {
            Op::AddColumn { column_def, .. } => memory.set_column(&table, column_def),
            Op::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => memory.set_column(&table, &parsed::column_def(col_name, data_type, options)),
            Op::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                memory.rename_column(&table, &old_name.value, &new_name.value);
                memory.set_column(&table, &parsed::column_def(new_name, data_type, options));
            }
            Op::RenameColumn {
                old_column_name,
                new_column_name,
            } => memory.rename_column(&table, &old_column_name.value, &new_column_name.value),
            _ => {}
        }
    }
}

/// `SET foreign_key_checks = 0` (any spelling the server accepts).
fn sets_foreign_key_checks_off(sql: &str) -> bool {
    let s = squash(sql);
    s.starts_with("set")
        && [
            "foreign_key_checks=0",
            "foreign_key_checks=off",
            "foreign_key_checks=false",
        ]
        .iter()
        .any(|x| s.contains(x))
}

/// Table DDL that commits implicitly on MariaDB/MySQL and cannot simply run again after a
/// failure part-way: not `IF [NOT] EXISTS` forms, and not the routines (procedures,
/// functions, triggers) that scripts create, call and drop as scaffolding.
fn is_ddl(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let object = words.iter().skip(1).find(|w| {
        !matches!(
            w.as_str(),
            "OR" | "REPLACE"
                | "TEMPORARY"
                | "UNIQUE"
                | "FULLTEXT"
                | "SPATIAL"
                | "ONLINE"
                | "OFFLINE"
                | "IGNORE"
        )
    });
    let table_ddl = match words.first().map(String::as_str) {
        Some("CREATE" | "ALTER" | "DROP") => {
            matches!(object.map(String::as_str), Some("TABLE" | "INDEX" | "VIEW"))
        }
        Some("RENAME" | "TRUNCATE") => true,
        _ => false,
    };
    let rerunnable = {
        let s = squash(sql);
        s.contains("ifnotexists") || s.contains("ifexists")
    };
    table_ddl && !rerunnable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_appends_and_types() {
        assert!(appends("enum('a','b')", "enum('a','b','c')"));
        assert!(!appends("enum('a','b')", "enum('b','a')"));
        assert!(!appends("enum('a','b')", "enum('a','bb')"));
        assert!(same_type("int(11)", "int"));
        assert!(same_type("integer", "int(10)"));
        assert!(!same_type("int", "bigint"));
        assert!(widens_in_place("varchar(20)", "varchar(40)"));
        assert!(!widens_in_place("varchar(40)", "varchar(100)"));
        assert!(!widens_in_place("varchar(40)", "varchar(20)"));
    }
}
