//! `transfer` for people: a progress bar per table (rows per second, time left), and the
//! report: each table's counts on both sides, its reconciliation, and the run id to resume.

use std::fmt::Write as _;
use std::io::IsTerminal;

use anstream::print;
use cutover::events::Event;
use cutover::transfer::TransferReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{BOLD, DIM, GREEN, Progress, RED, Renderer, YELLOW};

/// The events a transfer reports as it goes (JSON lines with `--json`).
pub(super) fn is_progress(e: &Event) -> bool {
    matches!(
        e,
        Event::TransferStarted { .. }
            | Event::TableStarted { .. }
            | Event::TableRows { .. }
            | Event::TableLoaded { .. }
    )
}

impl Progress {
    pub(super) fn table_progress(&mut self, event: &Event) {
        match event {
            Event::TransferStarted {
                run,
                tables,
                resumed,
            } => {
                let what = if *resumed {
                    "resuming transfer"
                } else {
                    "transfer"
                };
                self.line(format!(
                    "{what} run {BOLD}{run}{BOLD:#}: {tables} table(s) (resume with --resume {run})"
                ));
            }
            Event::TableStarted { table, rows, done } if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(Some(*rows), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg:20} {bar:30} {pos}/{len} rows ({per_sec}, {eta} left)",
                    )
                    .expect("valid template"),
                );
                bar.set_message(table.clone());
                bar.set_position(*done);
                self.bar = Some(bar);
            }
            Event::TableRows { rows, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(*rows);
                }
            }
            Event::TableLoaded {
                table,
                rows,
                duration,
            } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let rate = cutover::transfer::rate(*rows, *duration);
                self.line(format!(
                    "  {GREEN}loaded{GREEN:#} {table}: {rows} rows in {:.1}s ({rate} rows/s)",
                    duration.as_secs_f64()
                ));
            }
            _ => {}
        }
    }
}

impl Renderer {
    pub fn transfer(&self, r: &TransferReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet {
            return;
        }
        let mut out = String::new();
        let width = r
            .tables
            .iter()
            .map(|t| t.table.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(out, "{DIM}{} → {}{DIM:#}", r.from, r.to);
        if r.dry_run {
            let _ = writeln!(
                out,
                "{BOLD}{:<width$}  {:>10}  PLAN{BOLD:#}",
                "TABLE", "ROWS"
            );
            for t in &r.tables {
                let what = if t.created {
                    "create, then load"
                } else {
                    "load"
                };
                let _ = writeln!(out, "{:<width$}  {:>10}  {what}", t.table, t.source_rows);
                if let Some(ddl) = t.plan.as_ref().and_then(|p| p.create.as_ref()) {
                    for line in ddl.lines() {
                        let _ = writeln!(out, "{:<width$}  {:>10}  {DIM}{line}{DIM:#}", "", "");
                    }
                }
            }
            let _ = writeln!(out, "dry run: nothing was changed");
        } else {
            let _ = writeln!(
                out,
                "{BOLD}{:<width$}  {:>10}  {:>10}  {:>10}  RECONCILED{BOLD:#}",
                "TABLE", "SOURCE", "TARGET", "LOADED"
            );
            for t in &r.tables {
                let mark = if t.reconciled {
                    format!("{GREEN}yes{GREEN:#}")
                } else {
                    format!("{RED}no{RED:#}")
                };
                let _ = writeln!(
                    out,
                    "{:<width$}  {:>10}  {:>10}  {:>10}  {mark}",
                    t.table, t.source_rows, t.target_rows, t.loaded
                );
                if t.read != t.loaded || t.existing + t.duplicates + t.rejected > 0 {
                    let _ = writeln!(
                        out,
                        "{:<width$}  {DIM}read {}, already there {}, duplicates {}, rejected {}, lookups that found nothing {}{DIM:#}",
                        "", t.read, t.existing, t.duplicates, t.rejected, t.unresolved_lookups
                    );
                }
                for m in &t.mismatches {
                    let _ = writeln!(out, "{:<width$}  {RED}{m}{RED:#}", "");
                }
            }
            let (style, word) = if r.reconciled {
                (GREEN, "reconciled")
            } else {
                (RED, "NOT reconciled")
            };
            let _ = writeln!(
                out,
                "run {} {style}{word}{style:#} in {:.1}s",
                r.run,
                r.duration_ms as f64 / 1000.0
            );
        }
        for n in &r.notes {
            let _ = writeln!(out, "{YELLOW}note{YELLOW:#}: {n}");
        }
        print!("{}", self.scrub(&out));
    }
}
