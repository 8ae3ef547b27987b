//! A session: what one command holds while it works on one target. It is opened once per
//! command and every operation (status, migrate, rollback, resolve, baseline, backup,
//! validate, seed, each deploy phase) takes it instead of reconnecting.
//!
//! It holds one connection, the run lock for the whole command when the command changes the
//! target (taken before the history is read, released when the session drops, on every
//! path), the migrations discovered once (the environment's `include` applied, so rollbacks
//! see exactly what migrate sees), and the history reconciled with them. Files are read and
//! rejected before any connection is made.
//!
//! A session opened to change a target that does not exist yet (a SQLite file) does not
//! create it until the first write, so bad input and dry runs leave nothing behind.

mod lock;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::Settings;
use crate::engine::{self, ConnectOptions, Engine};
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::history::{self, Entry};
use crate::migrations::Discovered;

/// What a command will do to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only: no lock, nothing created.
    Read,
    /// Change it: the run lock is taken at open and held until the session ends.
    Change,
}

/// Who is running, stamped on every history row and record.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub applied_by: String,
}

/// Whether a command needs the migrations folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    /// A missing folder is an error (migrate, deploy, rollback, …).
    Required,
    /// A missing folder reads as no migrations (validate, schema, backup restore, …).
    Optional,
}

/// One command's hold on one target.
pub struct Session<'o> {
    settings: Settings,
    engine: Box<dyn Engine>,
    found: Discovered,
    entries: Vec<Entry>,
    access: Access,
    locked: bool,
    /// SQL that puts a connection back to the environment's starting point before each
    /// migration: `init_sql`, then the deploy's statement timeout.
    baseline: Vec<String>,
    ctx: RunContext,
    observer: &'o mut dyn Observer,
    stop: Arc<AtomicBool>,
    /// The process got SIGINT/SIGTERM and this session has acted on it (it is undoing).
    signal_handled: AtomicBool,
    /// A transaction around the whole command is open (a one-transaction deploy): each
    /// migration runs inside it instead of in its own.
    outer_transaction: bool,
}

