//! A fleet run's report: its outcome, each wave with its gate, each target with its
//! outcome and reason; as JSON, Markdown, and one self-contained HTML page with a grid of
//! targets by wave, coloured by outcome.

use std::path::{Path, PathBuf};
use std::time::Duration;

use maud::{DOCTYPE, html};
use serde::Serialize;

use super::store::{FleetState, GateDecision, Status, TargetState};
use super::targets::Target;
use super::waves::Wave;
use crate::config::{FleetPolicy, Settings};

/// How a fleet run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetOutcome {
    /// Every target deployed.
    Success,
    /// Some targets failed, within the error budget.
    WithinBudget,
    /// The fleet stopped (budget spent, a gate failed): see `stopped`.
    Stopped,
    /// Targets are left to deploy (a shard, or workers still at it).
    Incomplete,
}

impl FleetOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FleetOutcome::Success => "every target deployed",
            FleetOutcome::WithinBudget => "deployed, with failures within the error budget",
            FleetOutcome::Stopped => "stopped",
            FleetOutcome::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WaveSummary {
    pub index: usize,
    pub name: String,
    pub targets: usize,
    pub done: usize,
    pub failed: usize,
    pub gate: Option<GateDecision>,
}

/// The fleet run's report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub id: String,
    pub environment: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub outcome: FleetOutcome,
    pub stopped: Option<String>,
    pub error_budget: usize,
    pub waves: Vec<WaveSummary>,
    pub targets: Vec<TargetLine>,
    pub report_dir: PathBuf,
}

/// One target in the report: its state, and where it is (password hidden).
#[derive(Debug, Clone, Serialize)]
pub struct TargetLine {
    #[serde(flatten)]
    pub state: TargetState,
    pub target: String,
}

impl FleetReport {
    pub(super) fn new(
        state: &FleetState,
        waves: &[Wave],
        targets: &[Target],
        policy: &FleetPolicy,
        started_at: String,
        took: Duration,
        dir: &Path,
    ) -> FleetReport {
        let count = |w: usize, s: Status| {
            state
                .targets
                .iter()
                .filter(|t| t.wave == w && t.status == s)
                .count()
        };
        let failed = state.failures();
        let open = state
            .targets
            .iter()
            .any(|t| matches!(t.status, Status::Pending | Status::Running));
        let outcome = match (&state.stopped, open, failed) {
            (Some(_), _, _) => FleetOutcome::Stopped,
            (None, true, _) => FleetOutcome::Incomplete,
            (None, false, 0) => FleetOutcome::Success,
            (None, false, _) => FleetOutcome::WithinBudget,
        };
        FleetReport {
            id: state.id.clone(),
            environment: state.environment.clone(),
            started_at,
            duration_ms: took.as_millis() as u64,
            outcome,
            stopped: state.stopped.clone(),
            error_budget: policy.error_budget.of(targets.len()),
            waves: waves
                .iter()
                .map(|w| WaveSummary {
                    index: w.index,
                    name: w.name.clone(),
                    targets: w.targets.len(),
                    done: count(w.index, Status::Done),
                    failed: count(w.index, Status::Failed),
                    gate: state.gates.iter().find(|g| g.wave == w.index).cloned(),
                })
                .collect(),
            targets: state
                .targets
                .iter()
                .map(|t| TargetLine {
                    state: t.clone(),
                    target: targets
                        .iter()
                        .find(|x| x.name == t.name)
                        .map(|x| match &x.schema {
                            Some(s) => format!("{} (schema {s})", x.url),
                            None => x.url.to_string(),
                        })
                        .unwrap_or_default(),
                })
                .collect(),
            report_dir: dir.to_path_buf(),
        }
    }

    /// Whether the fleet ended as it should (budgeted failures included).
    pub fn succeeded(&self) -> bool {
        matches!(
            self.outcome,
            FleetOutcome::Success | FleetOutcome::WithinBudget
        )
    }

