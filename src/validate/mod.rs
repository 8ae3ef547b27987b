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

/// How many offending rows a check shows as evidence.
pub(crate) const SAMPLE_ROWS: usize = 5;

impl CheckResult {
    pub(crate) fn new(
        id: impl Into<String>,
        category: Category,
        status: Status,
        message: impl Into<String>,
    ) -> CheckResult {
        CheckResult {
            id: id.into(),
            category,
            status,
            message: message.into(),
            evidence: None,
            duration_ms: 0,
        }
    }

    pub(crate) fn with_evidence(mut self, evidence: Evidence) -> CheckResult {
        self.evidence = Some(evidence);
        self
    }

    pub(crate) fn since(mut self, start: Instant) -> CheckResult {
        self.duration_ms = start.elapsed().as_millis() as u64;
        self
    }
}

impl ValidationReport {
    /// Whether `validate` should exit non-zero: a failure, or a warning when warnings fail.
    pub fn failed(&self, warnings_fail: bool) -> bool {
        self.summary.fail > 0 || (warnings_fail && self.summary.warn > 0)
    }
}

/// Run the checks of `level` against the configured target.
pub fn validate(settings: &Settings, level: Level) -> Result<ValidationReport, Error> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let mut checks = Vec::new();
    let mut server_version = "unknown".to_string();
    let mut fingerprint = None;
    let t = Instant::now();
    match connect(settings) {
        Err(message) => checks.push(
            CheckResult::new(
                "connectivity.connect",
                Category::Connectivity,
                Status::Fail,
                message,
            )
            .since(t),
        ),
        Ok(mut engine) => {
            server_version = engine.server_version().unwrap_or_else(|e| e.message);
            checks.push(
                CheckResult::new(
                    "connectivity.connect",
                    Category::Connectivity,
                    Status::Pass,
                    format!("connected; server {server_version}"),
                )
                .since(t),
            );
            checks.extend(migrations(settings)?);
            if level >= Level::Standard {
                let t = Instant::now();
                let schema = engine
                    .introspect()
                    .map_err(Error::db("cannot read the schema"))?;
                checks.push(introspected(&schema).since(t));
                fingerprint = Some(schema.fingerprint());
                checks.extend(standard(settings, engine.as_mut(), &schema));
                if level >= Level::Comprehensive {
                    checks.extend(readiness::drift(settings, &schema));
                    checks.extend(readiness::performance(engine.as_mut(), &schema));
                }
            }
        }
    }
    // Failures first, then warnings; check order within each.
    checks.sort_by_key(|c| c.status);
    Ok(ValidationReport {
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
    })
}

/// Open the target; a failure is the connectivity check's message (the password removed).
fn connect(settings: &Settings) -> Result<Box<dyn Engine>, String> {
    if let Some(path) = settings.url.sqlite_path() {
        let file = path.split('?').next().unwrap_or(path);
        if file != ":memory:" && !std::path::Path::new(file).exists() {
            return Err(format!("the database file {file} does not exist"));
        }
    }
    crate::connect(settings, &settings.url, true).map_err(|e| settings.url.scrub(&e.to_string()))
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
fn migrations(settings: &Settings) -> Result<Vec<CheckResult>, Error> {
    let t = Instant::now();
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
    let mut quiet = ();
    let status = crate::open(settings, true, &mut quiet)?.status()?;
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

fn summary(checks: &[CheckResult]) -> Summary {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    Summary {
        pass: n(Status::Pass),
        warn: n(Status::Warn),
        fail: n(Status::Fail),
    }
}
