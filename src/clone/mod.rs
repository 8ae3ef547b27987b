//! `cutover clone --from ENV --to ENV`: another environment's database copied into this
//! one's, for tests: the schema as the engine's own dump tool writes it (`squash::dump`,
//! in two parts around the rows), the rows through the transfer's endpoints (all of them,
//! none with `--schema-only`, a foreign-key-closed sample with `--sample`, masked column
//! by column with `--mask`), and the source's migration history, so the target knows its
//! schema version. cutover's run records are not carried: the target keeps its own, and the
//! clone is recorded there as a governed run (`deploy::Work::Clone`).
//!
//! Refused before anything happens: a prod target (whatever it says), a target whose
//! `clone_target = false`, a source on another engine, and the source's own database.

pub mod mask;
mod rows;
mod sample;
mod target;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::config::{Kind, Settings};
use crate::engine::{ConnectOptions, DbError, Engine};
use crate::error::Error;
use crate::events::Event;
use crate::schema::Schema;
use crate::session::Session;
use crate::target::DatabaseUrl;
use crate::transfer::endpoint::Endpoint;
use crate::transfer::plan::{Sides, TablePlan};

/// What a clone copies besides the schema and the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every row.
    Full,
    /// No rows.
    SchemaOnly,
    /// At most this many rows per table, closed under the foreign keys.
    Sample(u64),
}

/// What to clone, from where.
#[derive(Debug, Clone)]
pub struct CloneRequest {
    /// The source environment's name: what the run row and reports say (never its URL).
    pub from_env: String,
    pub from: DatabaseUrl,
    pub mode: Mode,
    /// A mask file (TOML): rules per `table.column`.
    pub mask: Option<PathBuf>,
    /// Where the dump tools are (the source environment's `backup.tools`).
    pub tools: Option<PathBuf>,
}

/// Refusals that need only the settings: nothing is opened, nothing changes.
pub fn refuse(to: &Settings, req: &CloneRequest) -> Result<(), Error> {
    let name = to.env.as_deref().unwrap_or("the target");
    if to.kind == Kind::Prod {
        return Err(Error::Refused {
            message: format!(
                "cloning into {name} is refused: it is a prod environment (environments.{name}.kind); nothing was changed"
            ),
            hint: "clone into a dev, test or staging environment".into(),
        });
    }
    if !to.clone_target {
        return Err(Error::Refused {
            message: format!(
                "cloning into {name} is refused: its policy forbids it (environments.{name}.clone_target = false); nothing was changed"
            ),
            hint: format!(
                "clone into another environment, or set clone_target = true in [environments.{name}]"
            ),
        });
    }
    if req.from.kind() != to.url.kind() {
        return Err(Error::Refused {
            message: format!(
                "{} is {} and {name} is {}: a clone stays on one engine; nothing was changed",
                req.from_env,
                req.from.kind().name(),
                to.url.kind().name()
            ),
            hint: "`cutover transfer --create-tables` copies rows across engines".into(),
        });
    }
    if same_database(&req.from, &to.url) {
        return Err(Error::Refused {
            message: format!(
                "{} and {name} are the same database; nothing was changed",
                req.from_env
            ),
            hint: "a clone replaces everything in its target: give it another database".into(),
        });
    }
    Ok(())
}

/// Whether two URLs name one database (same host, port and database, or one SQLite file).
fn same_database(a: &DatabaseUrl, b: &DatabaseUrl) -> bool {
    match (a.sqlite_path(), b.sqlite_path()) {
        (Some(x), Some(y)) => {
            let canon = |p: &str| {
                let file = p.split('?').next().unwrap_or(p);
                std::fs::canonicalize(file).unwrap_or_else(|_| PathBuf::from(file))
            };
            canon(x) == canon(y)
        }
        _ => {
            let place = |u: &DatabaseUrl| {
                url::Url::parse(u.expose())
                    .ok()
                    .map(|p| (p.host_str().map(str::to_string), p.port(), u.database()))
            };
            place(a).is_some() && place(a) == place(b)
        }
    }
}

/// A clone checked before approval: the source opened read-only, its schema read, the
/// mask file checked against it.
pub struct Prepared {
    pub req: CloneRequest,
    source: Box<dyn Engine>,
    schema: Schema,
    mask: Option<mask::Mask>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("req", &self.req).finish()
    }
}

impl Prepared {
    /// What the preflight says about it, one line each.
    pub fn summary(&self) -> Vec<String> {
        let tables = self.schema.tables.len();
        let mut out = vec![format!(
            "source {} ({}): {tables} table(s); {}",
            self.req.from_env,
            self.req.from.kind().name(),
            match self.req.mode {
                Mode::Full => "every row".to_string(),
                Mode::SchemaOnly => "schema only, no rows".to_string(),
                Mode::Sample(n) => format!("at most {n} rows per table, closed under foreign keys"),
            }
        )];
        if let Some(m) = &self.mask {
            out.push(format!(
                "masked by {}: {}",
                m.file.display(),
                m.columns().join(", ")
            ));
        }
        out
    }
}

