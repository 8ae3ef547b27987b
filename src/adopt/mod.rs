//! `cutover adopt`: take over the history another migration tool recorded in the target,
//! so that cutover carries on where that tool stopped without running anything again.
//!
//! One module per tool behind the `Tool` trait (`tool.rs`), each reading its own table as
//! the tool's source writes it: Prisma, Flyway, golang-migrate, dbmate, sqlx, goose,
//! Diesel, Liquibase, sqitch and Laravel. `mapping.rs` matches the entries to the
//! discovered migration files and decides, entry by entry, what adoption does; entries it
//! cannot decide alone (failed, dirty, rolled back, no file) stop it unless the operator
//! said how to treat them. The adoption itself only writes cutover's history rows.
//!
//! `refuse_foreign` is what `migrate` and a deploy's preflight call on a target with no
//! cutover history: another tool's history there means the migrations have run already.

mod dbmate;
mod diesel;
mod flyway;
mod golang_migrate;
mod goose;
mod laravel;
mod liquibase;
mod mapping;
mod prisma;
mod sqitch;
mod sqlx;
mod tool;

pub use mapping::{Action, Adoption, Mapped};

use serde::Serialize;

use crate::error::Error;
use crate::migrations::Version;
use crate::session::Session;
use tool::{TOOLS, Target, Tool};

/// What another tool's history says of one migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum ForeignStatus {
    Applied,
    /// Failed part-way, or left dirty; what the tool recorded.
    Failed(String),
    /// Undone, or marked rolled back.
    RolledBack(String),
}

impl ForeignStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ForeignStatus::Applied => "applied",
            ForeignStatus::Failed(_) => "failed",
            ForeignStatus::RolledBack(_) => "rolled back",
        }
    }
}

/// One entry of another tool's history.
#[derive(Debug, Clone)]
pub(crate) struct ForeignEntry {
    /// What it is matched on (`Tool::key_of` gives the same for its file).
    pub key: String,
    /// As the tool shows it.
    pub shown: String,
    pub status: ForeignStatus,
    /// When, as the tool recorded it.
    pub at: Option<String>,
    /// The checksum the tool recorded of the script it ran, where `Tool::same_script`
    /// can check a file against it.
    pub checksum: Option<String>,
}

/// Another tool's history, read.
#[derive(Debug, Clone, Default)]
pub(crate) struct ForeignHistory {
    pub entries: Vec<ForeignEntry>,
    /// Every migration at or below this version is applied (golang-migrate's one row,
    /// Flyway's baseline).
    pub upto: Option<Version>,
}

impl ForeignHistory {
    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.upto.is_none()
    }
}

/// Another tool's history found in a target with no cutover history.
#[derive(Debug, Clone, Serialize)]
pub struct Foreign {
    pub tool: String,
    pub table: String,
    /// How many entries it holds (golang-migrate's one row stands for every version up to it).
    pub entries: usize,
}

/// How to treat entries adoption cannot decide alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treat {
    /// Record as applied: the operator finished (or checked) it by hand.
    Applied,
    /// Leave it pending: the next `migrate` runs it.
    Pending,
}

/// What `cutover adopt` was told.
#[derive(Debug, Clone, Default)]
pub struct AdoptOptions {
    /// The tool whose history to adopt, when the target holds more than one (`--from`).
    pub from: Option<String>,
    /// Failed or dirty entries (`--failed`).
    pub failed: Option<Treat>,
    /// Rolled-back entries (`--rolled-back`).
    pub rolled_back: Option<Treat>,
    /// Entries with no migration file are left out (`--ignore-missing`).
    pub ignore_missing: bool,
    /// Files that differ from what the tool ran are recorded as applied anyway, as they
    /// are now (`--accept-edited`).
    pub accept_edited: bool,
}

/// The names `--from` accepts.
pub fn tool_names() -> Vec<&'static str> {
    TOOLS.iter().map(|t| t.name()).collect()
}

