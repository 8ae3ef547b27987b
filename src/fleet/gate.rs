//! The gate after a fleet's wave: a person approves the next wave (or `--yes` did), and
//! the gate's checks, with the environment's watch checks, hold for `hold` (asked every
//! `interval`). Without a gate, the next wave follows at once.

use std::time::{Duration, Instant};

use super::store::GateDecision;
use crate::config::{FleetPolicy, Settings};
use crate::deploy::{ApprovalRequest, Approver, RunKind};
use crate::verdict::Status;

/// Decide the gate after `wave`.
pub fn decide(
    settings: &Settings,
    policy: &FleetPolicy,
    wave: usize,
    yes: bool,
    worker: &str,
    approve: Approver,
) -> GateDecision {
    let mut detail = Vec::new();
    let passed = match &policy.gate {
        None => {
            detail.push("no gate: the next wave follows".into());
            true
        }
        Some(gate) => {
            let asked = !gate.approval || yes || ask(settings, wave, approve, &mut detail);
            asked && hold(settings, gate, &mut detail)
        }
    };
    GateDecision {
        wave,
        passed,
        decided_by: worker.to_string(),
        at: jiff::Timestamp::now().to_string(),
        detail,
    }
}

fn ask(settings: &Settings, wave: usize, approve: Approver, detail: &mut Vec<String>) -> bool {
    let environment = settings.env.clone().unwrap_or_default();
    let request = ApprovalRequest {
        kind: RunKind::Deploy,
        environment: environment.clone(),
        target: "the fleet".into(),
        summary: format!("go on past wave {wave} to the next one"),
        confirm: environment,
    };
    match approve(&request) {
        Some(true) => {
            detail.push("approved".into());
            true
        }
        Some(false) => {
            detail.push("not approved".into());
            false
        }
        None => {
            detail.push(
                "the gate needs a person's approval and there is no terminal: pass --yes".into(),
            );
            false
        }
    }
}

/// Every check (the gate's and the watch's) passes at every round until `hold` is over.
fn hold(settings: &Settings, gate: &crate::config::Gate, detail: &mut Vec<String>) -> bool {
    let checks: Vec<_> = gate
        .checks
        .iter()
        .chain(settings.deploy.watch.iter().flat_map(|w| &w.checks))
        .cloned()
        .collect();
    if checks.is_empty() {
        return true;
    }
    let start = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let results = crate::checks::run_all(None, &checks, "gate");
        let failed: Vec<String> = results
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| settings.scrub(&c.message))
            .collect();
        if !failed.is_empty() {
            detail.push(format!("round {rounds}: {}", failed.join("; ")));
            return false;
        }
        if start.elapsed() >= gate.hold {
            detail.push(format!(
                "{} check(s) held for {}s ({rounds} round(s))",
                checks.len(),
                gate.hold.as_secs()
            ));
            return true;
        }
        let left = gate.hold.saturating_sub(start.elapsed());
        std::thread::sleep(gate.interval.min(left).max(Duration::from_millis(10)));
    }
}
