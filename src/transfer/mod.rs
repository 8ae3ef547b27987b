//! `cutover transfer`: rows moved from one database into another, any engine to any
//! engine. The tables are planned first (`plan`: which, in foreign-key order, how each
//! column's values are carried, what `--create-tables` creates, and every type that cannot
//! be carried named at once). Then each table streams: a reader thread pulls batches from
//! the source endpoint through a channel two batches deep, and the writer loads each batch
//! with its checkpoint in one transaction (`COPY` into PostgreSQL, multi-row `INSERT` into
//! MariaDB/MySQL, a prepared `INSERT` into SQLite). Keys and indexes of created tables are
//! added after the load. Finally each table is read back and reconciled against the
//! source's tally: row counts, sums of numbers, checksums of everything else.
//!
//! A run has an id, printed when it starts; `--resume RUN` carries on after the last
//! committed batch of each table, with the tally the checkpoints kept.

mod checkpoint;
pub mod endpoint;
mod load;
pub mod mapping;
pub(crate) mod mysql;
pub mod plan;
pub(crate) mod postgres;
mod quality;
mod report;
pub(crate) mod sqlite;
pub mod tally;
mod transform;
pub mod value;

use std::time::Instant;

use crate::engine::{ConnectOptions, DbError};
use crate::error::Error;
use crate::events::Observer;
use crate::target::DatabaseUrl;
use checkpoint::RunRecord;
use endpoint::Endpoint;
use load::Load;
use plan::{Sides, TablePlan};
pub use report::{Phases, TableReport, TransferReport, checks_report, rate};

/// Rows per batch (and per checkpoint) unless asked otherwise.
pub const DEFAULT_BATCH: usize = 10_000;

/// What to transfer.
#[derive(Debug, Clone)]
pub struct Request {
    pub from: DatabaseUrl,
    pub to: DatabaseUrl,
    /// Tables by name; empty: every table of the source's default schema.
    pub tables: Vec<String>,
    /// Create the tables the target lacks (keys and indexes after the load).
    pub create_tables: bool,
    /// Plan and count, change nothing.
    pub dry_run: bool,
    /// The run to carry on.
    pub resume: Option<String>,
    /// A mapping file: tables made from the source's by expressions, instead of copied.
    pub mapping: Option<std::path::PathBuf>,
    /// Run a mapping's quality checks and stop there.
    pub check_only: bool,
    pub batch: usize,
}

fn db(context: &str, url: &DatabaseUrl) -> impl FnOnce(DbError) -> Error + use<> {
    let context = format!("{context} {url}");
    move |e| Error::Database {
        context,
        source: DbError::new(e.message),
    }
}

/// Open an endpoint of `url`'s engine (by its driver row).
fn endpoint(url: &DatabaseUrl, write: bool) -> Result<Box<dyn Endpoint>, Error> {
    (crate::driver::of(url.kind()).transfer)(url, write).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })
}

/// Read a side's schema through an engine connection: read-only, except for the target of
/// a load (a SQLite file a killed load left with a hot journal is rolled back on opening).
fn schema_of(url: &DatabaseUrl, read_only: bool) -> Result<crate::schema::Schema, Error> {
    let opts = ConnectOptions {
        read_only,
        label: "cutover transfer".into(),
        ..ConnectOptions::default()
    };
    let mut engine = crate::engine::connect(url, &opts).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })?;
    crate::schema::introspect(engine.as_mut()).map_err(db("cannot read the schema of", url))
}

