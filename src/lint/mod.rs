//! `cutover lint`: find the statements of migrations that take strong locks, rewrite or scan
//! tables, or break the application version still running, and say the safe way to do each.
//!
//! Data flows: `input` (migration folders through `migrations::discover`, plain SQL files)
//! → one `Unit` per script, grouped into runs (statements that run one after the other on
//! the same database) → the engine's rules (`postgres`: squawk's linter, `mysql`, `sqlite`)
//! → `context` (tables created earlier in the run, live sizes from `sizes`) decides what a
//! "big table" finding is worth → `suppress` (`-- cutover:allow`) → a `Report`.
//!
//! The core never prints: the CLI renders the report (text, JSON, SARIF, GitHub).

pub mod config;
mod context;
mod driver;
mod input;
mod mysql;
mod parsed;
mod postgres;
mod report;
mod rules;
pub mod sizes;
mod sqlite;
mod suppress;
mod target;

pub use config::{FailOn, LintConfig};
pub use driver::{Request, run};
pub use input::{Collected, Input, Run, Unit, collect};
pub use report::{Dropped, Finding, Report, Suppressed, Unparsed};
pub use rules::{Effect, RULES, RuleInfo, Severity, rule};
pub use sizes::{Sizes, TableFacts};
pub use target::{Flavour, Target};

use context::Context;

/// Lint every run of `runs` for `target`, with the live `sizes` when the target was reached.
pub fn lint(
    runs: &[Run],
    target: &Target,
    config: &LintConfig,
    mut sizes: Option<&mut Sizes>,
) -> Report {
    let mut report = Report::new(target, config);
    // What the files say about columns and foreign keys carries from run to run.
    let mut memory = match sizes.as_deref().and_then(|s| s.schema.as_ref()) {
        Some(schema) => parsed::Memory::from_schema(schema),
        None => parsed::Memory::default(),
    };
    let events = table_events(runs, target.dialect);
    let mut index: usize = 0;
    for run in runs {
        let mut ctx = Context::new(target, config, sizes.as_deref_mut());
        for unit in &run.units {
            let around: Vec<parsed::Event> =
                events[index.saturating_sub(2)..(index + 3).min(events.len())].concat();
            lint_unit(unit, &around, &mut ctx, &mut memory, &mut report);
            index += 1;
        }
    }
    if !report.unparsed.is_empty() {
        report.note(format!(
            "the SQL parser could not read {} statement(s); no rule looked at them (`--json` lists them under `unparsed`)",
            report.unparsed.len()
        ));
    }
    report.finish();
    report
}

/// Each script's tables created, dropped and renamed (MariaDB/MySQL and SQLite), so a
/// rebuild split over neighbouring scripts reads as one.
fn table_events(runs: &[Run], dialect: crate::sql::Dialect) -> Vec<Vec<parsed::Event>> {
    let units = runs.iter().flat_map(|r| &r.units);
    match dialect {
        crate::sql::Dialect::Postgres => units.map(|_| Vec::new()).collect(),
        crate::sql::Dialect::MySql => units
            .map(|u| parsed::events_of(u, &sqlparser::dialect::MySqlDialect {}))
            .collect(),
        crate::sql::Dialect::Sqlite => units
            .map(|u| parsed::events_of(u, &sqlparser::dialect::SQLiteDialect {}))
            .collect(),
    }
}

/// One script: the engine's rules, then context, then the script's suppressions.
fn lint_unit(
    unit: &Unit,
    around: &[parsed::Event],
    ctx: &mut Context<'_>,
    memory: &mut parsed::Memory,
    report: &mut Report,
) {
    report.files += 1;
    report.scripts.push(unit.path.clone());
    let raw = match ctx.target.dialect {
        crate::sql::Dialect::Postgres => postgres::lint(unit, ctx, report),
        crate::sql::Dialect::MySql => mysql::lint(unit, around, ctx, memory, report),
        crate::sql::Dialect::Sqlite => sqlite::lint(unit, around, ctx, memory, report),
    };
    let allows = suppress::Allows::read(unit);
    for found in raw {
        let Some(finding) = ctx.judge(found, unit, report) else {
            continue;
        };
        match allows.covering(&finding) {
            Some(allow) => report.suppressed.push(Suppressed {
                finding,
                reason: allow.reason.clone(),
                line: allow.line,
            }),
            None => report.findings.push(finding),
        }
    }
    for found in allows.problems(unit, &report.suppressed) {
        if let Some(finding) = ctx.judge(found, unit, report) {
            report.findings.push(finding);
        }
    }
}

/// `text` position `offset` as a 1-based line in the file `unit` came from.
pub(crate) fn line_at(unit: &Unit, offset: usize) -> usize {
    let offset = offset.min(unit.sql.len());
    unit.sql.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
        + unit.line_offset
}

#[cfg(test)]
pub(crate) mod tests;
