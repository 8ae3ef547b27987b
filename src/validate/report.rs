//! What a validation run found, as data: serialised to JSON as is, and rendered to
//! Markdown and HTML by `render`.

use serde::{Deserialize, Serialize};

/// How much `validate` checks (as operators describe the levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Connectivity and migration state.
    Basic,
    /// Basic, plus schema expectations, data integrity and security.
    Standard,
    /// Standard, plus drift against the migrations, performance and production readiness.
    Comprehensive,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Basic => "basic",
            Level::Standard => "standard",
            Level::Comprehensive => "comprehensive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Connectivity,
    Migrations,
    Schema,
    Integrity,
    Security,
    Performance,
    Backup,
    /// The application around the database: HTTP, Redis, TCP, Prometheus, disk.
    Application,
}

/// Ordered from worst to best, so sorting puts failures first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Fail,
    Warn,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Pass => "pass",
        }
    }
}

/// What a check saw: the query it ran and the first offending rows, or plain lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Column names of `rows`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The first few offending rows (keys), as text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<Vec<String>>,
    /// Anything else worth showing, one item per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable identifier, e.g. `integrity.orphans.enrollments.student_id`.
    pub id: String,
    pub category: Category,
    pub status: Status,
    /// One line saying what was found.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// The target, password removed.
    pub target: String,
    pub engine: String,
    pub server_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub level: Level,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub duration_ms: u64,
    /// The live schema's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub summary: Summary,
    /// Failures first, then warnings, then passes; in check order within each.
    pub checks: Vec<CheckResult>,
    pub cutover_version: String,
}
