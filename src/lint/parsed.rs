//! MariaDB/MySQL and SQLite statements read by `sqlparser` (squawk reads PostgreSQL only):
//! each statement of a script parsed on its own, so one the parser cannot read costs only
//! itself; the run's events (tables created, filled, renamed, dropped); what the linted
//! files say about columns and foreign keys (`Memory`); and the rules both engines share
//! (renames and drops break the running application).

use std::collections::{HashMap, HashSet};

use sqlparser::ast::{ColumnDef, ColumnOption, ObjectName, Statement, TableConstraint};
use sqlparser::dialect::Dialect as ParserDialect;
use sqlparser::parser::Parser;

use super::context::{Context, Found, State, normalise};
use super::input::Unit;
use super::report::{Report, Unparsed};

/// One statement of a unit: its ordinal (orders it in the run), file line, text and AST.
pub(crate) struct Parsed {
    pub ordinal: usize,
    pub line: usize,
    pub sql: String,
    pub ast: Option<Statement>,
}

/// `Parser::parse_sql`, remembered: a fleet lints the same scripts once per target, and
/// `events_of` reads each script again beside its neighbours. Bounded, so that a long
/// history does not keep every tree for the life of the process.
fn parse_sql(dialect: &dyn ParserDialect, sql: &str) -> Result<Vec<Statement>, String> {
    type Seen = HashMap<(std::any::TypeId, String), Result<Vec<Statement>, String>>;
    static SEEN: std::sync::LazyLock<std::sync::Mutex<Seen>> =
        std::sync::LazyLock::new(Default::default);
    const KEPT: usize = 4096;
    let key = (dialect.dialect(), sql.to_string());
    let seen = || SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(hit) = seen().get(&key) {
        return hit.clone();
    }
    let parsed = Parser::parse_sql(dialect, sql).map_err(|e| e.to_string());
    let mut kept = seen();
    if kept.len() < KEPT {
        kept.insert(key, parsed.clone());
    }
    parsed
}

/// Parse every statement of `unit`; the ones the parser cannot read go to the report.
pub(crate) fn parse(unit: &Unit, dialect: &dyn ParserDialect, report: &mut Report) -> Vec<Parsed> {
    report.statements += unit.statements.len();
    unit.statements
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ast = match parse_sql(dialect, &s.sql) {
                Ok(mut list) if list.len() == 1 => list.pop(),
                Ok(_) => None,
                // SQLite's pragmas are read from their text (`pragma` in sqlite.rs).
                Err(_) if squash(&s.sql).starts_with("pragma") => None,
                Err(e) => {
                    report.unparsed.push(Unparsed {
                        path: unit.path.clone(),
                        line: unit.file_line(s.line),
                        error: e,
                    });
                    None
                }
            };
            Parsed {
                ordinal: i + 1,
                line: unit.file_line(s.line),
                sql: s.sql.clone(),
                ast,
            }
        })
        .collect()
}

/// What one column is, as the linted files define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// The type as written, lower case, without spaces (`enum('a','b')`, `varchar(20)`).
    pub ty: String,
    pub not_null: bool,
}

/// What the linted files say about the schema so far (across runs: a column's type from
/// the migration that created it, years before the one that changes it).
#[derive(Debug, Default)]
pub(crate) struct Memory {
    columns: HashMap<(String, String), Column>,
    /// Table → the tables whose foreign keys point at it.
    referenced_by: HashMap<String, HashSet<String>>,
    /// Tables whose definition the files hold.
    pub known: HashSet<String>,
}

impl Memory {
    /// What the target's live schema says: the columns and foreign keys as they are before
    /// the linted migrations run.
    pub fn from_schema(schema: &crate::schema::Schema) -> Memory {
        let mut m = Memory::default();
        for t in &schema.tables {
            let table = normalise(&t.name.name);
            m.known.insert(table.clone());
            for c in &t.columns {
                m.columns.insert(
                    (table.clone(), normalise(&c.name)),
                    Column {
                        ty: squash(&c.data_type),
                        not_null: !c.nullable,
                    },
                );
            }
            for fk in &t.foreign_keys {
                m.referenced_by
                    .entry(normalise(&fk.references.name))
                    .or_default()
                    .insert(table.clone());
            }
        }
        m
    }

