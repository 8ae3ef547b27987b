//! Suppressions written in the migration itself:
//!
//! - `-- cutover:allow RULE[,RULE…] reason` on the lines just above a statement (or at the
//!   end of its first line) covers that statement;
//! - `-- cutover:allow-file RULE[,RULE…] reason` anywhere in a script covers all of it.
//!
//! A suppression without a reason, or naming no known rule, is itself a finding, and so
//! (as advice) is one that covers nothing. squawk's own `-- squawk-ignore` comments keep
//! working on PostgreSQL: squawk's linter reads them.

use super::context::Found;
use super::input::Unit;
use super::report::{Finding, Suppressed};
use super::rules;

/// One `-- cutover:allow` line.
#[derive(Debug, Clone)]
pub(crate) struct Allow {
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// File line of the comment.
    pub line: usize,
    /// File lines covered: `first..=last`.
    first: usize,
    last: usize,
}

/// The suppressions of one script.
pub(crate) struct Allows {
    list: Vec<Allow>,
}

impl Allows {
    pub fn read(unit: &Unit) -> Allows {
        let spans = statement_spans(unit);
        let mut list = Vec::new();
        for (index, text) in unit.sql.lines().enumerate() {
            let line = unit.file_line(index + 1);
            let Some((whole_file, rest)) = parse_line(text) else {
                continue;
            };
            let (first, last) = if whole_file {
                (0, usize::MAX)
            } else {
                match spans.iter().find(|(start, _)| *start >= line) {
                    Some(&(start, end)) if covers_gap(unit, line, start) => (start, end),
                    Some(&(start, end)) if start == line => (start, end),
                    _ => match spans.iter().find(|(s, e)| *s <= line && line <= *e) {
                        Some(&(start, end)) if start == line => (start, end),
                        _ => (line, line),
                    },
                }
            };
            let (names, reason) = match rest.split_once(char::is_whitespace) {
                Some((names, reason)) => (names, reason.trim()),
                None => (rest, ""),
            };
            list.push(Allow {
                rules: names
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect(),
                reason: (!reason.is_empty()).then(|| reason.to_string()),
                line,
                first,
                last,
            });
        }
        Allows { list }
    }

    /// The suppression that covers `finding`, if one does.
    pub fn covering(&self, finding: &Finding) -> Option<&Allow> {
        self.list.iter().find(|a| {
            a.first <= finding.line && finding.line <= a.last && a.rules.contains(&finding.rule)
        })
    }

    /// Findings about the suppressions themselves: no reason, unknown rules, unused.
    pub fn problems(&self, unit: &Unit, suppressed: &[Suppressed]) -> Vec<Found> {
        let mut out = Vec::new();
        for a in &self.list {
            let found = |rule: &str, message: String| Found {
                rule: rule.into(),
                offset: 0,
                line: a.line,
                message,
                fix: None,
                table: None,
                severity: None,
            };
            if a.reason.is_none() {
                out.push(found(
                    "allow-without-reason",
                    "a `-- cutover:allow` without a reason".into(),
                ));
            }
            if a.rules.is_empty() {
                out.push(found(
                    "allow-unknown-rule",
                    "a `-- cutover:allow` that names no rule".into(),
                ));
            }
            for r in a.rules.iter().filter(|r| !rules::known(r)) {
                out.push(found(
                    "allow-unknown-rule",
                    format!("`-- cutover:allow` names `{r}`, which is no rule"),
                ));
            }
            let used = suppressed
                .iter()
                .any(|s| s.line == a.line && s.finding.path == unit.path);
            if !used && a.rules.iter().all(|r| rules::known(r)) && !a.rules.is_empty() {
                out.push(found(
                    "allow-unused",
                    format!("`-- cutover:allow {}` covers no finding", a.rules.join(",")),
                ));
            }
        }
        out
    }
}

/// `-- cutover:allow …` → `(false, "…")`, `-- cutover:allow-file …` → `(true, "…")`.
fn parse_line(text: &str) -> Option<(bool, &str)> {
    let at = text.find("--")?;
    let rest = text[at + 2..].trim_start().strip_prefix("cutover:")?;
    if let Some(rest) = rest.strip_prefix("allow-file") {
        return rest
            .starts_with(char::is_whitespace)
            .then(|| (true, rest.trim()))
            .or(rest.is_empty().then_some((true, "")));
    }
    let rest = rest.strip_prefix("allow")?;
    if rest.is_empty() {
        return Some((false, ""));
    }
    rest.starts_with(char::is_whitespace)
        .then(|| (false, rest.trim()))
}

/// Each statement's file lines, `(first, last)`: up to the line before the next one.
fn statement_spans(unit: &Unit) -> Vec<(usize, usize)> {
    let starts: Vec<usize> = unit
        .statements
        .iter()
        .map(|s| unit.file_line(s.line))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts
                .get(i + 1)
                .map_or(usize::MAX, |&n| n.saturating_sub(1).max(s));
            (s, end)
        })
        .collect()
}

/// Whether only comment lines sit between file lines `from` (the allow) and `to` (the
/// statement), so the allow is "just above" it.
fn covers_gap(unit: &Unit, from: usize, to: usize) -> bool {
    let lines: Vec<&str> = unit.sql.lines().collect();
    (from..to).all(|l| {
        let index = l - unit.line_offset - 1;
        lines
            .get(index)
            .is_some_and(|t| t.trim_start().starts_with("--"))
    })
}
