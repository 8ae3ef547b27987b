//! What a validation run found, as data: serialised to JSON as is, and rendered to
//! Markdown and HTML by `render`.

use serde::{Deserialize, Serialize};

pub use crate::verdict::{Category, CheckResult, Evidence, Level, Status};

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
