//! PostgreSQL: squawk's linter (`squawk-linter`, the rules of squawk's CLI) over squawk's
//! parser, told what cutover knows that squawk's CLI does not: whether the migration runs
//! inside a transaction (cutover runs each one in its own unless it is marked
//! `-- cutover:no-transaction`), and the server's version. The tables each statement
//! creates, fills, renames and drops go to the run's context, and each violation carries
//! the table its statement works on.

use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::{self, AstNode};

use super::context::{Context, Found, State, normalise};
use super::input::Unit;
use super::report::Report;

/// One statement: where it is, and the table it works on.
struct Span {
    start: usize,
    end: usize,
    table: Option<String>,
}

pub(crate) fn lint(unit: &Unit, ctx: &mut Context<'_>, report: &mut Report) -> Vec<Found> {
    ctx.next_unit();
    report.statements += unit.statements.len();
    let parse = SourceFile::parse(&unit.sql);
    if !parse.errors().is_empty() {
        report.note(
            "squawk's parser could not read part of some PostgreSQL scripts; the rules looked at what it read (`--json` lists them under `unparsed`)",
        );
    }
    let spans = record(&parse.tree(), ctx);
    let mut linter = linter(ctx);
    linter.settings.assume_in_transaction = unit.in_transaction;
    let violations = linter.lint(&parse, &unit.sql);
    if unit.in_transaction {
        account_for_transaction(unit, &parse, &violations, ctx, report);
    }
    let mut out: Vec<Found> = violations
        .into_iter()
        .map(|v| {
            let start = usize::from(v.text_range.start());
            let span = spans.iter().find(|s| s.start <= start && start <= s.end);
            Found {
                rule: v.code.to_string(),
                offset: span.map_or(start, |s| s.start),
                line: super::line_at(unit, start),
                message: v.message,
                fix: v.help,
                table: span.and_then(|s| s.table.clone()),
                severity: None,
            }
        })
        .collect();
    if unit.in_transaction {
        out.extend(outside_only(unit));
    }
    out
}

/// Statements PostgreSQL refuses inside a transaction block, in a migration cutover runs
/// in one. squawk's CLI reports `CREATE INDEX CONCURRENTLY` only in scripts of several
/// statements (a runner might run a lone one outside a transaction; cutover does not).
fn outside_only(unit: &Unit) -> Vec<Found> {
    let lone = unit.statements.len() == 1;
    unit.statements
        .iter()
        .filter_map(|s| {
            let words: Vec<String> = s
                .sql
                .split_whitespace()
                .take(6)
                .map(|w| w.to_ascii_uppercase())
                .collect();
            let has = |w: &str| words.iter().any(|x| x == w);
            let (rule, what) = match words.first().map(String::as_str)? {
                "CREATE" if has("INDEX") && has("CONCURRENTLY") && lone => (
                    "ban-concurrent-index-creation-in-transaction",
                    "CREATE INDEX CONCURRENTLY",
                ),
                "DROP" if has("INDEX") && has("CONCURRENTLY") => {
                    ("cannot-run-in-transaction", "DROP INDEX CONCURRENTLY")
                }
                "REINDEX" if has("CONCURRENTLY") => ("cannot-run-in-transaction", "REINDEX CONCURRENTLY"),
                "VACUUM" => ("cannot-run-in-transaction", "VACUUM"),
                "CREATE" | "DROP" if words.get(1).is_some_and(|w| w == "DATABASE" || w == "TABLESPACE") => {
                    ("cannot-run-in-transaction", "CREATE/DROP DATABASE or TABLESPACE")
                }
                "ALTER" if words.get(1).is_some_and(|w| w == "SYSTEM") => ("cannot-run-in-transaction", "ALTER SYSTEM"),
                _ => return None,
            };
            Some(Found {
                rule: rule.into(),
                offset: 0,
                line: unit.file_line(s.line),
                message: format!(
                    "{what} cannot run inside a transaction block, and cutover runs this migration in one (it is not marked `-- cutover:no-transaction`)"
                ),
                fix: None,
                table: None,
                severity: None,
            })
        })
        .collect()
}

