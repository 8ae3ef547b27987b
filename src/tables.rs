//! The names of cutover's own tables in a target. They are left out of schema
//! fingerprints and drift, kept across restores, and written only through bound
//! parameters (`records`, `deploy::seed`, the engines' history code).

/// What was applied, when, by whom, in which run, and where a failed one stopped.
pub const HISTORY_TABLE: &str = "cutover_migrations";

/// One row per governed run (deploy, rollback, seed, resolve, baseline, restore): its
/// progress while it runs, its outcome after.
pub const RUNS_TABLE: &str = "cutover_runs";

/// Which version of each seed script ran.
pub const SEEDS_TABLE: &str = "cutover_seeds";

/// The table a restore that cannot be one transaction (MariaDB/MySQL) keeps in the target
/// while it runs; left behind, it means the restore did not finish.
pub const RESTORE_MARKER: &str = "cutover_restore_in_progress";

/// `cutover transfer`'s checkpoints in its target: one row per run and table, with the
/// rows loaded so far and the reconciliation's running figures.
pub const TRANSFER_TABLE: &str = "cutover_transfer";

/// cutover's tables, for the code that must leave them alone.
pub const ALL: [&str; 5] = [
    HISTORY_TABLE,
    RUNS_TABLE,
    SEEDS_TABLE,
    RESTORE_MARKER,
    TRANSFER_TABLE,
];
