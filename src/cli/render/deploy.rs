//! `deploy` for people: one line per phase as it ends, then the outcome and the reports.

use anstream::{eprintln, println};
use cutover::deploy::runs::RunRow;
use cutover::deploy::{DeployReport, Outcome};

use super::{DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn deployed(&self, r: &DeployReport) {
        if self.json {
            // The last JSON line: the whole report, after the phases' lines.
            let line = serde_json::json!({ "report": r });
            return println!("{}", self.scrub(&line.to_string()));
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

impl Renderer {
    pub fn planned(&self, p: &cutover::deploy::plan::Plan, file: &std::path::Path) {
        if self.json {
            return self.json(p);
        }
        for m in &p.migrations {
            println!(
                "  {} {}  {DIM}{}{DIM:#}",
                m.id,
                m.name,
                &m.checksum[..m.checksum.len().min(16)]
            );
        }
        println!(
            "wrote {}: {} migration(s) for {} (state {})",
            file.display(),
            p.migrations.len(),
            p.target,
            p.state
        );
    }

    pub fn undone(&self, u: &cutover::deploy::runs::Undone) {
        if self.json {
            return self.json(u);
        }
        println!(
            "{GREEN}undid run {}{GREEN:#} ({} migration(s), {}); the schema is back to {}",
            u.run,
            u.migrations.len(),
            u.how,
            u.fingerprint
        );
    }

    pub fn runs(&self, rows: &[RunRow]) {
        if self.json {
            return self.json(&rows);
        }
        if rows.is_empty() {
            println!("no deploy has been recorded in this database");
        }
        for r in rows {
            println!(
                "{}  {:<20}  {:<10}  {:<16}  {:>7} ms  {} migration(s)  {DIM}{}{DIM:#}",
                r.id,
                &r.started_at[..r.started_at.len().min(19)],
                r.environment,
                r.outcome,
                r.duration_ms,
                r.migrations.len(),
                r.applied_by
            );
        }
    }

    pub fn run(&self, r: &RunRow, report: Option<&serde_json::Value>) {
        if self.json {
            return self.json(&serde_json::json!({ "run": r, "report": report }));
        }
        println!(
            "run {}: {} ({} ms) in {} by {}",
            r.id, r.outcome, r.duration_ms, r.environment, r.applied_by
        );
        println!("started {}", r.started_at);
        println!(
            "migrations: {}",
            if r.migrations.is_empty() {
                "none".into()
            } else {
                r.migrations.join(", ")
            }
        );
        if let Some(b) = &r.backup {
            println!("backup: {b}");
        }
        if let Some(reason) = &r.reason {
            println!("reason: {}", self.scrub(reason));
        }
        let phases = report.and_then(|v| v["phases"].as_array());
        for p in phases.into_iter().flatten() {
            let detail: Vec<String> = p["detail"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect();
            println!(
                "{}",
                phase_line(
                    p["name"].as_str().unwrap_or("?"),
                    p["status"].as_str().unwrap_or("?"),
                    &self.scrub(&detail.join("; ")),
                    p["duration_ms"].as_u64().unwrap_or(0).into()
                )
            );
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
