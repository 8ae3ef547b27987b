//! `cutover rehearse --env NAME`: a release tried on a copy before it meets the
//! environment. A scratch database is made on the environment's server (or at
//! `rehearse.url`) and given the environment's schema, its history and, on request, its
//! rows (`copy`); the pending migrations are applied and timed one by one (an estimate of
//! the production window); the environment's verify checks and `[expect]` run; every
//! migration is rolled back and the schema proved equal to the copy's; then applied again
//! and proved equal to the first apply. A migration without a down script stops the round
//! trip there, and the report says so. The environment itself is only read; the scratch is
//! dropped on every way out (errors and signals too).

mod copy;
pub mod render;

use std::time::Instant;

use serde::Serialize;

use crate::config::{CopyMode, Settings};
use crate::error::Error;
use crate::events::Observer;
use crate::history::State;
use crate::runner::{MigrateOptions, RollbackOptions};
use crate::schema::Schema;
use crate::scratch::Scratch;
use crate::session::{Access, Session};
use crate::validate::{CheckResult, Level, Status};

/// One pending migration as the rehearsal applied it.
#[derive(Debug, Clone, Serialize)]
pub struct Timed {
    pub id: String,
    pub name: String,
    pub statements: usize,
    pub duration_ms: u64,
}

/// Where the round trip stopped short of the copy.
#[derive(Debug, Clone, Serialize)]
pub struct Stop {
    pub id: String,
    pub reason: String,
}

/// What a rehearsal found.
#[derive(Debug, Clone, Serialize)]
pub struct RehearsalReport {
    pub environment: Option<String>,
    /// The environment's target, password hidden.
    pub target: String,
    /// The server the scratch copy was made on, password hidden.
    pub scratch_server: String,
    /// The scratch copy itself (dropped when the rehearsal ends), password hidden.
    pub scratch: String,
    pub engine: String,
    pub copy: CopyMode,
    pub started_at: String,
    pub duration_ms: u64,
    /// The copy's schema fingerprint, before any migration.
    pub copy_fingerprint: String,
    /// The pending migrations, applied in order and timed.
    pub applied: Vec<Timed>,
    /// The sum of their durations: an estimate of the production window.
    pub estimated_ms: u64,
    /// Why applying stopped, when it did.
    pub apply_error: Option<String>,
    pub checks: Vec<CheckResult>,
    pub applied_fingerprint: Option<String>,
    /// Rolled back, newest first.
    pub rolled_back: Vec<String>,
    /// The migration the round trip stopped at (no down script), when it did.
    pub stopped: Option<Stop>,
    /// After the rollback: whether the schema is the copy's (`None`: not comparable, the
    /// round trip stopped short).
    pub rollback_matches_copy: Option<bool>,
    /// After applying again: whether the schema is the first apply's.
    pub reapply_matches_first: Option<bool>,
    /// Every difference found, one per line; empty when the rehearsal passed.
    pub differences: Vec<String>,
}

impl RehearsalReport {
    pub fn passed(&self) -> bool {
        self.apply_error.is_none()
            && self.differences.is_empty()
            && !self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// Rehearse the environment's pending migrations on a scratch copy.
pub fn rehearse(
    settings: &Settings,
    observer: &mut dyn Observer,
) -> Result<RehearsalReport, Error> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let server = settings
        .rehearse
        .url
        .clone()
        .unwrap_or(settings.url.clone());
    let (target_schema, scratch) = {
        let mut target = Session::open(settings, Access::Read, observer)?;
        let schema = introspect(target.engine(), "the environment")?;
        let scratch = Scratch::create(&server, target.observer())?;
        copy::copy(settings, target.engine(), &schema, scratch.url())?;
        (schema, scratch)
    };
    let mut on = settings.clone();
    on.url = scratch.url().clone();
    let mut report = RehearsalReport {
        environment: settings.env.clone(),
        target: settings.url.to_string(),
        scratch_server: server.to_string(),
        scratch: scratch.url().to_string(),
        engine: crate::driver::of(settings.url.kind()).name.to_string(),
        copy: settings.rehearse.copy,
        started_at: started.to_string(),
        duration_ms: 0,
        copy_fingerprint: String::new(),
        applied: Vec::new(),
        estimated_ms: 0,
        apply_error: None,
        checks: Vec::new(),
        applied_fingerprint: None,
        rolled_back: Vec::new(),
        stopped: None,
        rollback_matches_copy: None,
        reapply_matches_first: None,
        differences: Vec::new(),
    };
    let mut session = Session::open(&on, Access::Change, observer)?;
    let copied = introspect(session.engine(), "the copy")?;
    report.copy_fingerprint = copied.fingerprint();
    // A sample's foreign keys are not validated (PostgreSQL: `NOT VALID`), so it differs
    // from the environment there by design; the round trip is compared with the copy.
    if settings.rehearse.copy != CopyMode::Sample {
        compare(
            &mut report.differences,
            "the copy against the environment",
            &target_schema,
            &copied,
        );
    }
    run(&mut session, settings, &copied, &mut report)?;
    drop(session);
    drop(scratch);
    report.duration_ms = clock.elapsed().as_millis() as u64;
    Ok(report)
}

/// Apply, verify, roll back, apply again, on the scratch session.
fn run(
    session: &mut Session,
    settings: &Settings,
    copied: &Schema,
    report: &mut RehearsalReport,
) -> Result<(), Error> {
    let pending: Vec<String> = session
        .entries()
        .iter()
        .filter(|e| e.state == State::Pending)
        .map(|e| e.id.clone())
        .collect();
    let applied = match session.migrate(&MigrateOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            report.apply_error = Some(e.to_string());
            return Ok(());
        }
    };
    report.applied = applied
        .scripts
        .iter()
        .map(|s| Timed {
            id: s.id.clone(),
            name: s.name.clone(),
            statements: s.statements,
            duration_ms: s.duration_ms.unwrap_or(0),
        })
        .collect();
    report.estimated_ms = report.applied.iter().map(|t| t.duration_ms).sum();
    debug_assert_eq!(pending.len(), report.applied.len());
    report.checks = checks(session, settings)?;
    let first = introspect(session.engine(), "the copy after migrating")?;
    report.applied_fingerprint = Some(first.fingerprint());

