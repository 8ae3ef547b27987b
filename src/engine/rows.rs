//! Reading rows from the two sqlx engines (PostgreSQL and MySQL) the same way: history rows
//! by column position, and any query's rows as text.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::history::{Direction, HistoryRow, RowStatus};

/// A `cutover_migrations` row selected in the column order both engines use.
pub(super) fn history<'r, R>(r: &'r R) -> Result<HistoryRow, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(HistoryRow {
        version: r.try_get(0)?,
        name: r.try_get(1)?,
        checksum: r.try_get(2)?,
        status: RowStatus::parse(r.try_get(3)?),
        direction: Direction::parse(r.try_get(4)?),
        applied_at: r.try_get(5)?,
        duration_ms: r.try_get(6)?,
        applied_by: r.try_get(7)?,
        run_id: r.try_get(8)?,
        failed_statement: r.try_get(9)?,
        failed_line: r.try_get(10)?,
        failed_file: r.try_get(11)?,
        error: r.try_get(12)?,
    })
}

/// Every value of a text-protocol result as text. The simple query protocol (PostgreSQL)
/// and COM_QUERY (MySQL) send values in their textual form, so decoding the raw bytes
/// without a type check gives the server's own rendering of each value.
pub(super) fn as_text<'r, R>(rows: &'r [R]) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    &'r [u8]: Decode<'r, R::Database> + Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| match r.try_get_unchecked::<Option<&str>, _>(i) {
                    Ok(v) => Ok(v.map(str::to_string)),
                    // Not UTF-8 (a MySQL binary column): show it lossily.
                    Err(_) => r
                        .try_get_unchecked::<Option<&[u8]>, _>(i)
                        .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned())),
                })
                .collect()
        })
        .collect()
}
