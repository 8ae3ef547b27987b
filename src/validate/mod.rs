//! `cutover validate`: checks that a target is what it should be, each with an id, a
//! category, a status and evidence, gathered into a `ValidationReport`.
//!
//! Levels, as operators describe them:
//! - `basic`: connectivity and migration state;
//! - `standard`: plus `[expect]`, data integrity (orphaned rows for every foreign key,
//!   duplicates where `[expect.unique]` says none may be), `[[checks]]` and security;
//! - `comprehensive`: plus drift against the migrations and performance readiness
//!   (foreign keys without an index, tables without a primary key, the largest tables).
//!
//! A check that cannot run (the server refuses its query) is a warning saying why, never
//! a silent pass.

mod custom;
mod expect;
mod integrity;
mod readiness;
pub mod render;
mod report;

use std::time::Instant;

pub use report::{Category, CheckResult, Evidence, Level, Status, Summary, ValidationReport};

use crate::config::Settings;
use crate::engine::Engine;
use crate::error::Error;
use crate::history::State;
use crate::schema::Schema;
use crate::session::Session;

pub(crate) use crate::verdict::SAMPLE_ROWS;

impl ValidationReport {
    /// Whether `validate` should exit non-zero: a failure, or a warning when warnings fail.
    pub fn failed(&self, warnings_fail: bool) -> bool {
        self.summary.fail > 0 || (warnings_fail && self.summary.warn > 0)
    }
}

/// Run the checks of `level` against the configured target in a read-only session. A
/// target that cannot be reached is a failing connectivity check in the report, not an
/// error.
pub fn validate(settings: &Settings, level: Level) -> Result<ValidationReport, Error> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    if let Some(path) = settings.url.sqlite_path() {
        let file = path.split('?').next().unwrap_or(path);
        if file != ":memory:" && !std::path::Path::new(file).exists() {
            let message = format!("the database file {file} does not exist");
            return Ok(unreachable(settings, level, message, started, clock));
        }
    }
    let mut quiet = ();
    match Session::open_for_checks(settings, &mut quiet) {
        Ok(mut session) => validate_in(&mut session, level),
        Err(e @ (Error::Connect { .. } | Error::Database { .. })) => {
            let message = settings.url.scrub(&e.to_string());
            Ok(unreachable(settings, level, message, started, clock))
        }
        Err(e) => Err(e),
    }
}

/// Run the checks of `level` on an open session (a deploy's verify phase).
pub fn validate_in(session: &mut Session, level: Level) -> Result<ValidationReport, Error> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let t = Instant::now();
    let server_version = session
        .engine()
        .server_version()
        .unwrap_or_else(|e| e.message);
    let mut checks = vec![
        CheckResult::new(
            "connectivity.connect",
            Category::Connectivity,
            Status::Pass,
            format!("connected; server {server_version}"),
        )
        .since(t),
    ];
    checks.extend(migrations(session)?);
    let mut fingerprint = None;
    if level >= Level::Standard {
        let settings = session.settings().clone();
        let t = Instant::now();
        let engine = session.engine();
        let schema =
            crate::schema::introspect(engine).map_err(Error::db("cannot read the schema"))?;
        checks.push(introspected(&schema).since(t));
        fingerprint = Some(schema.fingerprint());
        checks.extend(standard(&settings, engine, &schema));
        if level >= Level::Comprehensive {
            checks.extend(readiness::drift(session, &schema));
            checks.extend(readiness::performance(session.engine(), &schema));
        }
    }
    Ok(report(
        session.settings(),
        level,
        checks,
        server_version,
        fingerprint,
        (started, clock),
    ))
}

/// The report of a target that could not be reached.
fn unreachable(
    settings: &Settings,
    level: Level,
    message: String,
    started: jiff::Timestamp,
    clock: Instant,
) -> ValidationReport {
    let check = CheckResult::new(
        "connectivity.connect",
        Category::Connectivity,
        Status::Fail,
        message,
    )
    .since(clock);
    report(
        settings,
        level,
        vec![check],
        "unknown".into(),
        None,
        (started, clock),
    )
}

fn report(
    settings: &Settings,
    level: Level,
    mut checks: Vec<CheckResult>,
    server_version: String,
    fingerprint: Option<String>,
    (started, clock): (jiff::Timestamp, Instant),
) -> ValidationReport {
    // Failures first, then warnings; check order within each.
    checks.sort_by_key(|c| c.status);
    ValidationReport {
        target: settings.url.to_string(),
        engine: settings.url.kind().name().to_string(),
        server_version,
        environment: settings.env.clone(),
        level,
        started_at: started.to_string(),
        duration_ms: clock.elapsed().as_millis() as u64,
        fingerprint,
        summary: summary(&checks),
        checks,
        cutover_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn standard(settings: &Settings, engine: &mut dyn Engine, schema: &Schema) -> Vec<CheckResult> {
    let mut out = expect::schema(&settings.expect, schema);
    out.extend(integrity::orphans(engine, schema, &settings.expect));
    out.extend(integrity::unique(engine, schema, &settings.expect));
    out.extend(custom::run(engine, &settings.checks));
    out.extend(readiness::security(engine));
    out
}

fn introspected(schema: &Schema) -> CheckResult {
    CheckResult::new(
        "schema.introspect",
        Category::Schema,
        Status::Pass,
        format!(
            "{} tables, {} foreign keys, {} views; fingerprint {}",
            schema.tables.len(),
            schema.foreign_key_count(),
            schema.views.len(),
            schema.fingerprint()
        ),
    )
}

/// The history: nothing failed, edited or missing; pending migrations are a warning.
fn migrations(session: &mut Session) -> Result<Vec<CheckResult>, Error> {
    let t = Instant::now();
    let settings = session.settings();
    if !settings.migrations.is_dir() {
        let message = format!(
            "no migrations folder at {}: the history was not compared with any files",
            settings.migrations.display()
        );
        let c = CheckResult::new(
            "migrations.files",
            Category::Migrations,
            Status::Warn,
            message,
        );
        return Ok(vec![c.since(t)]);
    }
    let status = session.status()?;
    let list = |state: State| -> Vec<String> {
        status
            .migrations
            .iter()
            .filter(|m| m.state == state)
            .map(|m| format!("{} {}", m.version, m.name))
            .collect()
    };
    let mut out = Vec::new();
    for (state, id, bad, what, fine) in [
        (
            State::Failed,
            "migrations.failed",
            Status::Fail,
            "stopped part-way (see `cutover status`)",
            "no migration stopped part-way",
        ),
        (
            State::Changed,
            "migrations.changed",
            Status::Fail,
            "edited after they were applied",
            "no applied migration was edited",
        ),
        (
            State::Missing,
            "migrations.missing",
            Status::Fail,
            "applied but their files are gone",
            "every applied migration has its file",
        ),
        (
            State::Pending,
            "migrations.pending",
            Status::Warn,
            "not applied yet",
            "nothing pending",
        ),
    ] {
        let found = list(state);
        let result = if found.is_empty() {
            CheckResult::new(id, Category::Migrations, Status::Pass, fine)
        } else {
            CheckResult::new(
                id,
                Category::Migrations,
                bad,
                format!("{} migration(s) {what}", found.len()),
            )
            .with_evidence(Evidence {
                notes: found,
                ..Evidence::default()
            })
        };
        out.push(result.since(t));
    }
    Ok(out)
}

pub(crate) fn summary(checks: &[CheckResult]) -> Summary {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    Summary {
        pass: n(Status::Pass),
        warn: n(Status::Warn),
        fail: n(Status::Fail),
    }
}
