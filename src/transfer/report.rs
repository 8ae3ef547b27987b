//! What a transfer reports: per table the rows on both sides, what a mapping made of the
//! source's rows, and the reconciliation; a mapping's quality checks as a validation report.

use std::time::Duration;

use serde::Serialize;

use super::plan::TablePlan;
use crate::target::DatabaseUrl;

/// The outcome of a transfer, or its plan (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    pub run: String,
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    pub resumed: bool,
    pub tables: Vec<TableReport>,
    /// Values carried in another form, indexes left out.
    pub notes: Vec<String>,
    /// Every table's counts and columns agree (always false for a dry run).
    pub reconciled: bool,
    /// A mapping's quality checks on the source (run before every load; `--check-only`
    /// stops after them, and a failing check stops the load).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::verdict::CheckResult>,
    /// Why nothing was loaded, when the checks stopped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub duration_ms: u64,
    /// Where the time went, phase by phase (zero for a phase the run did not reach).
    pub phases: Phases,
}

/// A run's time per phase, in milliseconds: connecting and planning (schemas, quality
/// checks), streaming the rows, keys and foreign keys added and checked, and the
/// reconciliation read back from the target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Phases {
    pub plan_ms: u64,
    pub load_ms: u64,
    pub keys_ms: u64,
    pub reconcile_ms: u64,
}

/// One table's load and reconciliation.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub created: bool,
    /// Rows the target should hold: those read from the source (for a dry run, counted);
    /// for a mapping, those the target held before plus those loaded.
    pub source_rows: u64,
    /// Rows in the target table after the load.
    pub target_rows: u64,
    /// Rows written by this attempt (a resumed run: after its checkpoint).
    pub loaded: u64,
    /// Source rows read (after a mapping's filter).
    pub read: u64,
    /// A mapping's rows rejected, found already there by their key, and lookups that
    /// found nothing (a NULL written in a nullable column).
    pub rejected: u64,
    pub existing: u64,
    /// A mapping's source rows whose key an earlier source row has (not loaded).
    pub duplicates: u64,
    pub unresolved_lookups: u64,
    pub duration_ms: u64,
    /// Columns whose sums or checksums differ, with how.
    pub mismatches: Vec<String>,
    pub reconciled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<TablePlan>,
}

/// A transfer's quality checks as a validation report, so that `validate`'s renderers
/// (text, JSON, Markdown, HTML) show them.
pub fn checks_report(
    r: &TransferReport,
    source: &DatabaseUrl,
) -> crate::validate::ValidationReport {
    let mut checks = r.checks.clone();
    checks.sort_by_key(|c| c.status);
    crate::validate::ValidationReport {
        target: source.to_string(),
        engine: source.kind().name().to_string(),
        server_version: String::new(),
        environment: None,
        level: crate::verdict::Level::Standard,
        started_at: jiff::Timestamp::now().to_string(),
        duration_ms: r.duration_ms,
        fingerprint: None,
        summary: crate::validate::summary(&checks),
        checks,
        cutover_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Rows per second over `took`, for people.
pub fn rate(rows: u64, took: Duration) -> u64 {
    (rows as f64 / took.as_secs_f64().max(0.001)) as u64
}
