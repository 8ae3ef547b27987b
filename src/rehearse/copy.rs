//! The copy a rehearsal works on: the environment's schema (and, on request, its rows or a
//! sample of them) as the engine's own tool dumps it (the same cleaned dump a squash
//! writes, `squash::dump`), loaded into a scratch database, with the environment's history
//! copied row by row so the same migrations are pending there.
//!
//! A sample is the first `sample_rows` rows of each table, read on the environment as SQL
//! value lists and inserted into the copy. It is not closed under its foreign keys, so they
//! are not checked against it: MariaDB and SQLite load it with the checks off, and
//! PostgreSQL adds its foreign keys after it, `NOT VALID`.

use crate::config::{CopyMode, Settings};
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::{Schema, Table};
use crate::squash::SchemaDump;
use crate::target::DatabaseUrl;

/// Copy the environment's target (connected as `target`, its schema `schema`) into the
/// empty database `into`.
pub(super) fn copy(
    settings: &Settings,
    target: &mut dyn Engine,
    schema: &Schema,
    into: &DatabaseUrl,
) -> Result<(), Error> {
    let dump = crate::driver::of(settings.url.kind()).squash;
    let tables: Vec<crate::schema::Name> = match settings.rehearse.copy {
        CopyMode::Schema | CopyMode::Sample => Vec::new(),
        CopyMode::Data => schema.tables.iter().map(|t| t.name.clone()).collect(),
    };
    let script = dump.baseline(
        target,
        &settings.url,
        &tables,
        settings.backup.tools.as_deref(),
    )?;
    let rows = target
        .load_history()
        .map_err(Error::db("cannot read the environment's history"))?;
    let statements = crate::sql::split(&script, settings.url.kind().dialect())
        .map_err(|e| Error::Usage(format!("cannot split the environment's schema dump: {e}")))?;
    let mut scratch = crate::connect(settings, into, false)?;
    let sample = settings.rehearse.copy == CopyMode::Sample;
    if sample {
        for sql in dump.relax_foreign_keys() {
            scratch.execute(sql).map_err(load())?;
        }
    }
    // A sample loads before the foreign keys that would check it.
    let (deferred, now): (Vec<_>, Vec<_>) = statements
        .iter()
        .map(|s| (dump.deferred_foreign_key(&s.sql).filter(|_| sample), s))
        .partition(|(d, _)| d.is_some());
    scratch.begin().map_err(load())?;
    for (_, s) in &now {
        scratch.execute(&s.sql).map_err(|e| {
            Error::db(format!(
                "cannot load the environment's schema into the scratch database (statement at line {} of the dump)",
                s.line
            ))(e)
        })?;
    }
    if sample {
        for table in &schema.tables {
            copy_sample(
                dump,
                target,
                scratch.as_mut(),
                table,
                settings.rehearse.sample_rows,
            )?;
        }
        for (sql, _) in deferred {
            scratch
                .execute(&sql.expect("partitioned"))
                .map_err(load())?;
        }
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

fn load() -> impl FnOnce(crate::engine::DbError) -> Error {
    Error::db("cannot load the environment's schema into the scratch database")
}

/// Up to `limit` rows of `table`, from the environment into the copy; computed columns
/// are left to the copy to compute.
fn copy_sample(
    dump: &dyn SchemaDump,
    from: &mut dyn Engine,
    into: &mut dyn Engine,
    table: &Table,
    limit: u64,
) -> Result<(), Error> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .filter(|c| {
            !c.generated.as_deref().is_some_and(|g| {
                g.contains("stored") || g.contains("virtual") || g.contains(" as ")
            })
        })
        .map(|c| c.name.clone())
        .collect();
    let rows = crate::squash::dump::lines(from, &dump.sample_sql(&table.name, &columns, limit))?;
    let insert = dump.insert_sql(&table.name, &columns);
    for values in rows {
        into.execute(&format!("{insert} ({values})"))
            .map_err(Error::db(format!(
                "cannot copy a sampled row of {} into the scratch database",
                table.name.name
            )))?;
    }
    Ok(())
}
