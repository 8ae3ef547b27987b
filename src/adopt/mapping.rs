//! Another tool's entries matched to the discovered migration files, and what adoption
//! does with each: record it as applied, leave it pending, leave it out, or stop.

use std::collections::HashMap;

use serde::Serialize;

use crate::history::{Entry, State};
use crate::migrations::Discovered;

use super::tool::Tool;
use super::{AdoptOptions, ForeignEntry, ForeignHistory, ForeignStatus, Treat};

/// What adoption does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Recorded in cutover's history as applied, not run.
    Record,
    /// Already in cutover's history.
    AlreadyRecorded,
    /// Left pending: `migrate` runs it.
    LeavePending,
    /// No file: left out (`--ignore-missing`).
    Ignore,
    /// Undecided: stops the adoption.
    Stop,
}

/// One line of the mapping.
#[derive(Debug, Clone, Serialize)]
pub struct Mapped {
    /// The entry as the tool shows it.
    pub entry: String,
    #[serde(flatten)]
    pub status: ForeignStatus,
    /// When the tool recorded it.
    pub at: Option<String>,
    /// cutover's id of the matching file, if there is one.
    pub migration: Option<String>,
    /// The file differs from the script the tool ran, by the checksum it recorded.
    pub edited: bool,
    pub action: Action,
}

/// The whole mapping, and the migrations it records.
#[derive(Debug, Clone, Serialize)]
pub struct Adoption {
    pub tool: String,
    pub table: String,
    pub entries: Vec<Mapped>,
    /// Why it cannot go ahead, one line per undecided entry.
    pub problems: Vec<String>,
    /// The ids of the migrations recorded as applied (or, in a dry run, to be).
    pub recorded: Vec<String>,
    /// Indexes into the discovered migrations, in order.
    #[serde(skip)]
    pub(crate) record: Vec<usize>,
}

pub(super) fn map(
    tool: &dyn Tool,
    table: &str,
    history: &ForeignHistory,
    found: &Discovered,
    states: &[Entry],
    opts: &AdoptOptions,
) -> Adoption {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, m) in found.migrations.iter().enumerate() {
        if let Some(k) = tool.key_of(m) {
            by_key.entry(k).or_insert(i);
        }
    }
    let pending = |i: usize| {
        states
            .iter()
            .any(|e| e.migration == Some(i) && e.state == State::Pending)
    };
    let mut out = Adoption {
        tool: tool.name().to_string(),
        table: table.to_string(),
        entries: Vec::new(),
        problems: Vec::new(),
        recorded: Vec::new(),
        record: Vec::new(),
    };
    let mut covered = vec![false; found.migrations.len()];
    for e in &history.entries {
        let file = by_key.get(&e.key).copied();
        if let Some(i) = file {
            covered[i] = true;
        }
        let edited = match (file, &e.checksum) {
            (Some(i), Some(sum)) => tool.same_script(sum, &found.migrations[i]) == Some(false),
            _ => false,
        };
        let mut action = decide(e, file, opts, &mut out.problems);
        if edited && action == Action::Record && !opts.accept_edited {
            out.problems.push(format!(
                "{}: the file differs from the script {} ran (by the checksum it recorded); \
                 --accept-edited records it as it is now",
                e.shown,
                tool.name()
            ));
            action = Action::Stop;
        }
        let action = match (action, file) {
            (Action::Record, Some(i)) if !pending(i) => Action::AlreadyRecorded,
            (a, _) => a,
        };
        if let (Action::Record, Some(i)) = (action, file) {
            out.record.push(i);
        }
        out.entries.push(Mapped {
            entry: e.shown.clone(),
            status: e.status.clone(),
            at: e.at.clone(),
            migration: file.map(|i| found.migrations[i].id.clone()),
            edited,
            action,
        });
    }
    if let Some(upto) = &history.upto {
        let named = std::mem::take(&mut out.entries);
        implied(upto, found, &covered, &pending, &mut out);
        // Below the version reached first, as the files are ordered.
        out.entries.extend(named);
    }
    out.record.sort_unstable();
    out.record.dedup();
    out.recorded = out
        .record
        .iter()
        .map(|&i| found.migrations[i].id.clone())
        .collect();
    out
}

/// Migrations at or below a version the tool records as reached (golang-migrate's row,
/// Flyway's baseline) that no entry names: applied.
fn implied(
    upto: &crate::migrations::Version,
    found: &Discovered,
    covered: &[bool],
    pending: &dyn Fn(usize) -> bool,
    out: &mut Adoption,
) {
    for (i, m) in found.migrations.iter().enumerate() {
        if covered[i] || m.version > *upto {
            continue;
        }
        let action = if pending(i) {
            out.record.push(i);
            Action::Record
        } else {
            Action::AlreadyRecorded
        };
        out.entries.push(Mapped {
            entry: format!("at or below {upto}"),
            status: ForeignStatus::Applied,
            at: None,
            migration: Some(m.id.clone()),
            edited: false,
            action,
        });
    }
}

/// What to do with one entry, by its status and whether its file exists.
fn decide(
    e: &ForeignEntry,
    file: Option<usize>,
    opts: &AdoptOptions,
    problems: &mut Vec<String>,
) -> Action {
    let mut stop = |why: String| {
        problems.push(format!("{}: {why}", e.shown));
        Action::Stop
    };
    if file.is_none() {
        return if opts.ignore_missing {
            Action::Ignore
        } else {
            stop(format!(
                "{} by the tool, and no migration file matches it (--ignore-missing leaves it out)",
                e.status.as_str()
            ))
        };
    }
    let (treat, flag) = match &e.status {
        ForeignStatus::Applied => return Action::Record,
        ForeignStatus::Failed(d) => (
            opts.failed,
            format!("failed ({d}); --failed applied|pending"),
        ),
        ForeignStatus::RolledBack(d) => (
            opts.rolled_back,
            format!("rolled back ({d}); --rolled-back pending|applied"),
        ),
    };
    match treat {
        Some(Treat::Applied) => Action::Record,
        Some(Treat::Pending) => Action::LeavePending,
        None => stop(flag),
    }
}
