//! Flyway's `flyway_schema_history`: one row per script run, ranked by `installed_rank`.
//! `success` false is a failed migration (Flyway's `repair` removes it); a `BASELINE` row
//! means every version up to it counts as applied; `UNDO_*` rows undo their version;
//! `DELETE` rows (Flyway 9 `repair`) take a missing version out; the `SCHEMA` row only
//! says Flyway created schemas. Repeatable scripts have no version and are keyed by their
//! script name; each run adds a row, and the newest decides.

use crate::engine::DbError;
use crate::migrations::{Kind, Migration, Version};

use super::tool::{
    Target, Tool, cell, entry, has_columns, last_per_key, migration_number, number_key, truthy,
};
use super::{ForeignEntry, ForeignHistory, ForeignStatus};

pub(crate) struct Flyway;

const TABLE: &str = "flyway_schema_history";

impl Tool for Flyway {
    fn name(&self) -> &'static str {
        "flyway"
    }

    fn table(&self, _: &Target<'_>) -> String {
        TABLE.into()
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        has_columns(
            t.engine,
            TABLE,
            "installed_rank, version, type, script, success",
        )
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let rows = t.engine.query(
            "SELECT version, description, type, script, success, installed_on \
             FROM flyway_schema_history ORDER BY installed_rank",
        )?;
        let mut entries: Vec<ForeignEntry> = Vec::new();
        let mut upto = None;
        for r in &rows {
            let kind = cell(r, 2).unwrap_or_default().to_ascii_uppercase();
            let script = cell(r, 3).unwrap_or_default();
            let (key, shown) = match cell(r, 0) {
                Some(v) => (number_key(v), format!("{v} ({script})")),
                None => (stem(script), script.to_string()),
            };
            let status = match kind.as_str() {
                "SCHEMA" => continue,
                "BASELINE" | "SQL_BASELINE" | "JDBC_BASELINE" => {
                    upto = cell(r, 0).and_then(Version::parse);
                    continue;
                }
                "DELETE" => {
                    entries.retain(|e| e.key != key);
                    continue;
                }
                k if k.starts_with("UNDO") && truthy(cell(r, 4)) => {
                    ForeignStatus::RolledBack(format!("undone by {script}"))
                }
                _ if truthy(cell(r, 4)) => ForeignStatus::Applied,
                _ => ForeignStatus::Failed(format!("{script} failed (success = false)")),
            };
            entries.push(entry(key, shown, status, cell(r, 5)));
        }
        Ok(ForeignHistory {
            entries: last_per_key(entries),
            upto,
        })
    }

    /// A versioned script by its version as a number (`1.1`, `1_1` and `01.1` are one to
    /// Flyway); a repeatable one by its file name without `.sql`.
    fn key_of(&self, m: &Migration) -> Option<String> {
        if m.kind == Kind::Repeatable {
            Some(m.id.clone())
        } else {
            migration_number(m)
        }
    }
}

/// `R__views.sql` → `R__views`; a path keeps its file name only.
fn stem(script: &str) -> String {
    let name = script.rsplit(['/', '\\']).next().unwrap_or(script);
    name.strip_suffix(".sql").unwrap_or(name).to_string()
}
