//! The phases of a governed run (deploy, rollback, seed, …) and how each ended: the names
//! reports, the journal, events and `cutover_runs` use, as typed values instead of strings.
//! A leaf module, so that `events` and `deploy` can both use it.

use serde::{Deserialize, Serialize};

/// One step of a governed run, in the order a deploy runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    #[serde(rename = "preflight")]
    Preflight,
    #[serde(rename = "approval")]
    Approval,
    #[serde(rename = "backup")]
    Backup,
    #[serde(rename = "maintenance on")]
    MaintenanceOn,
    #[serde(rename = "hooks before migrate")]
    HooksBeforeMigrate,
    #[serde(rename = "migrate")]
    Migrate,
    #[serde(rename = "hooks after migrate")]
    HooksAfterMigrate,
    #[serde(rename = "seed")]
    Seed,
    /// Data loaded by the environment's transfer mapping.
    #[serde(rename = "transfer")]
    Transfer,
    #[serde(rename = "verify")]
    Verify,
    #[serde(rename = "maintenance off")]
    MaintenanceOff,
    #[serde(rename = "smoke")]
    Smoke,
    #[serde(rename = "watch")]
    Watch,
    #[serde(rename = "hooks after deploy")]
    HooksAfterDeploy,
    #[serde(rename = "hooks before rollback")]
    HooksBeforeRollback,
    /// The work of a `rollback` command, or the undo of a failed deploy.
    #[serde(rename = "rollback")]
    Rollback,
    #[serde(rename = "hooks after rollback")]
    HooksAfterRollback,
    #[serde(rename = "resolve")]
    Resolve,
    #[serde(rename = "baseline")]
    Baseline,
    /// Another tool's history recorded as cutover's.
    #[serde(rename = "adopt")]
    Adopt,
    #[serde(rename = "restore")]
    Restore,
    /// Another environment's schema (and rows, sampled or masked) copied in.
    #[serde(rename = "clone")]
    Clone,
    #[serde(rename = "notify")]
    Notify,
    #[serde(rename = "record")]
    Record,
}

impl Phase {
    /// The name people and files see (`maintenance on`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Preflight => "preflight",
            Phase::Approval => "approval",
            Phase::Backup => "backup",
            Phase::MaintenanceOn => "maintenance on",
            Phase::HooksBeforeMigrate => "hooks before migrate",
            Phase::Migrate => "migrate",
            Phase::HooksAfterMigrate => "hooks after migrate",
            Phase::Seed => "seed",
            Phase::Transfer => "transfer",
            Phase::Verify => "verify",
            Phase::MaintenanceOff => "maintenance off",
            Phase::Smoke => "smoke",
            Phase::Watch => "watch",
            Phase::HooksAfterDeploy => "hooks after deploy",
            Phase::HooksBeforeRollback => "hooks before rollback",
            Phase::Rollback => "rollback",
            Phase::HooksAfterRollback => "hooks after rollback",
            Phase::Resolve => "resolve",
            Phase::Baseline => "baseline",
            Phase::Adopt => "adopt",
            Phase::Restore => "restore",
            Phase::Clone => "clone",
            Phase::Notify => "notify",
            Phase::Record => "record",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Ok,
    Skipped,
    Failed,
}

impl PhaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Ok => "ok",
            PhaseStatus::Skipped => "skipped",
            PhaseStatus::Failed => "failed",
        }
    }
}

/// Where a target stands in a fleet run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    Pending,
    /// A worker holds it (until its lease runs out).
    Running,
    /// Deployed (or nothing to do).
    Done,
    /// Its deploy failed (and was undone by its own policy, or not: see the outcome).
    Failed,
    /// Deployed, then rolled back with its cancelled wave.
    RolledBack,
    /// Not started: the fleet stopped first.
    Skipped,
}

impl TargetStatus {
    pub fn key(self) -> &'static str {
        match self {
            TargetStatus::Pending => "pending",
            TargetStatus::Running => "running",
            TargetStatus::Done => "done",
            TargetStatus::Failed => "failed",
            TargetStatus::RolledBack => "rolled_back",
            TargetStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> TargetStatus {
        match s {
            "running" => TargetStatus::Running,
            "done" => TargetStatus::Done,
            "failed" => TargetStatus::Failed,
            "rolled_back" => TargetStatus::RolledBack,
            "skipped" => TargetStatus::Skipped,
            _ => TargetStatus::Pending,
        }
    }
}

/// One phase in a report.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    pub name: Phase,
    pub status: PhaseStatus,
    pub started_at: String,
    pub duration_ms: u64,
    pub detail: Vec<String>,
}
