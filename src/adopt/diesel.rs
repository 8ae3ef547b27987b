//! Diesel's `__diesel_schema_migrations (version, run_on)`: one row per applied migration
//! folder, deleted again by a revert. Diesel's version is the folder name before its
//! first `_`, with the dashes taken out (`2024-01-05-090000_create_users` → `20240105090000`).

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{Target, Tool, cell, entry, has_columns};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Diesel;

const TABLE: &str = "__diesel_schema_migrations";

impl Tool for Diesel {
    fn name(&self) -> &'static str {
        "diesel"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "version, run_on")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t
            .engine
            .query("SELECT version, run_on FROM __diesel_schema_migrations ORDER BY version")?;
        let entries = rows
            .iter()
            .filter_map(|r| Some((cell(r, 0)?, cell(r, 1))))
            .map(|(v, at)| entry(diesel_version(v), v, ForeignStatus::Applied, at))
            .collect();
        Ok(ForeignHistory {
            entries,
            upto: None,
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        Some(diesel_version(&m.id))
    }
}

/// Diesel's `version_from_string`: up to the first `_`, without dashes.
fn diesel_version(name: &str) -> String {
    name.split('_').next().unwrap_or(name).replace('-', "")
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_as_diesel_writes_them() {
        assert_eq!(
            super::diesel_version("2024-01-05-090000_create_users"),
            "20240105090000"
        );
        assert_eq!(
            super::diesel_version("00000000000000_diesel_initial_setup"),
            "00000000000000"
        );
    }
}
