//! goose's `goose_db_version`: a log of rows `(version_id, is_applied)`, newest id last.
//! The newest row of a version decides (older goose releases wrote `is_applied = false`
//! on the way down; newer ones delete the row). Version 0 is the row goose writes when it
//! creates the table.

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{
    Target, Tool, cell, entry, has_columns, last_per_key, migration_number, number_key, truthy,
};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Goose;

const TABLE: &str = "goose_db_version";

impl Tool for Goose {
    fn name(&self) -> &'static str {
        "goose"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "version_id, is_applied")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t
            .engine
            .query("SELECT version_id, is_applied, tstamp FROM goose_db_version ORDER BY id")?;
        let entries = rows
            .iter()
            // `number_key("0")` is empty: version 0 is the row goose writes with the table.
            .filter(|r| !number_key(cell(r, 0).unwrap_or("0")).is_empty())
            .map(|r| {
                let v = cell(r, 0).unwrap_or_default();
                let status = if truthy(cell(r, 1)) {
                    ForeignStatus::Applied
                } else {
                    ForeignStatus::RolledBack("is_applied = false".into())
                };
                entry(number_key(v), v, status, cell(r, 2))
            })
            .collect();
        Ok(ForeignHistory {
            entries: last_per_key(entries),
            upto: None,
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        migration_number(m)
    }
}