impl<'o> Session<'o> {
    /// Read the migrations, connect, take the run lock when `access` is `Change`, and
    /// reconcile the history. Refuses a target a restore left half-done, and warns about
    /// a governed run that was killed (`cutover deploy` finishes it).
    pub fn open(
        settings: &Settings,
        access: Access,
        observer: &'o mut dyn Observer,
    ) -> Result<Session<'o>, Error> {
        let mut session = Session::open_run(
            settings,
            access,
            observer,
            uuid::Uuid::now_v7().to_string(),
            Files::Required,
        )?;
        session.refuse_unfinished_restore()?;
        session.warn_unfinished_runs();
        Ok(session)
    }

    /// A read-only session for checks (`validate`, `diff`, `schema`): a missing migrations
    /// folder reads as no migrations instead of an error.
    pub fn open_for_checks(
        settings: &Settings,
        observer: &'o mut dyn Observer,
    ) -> Result<Session<'o>, Error> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut session = Session::open_run(settings, Access::Read, observer, id, Files::Optional)?;
        session.refuse_unfinished_restore()?;
        Ok(session)
    }

    /// `open` for a governed run with its own id, which deals with unfinished restores and
    /// runs itself.
    pub fn open_run(
        settings: &Settings,
        access: Access,
        observer: &'o mut dyn Observer,
        run_id: String,
        files: Files,
    ) -> Result<Session<'o>, Error> {
        let found = if files == Files::Optional && !settings.migrations.is_dir() {
            Discovered {
                layout: crate::migrations::Layout::Native,
                migrations: Vec::new(),
                ignored: Vec::new(),
                squash: None,
            }
        } else {
            let dialect = settings.url.kind().dialect();
            crate::migrations::discover_only(&settings.migrations, dialect, &settings.include)?
        };
        Session::start(settings, access, observer, run_id, found)
    }

    fn start(
        settings: &Settings,
        access: Access,
        observer: &'o mut dyn Observer,
        run_id: String,
        found: Discovered,
    ) -> Result<Session<'o>, Error> {
        let ctx = RunContext {
            run_id,
            applied_by: crate::applied_by(),
        };
        let mut engine = match connect_url(settings, &settings.url, access, &ctx) {
            Err(Error::Connect { source, .. })
                if source.is_unknown_database()
                    && settings.create_database
                    && access == Access::Change =>
            {
                create_database(settings, observer)?;
                connect_url(settings, &settings.url, access, &ctx)?
            }
            other => other?,
        };
        let mut found = found;
        if found.needs_server() {
            // Liquibase `dbms` tells MariaDB from MySQL, which only the server can say.
            let version = engine
                .server_version()
                .map_err(Error::db("cannot read the server version"))?;
            found.for_server(&version);
        }
        let stop = Arc::new(AtomicBool::new(false));
        if access == Access::Change {
            // A signal stops the command after the step under way (never half-way through
            // a migration); the session checks the flag between steps.
            watch_signals();
        }
        let mut session = Session {
            baseline: settings.init_sql.clone(),
            settings: settings.clone(),
            engine,
            found,
            entries: Vec::new(),
            access,
            locked: false,
            ctx,
            observer,
            stop,
            signal_handled: AtomicBool::new(false),
            outer_transaction: false,
        };
        if access == Access::Change {
            session.lock()?;
        }
        session.refresh()?;
        Ok(session)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// The connection. Writers call `prepare_write` first.
    pub fn engine(&mut self) -> &mut dyn Engine {
        self.engine.as_mut()
    }

    /// The SQL dialect of the target's engine.
    pub fn dialect(&self) -> crate::sql::Dialect {
        self.settings.url.kind().dialect()
    }

    pub fn run_id(&self) -> &str {
        &self.ctx.run_id
    }

    pub fn context(&self) -> &RunContext {
        &self.ctx
    }

    /// The migrations, as discovered when the session opened.
    pub fn migrations(&self) -> &Discovered {
        &self.found
    }

    pub(crate) fn migrations_mut(&mut self) -> &mut Discovered {
        &mut self.found
    }

    /// Every migration and history row, reconciled (as of the last `refresh`).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Tell the observer.
    pub fn event(&mut self, event: Event) {
        self.observer.event(&event);
    }

    pub fn observer(&mut self) -> &mut dyn Observer {
        &mut *self.observer
    }

    /// The engine and the observer at once, for operations that report while they work.
    pub(crate) fn parts(&mut self) -> (&mut dyn Engine, &mut dyn Observer, &Discovered) {
        (self.engine.as_mut(), &mut *self.observer, &self.found)
    }

    /// Whether SIGINT or SIGTERM (or `request_stop`) asked the command to stop after the
    /// step under way.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || (signalled() && !self.signal_handled.load(Ordering::Relaxed))
    }

    /// Ask the command to stop after the step under way (as a signal would).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Forget a stop request: a run that a signal stopped still undoes what it changed, and
    /// that undo is not cut short by the same signal.
    pub fn clear_stop(&self) {
        self.stop.store(false, Ordering::Relaxed);
        // The process's signal was this session's to act on, and it has.
        self.signal_handled.store(true, Ordering::Relaxed);
    }

    /// Say that a transaction around the whole command is open (or closed again).
    pub fn set_outer_transaction(&mut self, open: bool) {
        self.outer_transaction = open;
    }

    pub(crate) fn in_outer_transaction(&self) -> bool {
        self.outer_transaction
    }

    /// Whether this session holds the run lock.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Refuse to work on a database a restore left half-done (MariaDB/MySQL, whose restore
    /// cannot be one transaction).
    pub fn refuse_unfinished_restore(&mut self) -> Result<(), Error> {
        Error::refuse_interrupted(self.engine.as_mut())
    }

    /// Governed runs that were killed: marked running while this session holds the run
    /// lock, or (a read-only command, `status`) while nobody does, so their process is gone.
    fn warn_unfinished_runs(&mut self) {
        let Ok(runs) = crate::records::unfinished(self.engine.as_mut()) else {
            return;
        };
        if runs.is_empty() || !(self.locked || self.lock_is_free()) {
            return;
        }
        for r in runs {
            let maintenance = if r.maintenance_on {
                " and left maintenance mode ON"
            } else {
                ""
            };
            self.observer.event(&Event::Warning(format!(
                "run {} ({}, started {} by {}) was interrupted at {}{maintenance}; `cutover deploy` \
                 in its environment finishes it",
                r.id,
                r.kind.as_str(),
                r.started_at,
                r.applied_by,
                r.phase.as_deref().unwrap_or("its start")
            )));
        }
    }

    /// Re-read the history (after a change, or after something else changed the target).
    pub fn refresh(&mut self) -> Result<(), Error> {
        self.engine
            .attach_if_created()
            .map_err(Error::db("cannot open the database"))?;
        let rows = match self.engine.load_history() {
            Ok(rows) => rows,
            Err(e) => {
                let exists = self
                    .engine
                    .history_exists()
                    .map_err(Error::db("cannot look for the history table"))?;
                if exists {
                    return Err(Error::db(
                        "cannot read the history table cutover_migrations",
                    )(e));
                }
                Vec::new()
            }
        };
        self.entries = history::reconcile(
            &self.found.migrations,
            &rows,
            self.settings.env.as_deref(),
            self.found.squash.as_ref(),
        );
        Ok(())
    }

    /// Make the target ready to be written: the SQLite file exists and the history table
    /// is there. Refused in a read-only session.
    pub fn prepare_write(&mut self) -> Result<(), Error> {
        if self.access == Access::Read {
            return Err(Error::Refused {
                message: "this command opened the target read-only".into(),
                hint: "this is a bug in cutover: a read-only command tried to write".into(),
            });
        }
        self.engine
            .materialize()
            .map_err(Error::db("cannot create the database"))?;
        self.engine.ensure_history().map_err(Error::db(
            "cannot create the history table cutover_migrations",
        ))
    }

    /// Bound every statement from now on (and after each reset) to `limit`, where the
    /// engine has such a setting.
    pub fn set_statement_timeout(&mut self, limit: Duration) -> Result<(), Error> {
        if let Some(sql) = self.engine.statement_timeout_sql(limit) {
            self.engine
                .execute(&sql)
                .map_err(Error::db("cannot set the statement timeout"))?;
            self.baseline.push(sql);
        }
        Ok(())
    }

    /// Turn the environment's guard on for the rest of the session: its lock timeout goes
    /// into the baseline, before `init_sql` (which may set its own). Returns the guard when
    /// this engine has a lock timeout to set and the guard is not off.
    pub(crate) fn arm_guard(&mut self) -> Result<Option<crate::config::Guard>, Error> {
        let guard = self.settings.guard.clone();
        let kind = self.settings.url.kind();
        let Some(sql) = guard
            .lock_timeout
            .and_then(|limit| (crate::driver::of(kind).lock_timeout)(limit))
        else {
            return Ok(None);
        };
        if !self.baseline.contains(&sql) {
            self.baseline.insert(0, sql);
            self.reset()?;
        }
        Ok(Some(guard))
    }

    /// The settings every script starts from (`init_sql`, timeouts).
    pub(crate) fn session_baseline(&self) -> &[String] {
        &self.baseline
    }

    /// Put the connection's settings back to the environment's starting point, so that a
    /// migration's `SET` does not leak into the next one.
    pub(crate) fn reset(&mut self) -> Result<(), Error> {
        self.engine
            .reset_session(&self.baseline)
            .map_err(Error::db("cannot reset the session's settings"))
    }

    /// Another connection to the same target, with the environment's settings (for the
    /// rare work that cannot share the session's, such as a second snapshot).
    pub fn connect_again(&self, access: Access) -> Result<Box<dyn Engine>, Error> {
        connect_url(&self.settings, &self.settings.url, access, &self.ctx)
    }

    /// Whether nobody holds the run lock (taken and given back at once).
    fn lock_is_free(&mut self) -> bool {
        let free = self.engine.try_lock().unwrap_or(false);
        if free {
            let _ = self.engine.unlock();
        }
        free
    }

    fn lock(&mut self) -> Result<(), Error> {
        lock::acquire(
            self.engine.as_mut(),
            self.settings.run_lock_timeout,
            &mut *self.observer,
        )?;
        self.locked = true;
        Ok(())
    }
}

