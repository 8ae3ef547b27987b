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
            "SELECT version, description, type, script, success, installed_on, checksum \
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
            let mut e = entry(key, shown, status, cell(r, 5));
            e.checksum = cell(r, 6).map(str::to_string);
            entries.push(e);
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

    fn same_script(&self, recorded: &str, m: &Migration) -> Option<bool> {
        let recorded: i64 = recorded.trim().parse().ok()?;
        Some(recorded == i64::from(flyway_checksum(&m.up.sql)))
    }
}

/// Flyway's checksum of a script: CRC32 over its lines without their line breaks (and
/// without a byte order mark), as a signed 32-bit number.
fn flyway_checksum(sql: &str) -> i32 {
    let mut crc = crc32fast::Hasher::new();
    for line in sql.trim_start_matches('\u{feff}').lines() {
        crc.update(line.as_bytes());
    }
    crc.finalize() as i32
}

/// `R__views.sql` → `R__views`; a path keeps its file name only.
fn stem(script: &str) -> String {
    let name = script.rsplit(['/', '\\']).next().unwrap_or(script);
    name.strip_suffix(".sql").unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    /// `python3 -c "import zlib; print(zlib.crc32(b'CREATE TABLE adopt_c (id INT PRIMARY KEY);'))"`
    /// is 3045333671, which Flyway stores as the signed -1249633625; line breaks, CRLF
    /// and a byte order mark do not count.
    #[test]
    fn checksums_as_flyway_computes_them() {
        let want = -1_249_633_625;
        let sql = "CREATE TABLE adopt_c (id INT PRIMARY KEY);";
        assert_eq!(super::flyway_checksum(&format!("{sql}\n")), want);
        assert_eq!(
            super::flyway_checksum("\u{feff}CREATE TABLE adopt_c\r\n(id INT PRIMARY KEY);"),
            super::flyway_checksum("CREATE TABLE adopt_c(id INT PRIMARY KEY);")
        );
        assert_ne!(
            super::flyway_checksum("CREATE TABLE adopt_b (id INT PRIMARY KEY);"),
            want
        );
    }
}