/// Open the source read-only, read its schema, check the mask file against it.
pub fn prepare(req: &CloneRequest) -> Result<Prepared, Error> {
    let opts = ConnectOptions {
        read_only: true,
        label: "cutover clone".into(),
        ..ConnectOptions::default()
    };
    let mut source = crate::engine::connect(&req.from, &opts).map_err(|source| Error::Connect {
        url: req.from.to_string(),
        source,
    })?;
    let schema = crate::schema::introspect(source.as_mut()).map_err(Error::db(format!(
        "cannot read the schema of {}",
        req.from_env
    )))?;
    let mask = match &req.mask {
        Some(file) => Some(mask::read(file, &schema, req.from.kind().dialect())?),
        None => None,
    };
    if req.mask.is_some() && req.mode == Mode::SchemaOnly {
        return Err(Error::Usage(
            "--mask masks rows, and --schema-only copies none: give one of them".into(),
        ));
    }
    Ok(Prepared {
        req: req.clone(),
        source,
        schema,
        mask,
    })
}

/// One table of a clone.
#[derive(Debug, Clone, Serialize)]
pub struct ClonedTable {
    pub table: String,
    /// Rows loaded into the target (each batch's or `COPY`'s own count).
    pub rows: u64,
}

/// What a clone did.
#[derive(Debug, Clone, Serialize)]
pub struct Cloned {
    /// The source environment's name.
    pub from: String,
    pub mode: Mode,
    pub tables: Vec<ClonedTable>,
    /// `table.column rule` of each masked column.
    pub masked: Vec<String>,
    /// Rows of the source's migration history copied.
    pub history: usize,
    pub notes: Vec<String>,
    pub duration_ms: u64,
}

impl Cloned {
    /// One line for the run's report.
    pub fn line(&self) -> String {
        let rows: u64 = self.tables.iter().map(|t| t.rows).sum();
        let mut line = format!(
            "cloned {} into this database: {} table(s), {rows} row(s), {} history row(s)",
            self.from,
            self.tables.len(),
            self.history
        );
        if !self.masked.is_empty() {
            line.push_str(&format!("; masked {}", self.masked.join(", ")));
        }
        line
    }
}

fn source_err(req: &CloneRequest) -> impl FnOnce(DbError) -> Error + use<> {
    Error::db(format!("cannot read the source {}", req.from_env))
}

/// Replace the session's target with the prepared clone, under the session's run lock.
/// The target's own run records are kept; the source's history replaces the target's.
pub fn run_in(session: &mut Session, mut p: Prepared) -> Result<Cloned, Error> {
    let started = Instant::now();
    let url = session.settings().url.clone();
    let dump = crate::driver::of(url.kind()).squash;
    let (pre, post) = dump.sections(p.source.as_mut(), &p.req.from, p.req.tools.as_deref())?;
    let history = if p.source.history_exists().map_err(source_err(&p.req))? {
        p.source.load_history().map_err(source_err(&p.req))?
    } else {
        Vec::new()
    };
    session.prepare_write()?;
    let runs = crate::records::list(session.engine()).unwrap_or_default();
    target::replace(session.engine(), &pre)?;
    let mut cloned = Cloned {
        from: p.req.from_env.clone(),
        mode: p.req.mode,
        tables: Vec::new(),
        masked: p.mask.as_ref().map(|m| m.columns()).unwrap_or_default(),
        history: history.len(),
        notes: Vec::new(),
        duration_ms: 0,
    };
    let loaded = match p.req.mode {
        Mode::SchemaOnly => None,
        _ => Some(load(session, &mut p, &url, &mut cloned)?),
    };
    target::finish(session.engine(), &post)?;
    if let Some((mut to, plans)) = loaded {
        // The second part set every sequence where the source's stood; keys masked by a
        // hash may lie past it, so those tables' sequences move past their keys.
        let masked = |name: &str| p.mask.as_ref().is_some_and(|m| m.masks(name));
        for plan in plans.iter().filter(|plan| masked(&plan.name)) {
            to.after_load(&plan.into.table, &plan.columns)
                .map_err(Error::db(format!(
                    "cannot move the sequences of {}",
                    plan.name
                )))?;
        }
    }
    target::history(session.engine(), &history)?;
    crate::backup::keep_records(session, &runs)?;
    session.refresh()?;
    cloned.duration_ms = started.elapsed().as_millis() as u64;
    Ok(cloned)
}

/// Open an endpoint of `url`'s engine (by its driver row).
fn endpoint(url: &DatabaseUrl, write: bool) -> Result<Box<dyn Endpoint>, Error> {
    (crate::driver::of(url.kind()).transfer)(url, write).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })
}

/// The source's schema as the rows are read: computed columns left to the target.
fn loadable(schema: &Schema) -> Schema {
    let mut s = schema.clone();
    for t in &mut s.tables {
        t.columns.retain(|c| {
            !c.generated.as_deref().is_some_and(|g| {
                let g = g.to_ascii_lowercase();
                g.contains("stored") || g.contains("virtual") || g.contains(" as ")
            })
        });
    }
    s
}