/// Set by SIGINT or SIGTERM, for every session of the process.
static SIGNALLED: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// Register the handlers once per process (sessions come and go; handlers would pile up).
fn watch_signals() {
    SIGNALLED.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(signal, flag.clone());
        }
        flag
    });
}

pub(crate) fn signalled() -> bool {
    SIGNALLED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.locked {
            // Closing the connection releases it too; this only makes it prompt.
            let _ = self.engine.rollback();
            let _ = self.engine.unlock();
        }
    }
}

/// Connect to `url` with the environment's session settings, outside any run: for reading
/// another database's schema and running checks. `read_only` creates nothing.
pub fn connect(
    settings: &Settings,
    url: &crate::target::DatabaseUrl,
    read_only: bool,
) -> Result<Box<dyn Engine>, Error> {
    let ctx = RunContext {
        run_id: uuid::Uuid::now_v7().to_string(),
        applied_by: crate::applied_by(),
    };
    let opts = ConnectOptions {
        read_only,
        ..options(settings, &ctx)
    };
    engine::connect(url, &opts).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })
}

/// A session's connection: read-only, or a writer that creates nothing until it writes.
/// Create the database the settings' URL names, through the server's administrative
/// database (`create_database = true`).
fn create_database(settings: &Settings, observer: &mut dyn Observer) -> Result<(), Error> {
    let url = &settings.url;
    let (Some(name), Some(admin)) = (url.database(), crate::driver::of(url.kind()).admin_database)
    else {
        return Ok(());
    };
    let admin_url = url.with_database(admin)?;
    let mut engine = engine::connect(&admin_url, &ConnectOptions::default()).map_err(|source| {
        Error::Connect {
            url: admin_url.to_string(),
            source,
        }
    })?;
    let quoted = url.kind().dialect().quote(&name);
    engine
        .execute(&format!("CREATE DATABASE {quoted}"))
        .map_err(Error::db(format!(
            "cannot create the database {name} (create_database = true): the user needs the right to create databases"
        )))?;
    observer.event(&Event::Warning(format!(
        "created the database {name}, which did not exist (create_database = true)"
    )));
    Ok(())
}

fn connect_url(
    settings: &Settings,
    url: &crate::target::DatabaseUrl,
    access: Access,
    ctx: &RunContext,
) -> Result<Box<dyn Engine>, Error> {
    let opts = ConnectOptions {
        read_only: access == Access::Read,
        defer_create: access == Access::Change,
        ..options(settings, ctx)
    };
    engine::connect(url, &opts).map_err(|source| Error::Connect {
        url: url.to_string(),
        source,
    })
}

fn options(settings: &Settings, ctx: &RunContext) -> ConnectOptions {
    ConnectOptions {
        init_sql: settings.init_sql.clone(),
        read_only: true,
        defer_create: false,
        label: format!(
            "cutover {} run {} by {}",
            env!("CARGO_PKG_VERSION"),
            ctx.run_id,
            ctx.applied_by
        ),
    }
}