/// What squawk's CLI would also report here, not knowing that cutover runs the migration
/// in one transaction: recorded as dropped, with the reason, so nothing goes unaccounted.
fn account_for_transaction(
    unit: &Unit,
    parse: &squawk_syntax::Parse<SourceFile>,
    kept: &[squawk_linter::Violation],
    ctx: &Context<'_>,
    report: &mut Report,
) {
    let mut outside = linter(ctx);
    outside.settings.assume_in_transaction = false;
    for v in outside.lint(parse, &unit.sql) {
        if kept
            .iter()
            .any(|k| k.code == v.code && k.text_range == v.text_range)
        {
            continue;
        }
        let reason = match v.code {
            Rule::PreferRobustStmts => {
                "cutover runs this migration in one transaction: a failure leaves nothing half-applied to re-run over"
            }
            _ => {
                "cutover runs this migration in one transaction, where the table is created earlier"
            }
        };
        report.dropped.push(super::report::Dropped {
            rule: v.code.to_string(),
            path: unit.path.clone(),
            line: super::line_at(unit, usize::from(v.text_range.start())),
            reason: reason.into(),
        });
    }
}

/// squawk's default rules, with `[lint] enable` added and `[lint] disable` taken out, on
/// the target's version when it is known (squawk assumes 15 otherwise, as its CLI does).
fn linter(ctx: &Context<'_>) -> Linter {
    let parse =
        |ids: &[String]| -> Vec<Rule> { ids.iter().filter_map(|i| i.parse().ok()).collect() };
    let mut linter = Linter::with_rules(&parse(&ctx.config.enable), &parse(&ctx.config.disable));
    if let Some((major, minor, _)) = ctx.target.version
        && let Ok(v) = format!("{major}.{minor}").parse()
    {
        linter.settings.pg_version = v;
    }
    linter
}

/// Each statement's span and table, and the run's events: tables created, filled by
/// `INSERT … SELECT`, renamed and dropped.
fn record(file: &ast::SourceFile, ctx: &mut Context<'_>) -> Vec<Span> {
    let mut spans = Vec::new();
    for stmt in file.stmts() {
        let range = stmt.syntax().text_range();
        let at = usize::from(range.start());
        let end = usize::from(range.end());
        let table = match &stmt {
            ast::Stmt::CreateTable(c) => {
                let name = c
                    .table_name()
                    .and_then(|t| t.path())
                    .and_then(|p| p.segment())
                    .map(|s| s.text());
                if let Some(n) = &name {
                    ctx.record(at, n, Some(State::New));
                }
                name
            }
            ast::Stmt::AlterTable(a) => {
                let name = a
                    .table_relation_name()
                    .and_then(|r| r.table_name_ref())
                    .and_then(|t| t.path_ref())
                    .and_then(|p| p.segment())
                    .map(|s| s.text());
                if let Some(from) = &name {
                    for action in a.actions() {
                        if let ast::AlterTableAction::TableRenameTo(to) = action
                            && let Some(to) = to
                                .table_name()
                                .and_then(|t| t.path())
                                .and_then(|p| p.segment())
                        {
                            ctx.rename(at, from, &to.text());
                        }
                    }
                }
                name
            }
            ast::Stmt::CreateIndex(c) => c
                .table_relation_name()
                .and_then(|r| r.table_name_ref())
                .and_then(|t| t.path_ref())
                .and_then(|p| p.segment())
                .map(|s| s.text()),
            ast::Stmt::DropTable(d) => {
                let names: Vec<String> = d
                    .table_name_refs()
                    .filter_map(|t| t.path_ref()?.segment().map(|s| s.text()))
                    .collect();
                for n in &names {
                    ctx.record(at, n, None);
                }
                names.into_iter().next()
            }
            ast::Stmt::Insert(i) => {
                let name = i
                    .relation_name_ref()
                    .and_then(|r| r.path_ref())
                    .and_then(|p| p.segment())
                    .map(|s| s.text());
                let copies = i.insert_source().is_some_and(|s| {
                    s.syntax()
                        .text()
                        .to_string()
                        .to_lowercase()
                        .contains("select")
                });
                if let Some(n) = &name
                    && copies
                    && ctx.created(n, at)
                {
                    ctx.record(at, n, Some(State::Filled));
                }
                name
            }
            _ => None,
        };
        spans.push(Span {
            start: at,
            end,
            table: table.map(|t| normalise(&t)),
        });
    }
    spans
}