    // Back as far as the down scripts go, newest first.
    let ids: Vec<String> = report.applied.iter().map(|t| t.id.clone()).collect();
    let mut steps = 0;
    for id in ids.iter().rev() {
        let m = session
            .migrations()
            .migrations
            .iter()
            .find(|m| &m.id == id)
            .expect("an applied migration has its file");
        if m.down.is_none() {
            report.stopped = Some(Stop {
                id: id.clone(),
                reason: m.missing_down(),
            });
            break;
        }
        steps += 1;
    }
    if steps > 0 {
        let back = session.rollback(&RollbackOptions {
            steps: Some(steps),
            ..RollbackOptions::default()
        });
        match back {
            Ok(r) => report.rolled_back = r.scripts.iter().map(|s| s.id.clone()).collect(),
            Err(e) => {
                report.differences.push(format!("the rollback failed: {e}"));
                return Ok(());
            }
        }
    }
    if report.stopped.is_none() {
        let after = introspect(session.engine(), "the copy after rolling back")?;
        let before = report.differences.len();
        compare(
            &mut report.differences,
            "after rolling back, against the copy",
            copied,
            &after,
        );
        report.rollback_matches_copy = Some(report.differences.len() == before);
    }
    if steps > 0 {
        if let Err(e) = session.migrate(&MigrateOptions::default()) {
            report
                .differences
                .push(format!("applying again failed: {e}"));
            return Ok(());
        }
        let again = introspect(session.engine(), "the copy after applying again")?;
        let before = report.differences.len();
        compare(
            &mut report.differences,
            "after applying again, against the first apply",
            &first,
            &again,
        );
        report.reapply_matches_first = Some(report.differences.len() == before);
    }
    Ok(())
}

/// The environment's verify checks and `[expect]` (and the other standard checks but
/// connectivity, and but orphaned rows on a sample), on the scratch copy.
fn checks(session: &mut Session, settings: &Settings) -> Result<Vec<CheckResult>, Error> {
    let mut out: Vec<CheckResult> = crate::validate::validate_in(session, Level::Standard)?
        .checks
        .into_iter()
        .filter(|c| !c.id.starts_with("connectivity"))
        // A sample is not closed under its foreign keys: orphans there say nothing.
        .filter(|c| {
            settings.rehearse.copy != CopyMode::Sample || !c.id.starts_with("integrity.orphans")
        })
        .collect();
    out.extend(crate::checks::run_all(
        Some(session.engine()),
        &settings.verify,
        "verify",
    ));
    Ok(out)
}

fn introspect(engine: &mut dyn crate::engine::Engine, what: &str) -> Result<Schema, Error> {
    crate::schema::introspect(engine)
        .map_err(Error::db(format!("cannot read the schema of {what}")))
}

/// Add `a` against `b`'s differences to `out`, each saying which comparison it is from.
fn compare(out: &mut Vec<String>, what: &str, a: &Schema, b: &Schema) {
    out.extend(
        crate::schema::diff(a, b)
            .iter()
            .map(|c| format!("{what}: {c}")),
    );
}
