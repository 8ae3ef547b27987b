//! Renders a `ValidationReport` as Markdown or as one self-contained HTML page.

use std::collections::BTreeMap;
use std::fmt::Debug;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::report::*;

/// The report as Markdown: summary, a table of all checks, then evidence for
/// failures and warnings only (passes would only add noise).
pub fn markdown(r: &ValidationReport) -> String {
    let s = &r.summary;
    let facts = facts(r).into_iter().map(|(k, v)| vec![k.to_owned(), v]);
    let checks = r.checks.iter().map(|c| {
        let (id, msg) = (c.id.clone(), c.message.clone());
        vec![
            label(c.status).into(),
            name(c.category),
            id,
            msg,
            dur(c.duration_ms),
        ]
    });
    let mut out = format!("# Validation report: {}\n\n{}\n\n", verdict(s).0, counts(s));
    out += &md_table(&["Field", "Value"], facts);
    out += "\n## Checks\n\n";
    out += &md_table(
        &["Status", "Category", "Check", "Message", "Duration"],
        checks,
    );
    let flagged: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .collect();
    if !flagged.is_empty() {
        out += "\n## Failures and warnings\n";
        flagged.into_iter().for_each(|c| out += &md_check(c));
    }
    out
}

fn md_check(c: &CheckResult) -> String {
    let mut out = format!(
        "\n### {}: {}\n\n{}\n",
        label(c.status),
        md(&c.id),
        md(&c.message)
    );
    let Some(e) = &c.evidence else { return out };
    if let Some(q) = &e.query {
        let f = fence(q);
        out += &format!("\n{f}sql\n{}\n{f}\n", q.trim_end());
    }
    if !e.rows.is_empty() || !e.columns.is_empty() {
        let width = e.rows.iter().map(Vec::len).chain([e.columns.len()]).max();
        // Pad the header: GFM drops cells beyond the header's width.
        let mut head: Vec<&str> = e.columns.iter().map(String::as_str).collect();
        head.resize(width.unwrap_or(0), "");
        out += "\n";
        out += &md_table(&head, e.rows.iter().cloned());
    }
    if !e.notes.is_empty() {
        out += "\n";
        e.notes
            .iter()
            .for_each(|n| out += &format!("- {}\n", md(n)));
    }
    out
}

/// A GFM table; every cell is escaped here so callers cannot forget.
fn md_table(head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut out = row(head.iter().map(|h| md(h)).collect());
    out += &format!("|{}\n", "---|".repeat(head.len()));
    for r in rows {
        out += &row(r.iter().map(|c| md(c)).collect());
    }
    out
}

/// Backslash-escapes Markdown syntax (CommonMark allows it for any ASCII
/// punctuation) and turns newlines into `<br>` so a value stays in its cell.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("<br>"),
            '\r' => {}
            _ => out.push(ch),
        }
    }
    out
}

/// A code fence longer than any backtick run in `code`, so the code cannot close it.
fn fence(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// The report as one HTML page: inline CSS only, no scripts, no external assets.
/// maud escapes every interpolated value, so database text cannot inject markup.
pub fn html(r: &ValidationReport) -> String {
    let (v, worst) = verdict(&r.summary);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "cutover validate: " (r.target) " — " (v) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "Validation report" }
                p.verdict.(name(worst)) { (v) " — " (counts(&r.summary)) }
                dl.facts { @for (k, val) in facts(r) { dt { (k) } dd { (val) } } }
                (category_table(r))
                h2 { "Checks" }
                @for c in &r.checks { (check_html(c)) }
            }
        }
    };
    page.into_string()
}

fn check_html(c: &CheckResult) -> Markup {
    let cls = name(c.status);
    html! {
        section.check.(cls) {
            div.head {
                span.badge.(cls) { (label(c.status)) }
                span.cat { (name(c.category)) }
                code.id { (c.id) }
                span.dur { (dur(c.duration_ms)) }
            }
            p.msg { (c.message) }
            @if let Some(e) = c.evidence.as_ref().filter(|e| **e != Evidence::default()) {
                (evidence_html(e, c.status == Status::Fail))
            }
        }
    }
}

