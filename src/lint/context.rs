//! Context: what is known about a table at the statement a rule flagged, and what that makes
//! of the finding.
//!
//! - A table created earlier in the same run is empty (or holds only what the run copied
//!   into it): locking, rewriting or scanning it costs nothing, and the application still
//!   running has never seen it, so renaming or dropping it breaks nothing.
//! - With the target reached, a table that holds no row costs nothing either, and any other
//!   gets its size and an estimated time; below `[lint] large_table` an error becomes a
//!   warning.
//! - Offline, nothing is known about a table the run did not create: the rule stands.

use super::config::LintConfig;
use super::input::Unit;
use super::report::{Dropped, Finding, Report};
use super::rules::{self, Effect, Severity};
use super::sizes::{self, Sizes, TableFacts};
use super::target::Target;

/// A table's life in the run, as the statements so far left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created in this run and not filled from another table.
    New,
    /// Created in this run, then filled by `INSERT … SELECT` (a rebuild's copy).
    Filled,
}

/// What a rule found, before context weighs it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub rule: String,
    /// Where the statement starts in the unit's text (orders it against the run's events).
    pub offset: usize,
    /// The line in the file.
    pub line: usize,
    pub message: String,
    /// The safe way, when the rule says more than the catalogue (squawk's help).
    pub fix: Option<String>,
    /// The table the statement works on, normalised (lower case, no schema).
    pub table: Option<String>,
    /// A severity other than the rule's, when the rule is less sure here.
    pub severity: Option<Severity>,
}

/// The run so far: which tables it created, the live sizes, the settings.
pub(crate) struct Context<'a> {
    pub target: &'a Target,
    pub config: &'a LintConfig,
    sizes: Option<&'a mut Sizes>,
    /// `(unit number, offset, table, state)` in the order the statements run.
    events: Vec<(usize, usize, String, Option<State>)>,
    /// The unit being linted (counts up through the run).
    pub unit: usize,
}

impl<'a> Context<'a> {
    pub fn new(target: &'a Target, config: &'a LintConfig, sizes: Option<&'a mut Sizes>) -> Self {
        Context {
            target,
            config,
            sizes,
            events: Vec::new(),
            unit: 0,
        }
    }

    /// The next unit of the run starts.
    pub fn next_unit(&mut self) {
        self.unit += 1;
    }

    /// `table` is created (`Some(New)`), filled (`Some(Filled)`) or dropped (`None`) by the
    /// statement at `offset` of the current unit.
    pub fn record(&mut self, offset: usize, table: &str, state: Option<State>) {
        self.events
            .push((self.unit, offset, normalise(table), state));
    }

    /// A rename moves the state to the new name.
    pub fn rename(&mut self, offset: usize, from: &str, to: &str) {
        let state = self.state(from, offset + 1);
        self.record(offset, from, None);
        self.record(offset, to, state);
    }

    /// The state of `table` just before `offset` of the current unit.
    pub fn state(&self, table: &str, offset: usize) -> Option<State> {
        let table = normalise(table);
        self.events
            .iter()
            .rfind(|(u, o, t, _)| (*u, *o) < (self.unit, offset) && *t == table)
            .and_then(|(_, _, _, s)| *s)
    }

    /// Whether `table` was created earlier in this run (and not dropped since).
    pub fn created(&self, table: &str, offset: usize) -> bool {
        self.state(table, offset).is_some()
    }

    /// What the target says about `table`, when it was reached.
    pub fn facts(&mut self, table: &str) -> Option<TableFacts> {
        self.sizes.as_deref_mut().map(|s| s.facts(table))
    }

    /// Weigh a finding: drop it (recorded in the report with the reason), or make it a
    /// `Finding` with its severity and the table's size.
    /// A timeout rule whose setting runs on every connection first (`init_sql`, or the
    /// lock timeout a deploy's guard sets).
    fn set_first(&self, rule: &str) -> Option<String> {
        let setting = match rule {
            "require-lock-timeout" => "lock_timeout",
            "require-statement-timeout" => "statement_timeout",
            _ => return None,
        };
        let set = self.target.init_sql.iter().any(|sql| {
            let sql = sql.to_ascii_lowercase();
            sql.trim_start().starts_with("set") && sql.contains(setting)
        });
        set.then(|| format!("{setting} is set on the connection before the migration runs"))
    }

