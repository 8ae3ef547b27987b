//! A rehearsal's report as Markdown and as one self-contained HTML page (maud escapes
//! every value, so database text cannot inject markup); JSON is the report serialised.

use maud::{DOCTYPE, PreEscaped, html};

use super::RehearsalReport;
use crate::validate::Status;

fn verdict(r: &RehearsalReport) -> &'static str {
    if r.passed() { "PASSED" } else { "FAILED" }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "not compared",
    }
}

/// Label/value pairs shared by both formats.
fn facts(r: &RehearsalReport) -> Vec<(&'static str, String)> {
    vec![
        (
            "Environment",
            r.environment.clone().unwrap_or_else(|| "—".into()),
        ),
        ("Target", r.target.clone()),
        ("Scratch copy on", r.scratch_server.clone()),
        ("Engine", r.engine.clone()),
        ("Copied", format!("{:?}", r.copy).to_lowercase()),
        ("Started", r.started_at.clone()),
        ("Duration", format!("{} ms", r.duration_ms)),
        ("Copy fingerprint", r.copy_fingerprint.clone()),
        ("Pending migrations applied", r.applied.len().to_string()),
        ("Estimated window", format!("{} ms", r.estimated_ms)),
        ("Rolled back", r.rolled_back.len().to_string()),
        (
            "Round trip stopped at",
            r.stopped
                .as_ref()
                .map_or_else(|| "—".into(), |s| format!("{}: {}", s.id, s.reason)),
        ),
        (
            "Rollback equals the copy",
            yes_no(r.rollback_matches_copy).into(),
        ),
        (
            "Applying again equals the first apply",
            yes_no(r.reapply_matches_first).into(),
        ),
    ]
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(r: &RehearsalReport) -> String {
    let mut out = format!(
        "# Rehearsal: {}\n\n| Field | Value |\n|---|---|\n",
        verdict(r)
    );
    for (k, v) in facts(r) {
        out += &format!("| {k} | {} |\n", cell(&v));
    }
    if let Some(e) = &r.apply_error {
        out += &format!("\n## Applying stopped\n\n{}\n", cell(e));
    }
    out += "\n## Migrations\n\n| Migration | Name | Statements | Duration |\n|---|---|---:|---:|\n";
    for t in &r.applied {
        out += &format!(
            "| {} | {} | {} | {} ms |\n",
            cell(&t.id),
            cell(&t.name),
            t.statements,
            t.duration_ms
        );
    }
    out += "\n## Checks\n\n| Status | Check | Message |\n|---|---|---|\n";
    for c in &r.checks {
        out += &format!(
            "| {:?} | {} | {} |\n",
            c.status,
            cell(&c.id),
            cell(&c.message)
        );
    }
    if !r.differences.is_empty() {
        out += "\n## Differences\n\n";
        for d in &r.differences {
            out += &format!("- {}\n", cell(d));
        }
    }
    out
}

pub fn html(r: &RehearsalReport) -> String {
    let class = if r.passed() { "pass" } else { "fail" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "cutover rehearse: " (r.target) " — " (verdict(r)) }
                style { (PreEscaped(crate::validate::render::CSS)) }
            }
            body {
                h1 { "Rehearsal" }
                p.verdict.(class) { (verdict(r)) }
                dl.facts { @for (k, v) in facts(r) { dt { (k) } dd { (v) } } }
                @if let Some(e) = &r.apply_error { h2 { "Applying stopped" } pre { (e) } }
                h2 { "Migrations" }
                table {
                    thead { tr { th { "Migration" } th { "Name" } th { "Statements" } th { "Duration" } } }
                    tbody { @for t in &r.applied {
                        tr { td { code { (t.id) } } td { (t.name) } td { (t.statements) } td { (t.duration_ms) " ms" } }
                    } }
                }
                h2 { "Checks" }
                table {
                    thead { tr { th { "Status" } th { "Check" } th { "Message" } } }
                    tbody { @for c in &r.checks {
                        tr { td.(if c.status == Status::Fail { "fail" } else { "pass" }) { (format!("{:?}", c.status)) } td { code { (c.id) } } td { (c.message) } }
                    } }
                }
                @if !r.differences.is_empty() {
                    h2 { "Differences" }
                    ul { @for d in &r.differences { li { (d) } } }
                }
            }
        }
    }
    .into_string()
}