fn evidence_html(e: &Evidence, open: bool) -> Markup {
    html! {
        details open[open] {
            summary { "Evidence" }
            @if let Some(q) = &e.query { pre { code { (q) } } }
            @if !e.rows.is_empty() || !e.columns.is_empty() {
                table {
                    thead { tr { @for col in &e.columns { th { (col) } } } }
                    tbody { @for row in &e.rows { tr { @for v in row { td { (v) } } } } }
                }
            }
            @if !e.notes.is_empty() { ul { @for n in &e.notes { li { (n) } } } }
        }
    }
}

fn category_table(r: &ValidationReport) -> Markup {
    // Indexed by `Status as usize`: Fail, Warn, Pass in declaration order.
    let mut per: BTreeMap<Category, [usize; 3]> = BTreeMap::new();
    for c in &r.checks {
        per.entry(c.category).or_default()[c.status as usize] += 1;
    }
    html! {
        table.cats {
            thead { tr { th { "Category" } th { "Fail" } th { "Warn" } th { "Pass" } } }
            tbody { @for (cat, n) in &per {
                tr { td { (name(*cat)) } td { (n[0]) } td { (n[1]) } td { (n[2]) } }
            } }
        }
    }
}

/// Label/value pairs for the summary, shared by both formats.
fn facts(r: &ValidationReport) -> Vec<(&'static str, String)> {
    let or_dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    vec![
        ("Target", r.target.clone()),
        ("Engine", format!("{} {}", r.engine, r.server_version)),
        ("Environment", or_dash(&r.environment)),
        ("Level", name(r.level)),
        ("Started", r.started_at.clone()),
        ("Duration", dur(r.duration_ms)),
        ("Fingerprint", or_dash(&r.fingerprint)),
        ("cutover", r.cutover_version.clone()),
    ]
}

/// The overall verdict, and the status whose colour it gets.
fn verdict(s: &Summary) -> (&'static str, Status) {
    match (s.fail, s.warn) {
        (0, 0) => ("PASSED", Status::Pass),
        (0, _) => ("PASSED WITH WARNINGS", Status::Warn),
        _ => ("FAILED", Status::Fail),
    }
}

fn counts(s: &Summary) -> String {
    format!("{} fail · {} warn · {} pass", s.fail, s.warn, s.pass)
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Fail => "FAIL",
        Status::Warn => "WARN",
        Status::Pass => "PASS",
    }
}

/// Lowercase variant name, matching the JSON (serde `rename_all = "lowercase"`).
fn name(v: impl Debug) -> String {
    format!("{v:?}").to_lowercase()
}

