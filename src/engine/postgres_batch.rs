//! PostgreSQL's fast path for a one-transaction deploy: a script's statements go to the
//! server as one simple-protocol query (with the session reset before them), and the
//! deploy's history rows as one multi-row insert before the commit (the single-row upsert
//! of every other run is the same insert with one row). A thousand small
//! migrations then cost a thousand round trips, not four thousand.
//!
//! The server runs a multi-statement query in order and stops at the first error, after
//! one `CommandComplete` per statement that finished; that count, or the error's position,
//! names the statement that failed, and the position is made relative to it again.

use futures_util::StreamExt;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;
use tokio::runtime::Runtime;

use super::DbError;
use super::postgres::pg_err;
use crate::history::HistoryRow;
use crate::sql::{Dialect, split};

/// Between two statements: a new line first, so that a statement's trailing `--` comment
/// cannot swallow the semicolon.
const SEPARATOR: &str = "\n;\n";

/// Run `reset` (when given) and then `statements` as one query. On failure: the index of
/// the failing statement and its error, its position relative to that statement.
pub(super) fn execute_all(
    rt: &Runtime,
    conn: &mut PgConnection,
    reset: Option<&str>,
    statements: &[&str],
) -> Result<(), (usize, DbError)> {
    let prefix = match reset.map(|r| split(r, Dialect::Postgres)) {
        None => 0,
        Some(Ok(parts)) => parts.len(),
        // A reset the splitter cannot count goes on its own, as before.
        Some(Err(_)) => {
            run(rt, conn, reset.unwrap_or_default()).map_err(|(_, e)| (0, e))?;
            return execute_all(rt, conn, None, statements);
        }
    };
    let (text, starts) = joined(reset, statements);
    run(rt, conn, &text).map_err(|(done, mut e)| {
        let index = match e.position.and_then(|p| owner(&starts, p)) {
            Some((index, start)) => {
                e.position = e.position.map(|p| p - start);
                index
            }
            None => done.saturating_sub(prefix),
        };
        (index.min(statements.len().saturating_sub(1)), e)
    })
}

/// The query text, and the character offset at which each statement starts in it (the
/// server counts positions in characters).
fn joined(reset: Option<&str>, statements: &[&str]) -> (String, Vec<usize>) {
    let mut text = String::new();
    if let Some(reset) = reset {
        text.push_str(reset);
        text.push_str(SEPARATOR);
    }
    let mut at = text.chars().count();
    let mut starts = Vec::with_capacity(statements.len());
    for sql in statements {
        starts.push(at);
        text.push_str(sql);
        text.push_str(SEPARATOR);
        at += sql.chars().count() + SEPARATOR.len();
    }
    (text, starts)
}

/// The statement holding the 1-based character `position`, and where it starts.
fn owner(starts: &[usize], position: usize) -> Option<(usize, usize)> {
    let index = starts.iter().rposition(|&s| s < position)?;
    Some((index, starts[index]))
}

/// Run `text`; on failure, how many statements completed before the error.
fn run(rt: &Runtime, conn: &mut PgConnection, text: &str) -> Result<(), (usize, DbError)> {
    rt.block_on(async {
        let mut done = 0;
        let mut results = sqlx::raw_sql(AssertSqlSafe(text)).execute_many(&mut *conn);
        while let Some(result) = results.next().await {
            result.map_err(|e| (done, pg_err(e)))?;
            done += 1;
        }
        Ok(())
    })
}

/// The columns of a history row, in the order `bind_row` binds them.
const COLUMNS: &str = "version, name, checksum, status, direction, applied_at, duration_ms, \
     applied_by, run_id, failed_statement, failed_line, failed_file, error";
const PER_ROW: usize = 13;
/// Rows per insert: PostgreSQL binds at most 65,535 parameters to one statement.
const CHUNK: usize = 2_000;

/// Insert or replace `rows` in `table`, a chunk of rows per statement. A version given
/// twice keeps its last row (one statement may not update a row twice).
pub(super) fn upsert_history_many(
    rt: &Runtime,
    conn: &mut PgConnection,
    table: &str,
    rows: &[HistoryRow],
) -> Result<(), DbError> {
    let last = dedup_last(rows);
    for chunk in last.chunks(CHUNK) {
        let sql = insert_sql(table, chunk.len());
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(&row.version)
                .bind(&row.name)
                .bind(&row.checksum)
                .bind(row.status.as_str())
                .bind(row.direction.as_str())
                .bind(&row.applied_at)
                .bind(row.duration_ms)
                .bind(&row.applied_by)
                .bind(&row.run_id)
                .bind(row.failed_statement)
                .bind(row.failed_line)
                .bind(&row.failed_file)
                .bind(&row.error);
        }
        rt.block_on(query.execute(&mut *conn)).map_err(pg_err)?;
    }
    Ok(())
}

/// Each version's last row, in the order the versions first came.
fn dedup_last(rows: &[HistoryRow]) -> Vec<&HistoryRow> {
    let mut at = std::collections::HashMap::new();
    let mut kept: Vec<&HistoryRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match at.get(row.version.as_str()) {
            Some(&i) => kept[i] = row,
            None => {
                at.insert(row.version.as_str(), kept.len());
                kept.push(row);
            }
        }
    }
    kept
}

fn insert_sql(table: &str, rows: usize) -> String {
    // `applied_at` (the sixth column) is text cast to the column's type.
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=PER_ROW)
                .map(|c| match c {
                    6 => format!("${}::timestamptz", r * PER_ROW + c),
                    _ => format!("${}", r * PER_ROW + c),
                })
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} ({COLUMNS}) VALUES {}
         ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name,
             checksum = EXCLUDED.checksum, status = EXCLUDED.status,
             direction = EXCLUDED.direction, applied_at = EXCLUDED.applied_at,
             duration_ms = EXCLUDED.duration_ms, applied_by = EXCLUDED.applied_by,
             run_id = EXCLUDED.run_id, failed_statement = EXCLUDED.failed_statement,
             failed_line = EXCLUDED.failed_line, failed_file = EXCLUDED.failed_file,
             error = EXCLUDED.error",
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_made_relative_to_its_statement() {
        let (text, starts) = joined(Some("RESET ALL"), &["SELECT 1", "SELÉCT 2"]);
        assert_eq!(text, "RESET ALL\n;\nSELECT 1\n;\nSELÉCT 2\n;\n");
        // "SELÉCT" starts at character 23 (1-based); the É is one character, two bytes.
        assert_eq!(starts, vec![12, 23]);
        assert_eq!(owner(&starts, 24), Some((1, 23)));
        assert_eq!(owner(&starts, 13), Some((0, 12)));
        assert_eq!(owner(&starts, 3), None, "inside the reset: no statement");
    }

    #[test]
    fn the_insert_binds_thirteen_parameters_a_row() {
        let sql = insert_sql("h", 2);
        assert!(sql.contains("($14, $15,"), "{sql}");
        assert!(sql.contains("$26)"), "{sql}");
        assert!(!sql.contains("$27"), "{sql}");
    }
}
