//! What a deploy did, as data, and as Markdown and a self-contained HTML page with a
//! timeline of its phases.

use std::path::PathBuf;

use maud::{DOCTYPE, html};
use serde::Serialize;

use crate::validate::CheckResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything ran.
    Success,
    /// No pending migration: nothing was done.
    NothingToDo,
    /// `--dry-run`: the plan, nothing changed.
    DryRun,
    /// Stopped before anything was changed.
    Failed,
    /// Changes were undone and the schema proved back to where it was.
    RolledBack,
    /// Changes could not be undone, or the schema is not back where it was.
    RollbackFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::NothingToDo => "nothing to do",
            Outcome::DryRun => "dry run",
            Outcome::Failed => "failed, nothing changed",
            Outcome::RolledBack => "failed and rolled back",
            Outcome::RollbackFailed => "failed; ROLLBACK INCOMPLETE",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    pub name: String,
    /// ok, failed or skipped.
    pub status: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub run_id: String,
    pub environment: Option<String>,
    pub target: String,
    pub engine: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub phases: Vec<PhaseRecord>,
    /// Migrations this run applied (and, after a rollback, no longer applied).
    pub applied: Vec<String>,
    pub pending: Vec<String>,
    pub backup: Option<PathBuf>,
    pub fingerprint_before: Option<String>,
    pub fingerprint_after: Option<String>,
    pub checks: Vec<CheckResult>,
    pub applied_by: String,
    pub report_dir: Option<PathBuf>,
}

pub fn markdown(r: &DeployReport) -> String {
    let mut out = format!(
        "# Deploy {}: {}\n\n| | |\n|---|---|\n| environment | {} |\n| target | {} |\n| started | {} |\n| duration | {} ms |\n| by | {} |\n",
        r.run_id,
        r.outcome.as_str(),
        r.environment.as_deref().unwrap_or("-"),
        r.target,
        r.started_at,
        r.duration_ms,
        r.applied_by
    );
    if let Some(reason) = &r.reason {
        out.push_str(&format!("| reason | {} |\n", reason.replace('|', "\\|")));
    }
    out.push_str("\n## Phases\n\n| phase | status | duration | detail |\n|---|---|---:|---|\n");
    for p in &r.phases {
        out.push_str(&format!(
            "| {} | {} | {} ms | {} |\n",
            p.name,
            p.status,
            p.duration_ms,
            p.detail.join("<br>").replace('|', "\\|")
        ));
    }
    out.push_str(&format!(
        "\n## Migrations\n\napplied: {}\n",
        if r.applied.is_empty() {
            "none".into()
        } else {
            r.applied.join(", ")
        }
    ));
    out
}

pub fn html(r: &DeployReport) -> String {
    let total = r.phases.iter().map(|p| p.duration_ms).sum::<u64>().max(1);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "cutover deploy " (r.run_id) " — " (r.outcome.as_str()) }
                style { (STYLE) }
            }
            body {
                h1 { "Deploy " (r.environment.as_deref().unwrap_or("")) }
                p class={ "verdict " (class(r.outcome)) } { (r.outcome.as_str()) }
                @if let Some(reason) = &r.reason { p { "Reason: " (reason) } }
                dl {
                    dt { "Run" } dd { (r.run_id) }
                    dt { "Target" } dd { (r.target) " (" (r.engine) ")" }
                    dt { "Started" } dd { (r.started_at) }
                    dt { "Duration" } dd { (r.duration_ms) " ms" }
                    dt { "By" } dd { (r.applied_by) }
                    dt { "Migrations" } dd { @if r.applied.is_empty() { "none" } @else { (r.applied.join(", ")) } }
                    @if let Some(b) = &r.backup { dt { "Backup" } dd { (b.display()) } }
                    @if let Some(f) = &r.fingerprint_before { dt { "Schema before" } dd { (f) } }
                    @if let Some(f) = &r.fingerprint_after { dt { "Schema after" } dd { (f) } }
                }
                h2 { "Timeline" }
                table {
                    thead { tr { th { "Phase" } th { "Status" } th { "Time" } th { "" } } }
                    tbody {
                        @for p in &r.phases {
                            tr class=(p.status) {
                                td { (p.name) }
                                td { (p.status) }
                                td class="num" { (p.duration_ms) " ms" }
                                td {
                                    div class="bar" style={ "width:" (((p.duration_ms * 100) / total).max(1)) "%" } {}
                                    @if !p.detail.is_empty() {
                                        details open[p.status == "failed"] {
                                            summary { "detail" }
                                            ul { @for d in &p.detail { li { (d) } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !r.checks.is_empty() {
                    h2 { "Checks" }
                    table {
                        tbody {
                            @for c in &r.checks {
                                tr class=(format!("{:?}", c.status).to_lowercase()) {
                                    td { (format!("{:?}", c.status).to_uppercase()) }
                                    td { (c.id) }
                                    td { (c.message) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn class(o: Outcome) -> &'static str {
    match o {
        Outcome::Success | Outcome::NothingToDo | Outcome::DryRun => "ok",
        Outcome::Failed | Outcome::RolledBack => "warn",
        Outcome::RollbackFailed => "bad",
    }
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2939}\
.verdict{display:inline-block;font-weight:700;padding:.3rem .8rem;border-radius:4px}\
.ok{background:#ecfdf3;color:#067647}.warn{background:#fff7e0;color:#8a5200}.bad,.failed{background:#fef3f2;color:#b42318}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d5dd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
.num{text-align:right;white-space:nowrap}.bar{height:.5rem;background:#2e90fa;border-radius:2px;margin:.3rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}dt{color:#5d6673}dd{margin:0}";