fn dur(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        _ => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

// Colours are always paired with a text label, so nothing relies on colour alone.
pub(crate) const CSS: &str = r#"
:root{--fail:#b42318;--fail-bg:#fef3f2;--warn:#8a5200;--warn-bg:#fff7e0;--pass:#067647;--pass-bg:#ecfdf3;--line:#d0d5dd;--muted:#5d6673}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2939;max-width:62rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem;border-bottom:1px solid var(--line)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f6f7f9;padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid var(--line);padding:.2rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f2f4f7}
.verdict{display:inline-block;font-weight:700;padding:.3rem .8rem;border-radius:4px;border:1px solid}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.check{border:1px solid var(--line);border-left-width:6px;border-radius:4px;padding:.5rem .75rem;margin:.5rem 0}
.head{display:flex;flex-wrap:wrap;gap:.6rem;align-items:baseline}.cat,.dur{color:var(--muted);font-size:.85rem}.dur{margin-left:auto}
.badge{font-weight:700;font-size:.75rem;padding:0 .4rem;border-radius:3px;border:1px solid}.msg{margin:.3rem 0}
.fail{color:var(--fail);background:var(--fail-bg);border-color:var(--fail)}.warn{color:var(--warn);background:var(--warn-bg);border-color:var(--warn)}.pass{color:var(--pass);background:var(--pass-bg);border-color:var(--pass)}
.check.fail,.check.warn,.check.pass{color:inherit;background:none}
summary{cursor:pointer;color:var(--muted)}
@media print{body{margin:0;max-width:none;font-size:10pt}.check{break-inside:avoid}*{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, status: Status, evidence: Option<Evidence>) -> CheckResult {
        let message = format!("{id} message");
        let (category, duration_ms, id) = (Category::Integrity, 12, id.into());
        CheckResult {
            id,
            category,
            status,
            message,
            evidence,
            duration_ms,
        }
    }

    fn sample() -> ValidationReport {
        let fail_ev = Evidence {
            query: Some("SELECT id FROM t -- ``` <b>\nWHERE x IS NULL".into()),
            columns: vec!["id".into(), "name".into()],
            rows: vec![
                vec!["7".into(), "<script>alert(1)</script>".into()],
                vec!["8".into(), "a|b".into()],
            ],
            notes: vec!["first note".into()],
        };
        let pass_ev = Evidence {
            notes: vec!["pass-note".into()],
            ..Default::default()
        };
        ValidationReport {
            target: "postgres://app@db/prod".into(),
            engine: "postgres".into(),
            server_version: "16.2".into(),
            environment: Some("production".into()),
            level: Level::Standard,
            started_at: "2026-01-02T03:04:05Z".into(),
            duration_ms: 1234,
            fingerprint: Some("sha256:abc".into()),
            summary: Summary {
                pass: 2,
                warn: 1,
                fail: 1,
            },
            checks: vec![
                check("chk.failing", Status::Fail, Some(fail_ev)),
                check("chk.warning", Status::Warn, Some(Evidence::default())),
                check("chk.passing", Status::Pass, Some(pass_ev)),
                check("chk.other", Status::Pass, None),
            ],
            cutover_version: "0.1.0".into(),
        }
    }

    fn before(text: &str, a: &str, b: &str) -> bool {
        matches!((text.find(a), text.find(b)), (Some(x), Some(y)) if x < y)
    }

    #[test]
    fn html_escapes_database_values() {
        let h = html(&sample());
        assert!(!h.contains("<script>alert"), "raw script tag leaked");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!h.contains("<b>") && h.contains("&lt;b&gt;"));
    }

    #[test]
    fn failures_come_before_passes() {
        let r = sample();
        for out in [html(&r), markdown(&r)] {
            assert!(before(&out, "chk.failing", "chk.warning"));
            assert!(before(&out, "chk.warning", "chk.passing"));
        }
    }

    #[test]
    fn summary_comes_first_with_counts_and_verdict() {
        let r = sample();
        for out in [html(&r), markdown(&r)] {
            assert!(out.contains("1 fail · 1 warn · 2 pass"));
            assert!(before(&out, "FAILED", "chk.failing"));
            assert!(before(&out, "sha256:abc", "chk.failing"));
        }
    }

    #[test]
    fn verdicts() {
        let s = |fail, warn| Summary {
            pass: 1,
            warn,
            fail,
        };
        assert_eq!(verdict(&s(1, 1)), ("FAILED", Status::Fail));
        assert_eq!(verdict(&s(0, 1)), ("PASSED WITH WARNINGS", Status::Warn));
        assert_eq!(verdict(&s(0, 0)), ("PASSED", Status::Pass));
    }

    #[test]
    fn html_is_self_contained() {
        let h = html(&sample());
        for bad in [
            "src=", "<link", "<script", "http://", "https://", "@import", "url(",
        ] {
            assert!(!h.contains(bad), "found {bad}");
        }
        assert!(h.contains(r#"<meta charset="utf-8">"#));
        assert!(h.contains("<title>cutover validate: postgres://app@db/prod — FAILED</title>"));
    }

    #[test]
    fn html_folds_evidence_open_only_for_failures() {
        let h = html(&sample());
        // Fail and pass have evidence; the warning's is empty so it is omitted.
        assert_eq!(h.matches("<details").count(), 2);
        assert_eq!(h.matches("<details open").count(), 1);
        assert!(before(&h, "<details open", "<details>"));
        assert!(h.contains("<th>name</th>") && h.contains("<li>pass-note</li>"));
    }

    #[test]
    fn markdown_escapes_cells_and_fences() {
        let m = markdown(&sample());
        let row = m
            .lines()
            .find(|l| l.contains("a\\|b"))
            .expect("escaped pipe row");
        assert_eq!(
            row.matches(" | ").count(),
            1,
            "row split into extra cells: {row}"
        );
        assert!(!m.contains("a|b"));
        assert!(m.contains("\\<script\\>alert(1)\\</script\\>"));
        // The query holds ``` so the fence must be longer.
        assert!(m.contains("````sql\nSELECT") && m.contains("NULL\n````\n"));
    }

    #[test]
    fn markdown_newlines_stay_in_cell_and_passes_have_no_evidence() {
        let mut r = sample();
        r.checks[3].message = "line one\nline two".into();
        let m = markdown(&r);
        assert!(m.contains("line one<br>line two"));
        assert!(!m.contains("pass-note"));
        assert!(m.contains("- first note"));
    }
}