    pub fn column(&self, table: &str, column: &str) -> Option<&Column> {
        self.columns.get(&(normalise(table), normalise(column)))
    }

    pub fn set_column(&mut self, table: &str, def: &ColumnDef) {
        self.columns.insert(
            (normalise(table), normalise(&def.name.value)),
            column_of(def),
        );
    }

    pub fn rename_column(&mut self, table: &str, from: &str, to: &str) {
        if let Some(c) = self.columns.remove(&(normalise(table), normalise(from))) {
            self.columns.insert((normalise(table), normalise(to)), c);
        }
    }

    /// Tables (other than `table` itself) with a foreign key to `table`.
    pub fn referencing(&self, table: &str) -> Vec<String> {
        let table = normalise(table);
        let mut list: Vec<String> = self
            .referenced_by
            .get(&table)
            .map(|s| s.iter().filter(|t| **t != table).cloned().collect())
            .unwrap_or_default();
        list.sort();
        list
    }

    fn learn_table(&mut self, name: &str, columns: &[ColumnDef], constraints: &[TableConstraint]) {
        let table = normalise(name);
        self.known.insert(table.clone());
        self.columns.retain(|(t, _), _| *t != table);
        for def in columns {
            self.set_column(name, def);
            for o in &def.options {
                if let ColumnOption::ForeignKey(fk) = &o.option {
                    self.reference(&table, &fk.foreign_table);
                }
            }
        }
        for c in constraints {
            if let TableConstraint::ForeignKey(fk) = c {
                self.reference(&table, &fk.foreign_table);
            }
        }
    }

    fn reference(&mut self, from: &str, to: &ObjectName) {
        self.referenced_by
            .entry(normalise(&to.to_string()))
            .or_default()
            .insert(from.to_string());
    }
}

fn column_of(def: &ColumnDef) -> Column {
    Column {
        ty: squash(&def.data_type.to_string()),
        not_null: def.options.iter().any(|o| {
            matches!(
                o.option,
                ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
            )
        }),
    }
}

/// Lower case without whitespace, for comparing types as written.
pub(crate) fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A column as MODIFY/CHANGE restates it.
pub(crate) fn column_def(
    name: &sqlparser::ast::Ident,
    data_type: &sqlparser::ast::DataType,
    options: &[ColumnOption],
) -> ColumnDef {
    ColumnDef {
        name: name.clone(),
        data_type: data_type.clone(),
        options: options
            .iter()
            .map(|o| sqlparser::ast::ColumnOptionDef {
                name: None,
                option: o.clone(),
            })
            .collect(),
    }
}

/// The table a statement names first, normalised.
pub(crate) fn name(n: &ObjectName) -> String {
    normalise(&n.to_string())
}

/// Record what `p` does to the run's tables and to `memory`; returns the table it works on.
pub(crate) fn record(p: &Parsed, ctx: &mut Context<'_>, memory: &mut Memory) -> Option<String> {
    let at = p.ordinal;
    match p.ast.as_ref()? {
        Statement::CreateTable(c) => {
            let t = name(&c.name);
            let state = if c.query.is_some() {
                State::Filled
            } else {
                State::New
            };
            if !c.temporary {
                ctx.record(at, &t, Some(state));
                memory.learn_table(&t, &c.columns, &c.constraints);
            }
            Some(t)
        }
        Statement::Drop { names, .. } => {
            let first = names.first().map(name);
            if let Statement::Drop {
                object_type: sqlparser::ast::ObjectType::Table,
                ..
            } = p.ast.as_ref()?
            {
                for n in names {
                    ctx.record(at, &name(n), None);
                }
            }
            first
        }
        Statement::RenameTable(list) => {
            for r in list {
                ctx.rename(at, &name(&r.old_name), &name(&r.new_name));
            }
            list.first().map(|r| name(&r.old_name))
        }
        Statement::Insert(i) => {
            let sqlparser::ast::TableObject::TableName(n) = &i.table else {
                return None;
            };
            let t = name(n);
            if ctx.created(&t, at) && p.sql.to_lowercase().contains("select") {
                ctx.record(at, &t, Some(State::Filled));
            }
            Some(t)
        }
        Statement::CreateIndex(c) => Some(name(&c.table_name)),
        Statement::AlterTable(a) => {
            let t = name(&a.name);
            for op in &a.operations {
                record_alter(op, &t, at, ctx, memory);
            }
            Some(t)
        }
        _ => None,
    }
}

