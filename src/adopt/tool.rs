//! The one trait every other tool's history reader implements, the list of them in the
//! order they are tried, and what they share: probing for a table without creating
//! anything, and reading booleans and versions as each engine renders them.

use std::path::Path;

use crate::engine::{DbError, Engine};
use crate::migrations::{Migration, Version};

use super::{ForeignHistory, ForeignStatus};

/// What a tool's reader looks at: the target, and the migrations folder (sqitch's
/// `sqitch.conf` and plan say where its registry is and which project is this one).
pub(crate) struct Target<'a> {
    pub engine: &'a mut dyn Engine,
    pub folder: &'a Path,
}

/// Another migration tool, as far as its history table goes.
pub(crate) trait Tool: Sync {
    /// Its name, as `--from` takes it and messages show it (`prisma`).
    fn name(&self) -> &'static str;
    /// Its history table, as messages show it.
    fn table(&self, t: &Target<'_>) -> String;
    /// Whether its table, with its columns, is in the target.
    fn detect(&self, t: &mut Target<'_>) -> bool;
    /// Every entry of its history, oldest first.
    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError>;
    /// The key its history would hold for this migration file, if it can name it.
    fn key_of(&self, m: &Migration) -> Option<String>;
    /// Whether the file is the script the tool ran, by the checksum it recorded; `None`
    /// where the tool records none that cutover can compute.
    fn same_script(&self, _recorded: &str, _m: &Migration) -> Option<bool> {
        None
    }
}

/// Every tool, in the order they are tried: golang-migrate before dbmate, whose table has
/// the same name and one column fewer.
pub(crate) static TOOLS: &[&dyn Tool] = &[
    &super::prisma::Prisma,
    &super::flyway::Flyway,
    &super::golang_migrate::GolangMigrate,
    &super::dbmate::Dbmate,
    &super::sqlx::Sqlx,
    &super::goose::Goose,
    &super::diesel::Diesel,
    &super::liquibase::Liquibase,
    &super::sqitch::Sqitch,
    &super::laravel::Laravel,
];

/// Whether `columns` of `table` can be selected: the table is there with those columns.
/// Selects no row and creates nothing; a missing table is an error the server reports.
pub(crate) fn has_columns(engine: &mut dyn Engine, table: &str, columns: &str) -> bool {
    engine
        .query(&format!("SELECT {columns} FROM {table} WHERE 1 = 0"))
        .is_ok()
}

/// A boolean as PostgreSQL (`t`), MariaDB (`1`) or SQLite (`1`, or `true` as written)
/// renders it.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    matches!(
        v.map(str::trim).map(str::to_ascii_lowercase).as_deref(),
        Some("t" | "true" | "1" | "y" | "yes")
    )
}

/// The key of a numeric version: `000001`, `1` and `01` are the same number to tools
/// that parse versions as integers (golang-migrate, goose, sqlx, dbmate).
pub(crate) fn number_key(raw: &str) -> String {
    Version::parse(raw.trim()).map_or_else(|| raw.trim().to_string(), |v| v.number_key())
}

/// A migration's numeric key, when its version is a number.
pub(crate) fn migration_number(m: &Migration) -> Option<String> {
    Version::parse(m.version.as_str()).map(|v| v.number_key())
}

/// Text of column `i` of a row.
pub(crate) fn cell(row: &[Option<String>], i: usize) -> Option<&str> {
    row.get(i).and_then(|v| v.as_deref())
}

/// An entry from a row: its key, how it is shown, its status, when.
pub(crate) fn entry(
    key: String,
    shown: impl Into<String>,
    status: ForeignStatus,
    at: Option<&str>,
) -> super::ForeignEntry {
    super::ForeignEntry {
        key,
        shown: shown.into(),
        status,
        at: at.map(str::to_string),
        checksum: None,
    }
}

/// Keep the last entry per key (later rows of the same migration supersede earlier ones),
/// in the order each key was last seen.
pub(crate) fn last_per_key(entries: Vec<super::ForeignEntry>) -> Vec<super::ForeignEntry> {
    let mut out: Vec<super::ForeignEntry> = Vec::new();
    for e in entries {
        out.retain(|o| o.key != e.key);
        out.push(e);
    }
    out
}
