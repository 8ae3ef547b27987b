//! `deploy` for people: one line per phase as it ends, then the outcome and the reports.

use anstream::{eprintln, println};
use cutover::deploy::{Outcome, Phase, PhaseStatus, RunKind, RunReport};
use cutover::records::RunRow;
use cutover::validate::{CheckResult, Status};

use super::{DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    /// The end of a governed run: what it would do (dry run), its outcome, how a failure
    /// was undone, and where the reports are.
    pub fn run_report(&self, r: &RunReport) {
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
            Outcome::RollbackFailed => RED,
            _ => YELLOW,
        };
        let what = kind_name(r.kind);
        if let (Outcome::DryRun, Some(a)) = (r.outcome, &r.adoption) {
            self.adoption(a);
        }
        if let (Outcome::DryRun, Some(planned)) = (r.outcome, &r.planned) {
            self.migrate(planned);
        } else if r.outcome == Outcome::NothingToDo && r.kind == RunKind::Rollback {
            println!("nothing to roll back");
        } else if r.outcome == Outcome::DryRun {
            let verb = match r.kind {
                RunKind::Deploy => "apply",
                RunKind::Rollback => "roll back",
                RunKind::Baseline | RunKind::Adopt => "mark applied",
                _ => "change",
            };
            println!(
                "would {verb} {} migration(s): {}",
                r.pending.len(),
                r.pending.join(", ")
            );
        }
        // What the work itself did, for the commands whose work is one phase.
        let work = r.phases.iter().rev().find(|p| {
            p.status == PhaseStatus::Ok
                && matches!(
                    p.name,
                    Phase::Restore
                        | Phase::Clone
                        | Phase::Resolve
                        | Phase::Baseline
                        | Phase::Adopt
                        | Phase::Rollback
                )
        });
        for line in work.map(|p| p.detail.as_slice()).unwrap_or_default() {
            println!("{}", self.scrub(line));
        }
        println!(
            "{style}{what} {}{style:#} in {:.1}s {DIM}(run {}){DIM:#}",
            r.outcome.as_str(),
            r.duration_ms as f64 / 1000.0,
            r.run_id
        );
        if let Some(reason) = &r.reason {
            eprintln!("{RED}reason{RED:#}: {}", self.scrub(reason));
        }
        if let Some(undo) = &r.undo {
            let style = if undo.writes_discarded_since.is_some() {
                RED
            } else {
                DIM
            };
            eprintln!("{style}undo{style:#}: {}", self.scrub(&undo.summary()));
        }
        for w in &r.warnings {
            eprintln!("{YELLOW}warning{YELLOW:#}: {}", self.scrub(w));
        }
        if let Some(dir) = &r.report_dir {
            println!("{DIM}journal and reports: {}{DIM:#}", dir.display());
        }
    }
}

fn kind_name(k: RunKind) -> &'static str {
    match k {
        RunKind::Deploy => "deploy",
        RunKind::Seed => "seed",
        RunKind::Rollback => "rollback",
        RunKind::Resolve => "resolve",
        RunKind::Baseline => "baseline",
        RunKind::Adopt => "adopt",
        RunKind::Restore => "restore",
        RunKind::Clone => "clone",
    }
}

