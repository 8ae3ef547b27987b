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
pub mod mapping;
pub(crate) mod mysql;
pub mod plan;
pub(crate) mod postgres;
mod quality;
pub(crate) mod sqlite;
pub mod tally;
mod transform;
pub mod value;

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{ConnectOptions, DbError};
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::target::DatabaseUrl;
use checkpoint::{RunRecord, Saved};
use endpoint::{Endpoint, Mark};
use plan::{Sides, TablePlan};
use tally::Tally;

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

/// The outcome of a transfer, or its plan (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    pub run: String,
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    pub resumed: bool,
    pub tables: Vec<TableReport>,
    /// Values carried in another form, indexes left out.
    pub notes: Vec<String>,
    /// Every table's counts and columns agree (always false for a dry run).
    pub reconciled: bool,
    /// A mapping's quality checks on the source (run before every load; `--check-only`
    /// stops after them, and a failing check stops the load).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::verdict::CheckResult>,
    /// Why nothing was loaded, when the checks stopped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub duration_ms: u64,
}

/// One table's load and reconciliation.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub created: bool,
    /// Rows the target should hold: those read from the source (for a dry run, counted);
    /// for a mapping, those the target held before plus those loaded.
    pub source_rows: u64,
    /// Rows in the target table after the load.
    pub target_rows: u64,
    /// Rows written by this attempt (a resumed run: after its checkpoint).
    pub loaded: u64,
    /// Source rows read (after a mapping's filter).
    pub read: u64,
    /// A mapping's rows rejected, found already there by their key, and lookups that
    /// found nothing (a NULL written in a nullable column).
    pub rejected: u64,
    pub existing: u64,
    /// A mapping's source rows whose key an earlier source row has (not loaded).
    pub duplicates: u64,
    pub unresolved_lookups: u64,
    pub duration_ms: u64,
    /// Columns whose sums or checksums differ, with how.
    pub mismatches: Vec<String>,
    pub reconciled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<TablePlan>,
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
    load.prepare(&plans)?;
    for p in &plans {
        report.tables.push(load.table(p)?);
    }
    load.finish(&plans)?;
    for (p, t) in plans.iter().zip(&mut report.tables) {
        let source_tally = load.saved_tally(p);
        reconcile(load.to, p, t, &source_tally, &req.to)?;
    }
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
        Ok(Some((record, saved))) => Ok((id.to_string(), record, saved)),
        Ok(None) | Err(_) => Err(Error::Usage(format!(
            "--resume: {url} holds no transfer run {id} (runs are resumed into the target they started on)"
        ))),
    }
}