/// The tools whose history table is in the target.
fn detect(t: &mut Target<'_>) -> Vec<&'static dyn Tool> {
    TOOLS
        .iter()
        .copied()
        .filter(|tool| tool.detect(t))
        .collect()
}

/// The tool to adopt from: the one named, or the only one found.
fn choose(t: &mut Target<'_>, from: Option<&str>) -> Result<&'static dyn Tool, Error> {
    if let Some(name) = from {
        let tool = TOOLS
            .iter()
            .copied()
            .find(|tool| tool.name() == name)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--from {name}: unknown tool; known: {}",
                    tool_names().join(", ")
                ))
            })?;
        if !tool.detect(t) {
            return Err(Error::Usage(format!(
                "--from {name}: the target has no {} table with {name}'s columns",
                tool.table(t)
            )));
        }
        return Ok(tool);
    }
    match detect(t).as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Usage(format!(
            "no other tool's history table in the target (looked for {})",
            tool_names().join(", ")
        ))),
        many => Err(Error::Usage(format!(
            "the target holds the history of {}: say which with --from",
            many.iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

impl Session<'_> {
    /// Read another tool's history and match it to the files; with `dry_run` false and
    /// nothing left undecided, record the matched migrations as applied without running
    /// them. Refuses (and changes nothing) while entries are undecided.
    pub fn adopt(&mut self, opts: &AdoptOptions, dry_run: bool) -> Result<Adoption, Error> {
        self.refresh()?;
        let folder = self.settings().migrations.clone();
        let mut target = Target {
            engine: self.engine(),
            folder: &folder,
        };
        let tool = choose(&mut target, opts.from.as_deref())?;
        let table = tool.table(&target);
        let history = tool
            .read(&mut target)
            .map_err(Error::db(format!("cannot read {table}")))?;
        let adoption = mapping::map(
            tool,
            &table,
            &history,
            self.migrations(),
            self.entries(),
            opts,
        );
        if !adoption.problems.is_empty() {
            return Err(Error::Refused {
                message: format!(
                    "{} entr{} of {table} cannot be adopted as they are:\n  {}",
                    adoption.problems.len(),
                    if adoption.problems.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    },
                    adoption.problems.join("\n  ")
                ),
                hint: "say how to treat them: --failed applied|pending, --rolled-back \
                       pending|applied, --ignore-missing, --accept-edited (`cutover adopt --help`)"
                    .into(),
            });
        }
        if dry_run {
            return Ok(adoption);
        }
        let note = format!("adopted from {} ({table})", tool.name());
        self.mark_applied(&adoption.record, &note)?;
        Ok(adoption)
    }

    /// Another tool's history in a target cutover has no history of: its migrations
    /// have run already. Reads nothing once cutover has a history row, nor inside a deploy's
    /// one transaction (the preflight looked before it opened; a probe for a missing table
    /// would abort PostgreSQL's).
    pub fn foreign_history(&mut self) -> Option<Foreign> {
        if self.in_outer_transaction() || self.entries().iter().any(|e| e.row.is_some()) {
            return None;
        }
        let folder = self.settings().migrations.clone();
        let mut target = Target {
            engine: self.engine(),
            folder: &folder,
        };
        for tool in detect(&mut target) {
            let table = tool.table(&target);
            let read = tool.read(&mut target);
            if read.as_ref().is_ok_and(ForeignHistory::is_empty) {
                continue;
            }
            return Some(Foreign {
                tool: tool.name().to_string(),
                table,
                entries: read.map_or(0, |h| h.entries.len()),
            });
        }
        None
    }

    /// Refuse to run migrations on a target whose migrations another tool has run and
    /// cutover has no history of: they would fail on objects that exist (or worse, run
    /// twice).
    pub(crate) fn refuse_foreign(&mut self) -> Result<(), Error> {
        match self.foreign_history() {
            None => Ok(()),
            Some(f) => Err(Error::Adoptable {
                tool: f.tool,
                table: f.table,
                entries: f.entries,
            }),
        }
    }
}
