//! The history table's rows, and how they compare with the migration files: the state of
//! every migration (applied, pending, changed, missing, failed, skipped).

use serde::Serialize;

use crate::migrations::{Migration, Squash, Version};

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
    /// A history row of a migration that a squash replaced with the baseline.
    Squashed,
    /// The baseline of a squash, on a database that stopped part-way through the
    /// migrations it replaced: neither the baseline nor the rest of them can run.
    PartlySquashed,
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
            State::Squashed => "squashed",
            State::PartlySquashed => "partly_squashed",
        }
    }

    /// States that `status --check` and `migrate` treat as a problem.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            State::Changed | State::Missing | State::Failed | State::PartlySquashed
        )
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
/// file is gone are placed by their version too. With a `squash`, the rows of squashed
/// migrations are `Squashed`, and the baseline is applied when all of them are.
pub fn reconcile(
    migrations: &[Migration],
    rows: &[HistoryRow],
    env: Option<&str>,
    squash: Option<&Squash>,
) -> Vec<Entry> {
    let squashed = squash.map(|s| squashed_range(s, migrations, rows));
    let rows: Vec<HistoryRow> = match &squashed {
        Some(range) => range.rows.clone(),
        None => rows.to_vec(),
    };
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
    if let Some(range) = squashed {
        if range.partly {
            for e in entries.iter_mut().filter(|e| e.id == range.baseline) {
                e.state = State::PartlySquashed;
            }
        }
        entries.extend(range.archived);
    }
    entries.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
    entries
}

/// The history seen through a squash: the rows left to reconcile with the files, the
/// squashed migrations' rows as entries of their own, and whether the database stopped
/// part-way through the squashed range.
struct SquashedRange {
    baseline: String,
    rows: Vec<HistoryRow>,
    archived: Vec<Entry>,
    partly: bool,
}

fn squashed_range(squash: &Squash, migrations: &[Migration], rows: &[HistoryRow]) -> SquashedRange {
    let baseline_sum = migrations
        .iter()
        .find(|m| m.id == squash.baseline)
        .map(|m| m.checksum.clone());
    // The baseline itself ran: its row is the baseline's, not a squashed migration's.
    let ran_baseline =
        |r: &HistoryRow| r.version == squash.baseline && Some(&r.checksum) == baseline_sum.as_ref();
    let (covered, mut kept): (Vec<HistoryRow>, Vec<HistoryRow>) = rows
        .iter()
        .cloned()
        .partition(|r| squash.covers(&r.version) && !ran_baseline(r));
    let applied = |id: &str| {
        covered
            .iter()
            .any(|r| r.version == id && r.status == RowStatus::Applied)
    };
    let all = squash.migrations.iter().all(|m| applied(&m.id));
    if all && let Some(sum) = &baseline_sum {
        // Every squashed migration ran: the baseline counts as applied, as of the last.
        let mut row = covered
            .iter()
            .find(|r| r.version == squash.baseline)
            .cloned()
            .expect("the baseline's own id is among the applied");
        row.checksum = sum.clone();
        kept.push(row);
    }
    let archived = covered
        .iter()
        .filter(|r| !(all && r.version == squash.baseline))
        .map(|r| Entry {
            state: State::Squashed,
            id: r.version.clone(),
            name: squash
                .migrations
                .iter()
                .find(|m| m.id == r.version)
                .map_or_else(|| r.name.clone(), |m| m.name.clone()),
            version: Version::parse(&r.version)
                .or_else(|| Version::parse("0"))
                .expect("0 is a version"),
            migration: None,
            row: Some(r.clone()),
        })
        .collect();
    SquashedRange {
        baseline: squash.baseline.clone(),
        partly: !all && !covered.is_empty(),
        rows: kept,
        archived,
    }
}

/// Whether a migration runs in the environment (`-- cutover:env`, Liquibase contexts and
/// labels).
pub fn runs_in(m: &Migration, env: Option<&str>) -> bool {
    m.runs_in(env)
}
