//! The result of a lint: findings (rule, severity, file and line, what happens, the safe
//! way), the findings context dropped and why, the ones a `-- cutover:allow` covers, and
//! notes (offline, statements the parser could not read). Plain data: the CLI renders it.

use std::path::PathBuf;

use serde::Serialize;

use super::config::LintConfig;
use super::rules::{Effect, Severity};
use super::target::Target;

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub effect: Effect,
    pub path: PathBuf,
    pub line: usize,
    /// What the statement does, with the table's size and time when known.
    pub message: String,
    /// The safe way to do it.
    pub fix: String,
    /// The table concerned, when the rule names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The migration's id, for a migration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
}

/// A finding context dropped, and why (`created earlier in this run`, `empty`).
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub rule: String,
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

/// A finding a `-- cutover:allow` covers, and the reason given there.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: Option<String>,
    /// The line of the `-- cutover:allow`.
    #[serde(rename = "allow_line")]
    pub line: usize,
}

/// A statement the SQL parser could not read: no rule looked at it.
#[derive(Debug, Clone, Serialize)]
pub struct Unparsed {
    pub path: PathBuf,
    pub line: usize,
    pub error: String,
}

/// Everything one `cutover lint` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: Target,
    /// Scripts read.
    pub files: usize,
    /// The files they came from, in the order read.
    pub scripts: Vec<PathBuf>,
    /// Statements read.
    pub statements: usize,
    /// Sorted by file, then line.
    pub findings: Vec<Finding>,
    pub dropped: Vec<Dropped>,
    pub suppressed: Vec<Suppressed>,
    pub unparsed: Vec<Unparsed>,
    pub notes: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// The severity at which the exit code says "failed".
    pub fail_on: Severity,
}

impl Report {
    pub(crate) fn new(target: &Target, config: &LintConfig) -> Report {
        Report {
            target: target.clone(),
            files: 0,
            scripts: Vec::new(),
            statements: 0,
            findings: Vec::new(),
            dropped: Vec::new(),
            suppressed: Vec::new(),
            unparsed: Vec::new(),
            notes: Vec::new(),
            errors: 0,
            warnings: 0,
            infos: 0,
            fail_on: config.fail_on.threshold(),
        }
    }

    /// Sort, count.
    pub(crate) fn finish(&mut self) {
        self.findings
            .sort_by(|a, b| (&a.path, a.line, &a.rule).cmp(&(&b.path, b.line, &b.rule)));
        self.errors = self.count(Severity::Error);
        self.warnings = self.count(Severity::Warning);
        self.infos = self.count(Severity::Info);
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Whether a finding reaches `fail_on` (the exit code says "failed").
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity >= self.fail_on)
    }

    /// Add a note once.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }
}
