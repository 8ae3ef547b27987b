//! `cutover fleet status`: each target's newest migration, how many are pending, and drift,
//! so a fleet stuck at mixed versions shows at a glance. Drift is judged among the fleet's
//! own targets: those at the same newest migration should have the same schema, and one
//! whose fingerprint differs from the most common one there was changed by hand (no scratch
//! database per target is needed).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::targets::{self, Target};
use crate::config::Settings;
use crate::error::Error;
use crate::history::State;
use crate::session::Session;

/// One target's standing.
#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub target: String,
    /// The newest applied migration (`None`: none applied).
    pub newest: Option<String>,
    pub applied: usize,
    pub pending: usize,
    /// Failed, edited or missing migrations.
    pub problems: usize,
    pub fingerprint: Option<String>,
    /// Its schema differs from most targets at the same newest migration.
    pub drift: bool,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
}

/// The whole fleet.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStatus {
    pub environment: String,
    pub targets: Vec<TargetStatus>,
    /// How many targets stand at each newest migration.
    pub versions: Vec<(String, usize)>,
}

impl FleetStatus {
    /// More than one version, a pending migration, a problem, drift, or an unreadable target.
    pub fn mixed(&self) -> bool {
        self.versions.len() > 1
            || self
                .targets
                .iter()
                .any(|t| t.pending > 0 || t.problems > 0 || t.drift || t.error.is_some())
    }
}

/// Read every target, `concurrency` at a time.
pub fn status(settings: &Settings) -> Result<FleetStatus, Error> {
    let policy = settings.fleet.clone().ok_or_else(|| {
        Error::Usage("this environment names no fleet ([environments.<name>.fleet])".into())
    })?;
    let targets = targets::list(settings, &policy)?;
    let queue = Mutex::new(targets.iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(vec![None; targets.len()]);
    std::thread::scope(|scope| {
        for _ in 0..policy.concurrency.min(targets.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let Some((i, t)) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                        return;
                    };
                    let s = one(settings, t);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(s);
                    }
                }
            });
        }
    });
    let mut out: Vec<TargetStatus> = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    mark_drift(&mut out);
    let mut versions: HashMap<String, usize> = HashMap::new();
    for t in out.iter().filter(|t| t.error.is_none()) {
        *versions
            .entry(t.newest.clone().unwrap_or_else(|| "(none)".into()))
            .or_default() += 1;
    }
    let mut versions: Vec<(String, usize)> = versions.into_iter().collect();
    versions.sort();
    Ok(FleetStatus {
        environment: settings.env.clone().unwrap_or_default(),
        targets: out,
        versions,
    })
}

fn one(fleet: &Settings, t: &Target) -> TargetStatus {
    let settings = targets::settings_for(fleet, t);
    let mut status = TargetStatus {
        name: t.name.clone(),
        target: match &t.schema {
            Some(s) => format!("{} (schema {s})", t.url),
            None => t.url.to_string(),
        },
        newest: None,
        applied: 0,
        pending: 0,
        problems: 0,
        fingerprint: None,
        drift: false,
        error: None,
    };
    let mut quiet = ();
    let mut session = match Session::open_for_checks(&settings, &mut quiet) {
        Ok(s) => s,
        Err(e) => {
            status.error = Some(fleet.scrub(&e.to_string()));
            return status;
        }
    };
    let entries = session.entries();
    status.applied = entries.iter().filter(|e| e.state == State::Applied).count();
    status.pending = entries.iter().filter(|e| e.state == State::Pending).count();
    status.problems = entries.iter().filter(|e| e.state.is_problem()).count();
    status.newest = entries
        .iter()
        .filter(|e| e.row.is_some())
        .map(|e| e.id.clone())
        .next_back();
    status.fingerprint = crate::schema::introspect(session.engine())
        .ok()
        .map(|s| s.fingerprint());
    status
}

/// Targets whose schema differs from the most common one among targets at the same newest
/// migration.
fn mark_drift(all: &mut [TargetStatus]) {
    let mut by_version: HashMap<Option<String>, HashMap<String, usize>> = HashMap::new();
    for t in all.iter() {
        if let Some(f) = &t.fingerprint {
            *by_version
                .entry(t.newest.clone())
                .or_default()
                .entry(f.clone())
                .or_default() += 1;
        }
    }
    for t in all.iter_mut() {
        let (Some(f), Some(prints)) = (&t.fingerprint, by_version.get(&t.newest)) else {
            continue;
        };
        let common = prints
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(f, _)| f.clone());
        t.drift = prints.len() > 1 && common.as_ref() != Some(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, newest: &str, f: &str) -> TargetStatus {
        TargetStatus {
            name: name.into(),
            target: String::new(),
            newest: Some(newest.into()),
            applied: 1,
            pending: 0,
            problems: 0,
            fingerprint: Some(f.into()),
            drift: false,
            error: None,
        }
    }

    #[test]
    fn the_odd_one_out_at_a_version_drifted() {
        let mut all = vec![
            t("a", "2", "x"),
            t("b", "2", "x"),
            t("c", "2", "y"),
            t("d", "1", "z"),
        ];
        mark_drift(&mut all);
        let drifted: Vec<&str> = all
            .iter()
            .filter(|t| t.drift)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(drifted, ["c"]);
    }
}
