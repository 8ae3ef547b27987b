//! A clone's rows, table after table, through the transfer's endpoints: a reader thread
//! streams the source (sampling and masking each batch as it comes, so the hashing runs
//! beside the writes) into a two-batch channel, and the writer loads each batch (`COPY`,
//! multi-row `INSERT`s, a prepared `INSERT`). No checkpoint: a clone is not resumed, it is
//! run again. The rows a table got are each batch's (or the `COPY`'s) own count.

use std::sync::mpsc::sync_channel;

use super::mask::TableMask;
use super::sample::{Sampler, TableSample};
use crate::engine::DbError;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::transfer::endpoint::Endpoint;
use crate::transfer::plan::TablePlan;
use crate::transfer::value::Rows;

/// Rows per batch.
pub const BATCH: usize = 10_000;

/// What one table's copy needs besides the plan.
pub struct Copy<'a> {
    pub from: &'a mut dyn Endpoint,
    pub to: &'a mut dyn Endpoint,
    pub mask: Option<TableMask>,
    /// With `--sample`: the sampler, and this table's filter.
    pub sample: Option<(&'a mut Sampler, TableSample)>,
    /// A `COPY … TO STDOUT` of the table's rows, when they need no value read (the same
    /// engine, PostgreSQL; nothing masked or filtered): the bytes go across as they are.
    pub raw: Option<String>,
}

fn read_err(p: &TablePlan) -> impl FnOnce(DbError) -> Error + use<> {
    Error::db(format!("cannot read {} from the source", p.name))
}

/// Copy one table; returns the rows written.
pub fn table(p: &TablePlan, c: Copy, observer: &mut dyn Observer) -> Result<u64, Error> {
    let Copy {
        from,
        to,
        mask,
        mut sample,
        raw,
    } = c;
    if let Some(sql) = raw {
        return bytes(p, &sql, from, to, observer);
    }
    let select = match &sample {
        // No reference to check: the first ROWS rows in key order, read as such.
        Some((s, t)) if !t.filters() => format!("{} LIMIT {}", p.select, s.limit),
        _ => p.select.clone(),
    };
    let (tx, rx) = sync_channel::<Rows>(2);
    let mut written = 0u64;
    let mut failure = None;
    let read = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            from.read(&select, &p.source_classes, BATCH, &mut |mut rows| {
                let more = match &mut sample {
                    Some((sampler, t)) => sampler.filter(t, &mut rows),
                    None => true,
                };
                if let Some(m) = &mask {
                    m.apply(&mut rows);
                }
                (rows.is_empty() || tx.send(rows).is_ok()) && more
            })
            .map(|()| sample)
        });
        for rows in rx.iter() {
            if let Err(e) = to.write(&p.into, &rows, &[], None) {
                failure = Some(Error::db(format!(
                    "cannot load {} into the target after {written} rows",
                    p.name
                ))(e));
                break;
            }
            written += rows.len() as u64;
            observer.event(&Event::TableRows {
                table: p.name.clone(),
                rows: written,
            });
        }
        drop(rx);
        reader.join().expect("the reader thread does not panic")
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((sampler, t)) = read.map_err(read_err(p))? {
        sampler.finish(&t);
    }
    Ok(written)
}

/// A table copied in the engine's own text format: a reader thread gathering `COPY … TO
/// STDOUT` into chunks, the writer sending them to one `COPY … FROM STDIN`.
fn bytes(
    p: &TablePlan,
    sql: &str,
    from: &mut dyn Endpoint,
    to: &mut dyn Endpoint,
    observer: &mut dyn Observer,
) -> Result<u64, Error> {
    let (tx, rx) = sync_channel::<Result<Vec<u8>, DbError>>(2);
    let loaded = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let copied = from
                .copy_out(sql, &mut |chunk| tx.send(Ok(chunk)).is_ok())
                .unwrap_or_else(|| Err(DbError::new("the source cannot copy its rows out")));
            if let Err(e) = &copied {
                // The writer aborts its statement: no half table is committed.
                let _ = tx.send(Err(e.clone()));
            }
            copied
        });
        let mut rows = 0u64;
        let loaded = {
            let mut chunks = rx.iter().inspect(|c| {
                if let Ok(data) = c {
                    // One line per row: newlines inside values are escaped (`\n`).
                    rows += data.iter().filter(|b| **b == b'\n').count() as u64;
                    observer.event(&Event::TableRows {
                        table: p.name.clone(),
                        rows,
                    });
                }
            });
            to.copy_in(&p.into, &mut chunks)
                .unwrap_or_else(|| Err(DbError::new("the target cannot copy rows in")))
        };
        drop(rx);
        let read = reader.join().expect("the reader thread does not panic");
        (read, loaded)
    });
    let (read, loaded) = loaded;
    read.map_err(read_err(p))?;
    loaded.map_err(Error::db(format!("cannot load {} into the target", p.name)))
}
