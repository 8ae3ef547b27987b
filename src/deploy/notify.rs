//! Notifications of a governed run: one message per event, to every target subscribed to
//! it. A rollback is one message (event `rollback`), sent to targets that want rollbacks or
//! failures, never two with the same text. A dry run notifies no one.

use super::{NotifyOn, Outcome, Run, actions};
use crate::events::Event;
use crate::verdict::Status;

impl Run<'_, '_> {
    pub(super) fn notify(&mut self, on: NotifyOn) {
        if self.opts.dry_run {
            return;
        }
        let wants = |list: &[NotifyOn]| match on {
            NotifyOn::Rollback => {
                list.contains(&NotifyOn::Rollback) || list.contains(&NotifyOn::Failure)
            }
            other => list.contains(&other),
        };
        let targets: Vec<_> = self
            .settings()
            .deploy
            .notify
            .iter()
            .filter(|n| wants(&n.on))
            .cloned()
            .collect();
        if targets.is_empty() {
            return;
        }
        let payload = self.payload(on);
        for n in targets {
            for problem in actions::notify(&n, &payload) {
                self.session
                    .event(Event::Warning(format!("notify: {problem}")));
                self.report.warnings.push(format!("notify: {problem}"));
            }
        }
    }

    fn payload(&self, on: NotifyOn) -> serde_json::Value {
        let r = &self.report;
        let what = match on {
            NotifyOn::Start => "started".to_string(),
            NotifyOn::Success => "succeeded".to_string(),
            NotifyOn::Failure => format!("failed: {}", r.reason.as_deref().unwrap_or("")),
            NotifyOn::Rollback => {
                let outcome = if r.outcome == Outcome::RollbackFailed {
                    "failed and the rollback is INCOMPLETE"
                } else {
                    "failed and was rolled back"
                };
                format!("{outcome}: {}", r.reason.as_deref().unwrap_or(""))
            }
        };
        let discarded = r
            .undo
            .as_ref()
            .and_then(|u| u.writes_discarded_since.clone());
        let text = format!(
            "cutover {} {} of {} {what} ({} migration(s): {}; {} ms){}{}",
            serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            r.run_id,
            r.environment.as_deref().unwrap_or("default"),
            r.pending.len(),
            r.pending.join(", "),
            self.clock.elapsed().as_millis(),
            r.backup
                .as_ref()
                .map(|b| format!("; backup {}", b.display()))
                .unwrap_or_default(),
            discarded
                .as_ref()
                .map(|t| format!("; writes made since {t} were DISCARDED by the restore"))
                .unwrap_or_default()
        );
        serde_json::json!({
            "text": self.settings().scrub(&text),
            "event": on,
            "kind": r.kind,
            "run_id": r.run_id,
            "environment": r.environment,
            "target": r.target,
            "outcome": r.outcome,
            "reason": r.reason.as_ref().map(|s| self.settings().scrub(s)),
            "pending": r.pending,
            "applied": r.applied,
            "backup": r.backup,
            "writes_discarded_since": discarded,
            "checks": {
                "failed": r.checks.iter().filter(|c| c.status == Status::Fail).count(),
                "total": r.checks.len(),
            },
            "duration_ms": self.clock.elapsed().as_millis() as u64,
        })
    }
}