/// Every table's rows, parents first; returns the target endpoint and the plans (for the
/// sequences, once the keys are in).
fn load(
    session: &mut Session,
    p: &mut Prepared,
    url: &DatabaseUrl,
    cloned: &mut Cloned,
) -> Result<(Box<dyn Endpoint>, Vec<TablePlan>), Error> {
    let source = loadable(&p.schema);
    let target_schema = crate::schema::introspect(session.engine()).map_err(Error::db(
        "cannot read the target's schema after loading the source's",
    ))?;
    let mut from = endpoint(&p.req.from, false)?;
    let mut to = endpoint(url, true)?;
    // Rows arrive parents first, but a cycle or a self-reference can still point ahead.
    match url.kind().dialect() {
        crate::sql::Dialect::MySql => to.execute("SET SESSION foreign_key_checks = 0"),
        crate::sql::Dialect::Sqlite => to.execute("PRAGMA foreign_keys = OFF"),
        crate::sql::Dialect::Postgres => Ok(()),
    }
    .map_err(Error::db(
        "cannot prepare the target's connection for the load",
    ))?;
    // Every table read in one snapshot, so that a source under writes still gives rows
    // whose foreign keys hold.
    from.execute(match url.kind().dialect() {
        crate::sql::Dialect::Postgres => {
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        }
        crate::sql::Dialect::MySql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        crate::sql::Dialect::Sqlite => "BEGIN",
    })
    .map_err(source_err(&p.req))?;
    let partitions = from.partitions().map_err(source_err(&p.req))?;
    let plans = crate::transfer::plan::plan(
        &Sides {
            source: &source,
            target: &target_schema,
            from: from.as_ref(),
            to: to.as_ref(),
            partitions: &partitions,
        },
        &[],
        false,
        &[],
        &mut cloned.notes,
    )?;
    let mut sampler = match p.req.mode {
        Mode::Sample(n) => Some(sample::Sampler::new(n)),
        _ => None,
    };
    let observer = session.observer();
    for plan in &plans {
        let table = source
            .tables
            .iter()
            .find(|t| t.name.name == plan.name)
            .expect("planned from this schema");
        let started = Instant::now();
        let mask = p
            .mask
            .as_ref()
            .map(|m| m.for_table(&plan.name, &plan.columns))
            .filter(|m| !m.is_empty());
        let sample = sampler.as_mut().map(|s| {
            let t = s.table(&source, table, &plan.columns);
            (s, t)
        });
        let expected = source_rows(from.as_mut(), plan, &p.req)?;
        observer.event(&Event::TableStarted {
            table: plan.name.clone(),
            rows: expected,
            done: 0,
        });
        let raw = raw_copy(url, table, mask.is_none(), p.req.mode);
        let copy = rows::Copy {
            from: from.as_mut(),
            to: to.as_mut(),
            mask,
            sample,
            raw,
        };
        let written = rows::table(plan, copy, observer)?;
        // Read in the same snapshot as the rows: a full clone has exactly the source's.
        if p.req.mode == Mode::Full && written != expected {
            return Err(Error::Database {
                context: format!("the clone of {} does not add up", plan.name),
                source: DbError::new(format!("{expected} rows in the source, {written} written")),
            });
        }
        observer.event(&Event::TableLoaded {
            table: plan.name.clone(),
            rows: written,
            duration: started.elapsed(),
        });
        cloned.tables.push(ClonedTable {
            table: plan.name.clone(),
            rows: written,
        });
    }
    Ok((to, plans))
}

/// The `COPY … TO STDOUT` that carries a table's rows as bytes, when nothing needs their
/// values: PostgreSQL on both sides (a clone stays on one engine), every row (a sample
/// reads the keys it keeps), nothing masked on the table.
fn raw_copy(
    url: &DatabaseUrl,
    table: &crate::schema::Table,
    unmasked: bool,
    mode: Mode,
) -> Option<String> {
    let d = crate::sql::Dialect::Postgres;
    if url.kind().dialect() != d || !unmasked || mode != Mode::Full {
        return None;
    }
    let columns: Vec<String> = table.columns.iter().map(|c| d.quote(&c.name)).collect();
    Some(format!(
        "COPY (SELECT {} FROM {}) TO STDOUT",
        columns.join(", "),
        table.name.sql(d)
    ))
}

/// The source's row count of a table, for the progress bar.
fn source_rows(
    from: &mut dyn Endpoint,
    plan: &TablePlan,
    req: &CloneRequest,
) -> Result<u64, Error> {
    let mut n = 0;
    from.read(
        &plan.count,
        &[crate::transfer::value::Class::Int],
        1,
        &mut |rows| {
            if let Some(crate::transfer::value::Value::Int(c)) =
                rows.first().and_then(|r| r.first())
            {
                n = *c as u64;
            }
            true
        },
    )
    .map_err(source_err(req))?;
    Ok(match req.mode {
        Mode::Sample(limit) => n.min(limit),
        _ => n,
    })
}
