//! Liquibase's `DATABASECHANGELOG`: one row per changeset run, identified by `ID`,
//! `AUTHOR` and `FILENAME`. `EXECTYPE` says how: `EXECUTED`, `RERAN` (a run-on-change
//! changeset run again), `MARK_RAN` (`changelog-sync`) and `SKIPPED` all mean Liquibase
//! will not run it again; `FAILED` is a changeset that failed. Liquibase creates the table
//! unquoted, so PostgreSQL folds its name to lower case and the same query finds it.

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{Target, Tool, cell, entry, has_columns, last_per_key};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Liquibase;

const TABLE: &str = "DATABASECHANGELOG";

impl Tool for Liquibase {
    fn name(&self) -> &'static str {
        "liquibase"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(
            t.engine,
            TABLE,
            "ID, AUTHOR, FILENAME, EXECTYPE, ORDEREXECUTED",
        )
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t.engine.query(
            "SELECT ID, AUTHOR, FILENAME, EXECTYPE, DATEEXECUTED \
             FROM DATABASECHANGELOG ORDER BY ORDEREXECUTED",
        )?;
        let entries = rows
            .iter()
            .map(|r| {
                let (id, author) = (
                    cell(r, 0).unwrap_or_default(),
                    cell(r, 1).unwrap_or_default(),
                );
                let file = cell(r, 2).unwrap_or_default();
                let status = match cell(r, 3).unwrap_or_default().to_ascii_uppercase().as_str() {
                    "FAILED" => ForeignStatus::Failed("EXECTYPE FAILED".into()),
                    _ => ForeignStatus::Applied,
                };
                let shown = format!("{file}::{id}::{author}");
                entry(key(file, id, author), shown, status, cell(r, 4))
            })
            .collect();
        Ok(ForeignHistory {
            entries: last_per_key(entries),
            upto: None,
        })
    }

    /// cutover's id is `<file>::<id>::<author>`; Liquibase's `FILENAME` is the path it was
    /// given (or the `logicalFilePath`): both are compared by their last path component.
    fn key_of(&self, m: &Migration) -> Option<String> {
        let mut parts = m.id.rsplitn(3, "::");
        let author = parts.next()?;
        let id = parts.next()?;
        let file = parts.next()?;
        Some(key(file, id, author))
    }
}

fn key(file: &str, id: &str, author: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    format!("{name}::{id}::{author}")
}

#[cfg(test)]
mod tests {
    /// Liquibase's `FILENAME` is the path it was given; cutover's id names the file in the
    /// folder: both come down to the file name.
    #[test]
    fn keys_by_file_name_id_and_author() {
        assert_eq!(
            super::key("db/changelog/changes.sql", "1", "alice"),
            "changes.sql::1::alice"
        );
        assert_eq!(
            super::key("classpath:db\\changes.sql", "1", "alice"),
            super::key("changes.sql", "1", "alice")
        );
        assert_ne!(
            super::key("changes.sql", "1", "bob"),
            super::key("changes.sql", "1", "alice")
        );
    }
}
