//! dbmate's `schema_migrations (version)`: one row per applied migration, deleted again
//! by a rollback. Same table name as golang-migrate's, without its `dirty` column: that
//! column is how the two are told apart.

use crate::engine::DbError;
use crate::migrations::Migration;

use super::golang_migrate::TABLE;
use super::tool::{Target, Tool, cell, entry, has_columns, migration_number, number_key};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Dbmate;

impl Tool for Dbmate {
    fn name(&self) -> &'static str {
        "dbmate"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "version") && !has_columns(t.engine, TABLE, "dirty")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t
            .engine
            .query("SELECT version FROM schema_migrations ORDER BY version")?;
        let entries = rows
            .iter()
            .filter_map(|r| cell(r, 0))
            .map(|v| entry(number_key(v), v, ForeignStatus::Applied, None))
            .collect();
        Ok(ForeignHistory {
            entries,
            upto: None,
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        migration_number(m)
    }
}
