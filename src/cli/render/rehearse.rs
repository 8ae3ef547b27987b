//! `rehearse` for people: each pending migration with its time, the checks that did not
//! pass, the round trip, and every difference; report files by extension.

use std::fmt::Write as _;
use std::path::Path;

use anstream::print;
use cutover::Error;
use cutover::rehearse::{RehearsalReport, render};
use cutover::validate::Status;

use super::validate::extension;
use super::{BOLD, DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn rehearsal(&self, r: &RehearsalReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet && r.passed() {
            return;
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{DIM}rehearsal of {} on a scratch copy ({:?}) on {}{DIM:#}",
            r.target, r.copy, r.scratch_server
        );
        for t in &r.applied {
            let _ = writeln!(
                out,
                "  applied {:<28} {:>8} ms  {}",
                t.id, t.duration_ms, t.name
            );
        }
        let _ = writeln!(
            out,
            "{BOLD}{} migration(s), {} ms in all{BOLD:#} (an estimate of the production window)",
            r.applied.len(),
            r.estimated_ms
        );
        if let Some(e) = &r.apply_error {
            let _ = writeln!(out, "{RED}applying stopped: {}{RED:#}", self.scrub(e));
        }
        for c in r.checks.iter().filter(|c| c.status != Status::Pass) {
            let style = if c.status == Status::Fail {
                RED
            } else {
                YELLOW
            };
            let _ = writeln!(
                out,
                "  {style}{:?}{style:#} {}: {}",
                c.status,
                c.id,
                self.scrub(&c.message)
            );
        }
        let _ = writeln!(out, "rolled back {} migration(s)", r.rolled_back.len());
        if let Some(s) = &r.stopped {
            let _ = writeln!(
                out,
                "{YELLOW}the round trip stopped at {}: {}{YELLOW:#}",
                s.id, s.reason
            );
        }
        for d in &r.differences {
            let _ = writeln!(out, "  {RED}{}{RED:#}", self.scrub(d));
        }
        let verdict = if r.passed() {
            format!("{GREEN}rehearsal passed{GREEN:#}")
        } else {
            format!("{RED}rehearsal FAILED{RED:#}")
        };
        let _ = writeln!(out, "{verdict} in {} ms", r.duration_ms);
        print!("{out}");
    }

    pub fn write_rehearsal(&self, r: &RehearsalReport, path: &Path) -> Result<(), Error> {
        let text = match extension(path).as_deref() {
            Some("json") => serde_json::to_string_pretty(r).expect("reports serialise"),
            Some("md") => render::markdown(r),
            _ => render::html(r),
        };
        self.write_file(path, &text)
    }
}
