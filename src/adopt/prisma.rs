//! Prisma Migrate's `_prisma_migrations`: one row per attempt at a migration folder.
//! A row with `finished_at` and no `rolled_back_at` is applied; one with neither failed
//! part-way (`prisma migrate resolve` is Prisma's way out); one with `rolled_back_at` was
//! marked rolled back. A folder attempted again after a rollback has a newer row: the
//! newest decides, as `prisma migrate status` reads it.

use crate::engine::DbError;
use crate::migrations::Migration;

use sha2::{Digest, Sha256};

use super::tool::{Target, Tool, cell, entry, has_columns, last_per_key};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Prisma;

const TABLE: &str = "_prisma_migrations";

impl Tool for Prisma {
    fn name(&self) -> &'static str {
        "prisma"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(
            t.engine,
            TABLE,
            "migration_name, finished_at, rolled_back_at, applied_steps_count",
        )
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t.engine.query(
            "SELECT migration_name, finished_at, rolled_back_at, logs, started_at, checksum \
             FROM _prisma_migrations ORDER BY started_at, migration_name",
        )?;
        let entries = rows
            .iter()
            .map(|r| {
                let name = cell(r, 0).unwrap_or_default().to_string();
                let status = match (cell(r, 1), cell(r, 2)) {
                    (_, Some(at)) => ForeignStatus::RolledBack(format!("rolled_back_at {at}")),
                    (Some(_), None) => ForeignStatus::Applied,
                    (None, None) => ForeignStatus::Failed(format!(
                        "started at {} and never finished{}",
                        cell(r, 4).unwrap_or("?"),
                        cell(r, 3)
                            .map(|l| format!(": {}", l.lines().next().unwrap_or_default()))
                            .unwrap_or_default()
                    )),
                };
                let mut e = entry(name.clone(), name, status, cell(r, 1));
                e.checksum = cell(r, 5).map(str::to_string);
                e
            })
            .collect();
        Ok(ForeignHistory {
            entries: last_per_key(entries),
            upto: None,
        })
    }

    /// Prisma records the migration's folder name, which is cutover's id for the layout.
    fn key_of(&self, m: &Migration) -> Option<String> {
        Some(m.id.clone())
    }

    /// Prisma records the SHA-256 of `migration.sql` and accepts the file with its line
    /// endings as written or as LF (cutover's own checksum).
    fn same_script(&self, recorded: &str, m: &Migration) -> Option<bool> {
        let raw = hex::encode(Sha256::digest(m.up.sql.as_bytes()));
        Some(recorded.eq_ignore_ascii_case(&raw) || recorded.eq_ignore_ascii_case(&m.checksum))
    }
}