    /// `report.json`, `report.md` and `report.html` in `dir`; a file that cannot be
    /// written is a warning.
    pub(super) fn write_files(
        &self,
        dir: &Path,
        settings: &Settings,
        warn: &mut dyn FnMut(String),
    ) {
        let files = [
            (
                "report.json",
                serde_json::to_string_pretty(self).unwrap_or_default(),
            ),
            ("report.md", markdown(self)),
            ("report.html", page(self)),
        ];
        for (name, text) in files {
            let path = dir.join(name);
            if let Err(e) = std::fs::write(&path, settings.scrub(&text)) {
                warn(format!(
                    "the fleet report {} cannot be written: {e}",
                    path.display()
                ));
            }
        }
    }
}

fn markdown(r: &FleetReport) -> String {
    let mut out = format!(
        "# Fleet deploy {} of {}: {}\n\n{} target(s) in {} wave(s), {} ms; error budget {}\n",
        r.id,
        r.environment,
        r.outcome.as_str(),
        r.targets.len(),
        r.waves.len(),
        r.duration_ms,
        r.error_budget
    );
    if let Some(s) = &r.stopped {
        out.push_str(&format!("\nStopped: {s}\n"));
    }
    out.push_str("\n| wave | targets | done | failed | gate |\n|---|---:|---:|---:|---|\n");
    for w in &r.waves {
        let gate = w.gate.as_ref().map_or("-".to_string(), |g| {
            format!(
                "{} ({})",
                if g.passed { "passed" } else { "failed" },
                g.detail.join("; ")
            )
        });
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            w.name, w.targets, w.done, w.failed, gate
        ));
    }
    out.push_str("\n| target | wave | status | ms | reason |\n|---|---:|---|---:|---|\n");
    for t in &r.targets {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            t.state.name,
            t.state.wave,
            t.state.status.key(),
            t.state.duration_ms,
            t.state.reason.as_deref().unwrap_or("").replace('|', "\\|")
        ));
    }
    out
}

fn page(r: &FleetReport) -> String {
    let verdict = if r.succeeded() { "ok" } else { "bad" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "cutover fleet " (r.environment) " — " (r.outcome.as_str()) }
                style { (STYLE) }
            }
            body {
                h1 { "Fleet deploy " (r.environment) }
                p class={ "verdict " (verdict) } { (r.outcome.as_str()) }
                @if let Some(s) = &r.stopped { p { "Stopped: " (s) } }
                p { (r.targets.len()) " targets in " (r.waves.len()) " waves, " (r.duration_ms) " ms; error budget " (r.error_budget) "; run " (r.id) }
                @for w in &r.waves {
                    section {
                        h2 { (w.name) " — " (w.done) " done, " (w.failed) " failed of " (w.targets) }
                        div class="grid" {
                            @for t in r.targets.iter().filter(|t| t.state.wave == w.index) {
                                div class={ "cell " (t.state.status.key()) } title=(t.state.reason.as_deref().unwrap_or("")) {
                                    (t.state.name)
                                }
                            }
                        }
                        @if let Some(g) = &w.gate {
                            p class={ "gate " (if g.passed { "ok" } else { "bad" }) } {
                                "Gate " (if g.passed { "passed" } else { "failed" }) ": " (g.detail.join("; "))
                            }
                        }
                    }
                }
                @let failed: Vec<&TargetLine> = r.targets.iter().filter(|t| t.state.status == Status::Failed).collect();
                @if !failed.is_empty() {
                    h2 { "Failures" }
                    table {
                        @for t in failed {
                            tr { td { (t.state.name) } td { (t.target) } td { (t.state.reason.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d2939}\
.verdict{display:inline-block;font-weight:700;padding:.3rem .8rem;border-radius:4px}\
.ok{background:#ecfdf3;color:#067647}.bad{background:#fef3f2;color:#b42318}\
.grid{display:flex;flex-wrap:wrap;gap:4px}.cell{padding:.2rem .5rem;border-radius:3px;font-size:13px}\
.done{background:#12b76a;color:#fff}.failed{background:#d92d20;color:#fff}.rolled_back{background:#f79009;color:#fff}\
.pending,.skipped{background:#d0d5dd;color:#1d2939}.running{background:#2e90fa;color:#fff}\
table{border-collapse:collapse}td{border-bottom:1px solid #d0d5dd;padding:.25rem .5rem}";
