//! Events: what a running operation reports as it goes. The core never prints; the CLI's
//! renderer (progress bar, log lines) and the run journal (`journal.jsonl`) listen to
//! these. Every event serialises, so the journal holds all of them as they were.

use std::time::Duration;

use serde::Serialize;

use crate::phase::{Phase, PhaseStatus, TargetStatus};

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The run lock is busy; `holder` says who has it, when the database can tell.
    LockWaiting { holder: Option<String> },
    /// The run lock was taken after waiting `waited`.
    LockAcquired {
        #[serde(serialize_with = "millis")]
        waited: Duration,
    },
    /// Work on `total` scripts is about to start.
    Planned { total: usize },
    /// Script `index` (0-based) of the plan starts.
    ScriptStarted {
        index: usize,
        id: String,
        name: String,
        rollback: bool,
    },
    /// Script `index` finished.
    ScriptFinished {
        index: usize,
        id: String,
        #[serde(serialize_with = "millis")]
        duration: Duration,
    },
    /// What the server said while a migration ran (PostgreSQL notices, MariaDB warnings).
    Notice { id: String, text: String },
    /// Bytes moved so far by a long transfer (`backup`, `restore check`, `restore`).
    Transfer { what: String, bytes: u64 },
    /// The transfer finished (or stopped).
    TransferDone,
    /// A phase of a governed run started (`status` None) or ended.
    Phase {
        phase: Phase,
        status: Option<PhaseStatus>,
        detail: Vec<String>,
        #[serde(serialize_with = "millis")]
        duration: Duration,
    },
    /// One check ran (preflight, verify, smoke, a watch round, maintenance proof).
    Check {
        phase: Phase,
        result: crate::verdict::CheckResult,
    },
    /// One round of the watch window: every check's value.
    WatchRound {
        round: u32,
        failed_in_a_row: u32,
        results: Vec<crate::verdict::CheckResult>,
    },
    /// A fleet run starts (or is resumed): its id, to resume it by.
    FleetStarted {
        id: String,
        targets: usize,
        waves: usize,
    },
    /// A fleet's wave starts.
    FleetWave {
        index: usize,
        name: String,
        targets: usize,
    },
    /// A fleet's target started (`status` Running) or ended.
    FleetTarget {
        name: String,
        wave: usize,
        status: TargetStatus,
        reason: Option<String>,
        #[serde(serialize_with = "millis")]
        duration: Duration,
    },
    /// The gate after a fleet's wave was decided.
    FleetGate {
        wave: usize,
        passed: bool,
        detail: Vec<String>,
    },
    /// A transfer starts (or resumes): its run id, to resume it by.
    TransferStarted {
        run: String,
        tables: usize,
        resumed: bool,
    },
    /// A table's load starts: the source's rows, and those an earlier attempt loaded.
    TableStarted { table: String, rows: u64, done: u64 },
    /// Rows of the table loaded so far, after each batch.
    TableRows { table: String, rows: u64 },
    /// The table is loaded.
    TableLoaded {
        table: String,
        rows: u64,
        #[serde(serialize_with = "millis")]
        duration: Duration,
    },
    /// Statement `statement` (1-based) of migration `id` gave up waiting for a lock (the
    /// guard's lock timeout); the statement (or, in a transaction, the whole script) is
    /// tried again after `pause`, as try `attempt` of at most `tries`.
    LockRetry {
        id: String,
        statement: usize,
        attempt: u32,
        tries: u32,
        #[serde(serialize_with = "millis")]
        pause: Duration,
        error: String,
    },
    /// A batched backfill of migration `id`: `done` rows of about `total`, at `rate` rows per
    /// second, about `left` to go; `finished` once a batch changed nothing.
    Backfill {
        id: String,
        done: u64,
        total: u64,
        rate: u64,
        #[serde(serialize_with = "millis")]
        left: Duration,
        finished: bool,
    },
    /// Something the operator should know that does not stop the run.
    Warning(String),
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Receives events. Implemented by the CLI renderer and the run journal; `()` ignores
/// everything.
pub trait Observer {
    fn event(&mut self, event: &Event);
}

impl Observer for () {
    fn event(&mut self, _: &Event) {}
}
