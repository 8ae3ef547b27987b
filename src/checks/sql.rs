//! SQL checks: the first value, or the number of rows, against the expectation.

use super::Seen;
use crate::config::Expected;
use crate::engine::Engine;
use crate::verdict::{Evidence, SAMPLE_ROWS};

pub(super) fn run(e: &mut dyn Engine, sql: &str, expect: &Expected) -> Seen {
    let mut evidence = Evidence {
        query: Some(sql.to_string()),
        ..Evidence::default()
    };
    let rows = match e.query(sql) {
        Ok(rows) => rows,
        Err(err) => {
            return Seen::failed(format!("the query failed: {}", err.message))
                .with_evidence(evidence);
        }
    };
    let first = rows.first().and_then(|r| r.first().cloned().flatten());
    let (ok, found) = judge(expect, rows.len(), first.as_deref());
    evidence.rows = rows
        .into_iter()
        .take(SAMPLE_ROWS)
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect();
    Seen::judged(ok, found).with_evidence(evidence)
}

/// Whether the result meets the expectation, and what was found, for the message.
pub(super) fn judge(expect: &Expected, rows: usize, first: Option<&str>) -> (bool, String) {
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
            let ok = got == want
                || (want == "true" && matches!(got, "t" | "true" | "1"))
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
}