fn record_alter(
    op: &sqlparser::ast::AlterTableOperation,
    table: &str,
    at: usize,
    ctx: &mut Context<'_>,
    memory: &mut Memory,
) {
    use sqlparser::ast::{AlterTableOperation as Op, RenameTableNameKind};
    match op {
        Op::RenameTable { table_name } => {
            let to = match table_name {
                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => name(n),
            };
            ctx.rename(at, table, &to);
        }
        Op::AddConstraint {
            constraint: TableConstraint::ForeignKey(fk),
            ..
        } => memory.reference(table, &fk.foreign_table),
        _ => {}
    }
}

/// The rules both engines share, for one ALTER TABLE operation: renames and drops break
/// the application version still running.
pub(crate) fn breaking_op(
    op: &sqlparser::ast::AlterTableOperation,
    table: &str,
    replaced: &Replaced,
) -> Option<(&'static str, String)> {
    use sqlparser::ast::{AlterTableOperation as Op, RenameTableNameKind};
    Some(match op {
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } => (
            "renaming-column",
            format!(
                "renames `{table}`.`{}` to `{}`: the running application still uses the old name",
                old_column_name.value, new_column_name.value
            ),
        ),
        Op::RenameTable { table_name } => {
            let to = match table_name {
                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => name(n),
            };
            if replaced.contains(table) || replaced.contains(&to) {
                return None;
            }
            (
                "renaming-table",
                format!(
                    "renames `{table}` to `{to}`: the running application still uses the old name"
                ),
            )
        }
        Op::DropColumn { column_names, .. } => (
            "ban-drop-column",
            format!(
                "drops `{table}`.`{}`: the running application may still read or write it",
                column_names
                    .iter()
                    .map(|c| c.value.clone())
                    .collect::<Vec<_>>()
                    .join("`, `")
            ),
        ),
        _ => return None,
    })
}

/// A finding for the statement `p`.
pub(crate) fn found(p: &Parsed, rule: &str, message: String, table: Option<&str>) -> Found {
    Found {
        rule: rule.into(),
        offset: p.ordinal,
        line: p.line,
        message,
        fix: None,
        table: table.map(str::to_string),
        severity: None,
    }
}

