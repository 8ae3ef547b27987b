//! The history table's rows, and how they compare with the migration files: the state of
//! every migration (applied, pending, changed, missing, failed, skipped).

use serde::Serialize;

use crate::migrations::{Migration, Version};

/// What a history row says happened to a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Fully applied.
    Applied,
    /// Stopped part-way (or was interrupted) and needs an operator: see `failed_*`.
    Failed,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Applied => "applied",
            RowStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> RowStatus {
        if s == "applied" {
            RowStatus::Applied
        } else {
            RowStatus::Failed
        }
    }
}

/// Which direction a failed row was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Direction {
        if s == "down" {
            Direction::Down
        } else {
            Direction::Up
        }
    }
}

/// One row of `cutover_migrations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    /// The migration's identity (`Migration::id`).
    pub version: String,
    pub name: String,
    /// Checksum of the up script that was applied.
    pub checksum: String,
    pub status: RowStatus,
    /// For a failed row, the direction that stopped.
    pub direction: Direction,
    /// UTC, RFC 3339 with microseconds (`2026-11-21T19:52:00.123456Z`).
    pub applied_at: String,
    pub duration_ms: i64,
    /// `user@host` of the operator's machine.
    pub applied_by: String,
    pub run_id: String,
    /// For a failed row: the 1-based statement it stopped at, its line in the file, the
    /// file, and the database's message.
    pub failed_statement: Option<i64>,
    pub failed_line: Option<i64>,
    pub failed_file: Option<String>,
    pub error: Option<String>,
}

/// The state of one migration, files against history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but its up script has been edited since.
    Changed,
    /// Applied, but its file is gone.
    Missing,
    /// Stopped part-way; needs `cutover resolve`.
    Failed,
    /// Not for this environment (`-- cutover:env`).
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Changed => "changed",
            State::Missing => "missing",
            State::Failed => "failed",
            State::Skipped => "skipped",
        }
    }

    /// States that `status --check` and `migrate` treat as a problem.
    pub fn is_problem(self) -> bool {
        matches!(self, State::Changed | State::Missing | State::Failed)
    }
}

/// One migration (or history row without a file) and its state.
#[derive(Debug, Clone)]
pub struct Entry {
    pub state: State,
    pub id: String,
    pub name: String,
    pub version: Version,
    /// Index into the discovered migrations, when the file exists.
    pub migration: Option<usize>,
    pub row: Option<HistoryRow>,
}

/// Compare the files with the history rows. The result is ordered by version; rows whose
/// file is gone are placed by their version too.
pub fn reconcile(migrations: &[Migration], rows: &[HistoryRow], env: Option<&str>) -> Vec<Entry> {
    let mut by_id: std::collections::HashMap<&str, &HistoryRow> =
        rows.iter().map(|r| (r.version.as_str(), r)).collect();
    let mut entries: Vec<Entry> = migrations
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let row = by_id.remove(m.id.as_str());
            let state = match row {
                Some(r) if r.status == RowStatus::Failed => State::Failed,
                // A repeatable (Flyway `R__`, Liquibase `runOnChange`) runs again.
                Some(r) if r.checksum != m.checksum && m.kind.reruns_on_change() => {
                    if runs_in(m, env) {
                        State::Pending
                    } else {
                        State::Skipped
                    }
                }
                Some(r) if r.checksum != m.checksum => State::Changed,
                Some(_) => State::Applied,
                None if !runs_in(m, env) => State::Skipped,
                None => State::Pending,
            };
            Entry {
                state,
                id: m.id.clone(),
                name: m.name.clone(),
                version: m.version.clone(),
                migration: Some(i),
                row: row.cloned(),
            }
        })
        .collect();
    for row in by_id.into_values() {
        entries.push(Entry {
            state: if row.status == RowStatus::Failed {
                State::Failed
            } else {
                State::Missing
            },
            id: row.version.clone(),
            name: row.name.clone(),
            // Ids come from discovered files, so they parse; a hand-made row without digits sorts first.
            version: Version::parse(&row.version)
                .or_else(|| Version::parse("0"))
                .expect("0 is a version"),
            migration: None,
            row: Some(row.clone()),
        });
    }
    entries.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
    entries
}

/// Whether a migration runs in the environment (`-- cutover:env`, Liquibase contexts and
/// labels).
pub fn runs_in(m: &Migration, env: Option<&str>) -> bool {
    m.runs_in(env)
}
