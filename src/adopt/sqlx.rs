//! sqlx's `_sqlx_migrations`: one row per applied version; `success` false is a migration
//! that failed part-way (sqlx calls the database dirty and refuses to go on). Reverting a
//! reversible migration deletes its row.

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{Target, Tool, cell, entry, has_columns, migration_number, number_key, truthy};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Sqlx;

const TABLE: &str = "_sqlx_migrations";

impl Tool for Sqlx {
    fn name(&self) -> &'static str {
        "sqlx"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(t.engine, TABLE, "version, description, success, checksum")
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t.engine.query(
            "SELECT version, description, success, installed_on FROM _sqlx_migrations ORDER BY version",
        )?;
        let entries = rows
            .iter()
            .map(|r| {
                let v = cell(r, 0).unwrap_or_default();
                let status = if truthy(cell(r, 2)) {
                    ForeignStatus::Applied
                } else {
                    ForeignStatus::Failed("dirty: success = false".into())
                };
                let shown = format!("{v} {}", cell(r, 1).unwrap_or_default());
                entry(number_key(v), shown.trim_end(), status, cell(r, 3))
            })
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
