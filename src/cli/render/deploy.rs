//! `deploy` for people: one line per phase as it ends, then the outcome and the reports.

use anstream::{eprintln, println};
use cutover::deploy::{DeployReport, Outcome};

use super::{DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn deployed(&self, r: &DeployReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet && r.outcome == Outcome::Success {
            return;
        }
        let style = match r.outcome {
            Outcome::Success | Outcome::NothingToDo | Outcome::DryRun => GREEN,
            Outcome::Failed | Outcome::RolledBack => YELLOW,
            Outcome::RollbackFailed => RED,
        };
        if r.outcome == Outcome::DryRun {
            println!(
                "would apply {} migration(s): {}",
                r.pending.len(),
                r.pending.join(", ")
            );
        }
        println!(
            "{style}deploy {}{style:#} in {:.1}s {DIM}(run {}){DIM:#}",
            r.outcome.as_str(),
            r.duration_ms as f64 / 1000.0,
            r.run_id
        );
        if let Some(reason) = &r.reason {
            eprintln!("{RED}reason{RED:#}: {}", self.scrub(reason));
        }
        if let Some(dir) = &r.report_dir {
            println!("{DIM}journal and reports: {}{DIM:#}", dir.display());
        }
    }
}

/// One phase's end, for the progress observer.
pub fn phase_line(name: &str, status: &str, detail: &str, ms: u128) -> String {
    let (mark, style) = match status {
        "ok" => ("✓", GREEN),
        "skipped" => ("-", DIM),
        _ => ("✗", RED),
    };
    let detail = if detail.is_empty() || status == "ok" && detail.len() > 100 {
        String::new()
    } else {
        format!("  {DIM}{detail}{DIM:#}")
    };
    format!("{style}{mark} {name:<22}{style:#} {ms:>6} ms{detail}")
}