/// Run a transfer (or plan one).
pub fn run(req: &Request, observer: &mut dyn Observer) -> Result<TransferReport, Error> {
    let started = Instant::now();
    if let Some(id) = &req.resume
        && !checkpoint::valid_run_id(id)
    {
        return Err(Error::Usage(format!("--resume: `{id}` is not a run id")));
    }
    let mut from = endpoint(&req.from, false)?;
    let source = schema_of(&req.from, true)?;
    let target = schema_of(&req.to, req.dry_run || req.check_only)?;
    let read_only = req.dry_run || req.check_only;
    let mut to = endpoint(&req.to, !read_only)?;
    let (run, record, saved) = match &req.resume {
        Some(id) => resume(to.as_mut(), id, &req.to)?,
        None => (
            uuid::Uuid::now_v7().to_string(),
            RunRecord {
                tables: req.tables.clone(),
                create_tables: req.create_tables,
                checksum: tally::CHECKSUM,
                ..RunRecord::default()
            },
            Default::default(),
        ),
    };
    let mut notes = Vec::new();
    let partitions = from
        .partitions()
        .map_err(db("cannot list the partitions of", &req.from))?;
    let sides = Sides {
        source: &source,
        target: &target,
        from: from.as_ref(),
        to: to.as_ref(),
        partitions: &partitions,
    };
    let mut record = record;
    let plans = match &req.mapping {
        Some(file) => mapping::plan(file, &sides, &mut notes)?,
        None => plan::plan(
            &sides,
            &record.tables,
            record.create_tables,
            &record.created,
            &mut notes,
        )?,
    };
    if req.resume.is_none() {
        record.created = plans
            .iter()
            .filter(|p| p.create.is_some())
            .map(|p| p.name.clone())
            .collect();
    }
    let mut report = TransferReport {
        run: run.clone(),
        from: req.from.to_string(),
        to: req.to.to_string(),
        dry_run: req.dry_run,
        resumed: req.resume.is_some(),
        tables: Vec::new(),
        notes,
        reconciled: false,
        checks: Vec::new(),
        stopped: None,
        duration_ms: 0,
        phases: Phases::default(),
    };
    if req.mapping.is_some() && req.resume.is_none() {
        let now = run_now();
        report.checks = quality::check(&plans, from.as_mut(), to.as_mut(), &now, req.batch.max(1))?;
        let failed = report
            .checks
            .iter()
            .filter(|c| c.status == crate::verdict::Status::Fail)
            .count();
        if req.check_only || (failed > 0 && !req.dry_run) {
            if failed > 0 && !req.check_only {
                report.stopped = Some(format!(
                    "{failed} quality check(s) failed: nothing was loaded (raise a table's thresholds in the mapping to let it warn)"
                ));
            }
            report.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(report);
        }
    }
    if req.dry_run || req.check_only {
        for p in plans {
            let rows = count(from.as_mut(), &p, &req.from)?;
            report.tables.push(TableReport {
                table: p.name.clone(),
                created: p.create.is_some(),
                source_rows: rows,
                target_rows: 0,
                loaded: 0,
                read: rows,
                rejected: 0,
                existing: 0,
                duplicates: 0,
                unresolved_lookups: 0,
                duration_ms: 0,
                mismatches: Vec::new(),
                reconciled: false,
                plan: Some(p),
            });
        }
        return Ok(report);
    }
    if req.resume.is_none() && req.mapping.is_none() {
        refuse_non_empty(to.as_mut(), &plans, &req.to)?;
    }
    // A second connection reads loaded tables back while the next loads (servers only).
    let checker = match to.concurrent_reads() {
        true => Some(endpoint(&req.to, false)?),
        false => None,
    };
    // Ctrl-C stops between two batches: the last checkpoint stands, the run resumes.
    let _guard = crate::interrupt::Guard::new();
    let mut load = Load {
        req,
        now: jiff::Timestamp::now()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        run: &run,
        record,
        saved,
        from: from.as_mut(),
        to: to.as_mut(),
        observer,
    };
    report.phases.plan_ms = started.elapsed().as_millis() as u64;
    load.prepare(&plans)?;
    let [load_ms, keys_ms, reconcile_ms] =
        load::run(&mut load, &plans, checker, &mut report.tables)?;
    report.phases.load_ms = load_ms;
    report.phases.keys_ms = keys_ms;
    report.phases.reconcile_ms = reconcile_ms;
    report.reconciled = report.tables.iter().all(|t| t.reconciled);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The run's one `now()`: UTC, in the form every engine reads.
fn run_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The run record and checkpoints of run `id` in the target.
fn resume(
    to: &mut dyn Endpoint,
    id: &str,
    url: &DatabaseUrl,
) -> Result<(String, RunRecord, checkpoint::Checkpoints), Error> {
    match checkpoint::load(to, id) {
        Ok(Some((record, _))) if !record.finished && !record.checksums_alike() => {
            Err(Error::Refused {
                message: format!(
                    "transfer run {id} in {url} was started by an older cutover, whose row \
                     checksums this one does not compute: its reconciliation could not be trusted"
                ),
                hint: "finish it with the cutover that started it, or empty the tables and \
                       start the transfer again"
                    .into(),
            })
        }
        Ok(Some((record, saved))) => Ok((id.to_string(), record, saved)),
        Ok(None) | Err(_) => Err(Error::Usage(format!(
            "--resume: {url} holds no transfer run {id} (runs are resumed into the target they started on)"
        ))),
    }
}

/// The source's row count of a table.
fn count(from: &mut dyn Endpoint, p: &TablePlan, url: &DatabaseUrl) -> Result<u64, Error> {
    let sql = &p.count;
    let mut n = 0;
    from.read(sql, &[value::Class::Int], 1, &mut |rows| {
        if let Some(value::Value::Int(c)) = rows.first().and_then(|r| r.first()) {
            n = *c as u64;
        }
        true
    })
    .map_err(db("cannot count rows in", url))?;
    Ok(n)
}

/// A like-for-like load goes into empty tables: rows already there would be duplicated
/// or break keys, and the reconciliation could not tell.
fn refuse_non_empty(
    to: &mut dyn Endpoint,
    plans: &[TablePlan],
    url: &DatabaseUrl,
) -> Result<(), Error> {
    let mut full = Vec::new();
    for p in plans.iter().filter(|p| p.create.is_none()) {
        let sql = format!("SELECT 1 FROM {} LIMIT 1", p.into.table);
        let mut any = false;
        to.read(&sql, &[value::Class::Int], 1, &mut |rows| {
            any = !rows.is_empty();
            false
        })
        .map_err(db("cannot read", url))?;
        if any {
            full.push(p.name.clone());
        }
    }
    if full.is_empty() {
        return Ok(());
    }
    Err(Error::Refused {
        message: format!(
            "the target's {} already hold rows; nothing was transferred",
            full.join(", ")
        ),
        hint: "a like-for-like transfer loads into empty tables: empty them, or leave them out with --tables".into(),
    })
}
