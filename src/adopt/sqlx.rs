//! sqlx's `_sqlx_migrations`: one row per applied version; `success` false is a migration
//! that failed part-way (sqlx calls the database dirty and refuses to go on). Reverting a
//! reversible migration deletes its row. `checksum` is the SHA-384 of the file's text (of
//! its up file for a reversible migration); a project whose `sqlx.toml` sets
//! `ignored-chars` hashes the text without them, which shows here as an edit that
//! `--accept-edited` takes.

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
        let checksum = match t.engine.dialect() {
            crate::sql::Dialect::Postgres => "encode(checksum, 'hex')",
            _ => "hex(checksum)",
        };
        let rows = t.engine.query(&format!(
            "SELECT version, description, success, installed_on, {checksum} FROM _sqlx_migrations ORDER BY version"
        ))?;
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
                let mut e = entry(number_key(v), shown.trim_end(), status, cell(r, 3));
                e.checksum = cell(r, 4).map(str::to_string);
                e
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

    fn same_script(&self, recorded: &str, m: &Migration) -> Option<bool> {
        use sha2::{Digest, Sha384};
        Some(recorded.eq_ignore_ascii_case(&hex::encode(Sha384::digest(m.up.sql.as_bytes()))))
    }
}
