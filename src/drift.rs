//! Schemas to compare and the comparison: a side is a live database or `migrations` (the
//! migrations applied to a scratch database of the target's engine). Drift is the target
//! compared with its own migrations, applied up to the newest one its history records, so
//! pending migrations do not show up as drift; what remains was changed by hand.

use serde::Serialize;

use crate::config::Settings;
use crate::error::Error;
use crate::events::Observer;
use crate::history::State;
use crate::runner::MigrateOptions;
use crate::schema::{Change, Schema};
use crate::scratch::Scratch;
use crate::session::Session;
use crate::target::DatabaseUrl;

/// One side of a comparison.
#[derive(Debug, Clone)]
pub enum Side {
    /// The configured target.
    Target,
    /// The migrations applied to a scratch database.
    Migrations,
    /// Any other database.
    Url(DatabaseUrl),
}

impl Side {
    /// `target`, `migrations`, or a database URL.
    pub fn parse(text: &str) -> Result<Side, Error> {
        Ok(match text {
            "target" => Side::Target,
            "migrations" => Side::Migrations,
            url => Side::Url(DatabaseUrl::parse(url)?),
        })
    }
}

/// The result of `cutover diff`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub from: String,
    pub to: String,
    pub from_fingerprint: String,
    pub to_fingerprint: String,
    /// The version the migrations side was applied up to (the target's newest applied);
    /// absent when the target has applied none, so nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations_applied_to: Option<String>,
    pub changes: Vec<Change>,
}

/// The live schema of the configured target, read without changing anything.
pub fn inspect(settings: &Settings) -> Result<Schema, Error> {
    inspect_url(settings, &settings.url)
}

fn inspect_url(settings: &Settings, url: &DatabaseUrl) -> Result<Schema, Error> {
    let mut engine = crate::connect(settings, url, true)?;
    crate::schema::introspect(engine.as_mut())
        .map_err(Error::db(format!("cannot read the schema of {url}")))
}

/// The schema the migrations produce up to and including `upto`, built in a scratch
/// database beside the target. `None` applies nothing: a target with no history has had no
/// migration, and its drift is everything in it, not the absence of every table the
/// migrations make.
pub fn migrations_schema(
    settings: &Settings,
    upto: Option<&str>,
    observer: &mut dyn Observer,
) -> Result<Schema, Error> {
    // Making a scratch sweeps stale ones, and says so through the observer.
    let scratch = Scratch::create(&settings.url, observer)?;
    let mut scratch_settings = settings.clone();
    scratch_settings.url = scratch.url().clone();
    if let Some(v) = upto {
        let mut quiet = ();
        let mut session =
            crate::Session::open(&scratch_settings, crate::Access::Change, &mut quiet)?;
        session
            .migrate(&MigrateOptions {
                to: Some(v.to_string()),
                ..MigrateOptions::default()
            })
            .map_err(|e| scratch_failure(e, settings))?;
    }
    inspect_url(&scratch_settings, scratch.url())
}

/// Say that a failure happened in the scratch copy, not in the target.
fn scratch_failure(e: Error, settings: &Settings) -> Error {
    Error::Usage(format!(
        "applying the migrations to a scratch database beside {} failed (the target was not touched): {e}",
        settings.url
    ))
}

/// The newest migration the session's history records as applied, in file order; `None`
/// when it records none (no history at all, or every migration rolled back).
pub fn applied_upto(session: &Session) -> Option<String> {
    session
        .entries()
        .iter()
        .filter(|e| matches!(e.state, State::Applied | State::Changed) && e.migration.is_some())
        .map(|e| e.id.clone())
        .next_back()
}

/// `cutover diff`: compare two sides, in a read-only session on the target.
pub fn diff(
    settings: &Settings,
    from: &Side,
    to: &Side,
    observer: &mut dyn Observer,
) -> Result<DiffReport, Error> {
    let mut session = Session::open_for_checks(settings, observer)?;
    let upto = applied_upto(&session);
    let mut read = |side: &Side| -> Result<(String, Schema), Error> {
        Ok(match side {
            Side::Target => (
                settings.url.to_string(),
                crate::schema::introspect(session.engine()).map_err(Error::db(format!(
                    "cannot read the schema of {}",
                    settings.url
                )))?,
            ),
            Side::Url(url) => (url.to_string(), inspect_url(settings, url)?),
            Side::Migrations => {
                let label = match &upto {
                    Some(v) => format!("migrations up to {v}"),
                    None => {
                        "migrations (none applied: the target's history records none)".to_string()
                    }
                };
                let schema = migrations_schema(settings, upto.as_deref(), session.observer())?;
                (label, schema)
            }
        })
    };
    let (from_label, a) = read(from)?;
    let (to_label, b) = read(to)?;
    Ok(DiffReport {
        from: from_label,
        to: to_label,
        from_fingerprint: a.fingerprint(),
        to_fingerprint: b.fingerprint(),
        migrations_applied_to: upto,
        changes: crate::schema::diff(&a, &b),
    })
}