/// The source's row count of a table.
fn count(from: &mut dyn Endpoint, p: &TablePlan, url: &DatabaseUrl) -> Result<u64, Error> {
    let sql = format!("SELECT count(*) FROM ({}) AS t", p.select);
    let mut n = 0;
    from.read(&sql, &[value::Class::Int], 1, &mut |rows| {
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

/// One run's load, table after table.
struct Load<'a> {
    req: &'a Request,
    /// The run's one `now()`, so that every row of a run gets the same.
    now: String,
    run: &'a str,
    record: RunRecord,
    saved: checkpoint::Checkpoints,
    from: &'a mut dyn Endpoint,
    to: &'a mut dyn Endpoint,
    observer: &'a mut dyn Observer,
}

impl Load<'_> {
    fn target_err(&self, context: &str) -> impl FnOnce(DbError) -> Error + use<> {
        db(context, &self.req.to)
    }

    /// The checkpoint table, the run's record (with the tables it creates, so that a run
    /// killed while creating them still adds their keys once resumed), and the tables.
    fn prepare(&mut self, plans: &[TablePlan]) -> Result<(), Error> {
        checkpoint::ensure(self.to)
            .map_err(self.target_err("cannot create the checkpoint table in"))?;
        if self.req.resume.is_none() {
            checkpoint::start_run(self.to, self.run, &self.record)
                .map_err(self.target_err("cannot record the run in"))?;
        }
        self.observer.event(&Event::TransferStarted {
            run: self.run.to_string(),
            tables: plans.len(),
            resumed: self.req.resume.is_some(),
        });
        for p in plans {
            let Some(ddl) = &p.create else { continue };
            self.to
                .execute(ddl)
                .map_err(self.target_err(&format!("cannot create table {} in", p.name)))?;
        }
        Ok(())
    }

    fn saved_tally(&self, p: &TablePlan) -> Tally {
        self.saved
            .get(&p.name)
            .map(|s| s.tally.clone())
            .unwrap_or_else(|| Tally::new(p.columns.len()))
    }

    /// Stream one table from its checkpoint on.
    fn table(&mut self, p: &TablePlan) -> Result<TableReport, Error> {
        let started = Instant::now();
        let saved = match self.saved.get(&p.name) {
            Some(s) => s.clone(),
            None => {
                // A mapping loads beside rows the target may hold: the tally starts from
                // them, so that the reconciliation expects them plus what is loaded.
                let tally = match p.mapped {
                    Some(_) => target_tally(self.to, p, &self.req.to)?,
                    None => Tally::new(p.columns.len()),
                };
                checkpoint::start_table(self.to, self.run, &p.name, &tally)
                    .map_err(self.target_err("cannot write a checkpoint in"))?;
                Saved {
                    rows: 0,
                    done: false,
                    tally,
                }
            }
        };
        let total = count(self.from, p, &self.req.from)?;
        self.observer.event(&Event::TableStarted {
            table: p.name.clone(),
            rows: total,
            done: saved.rows,
        });
        let mut tally = saved.tally.clone();
        let mut loaded = 0;
        if !saved.done {
            loaded = self.stream(p, saved.rows, &mut tally)?;
            checkpoint::finish_table(self.to, self.run, &p.name)
                .map_err(self.target_err("cannot write a checkpoint in"))?;
            self.to
                .after_load(&p.into.table, &p.columns)
                .map_err(self.target_err(&format!("cannot move the sequences of {} in", p.name)))?;
        }
        self.saved.insert(
            p.name.clone(),
            Saved {
                rows: tally.read,
                done: true,
                tally: tally.clone(),
            },
        );
        self.observer.event(&Event::TableLoaded {
            table: p.name.clone(),
            rows: tally.rows,
            duration: started.elapsed(),
        });
        Ok(TableReport {
            table: p.name.clone(),
            created: p.create.is_some(),
            source_rows: tally.rows,
            target_rows: 0,
            loaded,
            read: tally.read,
            rejected: tally.rejected,
            existing: tally.existing,
            duplicates: tally.duplicates,
            unresolved_lookups: tally.unresolved,
            duration_ms: started.elapsed().as_millis() as u64,
            mismatches: Vec::new(),
            reconciled: false,
            plan: None,
        })
    }

    /// Read on a thread of its own, write here; skip the `skip` rows already loaded.
    fn stream(&mut self, p: &TablePlan, skip: u64, tally: &mut Tally) -> Result<u64, Error> {
        let (tx, rx) = sync_channel::<value::Rows>(2);
        let Load {
            req,
            now,
            run,
            from,
            to,
            observer,
            ..
        } = self;
        let mut w = Writer {
            req,
            now,
            run,
            to: &mut **to,
            observer: &mut **observer,
        };
        let from = &mut **from;
        let batch = w.req.batch.max(1);
        let mut loaded = 0u64;
        let mut failure = None;
        let read_result = std::thread::scope(|s| {
            let reader = s.spawn(move || {
                let mut to_skip = skip;
                from.read(&p.select, &p.source_classes, batch, &mut |mut rows| {
                    if to_skip > 0 {
                        let n = (to_skip as usize).min(rows.len());
                        rows.drain(..n);
                        to_skip -= n as u64;
                        if rows.is_empty() {
                            return true;
                        }
                    }
                    tx.send(rows).is_ok()
                })
            });
            for rows in rx.iter() {
                match w.batch(p, rows, tally) {
                    Ok(n) => loaded += n,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
                if crate::interrupt::requested() {
                    failure =
                        Some(w.stopped(p, tally, DbError::new("interrupted (SIGINT/SIGTERM)")));
                    break;
                }
            }
            drop(rx);
            reader.join().expect("the reader thread does not panic")
        });
        if let Some(e) = failure {
            return Err(e);
        }
        read_result.map_err(db(&format!("cannot read {} from", p.name), &w.req.from))?;
        Ok(loaded)
    }

    /// Keys and indexes of created tables, then the run marked finished.
    fn finish(&mut self, plans: &[TablePlan]) -> Result<(), Error> {
        if self.record.finished {
            return Ok(());
        }
        for p in plans
            .iter()
            .filter(|p| self.record.created.contains(&p.name))
        {
            for sql in &p.after {
                let result = self.to.execute(sql);
                // A resumed run may have added this key before it was stopped.
                let again = self.req.resume.is_some()
                    && result.as_ref().is_err_and(|e| already_there(&e.message));
                if let (false, Err(e)) = (again, result) {
                    return Err(Error::Database {
                        context: format!(
                            "the rows of {} are loaded, but `{sql}` failed on {}",
                            p.name, self.req.to
                        ),
                        source: e,
                    });
                }
            }
        }
        let broken = self
            .to
            .broken_keys()
            .map_err(self.target_err("cannot check the foreign keys in"))?;
        if !broken.is_empty() {
            return Err(Error::Refused {
                message: format!(
                    "the rows are loaded into {}, but some break a foreign key: {}",
                    self.req.to,
                    broken.join("; ")
                ),
                hint:
                    "fix or add the missing parent rows, then check again with `cutover validate`"
                        .into(),
            });
        }
        self.record.finished = true;
        checkpoint::save_run(self.to, self.run, &self.record)
            .map_err(self.target_err("cannot record the run in"))
    }
}

/// The writing side of one table's stream (the reader thread holds the source).
struct Writer<'w> {
    req: &'w Request,
    now: &'w str,
    run: &'w str,
    to: &'w mut dyn Endpoint,
    observer: &'w mut dyn Observer,
}

impl Writer<'_> {
    /// One batch: mapped (when the table has a mapping), written with its checkpoint, and
    /// only then counted (a batch that failed is not in the checkpoint). Returns the rows
    /// written.
    fn batch(&mut self, p: &TablePlan, rows: value::Rows, tally: &mut Tally) -> Result<u64, Error> {
        let read = rows.len() as u64;
        let applied = match &p.mapped {
            Some(m) => transform::apply(p, m, rows, self.to, self.now, tally.rejected)?,
            None => transform::Applied {
                rows,
                ..Default::default()
            },
        };
        let mut next = tally.clone();
        next.read += read;
        for row in &applied.rows {
            next.add(row, &p.tally_classes);
        }
        next.updated += applied.updates.len() as u64;
        next.existing += applied.existing.len() as u64;
        next.rejected += applied.rejected;
        next.unresolved += applied.unresolved;
        next.duplicates += applied.duplicates;
        let json = serde_json::to_string(&next).expect("serialises");
        let mark = Mark {
            run: self.run,
            table: &p.name,
            rows: next.read,
            tally: &json,
        };
        self.to
            .write(&p.into, &applied.rows, &applied.updates, &mark)
            .map_err(|e| self.stopped(p, tally, e))?;
        *tally = next;
        if let Some(m) = &p.mapped {
            transform::write_rejects(m, &applied.reject_lines)?;
        }
        self.observer.event(&Event::TableRows {
            table: p.name.clone(),
            rows: tally.read,
        });
        Ok(applied.rows.len() as u64)
    }

    fn stopped(&self, p: &TablePlan, tally: &Tally, e: DbError) -> Error {
        Error::Database {
            context: format!(
                "loading {} into {} stopped after {} source rows (resume with --resume {})",
                p.name, self.req.to, tally.read, self.run
            ),
            source: e,
        }
    }
}

