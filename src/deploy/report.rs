//! What a deploy did, as data, and as Markdown and a self-contained HTML page with a
//! timeline of its phases.

use std::path::{Path, PathBuf};

use maud::{DOCTYPE, html};
use serde::Serialize;

use crate::config::Settings;
use crate::phase::{Phase, PhaseRecord, PhaseStatus};
use crate::records::{Outcome, RunKind};
use crate::verdict::CheckResult;

/// What a governed run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub kind: RunKind,
    pub environment: Option<String>,
    pub target: String,
    pub engine: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The last phase that started.
    pub phase: Option<Phase>,
    pub phases: Vec<PhaseRecord>,
    /// Migrations this run applied (and, after a rollback, no longer applied).
    pub applied: Vec<String>,
    /// What the run set out to do: pending migrations (deploy), or the migrations to undo.
    pub pending: Vec<String>,
    pub backup: Option<PathBuf>,
    pub fingerprint_before: Option<String>,
    pub fingerprint_after: Option<String>,
    pub checks: Vec<CheckResult>,
    pub applied_by: String,
    pub report_dir: Option<PathBuf>,
    /// How a failure was undone.
    pub undo: Option<super::Undone>,
    /// The run a `rollback --run` undid.
    pub undoes: Option<String>,
    /// `cutover adopt`: the other tool's entries and what became of each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoption: Option<crate::adopt::Adoption>,
    /// `cutover clone`: the source, the tables and rows, the masked columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloned: Option<crate::clone::Cloned>,
    /// A dry run's plan: each script with its statements and lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<crate::runner::MigrateReport>,
    /// Things the operator should know that did not stop the run (a journal that could
    /// not be written, a record that could not be kept).
    pub warnings: Vec<String>,
    /// What `cutover lint` found in the pending migrations in the preflight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lint: Vec<crate::lint::Finding>,
}

impl RunReport {
    pub(super) fn new(settings: &Settings, run_id: &str, kind: RunKind, dir: PathBuf) -> Self {
        RunReport {
            run_id: run_id.to_string(),
            kind,
            environment: settings.env.clone(),
            target: settings.url.to_string(),
            engine: settings.url.kind().name().to_string(),
            started_at: jiff::Timestamp::now().to_string(),
            finished_at: None,
            duration_ms: 0,
            outcome: Outcome::Running,
            reason: None,
            phase: None,
            phases: Vec::new(),
            applied: Vec::new(),
            pending: Vec::new(),
            backup: None,
            fingerprint_before: None,
            fingerprint_after: None,
            checks: Vec::new(),
            applied_by: crate::applied_by(),
            report_dir: Some(dir),
            undo: None,
            undoes: None,
            planned: None,
            adoption: None,
            cloned: None,
            warnings: Vec::new(),
            lint: Vec::new(),
        }
    }

    /// The session could not be opened: the preflight failed before anything.
    pub(super) fn failed_to_start(&mut self, reason: &str, took: std::time::Duration) {
        self.phases.push(PhaseRecord {
            name: Phase::Preflight,
            status: PhaseStatus::Failed,
            started_at: self.started_at.clone(),
            duration_ms: took.as_millis() as u64,
            detail: vec![reason.to_string()],
        });
        self.phase = Some(Phase::Preflight);
        self.reason = Some(reason.to_string());
        self.outcome = Outcome::Failed;
        self.duration_ms = took.as_millis() as u64;
        self.finished_at = Some(jiff::Timestamp::now().to_string());
    }

    /// `report.json`, `report.md` and `report.html` in `dir`, passwords scrubbed. A file
    /// that cannot be written is a warning (the run itself is over).
    pub(super) fn write_files(
        &mut self,
        dir: &Path,
        settings: &Settings,
        warn: &mut dyn FnMut(String),
    ) {
        let json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let files = [
            ("report.json", json),
            ("report.md", markdown(self)),
            ("report.html", html(self)),
        ];
        for (name, text) in files {
            let path = dir.join(name);
            if let Err(e) = std::fs::write(&path, settings.scrub(&text)) {
                let message = format!("the report {} cannot be written: {e}", path.display());
                warn(message.clone());
                self.warnings.push(message);
            }
        }
    }
}

/// For people: what kind of run it was.
fn title(r: &RunReport) -> &'static str {
    match r.kind {
        RunKind::Deploy => "Deploy",
        RunKind::Seed => "Seed",
        RunKind::Rollback => "Rollback",
        RunKind::Resolve => "Resolve",
        RunKind::Baseline => "Baseline",
        RunKind::Adopt => "Adopt",
        RunKind::Restore => "Restore",
        RunKind::Clone => "Clone",
    }
}

pub fn markdown(r: &RunReport) -> String {
    let mut out = format!(
        "# {} {}: {}\n\n| | |\n|---|---|\n| environment | {} |\n| target | {} |\n| started | {} |\n| duration | {} ms |\n| by | {} |\n",
        title(r),
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
            p.status.as_str(),
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

pub fn html(r: &RunReport) -> String {
    let total = r.phases.iter().map(|p| p.duration_ms).sum::<u64>().max(1);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "cutover " (title(r).to_lowercase()) " " (r.run_id) " — " (r.outcome.as_str()) }
                style { (STYLE) }
            }
            body {
                h1 { (title(r)) " " (r.environment.as_deref().unwrap_or("")) }
                p class={ "verdict " (class(r.outcome)) } { (r.outcome.as_str()) }
                @if let Some(reason) = &r.reason { p { "Reason: " (reason) } }
                @if let Some(undo) = &r.undo { p { "Undo: " (undo.summary()) } }
                @for w in &r.warnings { p class="warn" { "Warning: " (w) } }
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
                            tr class=(p.status.as_str()) {
                                td { (p.name) }
                                td { (p.status.as_str()) }
                                td class="num" { (p.duration_ms) " ms" }
                                td {
                                    div class="bar" style={ "width:" (((p.duration_ms * 100) / total).max(1)) "%" } {}
                                    @if !p.detail.is_empty() {
                                        details open[p.status == PhaseStatus::Failed] {
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
        Outcome::Failed | Outcome::RolledBack | Outcome::Running | Outcome::Interrupted => "warn",
        Outcome::RollbackFailed => "bad",
    }
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2939}\
.verdict{display:inline-block;font-weight:700;padding:.3rem .8rem;border-radius:4px}\
.ok{background:#ecfdf3;color:#067647}.warn{background:#fff7e0;color:#8a5200}.bad,.failed{background:#fef3f2;color:#b42318}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d5dd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
.num{text-align:right;white-space:nowrap}.bar{height:.5rem;background:#2e90fa;border-radius:2px;margin:.3rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}dt{color:#5d6673}dd{margin:0}";
