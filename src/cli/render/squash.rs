//! `squash` for people: what was replaced, where it went, the proof and its timings; the
//! differences, one per line, when the proof fails.

use std::fmt::Write as _;

use anstream::print;
use cutover::squash::SquashReport;

use super::{BOLD, DIM, GREEN, RED, Renderer};

impl Renderer {
    pub fn squash(&self, r: &SquashReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet && r.proved() {
            return;
        }
        let mut out = String::new();
        if !r.proved() {
            let _ = writeln!(
                out,
                "{RED}the baseline does not reproduce the migrations' schema: {} difference(s); nothing was changed{RED:#}",
                r.differences.len()
            );
            for d in &r.differences {
                let _ = writeln!(out, "  {}", self.scrub(d));
            }
            let _ = writeln!(
                out,
                "{DIM}(- only in the migrations' database, + only in the baseline's){DIM:#}"
            );
            print!("{out}");
            return;
        }
        let verb = if r.dry_run {
            "would squash"
        } else {
            "squashed"
        };
        let _ = writeln!(
            out,
            "{GREEN}{verb}{GREEN:#} {BOLD}{}{BOLD:#} migrations into the baseline {BOLD}{}{BOLD:#} ({} statements, {} bytes); {} remain after it",
            r.squashed, r.baseline, r.statements, r.bytes, r.remaining
        );
        let _ = writeln!(out, "  baseline  {}", r.file.display());
        let _ = writeln!(out, "  archive   {}", r.archive.display());
        if !r.with_data.is_empty() {
            let _ = writeln!(out, "  rows of   {}", r.with_data.join(", "));
        }
        let _ = writeln!(
            out,
            "{GREEN}proved{GREEN:#}: a second scratch database built from the baseline alone has the same schema, grants, routines, triggers, sequences{} (fingerprint {})",
            if r.with_data.is_empty() {
                ""
            } else {
                " and rows"
            },
            r.fingerprint
        );
        let _ = writeln!(
            out,
            "{DIM}apply {} ms · dump {} ms · prove {} ms · total {} ms{DIM:#}",
            r.apply_ms, r.dump_ms, r.prove_ms, r.total_ms
        );
        print!("{out}");
    }
}
