//! Checkpoints in the target (`cutover_transfer`): a row per run and table with the rows
//! loaded so far and the source's running tally, updated in the same transaction as each
//! batch (by the endpoint's `write`), so that a resumed run starts exactly after the last
//! committed batch. The row with an empty table name holds the run's own record: the
//! tables it covers and whether it creates them, so `--resume RUN` needs only the URLs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::endpoint::Endpoint;
use super::tally::Tally;
use super::value::{Class, Value};
use crate::engine::DbError;
use crate::sql::Dialect;
use crate::tables::TRANSFER_TABLE;

/// What a run was asked to do, kept for `--resume`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub tables: Vec<String>,
    pub create_tables: bool,
    /// Tables this run created (their keys are added after the load).
    #[serde(default)]
    pub created: Vec<String>,
    #[serde(default)]
    pub finished: bool,
    /// How its tallies checksum values (`tally::CHECKSUM`; 0 for a run an older cutover
    /// started, which used FNV): a run is resumed only by a cutover that checksums alike.
    #[serde(default)]
    pub checksum: u32,
}

impl RunRecord {
    /// Whether this cutover can carry the run's tallies on (see `checksum`).
    pub fn checksums_alike(&self) -> bool {
        self.checksum == super::tally::CHECKSUM
    }
}

/// One table's checkpoint.
#[derive(Debug, Clone)]
pub struct Saved {
    pub rows: u64,
    pub done: bool,
    pub tally: Tally,
}

/// A run id is a UUID: anything else given to `--resume` is refused before it reaches SQL.
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// `text` as a string literal in `d`.
fn lit(d: Dialect, text: &str) -> String {
    let escaped = text.replace('\'', "''");
    let escaped = if d == Dialect::MySql {
        escaped.replace('\\', "\\\\")
    } else {
        escaped
    };
    format!("'{escaped}'")
}

pub fn ensure(ep: &mut dyn Endpoint) -> Result<(), DbError> {
    ep.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {TRANSFER_TABLE} (run_id VARCHAR(64) NOT NULL, \
         table_name VARCHAR(255) NOT NULL, rows_done BIGINT NOT NULL, done INTEGER NOT NULL, \
         tally TEXT NOT NULL, updated_at VARCHAR(64), PRIMARY KEY (run_id, table_name))"
    ))
}

/// Insert a run's or a table's row.
fn insert(ep: &mut dyn Endpoint, run: &str, table: &str, tally: &str) -> Result<(), DbError> {
    let d = ep.dialect();
    ep.execute(&format!(
        "INSERT INTO {TRANSFER_TABLE} (run_id, table_name, rows_done, done, tally) VALUES ({}, {}, 0, 0, {})",
        lit(d, run),
        lit(d, table),
        lit(d, tally)
    ))
}

pub fn start_run(ep: &mut dyn Endpoint, run: &str, record: &RunRecord) -> Result<(), DbError> {
    insert(
        ep,
        run,
        "",
        &serde_json::to_string(record).expect("serialises"),
    )
}

pub fn save_run(ep: &mut dyn Endpoint, run: &str, record: &RunRecord) -> Result<(), DbError> {
    let d = ep.dialect();
    ep.execute(&format!(
        "UPDATE {TRANSFER_TABLE} SET tally = {} WHERE run_id = {} AND table_name = ''",
        lit(d, &serde_json::to_string(record).expect("serialises")),
        lit(d, run)
    ))
}

/// A table's first checkpoint, with the tally it starts from.
pub fn start_table(
    ep: &mut dyn Endpoint,
    run: &str,
    table: &str,
    tally: &Tally,
) -> Result<(), DbError> {
    let tally = serde_json::to_string(tally).expect("serialises");
    insert(ep, run, table, &tally)
}

pub fn finish_table(ep: &mut dyn Endpoint, run: &str, table: &str) -> Result<(), DbError> {
    let d = ep.dialect();
    ep.execute(&format!(
        "UPDATE {TRANSFER_TABLE} SET done = 1 WHERE run_id = {} AND table_name = {}",
        lit(d, run),
        lit(d, table)
    ))
}

/// Each table's checkpoint, by table name.
pub type Checkpoints = BTreeMap<String, Saved>;

/// A run's record and its tables' checkpoints; `None` when the target has no such run.
pub fn load(ep: &mut dyn Endpoint, run: &str) -> Result<Option<(RunRecord, Checkpoints)>, DbError> {
    let d = ep.dialect();
    let sql = format!(
        "SELECT table_name, rows_done, done, tally FROM {TRANSFER_TABLE} WHERE run_id = {}",
        lit(d, run)
    );
    let classes = [Class::Text, Class::Int, Class::Int, Class::Text];
    let mut rows = Vec::new();
    ep.read(&sql, &classes, 1000, &mut |batch| {
        rows.extend(batch);
        true
    })?;
    let text = |v: &Value| v.text().map(|t| t.into_owned()).unwrap_or_default();
    let number = |v: &Value| text(v).parse::<u64>().unwrap_or(0);
    let bad = |e: serde_json::Error| {
        DbError::new(format!(
            "{TRANSFER_TABLE} holds a checkpoint cutover cannot read: {e}"
        ))
    };
    let mut record = None;
    let mut tables = BTreeMap::new();
    for r in rows {
        let name = text(&r[0]);
        if name.is_empty() {
            record = Some(serde_json::from_str(&text(&r[3])).map_err(bad)?);
        } else {
            let saved = Saved {
                rows: number(&r[1]),
                done: number(&r[2]) == 1,
                tally: serde_json::from_str(&text(&r[3])).map_err(bad)?,
            };
            tables.insert(name, saved);
        }
    }
    Ok(record.map(|r| (r, tables)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run record written before the checksum scheme was kept reads as FNV's (0), and
    /// only a record of this build's scheme is carried on.
    #[test]
    fn older_records_checksum_otherwise() {
        let old: RunRecord =
            serde_json::from_str(r#"{"tables":["a"],"create_tables":true,"created":["a"]}"#)
                .unwrap();
        assert!(!old.checksums_alike());
        let new = RunRecord {
            checksum: crate::transfer::tally::CHECKSUM,
            ..RunRecord::default()
        };
        let again: RunRecord = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert!(again.checksums_alike());
    }
}
