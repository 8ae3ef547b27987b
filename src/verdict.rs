//! What a check concluded: its id, category, status, message and evidence, and the levels
//! `validate` runs at. A leaf module: `config` reads levels and categories, `checks` and
//! `validate` produce results, reports and the journal show them, and none of them need
//! each other for it.

use std::time::Instant;

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

/// How many offending rows a check shows as evidence.
pub const SAMPLE_ROWS: usize = 5;

impl CheckResult {
    pub fn new(
        id: impl Into<String>,
        category: Category,
        status: Status,
        message: impl Into<String>,
    ) -> CheckResult {
        CheckResult {
            id: id.into(),
            category,
            status,
            message: message.into(),
            evidence: None,
            duration_ms: 0,
        }
    }

    pub fn with_evidence(mut self, evidence: Evidence) -> CheckResult {
        self.evidence = Some(evidence);
        self
    }

    pub fn since(mut self, start: Instant) -> CheckResult {
        self.duration_ms = start.elapsed().as_millis() as u64;
        self
    }
}