/// An error saying a key or index of that name exists already (PostgreSQL 42710 and
/// 42P07, MariaDB/MySQL 1061 and 1826, SQLite's "already exists").
fn already_there(message: &str) -> bool {
    [
        "already exists",
        "42710",
        "42P07",
        "ERROR 1061",
        "ERROR 1826",
        "Duplicate key name",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// The target table's tally, read back in the plan's classes.
fn target_tally(to: &mut dyn Endpoint, p: &TablePlan, url: &DatabaseUrl) -> Result<Tally, Error> {
    let mut target = Tally::new(p.columns.len());
    to.read(&p.readback, &p.into.classes, DEFAULT_BATCH, &mut |rows| {
        for row in &rows {
            target.add(row, &p.tally_classes);
        }
        true
    })
    .map_err(db(&format!("cannot read {} back from", p.name), url))?;
    Ok(target)
}

/// Read the loaded table back and compare it with the source's tally.
fn reconcile(
    to: &mut dyn Endpoint,
    p: &TablePlan,
    t: &mut TableReport,
    source: &Tally,
    url: &DatabaseUrl,
) -> Result<(), Error> {
    let target = target_tally(to, p, url)?;
    t.source_rows = source.rows;
    t.target_rows = target.rows;
    // Updated rows changed values the tally counted before the load: counts only.
    let compared = if source.updated > 0 {
        vec![false; p.compared.len()]
    } else {
        p.compared.clone()
    };
    t.mismatches = source
        .differences(&target, &p.tally_classes, &compared)
        .into_iter()
        .map(|(i, why)| format!("{}: {why}", p.columns[i]))
        .collect();
    if source.rows != target.rows {
        t.mismatches.insert(
            0,
            format!(
                "{} rows in the source, {} in the target",
                source.rows, target.rows
            ),
        );
    }
    t.reconciled = t.mismatches.is_empty();
    Ok(())
}

/// A transfer's quality checks as a validation report, so that `validate`'s renderers
/// (text, JSON, Markdown, HTML) show them.
pub fn checks_report(
    r: &TransferReport,
    source: &DatabaseUrl,
) -> crate::validate::ValidationReport {
    let mut checks = r.checks.clone();
    checks.sort_by_key(|c| c.status);
    crate::validate::ValidationReport {
        target: source.to_string(),
        engine: source.kind().name().to_string(),
        server_version: String::new(),
        environment: None,
        level: crate::verdict::Level::Standard,
        started_at: jiff::Timestamp::now().to_string(),
        duration_ms: r.duration_ms,
        fingerprint: None,
        summary: crate::validate::summary(&checks),
        checks,
        cutover_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Rows per second over `took`, for people.
pub fn rate(rows: u64, took: Duration) -> u64 {
    (rows as f64 / took.as_secs_f64().max(0.001)) as u64
}
