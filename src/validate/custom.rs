//! `[[checks]]`: the operator's own SQL, compared with its `expect`.

use std::time::Instant;

use super::integrity::cannot_run;
use super::{CheckResult, Evidence, SAMPLE_ROWS, Status};
use crate::config::{Check, Expected};
use crate::engine::Engine;

pub(super) fn run(e: &mut dyn Engine, checks: &[Check]) -> Vec<CheckResult> {
    checks.iter().map(|c| one(e, c)).collect()
}

/// `no orphaned enrollments` → `no_orphaned_enrollments`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn one(e: &mut dyn Engine, c: &Check) -> CheckResult {
    let t = Instant::now();
    let id = format!("custom.{}", slug(&c.name));
    let mut evidence = Evidence {
        query: Some(c.sql.clone()),
        ..Evidence::default()
    };
    let rows = match e.query(&c.sql) {
        Ok(rows) => rows,
        Err(err) => return cannot_run(id, c.category, &c.name, err.message, evidence).since(t),
    };
    let first = rows.first().and_then(|r| r.first().cloned().flatten());
    let (ok, got) = judge(&c.expect, rows.len(), first.as_deref());
    evidence.rows = rows
        .into_iter()
        .take(SAMPLE_ROWS)
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect();
    let status = if ok { Status::Pass } else { Status::Fail };
    let message = if ok {
        format!("{}: {got}", c.name)
    } else {
        format!("{}: {got}, expected {}", c.name, c.expect)
    };
    CheckResult::new(id, c.category, status, message)
        .with_evidence(evidence)
        .since(t)
}

/// Whether the result meets the expectation, and what was found, for the message.
fn judge(expect: &Expected, rows: usize, first: Option<&str>) -> (bool, String) {
    match expect {
        Expected::Rows(cmp, n) => (cmp.holds(rows as f64, *n), format!("{rows} row(s)")),
        Expected::Number(cmp, n) => match first.map(|v| v.trim().parse::<f64>()) {
            Some(Ok(got)) => (
                cmp.holds(got, *n),
                format!("got {}", first.unwrap_or_default()),
            ),
            Some(Err(_)) => (
                false,
                format!("got '{}', not a number", first.unwrap_or_default()),
            ),
            None => (false, "got no value".into()),
        },
        Expected::Text(want) => {
            let got = first.unwrap_or("NULL");
            // Booleans print as t/f (PostgreSQL) or 1/0 (MySQL, SQLite).
            let truthy = |s: &str| matches!(s, "t" | "true" | "1");
            let ok = got == want
                || (want == "true" && truthy(got))
                || (want == "false" && matches!(got, "f" | "false" | "0"));
            (ok, format!("got '{got}'"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Comparison;

    #[test]
    fn judging() {
        assert!(judge(&Expected::Number(Comparison::Eq, 0.0), 1, Some("0")).0);
        assert!(!judge(&Expected::Number(Comparison::Ge, 50.0), 1, Some("49")).0);
        assert!(judge(&Expected::Rows(Comparison::Eq, 0.0), 0, None).0);
        assert!(!judge(&Expected::Number(Comparison::Eq, 0.0), 0, None).0);
        assert!(judge(&Expected::Text("true".into()), 1, Some("t")).0);
        assert!(!judge(&Expected::Text("ok".into()), 1, Some("nok")).0);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("No orphaned enrollments!"), "no_orphaned_enrollments");
    }
}