/// `DROP TABLE` and `RENAME TABLE` findings, unless the table is replaced in the same
/// script (`replaced`: a rebuild keeps the name the application uses).
pub(crate) fn drops_and_renames(p: &Parsed, replaced: &Replaced, out: &mut Vec<Found>) {
    match p.ast.as_ref() {
        Some(Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Table,
            names,
            temporary: false,
            ..
        }) => {
            for n in names.iter().map(name).filter(|n| !replaced.contains(n)) {
                out.push(found(
                    p,
                    "ban-drop-table",
                    format!("drops `{n}`: the running application may still use it"),
                    Some(&n),
                ));
            }
        }
        Some(Statement::RenameTable(list)) => {
            for r in list {
                let (from, to) = (name(&r.old_name), name(&r.new_name));
                if !replaced.contains(&from) && !replaced.contains(&to) {
                    out.push(found(
                        p,
                        "renaming-table",
                        format!("renames `{from}` to `{to}`: the running application still uses the old name"),
                        Some(&from),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// The tables a script takes apart and puts back under the same name (dropped or renamed
/// away, then created or renamed into again): the rebuild pattern, not a drop or a rename.
#[derive(Debug, Default)]
pub(crate) struct Replaced {
    /// The names the application uses, put back by the end of the script.
    pub originals: HashSet<String>,
    /// Those and the scaffolding (`new_x`, `_x_old`): created or renamed into here, and
    /// gone again by the end.
    pub all: HashSet<String>,
}

impl Replaced {
    pub fn contains(&self, table: &str) -> bool {
        self.all.contains(table)
    }
}

/// A table coming into being (`true`: created, renamed into) or going (`false`: dropped,
/// renamed away).
pub(crate) type Event = (String, bool);

/// The events of one script's statements, in order.
pub(crate) fn events(parsed: &[Parsed]) -> Vec<Event> {
    use sqlparser::ast::{AlterTableOperation as Op, RenameTableNameKind};
    let mut events: Vec<Event> = Vec::new();
    for p in parsed {
        match p.ast.as_ref() {
            Some(Statement::Drop {
                object_type: sqlparser::ast::ObjectType::Table,
                names,
                ..
            }) => events.extend(names.iter().map(|n| (name(n), false))),
            Some(Statement::CreateTable(c)) => events.push((name(&c.name), true)),
            Some(Statement::AlterTable(a)) => {
                for op in &a.operations {
                    if let Op::RenameTable { table_name } = op {
                        let to = match table_name {
                            RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => name(n),
                        };
                        events.push((name(&a.name), false));
                        events.push((to, true));
                    }
                }
            }
            Some(Statement::RenameTable(list)) => {
                for r in list {
                    events.push((name(&r.old_name), false));
                    events.push((name(&r.new_name), true));
                }
            }
            _ => {}
        }
    }
    events
}

/// The events of a script read on its own (for a look at the scripts around the one linted).
pub(crate) fn events_of(unit: &Unit, dialect: &dyn ParserDialect) -> Vec<Event> {
    let parsed: Vec<Parsed> = unit
        .statements
        .iter()
        .enumerate()
        .map(|(i, s)| Parsed {
            ordinal: i + 1,
            line: 0,
            sql: String::new(),
            ast: parse_sql(dialect, &s.sql).ok().and_then(|mut l| l.pop()),
        })
        .collect();
    events(&parsed)
}

/// What `events` (of a script and the two scripts on each side: generators such as fizz
/// split one rebuild into "copy", "drop the original", "rename the copy" migrations) take
/// apart and put back.
pub(crate) fn replaced(events: &[Event]) -> Replaced {
    let mut out = Replaced::default();
    let names: HashSet<&String> = events.iter().map(|(n, _)| n).collect();
    for n in names {
        let mine: Vec<bool> = events
            .iter()
            .filter(|(t, _)| t == n)
            .map(|(_, c)| *c)
            .collect();
        let went = mine.iter().position(|c| !c);
        let came_back = went.is_some_and(|w| mine[w..].contains(&true));
        match mine.last() {
            // Goes, comes back, and is there at the end: an original.
            Some(true) if came_back => {
                out.originals.insert(n.clone());
            }
            // Comes into being here and is gone by the end: scaffolding.
            Some(false) if mine.contains(&true) => {
                out.all.insert(n.clone());
            }
            _ => {}
        }
    }
    if out.originals.is_empty() {
        out.all.clear();
    }
    out.all.extend(out.originals.iter().cloned());
    out
}

/// A column definition's facts for rules: `NOT NULL`, a `DEFAULT`, auto-increment or
/// generated (which need no default).
pub(crate) struct Options {
    pub not_null: bool,
    pub default: Option<String>,
    pub generated: bool,
    pub primary_or_unique: bool,
}

pub(crate) fn options<'a>(options: impl IntoIterator<Item = &'a ColumnOption>) -> Options {
    let mut o = Options {
        not_null: false,
        default: None,
        generated: false,
        primary_or_unique: false,
    };
    for option in options {
        match option {
            ColumnOption::NotNull => o.not_null = true,
            ColumnOption::PrimaryKey(_) => {
                o.not_null = true;
                o.primary_or_unique = true
            }
            ColumnOption::Unique(_) => o.primary_or_unique = true,
            ColumnOption::Default(e) => o.default = Some(e.to_string()),
            ColumnOption::Generated { .. } => o.generated = true,
            ColumnOption::DialectSpecific(tokens) => {
                let text = tokens.iter().map(|t| t.to_string()).collect::<String>();
                if text.to_uppercase().contains("AUTO_INCREMENT") {
                    o.generated = true;
                }
            }
            _ => {}
        }
    }
    o
}
