//! Events: what a running operation reports as it goes. The core never prints; the CLI's
//! renderer (progress bar, log lines) and later the journal listen to these.

use std::time::Duration;

/// Something that happened during a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The run lock is busy; `holder` says who has it, when the database can tell.
    LockWaiting { holder: Option<String> },
    /// The run lock was taken after waiting `waited`.
    LockAcquired { waited: Duration },
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
        duration: Duration,
    },
    /// Bytes moved so far by a long transfer (`backup`, `restore check`, `restore`).
    Transfer { what: String, bytes: u64 },
    /// The transfer finished (or stopped).
    TransferDone,
    /// A deploy phase started (`status` None) or ended (`ok`, `failed`, `skipped`).
    Phase {
        name: String,
        status: Option<String>,
        detail: String,
        duration: Duration,
    },
    /// Something the operator should know that does not stop the run.
    Warning(String),
}

/// Receives events. Implemented by the CLI renderer; `()` ignores everything.
pub trait Observer {
    fn event(&mut self, event: &Event);
}

impl Observer for () {
    fn event(&mut self, _: &Event) {}
}