impl Renderer {
    pub fn planned(
        &self,
        p: &cutover::deploy::plan::Plan,
        file: Option<&std::path::Path>,
        sql: Option<(&std::path::Path, &[cutover::deploy::plan_sql::SqlFile])>,
    ) {
        if self.json {
            #[derive(serde::Serialize)]
            struct Planned<'a> {
                #[serde(flatten)]
                plan: &'a cutover::deploy::plan::Plan,
                #[serde(skip_serializing_if = "Option::is_none")]
                sql_files: Option<&'a [cutover::deploy::plan_sql::SqlFile]>,
            }
            return self.json(&Planned {
                plan: p,
                sql_files: sql.map(|(_, files)| files),
            });
        }
        for m in &p.migrations {
            println!(
                "  {} {}  {DIM}{}{DIM:#}",
                m.id,
                m.name,
                super::clip(&m.checksum, 16)
            );
        }
        if let Some(file) = file {
            println!(
                "wrote {}: {} migration(s) for {} (state {})",
                file.display(),
                p.migrations.len(),
                p.target,
                p.state
            );
        }
        if let Some((dir, files)) = sql {
            println!(
                "wrote {} SQL file(s) to {} ({} in one transaction each)",
                files.len(),
                dir.display(),
                files.iter().filter(|f| f.transaction).count()
            );
        }
    }

    pub fn runs(&self, rows: &[RunRow]) {
        if self.json {
            return self.json(&rows);
        }
        if rows.is_empty() {
            println!("no run has been recorded in this database");
        }
        for r in rows {
            let outcome = outcome_name(r);
            let by = match (&r.undone_by, &r.undoes) {
                (Some(by), _) => format!("  undone by {by}"),
                (None, Some(of)) => format!("  undoes {of}"),
                _ => String::new(),
            };
            println!(
                "{}  {:<20}  {:<8}  {:<10}  {:<24}  {:>7} ms  {} migration(s){by}  {DIM}{}{DIM:#}",
                r.id,
                super::clip(&r.started_at, 19),
                kind_name(r.kind),
                r.environment,
                outcome,
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
            "run {} ({}): {} ({} ms) in {} by {}",
            r.id,
            kind_name(r.kind),
            outcome_name(r),
            r.duration_ms,
            r.environment,
            r.applied_by
        );
        if let Some(phase) = &r.phase
            && matches!(r.outcome, Outcome::Running | Outcome::Interrupted)
        {
            println!(
                "stopped at: {phase}{}",
                if r.maintenance_on {
                    " (maintenance mode left ON)"
                } else {
                    ""
                }
            );
        }
        if let Some(by) = &r.undone_by {
            println!("undone by run {by}");
        }
        if let Some(of) = &r.undoes {
            println!("undoes run {of}");
        }
        if let Some(t) = &r.writes_discarded_since {
            println!("writes made since {t} were discarded by its restore");
        }
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

/// `✓`, `!` or `✗` for a check's status.
pub fn status_mark(s: Status) -> String {
    match s {
        Status::Pass => format!("{GREEN}✓{GREEN:#}"),
        Status::Warn => format!("{YELLOW}!{YELLOW:#}"),
        Status::Fail => format!("{RED}✗{RED:#}"),
    }
}

/// How a recorded run ended, for people. A deploy undone later by `rollback --run` did not
/// fail: it is "rolled back", and the row says by which run.
fn outcome_name(r: &RunRow) -> &'static str {
    match r.outcome {
        Outcome::RolledBack if r.undone_by.is_some() => "rolled back",
        other => other.as_str(),
    }
}

/// One round of the watch window: every check with its value.
pub fn watch_line(round: u32, failed_in_a_row: u32, results: &[CheckResult]) -> String {
    let checks: Vec<String> = results
        .iter()
        .map(|c| format!("{} {}", status_mark(c.status), c.message))
        .collect();
    let trend = if failed_in_a_row > 0 {
        format!(" {RED}({failed_in_a_row} failed in a row){RED:#}")
    } else {
        String::new()
    };
    format!(
        "  {DIM}watch round {round}{DIM:#}{trend}: {}",
        checks.join("; ")
    )
}

impl Renderer {
    /// `adopt --dry-run`: each entry of the other tool's history, its file and what
    /// adoption does with it.
    fn adoption(&self, a: &cutover::adopt::Adoption) {
        use cutover::adopt::Action;
        println!("{} ({}): {} entries", a.table, a.tool, a.entries.len());
        for m in &a.entries {
            let (style, action) = match m.action {
                Action::Record => (GREEN, "record as applied"),
                Action::AlreadyRecorded => (DIM, "already recorded"),
                Action::LeavePending => (YELLOW, "leave pending"),
                Action::Ignore => (YELLOW, "left out (no file)"),
                Action::Stop => (RED, "undecided"),
            };
            println!(
                "  {}  {DIM}{}{DIM:#} → {}  {style}{action}{style:#}",
                self.scrub(&m.entry),
                m.status.as_str(),
                m.migration.as_deref().unwrap_or("no file")
            );
        }
    }
}
