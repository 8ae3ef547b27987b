//! One run's load, table after table: each table's first checkpoint (a mapping's tally
//! starts from the rows the target holds), a reader thread streaming the source into a
//! two-batch channel, the writer mapping each batch and committing it with its checkpoint,
//! keys after the load, and the reconciliation read back from the target.

use std::sync::mpsc::sync_channel;
use std::time::Instant;

use super::checkpoint::{self, RunRecord, Saved};
use super::endpoint::{Endpoint, Mark};
use super::plan::TablePlan;
use super::tally::Tally;
use super::{Request, TableReport, count, db, transform, value};
use crate::engine::DbError;
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::target::DatabaseUrl;

/// One run's load, table after table.
pub(super) struct Load<'a> {
    pub(super) req: &'a Request,
    /// The run's one `now()`, so that every row of a run gets the same.
    pub(super) now: String,
    pub(super) run: &'a str,
    pub(super) record: RunRecord,
    pub(super) saved: checkpoint::Checkpoints,
    pub(super) from: &'a mut dyn Endpoint,
    pub(super) to: &'a mut dyn Endpoint,
    pub(super) observer: &'a mut dyn Observer,
}

impl Load<'_> {
    fn target_err(&self, context: &str) -> impl FnOnce(DbError) -> Error + use<> {
        db(context, &self.req.to)
    }

    /// The checkpoint table, the run's record (with the tables it creates, so that a run
    /// killed while creating them still adds their keys once resumed), and the tables.
    pub(super) fn prepare(&mut self, plans: &[TablePlan]) -> Result<(), Error> {
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

    pub(super) fn saved_tally(&self, p: &TablePlan) -> Tally {
        self.saved
            .get(&p.name)
            .map(|s| s.tally.clone())
            .unwrap_or_else(|| Tally::new(p.columns.len()))
    }

    /// Stream one table from its checkpoint on.
    pub(super) fn table(&mut self, p: &TablePlan) -> Result<TableReport, Error> {
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
        // A like-for-like batch is counted for the reconciliation on the reader thread,
        // while the writer waits on the target; a mapping's only once it is mapped.
        let (tx, rx) = sync_channel::<(value::Rows, Option<Tally>)>(2);
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
                    let part = p.mapped.is_none().then(|| {
                        let mut part = Tally::new(p.columns.len());
                        for row in &rows {
                            part.add(row, &p.tally_classes);
                        }
                        part
                    });
                    tx.send((rows, part)).is_ok()
                })
            });
            for (rows, part) in rx.iter() {
                match w.batch(p, rows, part, tally) {
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

    /// Keys and indexes of created tables, then their foreign keys, then the run marked
    /// finished. With a keying thread (`side`: each table's index once its own keys are
    /// built, on the second connection) the foreign keys of a table go in as soon as it and
    /// its parents are keyed, while the thread keys the tables after it. Returns false when
    /// the thread stopped before keying every table (its own error says why).
    pub(super) fn finish(
        &mut self,
        plans: &[TablePlan],
        side: Option<&std::sync::mpsc::Receiver<Result<usize, Error>>>,
    ) -> Result<bool, Error> {
        if self.record.finished {
            return Ok(true);
        }
        let created: Vec<&TablePlan> = plans
            .iter()
            .filter(|p| self.record.created.contains(&p.name))
            .collect();
        let mut keyed: Vec<&str> = Vec::new();
        if side.is_none() {
            // Every primary key first: a foreign key needs its parent's, whatever the order.
            for p in &created {
                local_keys(self.to, self.req, p)?;
                keyed.push(&p.name);
            }
        }
        self.to
            .keys_unchecked(true)
            .map_err(self.target_err("cannot add keys in"))?;
        let mut waiting = created.clone();
        loop {
            // A table outside this run's keys is on the target with its keys.
            let ready =
                |name: &str| keyed.contains(&name) || !created.iter().any(|c| c.name == name);
            let (now, later): (Vec<&TablePlan>, Vec<&TablePlan>) = waiting.iter().partition(|p| {
                keyed.contains(&p.name.as_str())
                    && p.foreign_after.iter().all(|fk| ready(&fk.parent))
            });
            for p in now {
                for fk in &p.foreign_after {
                    add_key(self.to, self.req, p, &fk.sql)?;
                }
            }
            waiting = later;
            if waiting.is_empty() {
                break;
            }
            match side.map(|rx| rx.recv()) {
                Some(Ok(table)) => keyed.push(&plans[table?].name),
                _ => return Ok(false),
            }
        }
        self.to
            .keys_unchecked(false)
            .map_err(self.target_err("cannot add keys in"))?;
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
            .map_err(self.target_err("cannot record the run in"))?;
        Ok(true)
    }
}

/// A loaded table's primary key, indexes and unique keys: everything of its own.
fn local_keys(to: &mut dyn Endpoint, req: &Request, p: &TablePlan) -> Result<(), Error> {
    for sql in p.primary_after.iter().chain(&p.after) {
        add_key(to, req, p, sql)?;
    }
    Ok(())
}

/// One key or index of a loaded table.
fn add_key(to: &mut dyn Endpoint, req: &Request, p: &TablePlan, sql: &str) -> Result<(), Error> {
    let result = to.execute(sql);
    // A resumed run may have added this key before it was stopped.
    let again = req.resume.is_some() && result.as_ref().is_err_and(|e| already_there(&e.message));
    match (again, result) {
        (false, Err(e)) => Err(Error::Database {
            context: format!(
                "the rows of {} are loaded, but `{sql}` failed on {}",
                p.name, req.to
            ),
            source: e,
        }),
        _ => Ok(()),
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
    fn batch(
        &mut self,
        p: &TablePlan,
        rows: value::Rows,
        counted: Option<Tally>,
        tally: &mut Tally,
    ) -> Result<u64, Error> {
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
        match counted {
            Some(part) => next.merge(&part),
            None => {
                for row in &applied.rows {
                    next.add(row, &p.tally_classes);
                }
            }
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
            .write(&p.into, &applied.rows, &applied.updates, Some(&mark))
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
        // PostgreSQL: a primary key added before the run was stopped (42P16).
        "multiple primary keys",
        "ERROR 1061",
        "ERROR 1826",
        "Duplicate key name",
        // MariaDB: a foreign key whose constraint name exists already.
        "(errno: 121 ",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// The target table's tally, read back in the plan's classes.
fn target_tally(to: &mut dyn Endpoint, p: &TablePlan, url: &DatabaseUrl) -> Result<Tally, Error> {
    let mut target = Tally::new(p.columns.len());
    to.tally(&p.readback, &p.into.classes, &p.tally_classes, &mut target)
        .map_err(db(&format!("cannot read {} back from", p.name), url))?;
    Ok(target)
}

/// The run's load and reconciliation: each table loaded, then (on a second connection to
/// the target, where the engine allows it: `checker`) given its own keys and indexes and
/// read back, on a thread of its own, while the next table loads; once all are loaded,
/// each table's foreign keys follow as soon as it and its parents are keyed. So the key
/// builds and the read-back cost little more than the last table's. Returns the time of
/// the load, of the keys left after it, and of what was left of the reconciliation after
/// them, in milliseconds.
pub(super) fn run(
    load: &mut Load,
    plans: &[TablePlan],
    checker: Option<Box<dyn Endpoint>>,
    tables: &mut Vec<TableReport>,
) -> Result<[u64; 3], Error> {
    let (url, req) = (&load.req.to, load.req);
    // The tables whose keys this run adds: those it created, until it has added them.
    let to_key: Vec<String> = match load.record.finished {
        true => Vec::new(),
        false => load.record.created.clone(),
    };
    let mut lap = lap();
    let (loaded, keys, mut targets) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<usize>();
        let (keyed_tx, keyed_rx) = std::sync::mpsc::channel::<Result<usize, Error>>();
        let to_key = &to_key;
        let side = checker.map(|mut ep| {
            s.spawn(move || -> Result<Vec<(usize, Tally)>, Error> {
                let mut tallies = Vec::new();
                for i in rx {
                    let p = &plans[i];
                    if to_key.contains(&p.name) {
                        let keyed = local_keys(ep.as_mut(), req, p).map(|()| i);
                        let failed = keyed.is_err();
                        let _ = keyed_tx.send(keyed);
                        if failed {
                            break;
                        }
                    }
                    tallies.push((i, target_tally(ep.as_mut(), p, url)?));
                }
                Ok(tallies)
            })
        });
        for p in plans {
            tables.push(load.table(p)?);
            // Without a second connection the keys are added and the tables read back
            // after the load, on this one.
            let _ = tx.send(tables.len() - 1);
        }
        drop(tx);
        let loaded = lap();
        let finished = load.finish(plans, side.as_ref().map(|_| &keyed_rx));
        let keys = lap();
        let mut targets: Vec<Option<Tally>> = vec![None; plans.len()];
        if let Some(side) = side {
            for (i, t) in side.join().expect("the keying thread does not panic")? {
                targets[i] = Some(t);
            }
        }
        if !finished? {
            return Err(Error::Refused {
                message: format!(
                    "the rows are loaded into {url}, but the keys of some tables were not added"
                ),
                hint: "resume the run (`--resume`): it adds the keys that are missing".into(),
            });
        }
        Ok::<_, Error>((loaded, keys, targets))
    })?;
    for (i, (p, t)) in plans.iter().zip(tables.iter_mut()).enumerate() {
        let target = match targets[i].take() {
            Some(target) => target,
            None => target_tally(load.to, p, url)?,
        };
        reconcile(p, t, &load.saved_tally(p), &target);
    }
    Ok([loaded, keys, lap()])
}

/// Milliseconds since the last call (the first: since this was made).
fn lap() -> impl FnMut() -> u64 {
    let mut since = Instant::now();
    move || {
        let ms = since.elapsed().as_millis() as u64;
        since = Instant::now();
        ms
    }
}

/// Compare the target's tally of a loaded table with the source's.
fn reconcile(p: &TablePlan, t: &mut TableReport, source: &Tally, target: &Tally) {
    t.source_rows = source.rows;
    t.target_rows = target.rows;
    // Updated rows changed values the tally counted before the load: counts only.
    let compared = if source.updated > 0 {
        vec![false; p.compared.len()]
    } else {
        p.compared.clone()
    };
    t.mismatches = source
        .differences(target, &p.tally_classes, &compared)
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
}

#[cfg(test)]
mod tests {
    use super::already_there;

    /// A resumed MariaDB load that was killed after adding a foreign key meets it again.
    #[test]
    fn mariadb_duplicate_foreign_key_is_already_there() {
        assert!(already_there(
            "ERROR 1005 (HY000): Can't create table `db`.`child` (errno: 121 \"Duplicate key on write or update\")"
        ));
        assert!(!already_there(
            "ERROR 1005 (HY000): Can't create table `db`.`child` (errno: 150 \"Foreign key constraint is incorrectly formed\")"
        ));
    }
}
