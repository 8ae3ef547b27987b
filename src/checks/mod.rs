//! Running checks: one `Check` type (see `config::probe`) for `[[checks]]`, preflight,
//! verify, smoke and watch. Each probe kind has its module; this one retries, times and
//! turns what a probe saw into a `CheckResult`. Results leave here with the secrets of the
//! check (URL passwords and tokens, header values) masked, so whatever shows or stores them
//! (console, journal, reports, notifications) never sees them.

mod disk;
mod http;
mod net;
mod sql;

pub(crate) use http::send;

use std::time::{Duration, Instant};

use crate::config::{Check, Probe};
use crate::engine::Engine;
use crate::verdict::{CheckResult, Evidence, Status};

/// What one attempt saw.
pub(crate) struct Seen {
    /// Pass, fail, or warn (a Prometheus query with no data).
    pub verdict: Status,
    /// What was found, for the message (`HTTP 503`, `got 3`, `PONG`).
    pub found: String,
    pub evidence: Evidence,
}

impl Seen {
    /// Pass when `ok`, else fail.
    pub(crate) fn judged(ok: bool, found: impl Into<String>) -> Seen {
        Seen {
            verdict: if ok { Status::Pass } else { Status::Fail },
            found: found.into(),
            evidence: Evidence::default(),
        }
    }

    pub(crate) fn failed(found: impl Into<String>) -> Seen {
        Seen::judged(false, found)
    }

    pub(crate) fn with_evidence(mut self, evidence: Evidence) -> Seen {
        self.evidence = evidence;
        self
    }
}

/// `No orphaned enrollments!` → `no_orphaned_enrollments`.
pub fn slug(name: &str) -> String {
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

/// Run every check; ids are `<prefix>.<slug of the name>`.
pub fn run_all(
    mut engine: Option<&mut dyn Engine>,
    checks: &[Check],
    prefix: &str,
) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        out.push(run(reborrow(&mut engine), c, prefix));
    }
    out
}

/// A shorter-lived `Option<&mut dyn Engine>` from a longer one, to lend it out in a loop.
fn reborrow<'s>(e: &'s mut Option<&mut dyn Engine>) -> Option<&'s mut dyn Engine> {
    match e {
        Some(e) => Some(&mut **e),
        None => None,
    }
}

/// Run one check, retrying as it says. An SQL check without a connection fails saying so.
pub fn run(mut engine: Option<&mut dyn Engine>, c: &Check, prefix: &str) -> CheckResult {
    let start = Instant::now();
    let mut attempts = 0;
    let seen = loop {
        attempts += 1;
        let seen = once(reborrow(&mut engine), c);
        if seen.verdict != Status::Fail || attempts > c.retries {
            break seen;
        }
        std::thread::sleep(c.retry_delay);
    };
    let tries = if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    };
    let message = match seen.verdict {
        Status::Fail => format!(
            "{}: {}, expected {}{tries}",
            c.name,
            seen.found,
            expectation(&c.probe)
        ),
        Status::Pass | Status::Warn => format!("{}: {}", c.name, seen.found),
    };
    let secrets = c.probe.secrets();
    let mut result = CheckResult::new(
        format!("{prefix}.{}", slug(&c.name)),
        c.category,
        seen.verdict,
        secrets.scrub(&message),
    );
    if seen.evidence != Evidence::default() {
        let mut evidence = seen.evidence;
        evidence.notes = evidence.notes.iter().map(|n| secrets.scrub(n)).collect();
        result = result.with_evidence(evidence);
    }
    result.duration_ms = start.elapsed().as_millis() as u64;
    result
}

fn once(engine: Option<&mut dyn Engine>, c: &Check) -> Seen {
    match &c.probe {
        Probe::Sql { sql, expect } => match engine {
            Some(e) => sql::run(e, sql, expect),
            None => Seen::failed("no database connection to run it on"),
        },
        Probe::Http(h) => http::run(h, c.timeout),
        Probe::Prometheus {
            url,
            query,
            max,
            min,
            on_no_data,
        } => http::prometheus(
            url,
            query,
            &http::Bounds {
                max: *max,
                min: *min,
                on_no_data: *on_no_data,
            },
            c.timeout,
        ),
        Probe::Redis { url } => net::redis(url, c.timeout),
        Probe::Tcp { address } => net::tcp(address, c.timeout),
        Probe::Disk { path, min_free } => disk::run(path, *min_free),
    }
}

/// What a probe expects, for failure messages.
fn expectation(p: &Probe) -> String {
    match p {
        Probe::Sql { expect, .. } => expect.to_string(),
        Probe::Http(h) => {
            let mut s = format!("HTTP {}", h.status);
            if let Some(b) = &h.body_contains {
                s.push_str(&format!(" with a body containing '{b}'"));
            }
            if let Some(j) = &h.json {
                s.push_str(&format!(" and {} = {}", j.pointer, j.equals));
            }
            s
        }
        Probe::Prometheus { max, min, .. } => match (min, max) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, Some(hi)) => format!("<= {hi}"),
            (None, None) => "a value".into(),
        },
        Probe::Redis { .. } => "PONG".into(),
        Probe::Tcp { .. } => "a connection".into(),
        Probe::Disk { min_free, .. } => format!("{} free", crate::units::human(*min_free)),
    }
}

/// How long a network probe may take to connect and answer.
pub(crate) fn deadline(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(100))
}
