//! The copy a rehearsal works on: the environment's schema (and, on request, its rows) as
//! the engine's own tool dumps it (the same cleaned dump a squash writes, `squash::dump`),
//! loaded into a scratch database, with the environment's history copied row by row so the
//! same migrations are pending there.

use crate::config::{CopyMode, Settings};
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Schema;
use crate::target::DatabaseUrl;

/// Copy the environment's target (connected as `target`, its schema `schema`) into the
/// empty database `into`.
pub(super) fn copy(
    settings: &Settings,
    target: &mut dyn Engine,
    schema: &Schema,
    into: &DatabaseUrl,
) -> Result<(), Error> {
    let driver = crate::driver::of(settings.url.kind());
    let tables: Vec<crate::schema::Name> = match settings.rehearse.copy {
        CopyMode::Schema => Vec::new(),
        CopyMode::Data => schema.tables.iter().map(|t| t.name.clone()).collect(),
    };
    let script = driver.squash.baseline(
        target,
        &settings.url,
        &tables,
        settings.backup.tools.as_deref(),
    )?;
    let rows = target
        .load_history()
        .map_err(Error::db("cannot read the environment's history"))?;
    let mut scratch = crate::connect(settings, into, false)?;
    let statements = crate::sql::split(&script, settings.url.kind().dialect())
        .map_err(|e| Error::Usage(format!("cannot split the environment's schema dump: {e}")))?;
    let load = || Error::db("cannot load the environment's schema into the scratch database");
    scratch.begin().map_err(load())?;
    for s in &statements {
        scratch.execute(&s.sql).map_err(|e| {
            Error::db(format!(
                "cannot load the environment's schema into the scratch database (statement at line {} of the dump)",
                s.line
            ))(e)
        })?;
    }
    scratch.commit().map_err(load())?;
    scratch.ensure_history().map_err(Error::db(
        "cannot create the history table in the scratch database",
    ))?;
    for row in &rows {
        scratch.upsert_history(row).map_err(Error::db(
            "cannot copy the history into the scratch database",
        ))?;
    }
    Ok(())
}
