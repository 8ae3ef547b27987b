//! Laravel's `migrations (id, migration, batch)`: one row per migration run, holding the
//! file name without its extension (`2014_10_12_000000_create_users_table`); a rollback
//! deletes the rows of its batch.

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{Target, Tool, cell, entry, has_columns};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Laravel;

const TABLE: &str = "migrations";

impl Tool for Laravel {
    fn name(&self) -> &'static str {
        "laravel"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "id, migration, batch")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t
            .engine
            .query("SELECT migration, batch FROM migrations ORDER BY batch, migration")?;
        let entries = rows
            .iter()
            .filter_map(|r| cell(r, 0))
            .map(|name| entry(name.to_string(), name, ForeignStatus::Applied, None))
            .collect();
        Ok(ForeignHistory {
            entries,
            upto: None,
        })
    }

    /// The up script's file name without `.sql` (and without `.up` where there is a down
    /// script beside it).
    fn key_of(&self, m: &Migration) -> Option<String> {
        let name = m.up.path.file_name()?.to_str()?;
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        Some(stem.strip_suffix(".up").unwrap_or(stem).to_string())
    }
}
