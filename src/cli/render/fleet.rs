//! Fleets for people: a line per target as it ends, the gates, the fleet's outcome with
//! its failures named; `fleet status` as one table with the versions at a glance.

use std::fmt::Write as _;

use anstream::{eprintln, print, println};
use cutover::fleet::status::FleetStatus;
use cutover::fleet::{FleetReport, Status};

use super::{BOLD, DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn fleet_report(&self, r: &FleetReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet && r.succeeded() {
            return;
        }
        let style = if r.succeeded() { GREEN } else { RED };
        let count = |s: Status| r.targets.iter().filter(|t| t.state.status == s).count();
        println!(
            "{style}fleet deploy {}{style:#}: {} done, {} failed, {} rolled back, {} not started, of {} target(s) in {:.1}s {DIM}(fleet run {}){DIM:#}",
            r.outcome.as_str(),
            count(Status::Done),
            count(Status::Failed),
            count(Status::RolledBack),
            count(Status::Pending) + count(Status::Skipped),
            r.targets.len(),
            r.duration_ms as f64 / 1000.0,
            r.id
        );
        if let Some(s) = &r.stopped {
            eprintln!("{RED}stopped{RED:#}: {}", self.scrub(s));
        }
        for t in r
            .targets
            .iter()
            .filter(|t| t.state.status == Status::Failed)
        {
            eprintln!(
                "{RED}failed{RED:#} {}: {}",
                t.state.name,
                self.scrub(t.state.reason.as_deref().unwrap_or(""))
            );
        }
        println!(
            "{DIM}fleet journal and reports: {}{DIM:#}",
            r.report_dir.display()
        );
    }

    pub fn fleet_status(&self, s: &FleetStatus) {
        if self.json {
            return self.json(s);
        }
        if self.quiet {
            return;
        }
        let mut out = String::new();
        let versions: Vec<String> = s
            .versions
            .iter()
            .map(|(v, n)| format!("{v} × {n}"))
            .collect();
        let _ = writeln!(
            out,
            "{BOLD}fleet {}{BOLD:#}: {} target(s) at {}",
            s.environment,
            s.targets.len(),
            versions.join(", ")
        );
        for t in &s.targets {
            let mark = match (&t.error, t.drift, t.problems, t.pending) {
                (Some(_), ..) => format!("{RED}unreadable{RED:#}"),
                (None, true, ..) => format!("{RED}drift{RED:#}"),
                (None, false, p, _) if p > 0 => format!("{RED}{p} problem(s){RED:#}"),
                (None, false, 0, n) if n > 0 => format!("{YELLOW}{n} pending{YELLOW:#}"),
                _ => format!("{GREEN}up to date{GREEN:#}"),
            };
            let _ = writeln!(
                out,
                "  {:<24} {:<28} {mark}{}",
                t.name,
                t.newest.as_deref().unwrap_or("(none applied)"),
                t.error
                    .as_deref()
                    .map(|e| format!("  {DIM}{}{DIM:#}", self.scrub(e)))
                    .unwrap_or_default()
            );
        }
        print!("{out}");
    }
}
