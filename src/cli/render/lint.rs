//! `cutover lint` output: text for people, JSON (the report as it is), SARIF 2.1.0 for code
//! scanning, and GitHub workflow commands (`::error file=…,line=…::…`) that annotate the
//! pull request's diff.

use std::path::Path;

use anstream::println;
use cutover::lint::{Finding, RULES, Report, Severity};

use super::{BOLD, CYAN, DIM, RED, Renderer, YELLOW};
use crate::cli::args::LintFormat;

impl Renderer {
    pub fn lint(&self, report: &Report, format: LintFormat) {
        match format {
            LintFormat::Json => self.json(report),
            LintFormat::Sarif => self.json(&sarif(report)),
            LintFormat::Github => {
                for f in &report.findings {
                    println!("{}", self.scrub(&github(f)));
                }
                for n in &report.notes {
                    println!(
                        "::notice title=cutover lint::{}",
                        escape_data(&self.scrub(n))
                    );
                }
            }
            LintFormat::Text => self.lint_text(report),
        }
    }

    fn lint_text(&self, report: &Report) {
        let mut out = String::new();
        if !self.quiet {
            for f in &report.findings {
                let (style, name) = severity_style(f.severity);
                out.push_str(&format!(
                    "{}:{}: {style}{name}{style:#}[{BOLD}{}{BOLD:#}] {}\n    {CYAN}safe way{CYAN:#}: {}\n",
                    f.path.display(),
                    f.line,
                    f.rule,
                    f.message,
                    f.fix
                ));
            }
        }
        if self.verbose() {
            for d in &report.dropped {
                out.push_str(&format!(
                    "{DIM}{}:{}: dropped [{}]: {}{DIM:#}\n",
                    d.path.display(),
                    d.line,
                    d.rule,
                    d.reason
                ));
            }
            for s in &report.suppressed {
                out.push_str(&format!(
                    "{DIM}{}:{}: allowed [{}] at line {}: {}{DIM:#}\n",
                    s.finding.path.display(),
                    s.finding.line,
                    s.finding.rule,
                    s.line,
                    s.reason.as_deref().unwrap_or("(no reason)")
                ));
            }
            for u in &report.unparsed {
                out.push_str(&format!(
                    "{DIM}{}:{}: not parsed: {}{DIM:#}\n",
                    u.path.display(),
                    u.line,
                    u.error
                ));
            }
        }
        out.push_str(&summary(report));
        for n in &report.notes {
            out.push_str(&format!("{DIM}note{DIM:#}: {n}\n"));
        }
        anstream::print!("{}", self.scrub(&out));
    }

    /// `cutover lint --rules`.
    pub fn lint_rules(&self) {
        if self.json {
            return self.json(&RULES);
        }
        let mut out = String::new();
        for r in RULES {
            out.push_str(&format!(
                "{BOLD}{}{BOLD:#} ({}, {})\n    {}\n",
                r.id,
                r.engine,
                r.severity.name(),
                r.fix
            ));
        }
        out.push_str(
            "PostgreSQL also honours squawk's other rules by id (squawkhq.com/docs/rules), through [lint] enable.\n",
        );
        anstream::print!("{out}");
    }
}

fn severity_style(s: Severity) -> (anstyle::Style, &'static str) {
    match s {
        Severity::Error => (RED, "error"),
        Severity::Warning => (YELLOW, "warning"),
        Severity::Info => (DIM, "info"),
    }
}

fn summary(r: &Report) -> String {
    let mut s = format!(
        "{} error(s), {} warning(s), {} info in {} script(s), {} statement(s)",
        r.errors, r.warnings, r.infos, r.files, r.statements
    );
    if !r.dropped.is_empty() {
        s.push_str(&format!(
            "; {} finding(s) dropped by context (-v lists them)",
            r.dropped.len()
        ));
    }
    if !r.suppressed.is_empty() {
        s.push_str(&format!(
            "; {} allowed by `-- cutover:allow`",
            r.suppressed.len()
        ));
    }
    s.push('\n');
    s
}

/// One GitHub workflow command: `::error file=F,line=N,title=RULE::message. Safe way: …`.
fn github(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    format!(
        "::{level} file={},line={},title={}::{}",
        escape_property(&uri(&f.path)),
        f.line,
        escape_property(&f.rule),
        escape_data(&format!("{}. Safe way: {}", f.message, f.fix))
    )
}

/// The escaping GitHub's runner undoes in a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// And in its properties, where `:` and `,` separate.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A path as a SARIF/GitHub URI: relative as given, with forward slashes.
fn uri(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// SARIF 2.1.0: one run, the rules that fired, one result per finding.
fn sarif(r: &Report) -> serde_json::Value {
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    let mut ids: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort();
    ids.dedup();
    let rules: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            let info = cutover::lint::rule(id);
            serde_json::json!({
                "id": id,
                "shortDescription": { "text": id },
                "help": { "text": info.map_or("see squawkhq.com/docs/rules", |i| i.fix) },
                "defaultConfiguration": { "level": info.map_or("warning", |i| level(i.severity)) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "ruleId": f.rule,
                "ruleIndex": ids.iter().position(|i| *i == f.rule),
                "level": level(f.severity),
                "message": { "text": format!("{}. Safe way: {}", f.message, f.fix) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path) },
                        "region": { "startLine": f.line },
                    }
                }],
            })
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cutover",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_commands_escape_what_the_runner_splits_on() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