    pub fn judge(&mut self, found: Found, unit: &Unit, report: &mut Report) -> Option<Finding> {
        if self.config.disabled(&found.rule) {
            return None;
        }
        if let Some(reason) = self.set_first(&found.rule) {
            report.dropped.push(Dropped {
                rule: found.rule.clone(),
                path: unit.path.clone(),
                line: found.line,
                reason,
            });
            return None;
        }
        let info = match rules::rule(&found.rule) {
            Some(info) => *info,
            None => rules::squawk_fallback("squawk"),
        };
        let mut severity = self
            .config
            .severity
            .get(&found.rule)
            .copied()
            .or(found.severity)
            .unwrap_or(info.severity);
        let mut message = found.message.clone();
        if let Some(table) = &found.table {
            let drop = |reason: String| Dropped {
                rule: found.rule.clone(),
                path: unit.path.clone(),
                line: found.line,
                reason,
            };
            if let Some(reason) = self.new_table(table, found.offset, info.effect) {
                report.dropped.push(drop(reason));
                return None;
            }
            if info.effect.depends_on_size() {
                match self.facts(table) {
                    Some(TableFacts::Empty) => {
                        report
                            .dropped
                            .push(drop(format!("`{table}` holds no row on the target")));
                        return None;
                    }
                    Some(TableFacts::Size { bytes, rows }) => {
                        let (text, small) = self.describe(table, bytes, &rows, info.effect);
                        message = format!("{message} ({text})");
                        if small && severity == Severity::Error {
                            severity = Severity::Warning;
                        }
                    }
                    Some(TableFacts::Missing) | None => {}
                }
            }
        }
        let listed = rules::rule(&found.rule);
        Some(Finding {
            rule: found.rule,
            severity,
            effect: info.effect,
            path: unit.path.clone(),
            line: found.line,
            message,
            // The catalogue's safe way names cutover's directives; squawk's help is more
            // specific for its style advice and for rules the catalogue does not list.
            fix: match (found.fix, listed) {
                (Some(help), Some(i)) if i.effect == Effect::Style => help,
                (Some(help), None) => help,
                _ => info.fix.to_string(),
            },
            table: found.table,
            migration: unit.migration.clone(),
        })
    }

    /// Why a finding about `table` does not matter because the run created it, if so.
    fn new_table(&self, table: &str, offset: usize, effect: Effect) -> Option<String> {
        match (self.state(table, offset), effect) {
            (Some(State::New), e) if e.depends_on_size() => Some(format!(
                "`{table}` is created earlier in this run and holds no row yet"
            )),
            (Some(_), Effect::Break) => Some(format!(
                "`{table}` is created earlier in this run: the running application does not use it yet"
            )),
            _ => None,
        }
    }

    /// `2.1 GB, about 4 min at 25 MB/s ([lint] rewrite_rate)`, and whether it is small.
    fn describe(
        &self,
        table: &str,
        bytes: Option<u64>,
        rows: &crate::engine::RowCount,
        effect: Effect,
    ) -> (String, bool) {
        let rows_text = match rows {
            crate::engine::RowCount::Exact(n) => format!("{n} rows"),
            crate::engine::RowCount::About { rows, .. } => format!("about {rows} rows"),
            crate::engine::RowCount::Unknown { .. } => "rows not estimated".into(),
        };
        let Some(bytes) = bytes else {
            return (format!("`{table}`: {rows_text}"), false);
        };
        let (rewrite, scan) = self.config.rates(self.target.dialect);
        let (rate, setting) = match effect {
            Effect::Rewrite => (rewrite, "rewrite_rate"),
            _ => (scan, "scan_rate"),
        };
        let time = sizes::human_duration(bytes as f64 / rate as f64);
        let small = bytes < self.config.large_table;
        let mut text = format!(
            "`{table}`: {}, {rows_text}; {time} at {}/s, the [lint] {setting}",
            sizes::human_bytes(bytes),
            sizes::human_bytes(rate)
        );
        if small {
            text.push_str(&format!(
                "; under [lint] large_table = {}",
                sizes::human_bytes(self.config.large_table)
            ));
        }
        (text, small)
    }
}

/// A table name as rules compare them: unquoted, lower case, without its schema.
pub(crate) fn normalise(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_lowercase()
}
