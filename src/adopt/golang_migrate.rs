//! golang-migrate's `schema_migrations (version, dirty)`: one row, the current version.
//! Everything at or below it has been applied; `dirty` means the current version's up
//! script failed part-way (golang-migrate refuses to go on until `migrate force`).

use crate::engine::DbError;
use crate::migrations::{Migration, Version};

use super::tool::{Target, Tool, cell, entry, has_columns, migration_number, number_key, truthy};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct GolangMigrate;

pub(crate) const TABLE: &str = "schema_migrations";

impl Tool for GolangMigrate {
    fn name(&self) -> &'static str {
        "golang-migrate"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "version, dirty")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t
            .engine
            .query("SELECT version, dirty FROM schema_migrations")?;
        let Some(r) = rows.first() else {
            return Ok(ForeignHistory::default());
        };
        let version = cell(r, 0).unwrap_or_default().to_string();
        let status = if truthy(cell(r, 1)) {
            ForeignStatus::Failed(format!(
                "dirty: version {version} failed part-way (golang-migrate's `dirty` flag)"
            ))
        } else {
            ForeignStatus::Applied
        };
        Ok(ForeignHistory {
            entries: vec![entry(number_key(&version), version.clone(), status, None)],
            upto: Version::parse(&version),
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        migration_number(m)
    }
}
