//! Deciding what an operation will do before it does anything: which scripts, in which
//! order, and whether it is safe to start at all. Every script of a plan is split into
//! statements here, so a broken file stops the run before its first statement.

use crate::error::Error;
use crate::history::{Direction, Entry, HistoryRow, RowStatus, State};
use crate::migrations::{Discovered, Migration, Script, Stage};
use crate::sql::Dialect;

use super::execute::{Job, RunContext, applied_row, now};
use super::{MigrateOptions, Resolve, RollbackOptions};

/// Pending migrations up to and including `opts.to`, after refusing on failed, changed or
/// missing ones. With `opts.exactly`, those migrations and no others, or a refusal.
pub fn migrate<'a>(
    found: &'a Discovered,
    entries: &[Entry],
    opts: &MigrateOptions,
    dialect: Dialect,
) -> Result<Vec<Job<'a>>, Error> {
    refuse_problems(&unresumable(found, entries))?;
    let end = match &opts.to {
        Some(v) => upto(entries, v)?,
        None => entries.len(),
    };
    let pending: Vec<&'a crate::migrations::Migration> = entries[..end]
        .iter()
        .filter(|e| e.state == State::Pending || resumable(found, e))
        .filter_map(|e| e.migration.map(|i| &found.migrations[i]))
        .collect();
    refuse_non_linear(found.layout, entries, &pending)?;
    let pending = match opts.stage {
        Some(stage) => by_stage(pending, stage)?,
        None => pending,
    };
    if let Some(exactly) = &opts.exactly {
        let now: Vec<(String, String)> = pending
            .iter()
            .map(|m| (m.id.clone(), m.checksum.clone()))
            .collect();
        if &now != exactly {
            return Err(Error::Refused {
                message: format!(
                    "the approved plan no longer matches: it applies [{}], the target and files now call for [{}]",
                    ids(exactly),
                    ids(&now)
                ),
                hint: "write a new plan with `cutover plan` and have it approved".into(),
            });
        }
    }
    pending
        .into_iter()
        .map(|m| job(m, Direction::Up, &m.up, None, dialect))
        .collect()
}

/// A backfill is one UPDATE or DELETE that can be batched; anything else is named with its
/// file and line before the run starts.
fn check_backfill(
    script: &Script,
    statements: &[crate::sql::Statement],
    dialect: Dialect,
) -> Result<(), Error> {
    let bad = |line: usize, message: String| Error::Split {
        path: script.path.clone(),
        line: line + script.line_offset,
        message: format!("-- cutover:backfill: {message}"),
    };
    match statements {
        [one] => super::Batched::read(&one.sql, dialect)
            .map(|_| ())
            .map_err(|m| bad(one.line, m)),
        [] => Err(bad(1, "the script has no statement".into())),
        [_, second, ..] => Err(bad(
            second.line,
            format!(
                "a backfill is one statement; this script has {}",
                statements.len()
            ),
        )),
    }
}

/// Whether `e` is a backfill that stopped part-way: it runs again, from where its rows say
/// it stopped, instead of blocking the history.
pub fn resumable(found: &Discovered, e: &Entry) -> bool {
    e.state == State::Failed
        && e.migration
            .is_some_and(|i| found.migrations[i].up.directives.backfill.is_some())
}

/// The entries less the backfills that will resume.
fn unresumable(found: &Discovered, entries: &[Entry]) -> Vec<Entry> {
    entries
        .iter()
        .filter(|e| !resumable(found, e))
        .cloned()
        .collect()
}

/// An expand step whose contract step has run cannot be rolled back: the contract removed
/// what the old application version used, so only the expanded schema serves anyone. The
/// contract step is any contract migration applied after it.
fn refuse_expand_after_contract(
    found: &Discovered,
    entries: &[Entry],
    chosen: &[&Entry],
) -> Result<(), Error> {
    let phase = |e: &Entry| {
        e.migration
            .and_then(|i| found.migrations[i].up.directives.phase)
    };
    for undo in chosen.iter().filter(|e| phase(e) == Some(Stage::Expand)) {
        let at = entries.iter().position(|e| e.id == undo.id).unwrap_or(0);
        let contract = entries[at..]
            .iter()
            .find(|e| e.row.is_some() && phase(e) == Some(Stage::Contract));
        if let Some(c) = contract {
            return Err(Error::Refused {
                message: format!(
                    "cannot roll back the expand step {} ({}): its contract step {} ({}) has run, and the schema before the expand no longer serves the application",
                    undo.id, undo.name, c.id, c.name
                ),
                hint: format!(
                    "roll back to {} or later; undoing the expand step needs a new migration that works with the application version serving now",
                    undo.id
                ),
            });
        }
    }
    Ok(())
}

/// The pending migrations a deploy of `stage` applies: before the first contract migration
/// (expand), or the contract migrations at the head (contract).
fn by_stage(pending: Vec<&Migration>, stage: Stage) -> Result<Vec<&Migration>, Error> {
    let contract = |m: &&Migration| m.up.directives.phase == Some(Stage::Contract);
    match stage {
        Stage::Expand => Ok(pending.into_iter().take_while(|m| !contract(m)).collect()),
        Stage::Contract => {
            if let Some(first) = pending.first().filter(|m| !contract(m)) {
                return Err(Error::Refused {
                    message: format!(
                        "`deploy --phase contract` applies contract migrations only, and {} ({}) is pending before them: deploy it first (`cutover deploy --phase expand`)",
                        first.id,
                        first.up.directives.phase.map_or("untagged", Stage::name)
                    ),
                    hint: "deploy it first: `cutover deploy --phase expand`".into(),
                });
            }
            Ok(pending.into_iter().take_while(contract).collect())
        }
    }
}

/// Atlas applies a directory linearly (its default `--exec-order linear`) and sqitch deploys
/// a plan in order: a pending migration that sorts before the newest applied one was added
/// out of order, and is refused. Other layouts apply it with a warning.
fn refuse_non_linear(
    layout: crate::migrations::Layout,
    entries: &[Entry],
    pending: &[&Migration],
) -> Result<(), Error> {
    use crate::migrations::Layout;
    let (tool, hint) = match layout {
        Layout::Atlas => (
            "Atlas applies a directory in linear order",
            "give the file a version after the newest applied one (`atlas migrate rebase`), or run it with `atlas migrate apply --exec-order non-linear`",
        ),
        Layout::Sqitch => (
            "sqitch deploys a plan in order",
            "move the change below the last deployed one in sqitch.plan",
        ),
        _ => return Ok(()),
    };
    let Some(newest) = entries
        .iter()
        .filter(|e| e.row.is_some())
        .max_by(|a, b| a.version.cmp(&b.version))
    else {
        return Ok(());
    };
    let early: Vec<&str> = pending
        .iter()
        .filter(|m| m.version < newest.version)
        .map(|m| m.id.as_str())
        .collect();
    if early.is_empty() {
        return Ok(());
    }
    Err(Error::Refused {
        message: format!(
            "refusing to run: {} sorts before {}, which is already applied, and {tool}",
            early.join(", "),
            newest.id
        ),
        hint: hint.into(),
    })
}

fn ids(list: &[(String, String)]) -> String {
    list.iter()
        .map(|(id, sum)| format!("{id} ({})", sum.chars().take(12).collect::<String>()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many entries, in order, go up to and including the one `v` names.
pub fn upto(entries: &[Entry], v: &str) -> Result<usize, Error> {
    let target = find(entries, v)?;
    Ok(entries
        .iter()
        .position(|e| std::ptr::eq(e, target))
        .map_or(entries.len(), |i| i + 1))
}

/// A database stopped part-way through the migrations a squash replaced: the baseline
/// would recreate what is there, and the rest of the squashed ones are archived.
fn partly_squashed(entries: &[Entry], baseline: &Entry) -> Error {
    let squashed: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.state == State::Squashed)
        .collect();
    let stopped = squashed
        .iter()
        .filter(|e| {
            e.row
                .as_ref()
                .is_some_and(|r| r.status == RowStatus::Applied)
        })
        .max_by(|a, b| a.version.cmp(&b.version))
        .map_or("none of them", |e| e.id.as_str());
    Error::Refused {
        message: format!(
            "refusing to run: this database stopped part-way through the migrations squashed into \
             the baseline {}: the newest it applied is {stopped} ({} of their history rows are here)",
            baseline.id,
            squashed.len()
        ),
        hint: format!(
            "from a checkout before the squash (the files are archived in {}), run \
             `cutover migrate --to {}` to finish the squashed range; the baseline then counts as applied",
            crate::migrations::ARCHIVE,
            baseline.id
        ),
    }
}

/// Applied migrations to undo, newest first; refuses when one has no down script.
pub fn rollback<'a>(
    found: &'a Discovered,
    entries: &[Entry],
    opts: &RollbackOptions,
    dialect: Dialect,
) -> Result<Vec<Job<'a>>, Error> {
    if let Some(e) = entries.iter().find(|e| e.state == State::Failed) {
        return Err(failed_refusal(e));
    }
    // Flyway's repeatables have no undo: a rollback passes over them, as Flyway's does.
    let repeatable = |e: &&Entry| {
        e.migration
            .is_some_and(|i| found.migrations[i].kind == crate::migrations::Kind::Repeatable)
    };
    let mut applied: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.row.is_some() && !repeatable(e))
        .collect();
    applied.reverse();
    let chosen: Vec<&Entry> = match (&opts.to, opts.steps) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage("give either --steps or --to, not both".into()));
        }
        (Some(v), None) => {
            // Everything after the named migration in order, not "a greater version":
            // migrations can share a version number (Prisma's date prefixes).
            let keep = upto(entries, v)?;
            let after: Vec<&str> = entries[keep..].iter().map(|e| e.id.as_str()).collect();
            applied
                .into_iter()
                .filter(|e| after.contains(&e.id.as_str()))
                .collect()
        }
        (None, steps) => applied.into_iter().take(steps.unwrap_or(1)).collect(),
    };
    refuse_expand_after_contract(found, entries, &chosen)?;
    let no_down: Vec<String> = chosen
        .iter()
        .filter_map(|e| match e.migration.map(|i| &found.migrations[i]) {
            None => Some(format!("{} ({}): its file is missing", e.id, e.name)),
            Some(m) if m.down.is_none() => {
                Some(format!("{} ({}): {}", e.id, e.name, m.missing_down()))
            }
            Some(_) => None,
        })
        .collect();
    if !no_down.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "cannot roll back: {} of the {} migrations to undo cannot be undone by cutover:\n  {}",
                no_down.len(),
                chosen.len(),
                no_down.join("\n  ")
            ),
            hint: "write the missing down scripts or sections, or roll back fewer steps (--steps / --to); nothing was run".into(),
        });
    }
    chosen
        .into_iter()
        .map(|e| {
            let m = &found.migrations[e.migration.expect("checked above")];
            let down = m.down.as_ref().expect("checked above");
            job(m, Direction::Down, down, e.row.clone(), dialect)
        })
        .collect()
}

/// The entry `action` is about and the row to write (`None`: delete the row).
pub fn resolve<'e>(
    found: &Discovered,
    entries: &'e [Entry],
    action: &Resolve,
    ctx: &RunContext,
) -> Result<(&'e Entry, Option<HistoryRow>), Error> {
    let (v, entry) = match action {
        Resolve::Applied(v) | Resolve::RolledBack(v) | Resolve::AcceptChecksum(v) => {
            (v, find(entries, v)?)
        }
    };
    let file = entry.migration.map(|i| &found.migrations[i]);
    let nothing = |why: &str| Err(Error::Usage(format!("nothing to resolve: {v} {why}")));
    match action {
        Resolve::Applied(_) => {
            if entry.state == State::Applied {
                return nothing("is already recorded as applied");
            }
            let mut row = entry
                .row
                .clone()
                .unwrap_or_else(|| applied_row(&entry.id, &entry.name, "", ctx));
            if let Some(m) = file {
                row.checksum = m.checksum.clone();
                row.name = m.name.clone();
            }
            row.status = RowStatus::Applied;
            row.direction = Direction::Up;
            row.applied_at = now();
            row.applied_by = ctx.applied_by.clone();
            row.run_id = ctx.run_id.clone();
            row.failed_statement = None;
            row.failed_line = None;
            row.failed_file = None;
            row.error = Some("resolve --applied: recorded as applied by an operator".into());
            Ok((entry, Some(row)))
        }
        Resolve::RolledBack(_) => match entry.row {
            None => nothing("is not in the history"),
            Some(_) => Ok((entry, None)),
        },
        Resolve::AcceptChecksum(_) => match (file, &entry.row) {
            (Some(m), Some(row)) if entry.state == State::Changed => {
                let mut row = row.clone();
                row.checksum = m.checksum.clone();
                Ok((entry, Some(row)))
            }
            (None, _) => nothing("has no file to take the checksum from"),
            _ => nothing("has not changed since it was applied"),
        },
    }
}

/// The entry a user's VERSION names: its whole id; else its version as written; else a
/// version number (`1` for `0001`). A version shared by several migrations is refused with
/// their ids.
pub fn find<'e>(entries: &'e [Entry], v: &str) -> Result<&'e Entry, Error> {
    if let Some(e) = entries.iter().find(|e| e.id == v) {
        return Ok(e);
    }
    let mut by_version: Vec<&Entry> = entries.iter().filter(|e| e.version.as_str() == v).collect();
    if by_version.is_empty()
        && let Some(wanted) = crate::migrations::Version::parse(v)
    {
        by_version = entries
            .iter()
            .filter(|e| e.version.same_number(&wanted))
            .collect();
    }
    match by_version.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Usage(format!(
            "no migration has the id or version {v}; `cutover status` lists them"
        ))),
        many => Err(Error::Usage(format!(
            "version {v} is ambiguous: {}; give the whole id",
            many.iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Refuse to start while the history has failed, changed or missing migrations.
pub fn refuse_problems(entries: &[Entry]) -> Result<(), Error> {
    if let Some(e) = entries.iter().find(|e| e.state == State::Failed) {
        return Err(failed_refusal(e));
    }
    if let Some(e) = entries.iter().find(|e| e.state == State::PartlySquashed) {
        return Err(partly_squashed(entries, e));
    }
    let changed: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.state == State::Changed)
        .collect();
    if !changed.is_empty() {
        let ids: Vec<String> = changed
            .iter()
            .map(|e| format!("{} ({})", e.id, e.name))
            .collect();
        return Err(Error::Refused {
            message: format!(
                "refusing to run: applied migrations were edited since they were applied:\n  {}",
                ids.join("\n  ")
            ),
            hint: format!(
                "restore the files as they were applied, or review the edits and accept them with \
                 `cutover resolve --accept-checksum {}`",
                changed[0].id
            ),
        });
    }
    let missing: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.state == State::Missing)
        .collect();
    if !missing.is_empty() {
        let ids: Vec<String> = missing
            .iter()
            .map(|e| format!("{} ({})", e.id, e.name))
            .collect();
        return Err(Error::Refused {
            message: format!(
                "refusing to run: the database has migrations this checkout does not:\n  {}",
                ids.join("\n  ")
            ),
            hint: format!(
                "run from a checkout that has them; if one was undone by hand, forget it with \
                 `cutover resolve --rolled-back {}`",
                missing[0].id
            ),
        });
    }
    Ok(())
}

fn failed_refusal(e: &Entry) -> Error {
    let row = e.row.as_ref().expect("failed entries have rows");
    let during = match row.direction {
        Direction::Up => "migration",
        Direction::Down => "rollback of",
    };
    let at = match (&row.failed_file, row.failed_line, row.failed_statement) {
        (Some(f), Some(l), Some(s)) => format!(" at {f}:{l} (statement {s})"),
        _ => String::new(),
    };
    Error::Refused {
        message: format!(
            "refusing to run: {during} {} ({}) stopped part-way{at} in run {} by {} at {}: {}",
            e.id,
            e.name,
            row.run_id,
            row.applied_by,
            row.applied_at,
            row.error.as_deref().unwrap_or("no message recorded")
        ),
        hint: format!(
            "repair the database by hand, then run `cutover resolve --applied {id}` if the \
             migration is now fully applied, or `cutover resolve --rolled-back {id}` if it is undone",
            id = e.id
        ),
    }
}

fn job<'a>(
    m: &'a Migration,
    direction: Direction,
    script: &'a Script,
    previous: Option<HistoryRow>,
    dialect: Dialect,
) -> Result<Job<'a>, Error> {
    let split = |script: &Script| {
        script.statements(dialect).map_err(|e| Error::Split {
            path: script.path.clone(),
            line: e.line + script.line_offset,
            message: e.message,
        })
    };
    let mut statements = split(script)?;
    if script.directives.backfill.is_some() {
        check_backfill(script, &statements, dialect)?;
    }
    let verify_at = statements.len();
    // A verify script (sqitch) runs right after the up script, in its transaction.
    let verify = m.verify.as_ref().filter(|_| direction == Direction::Up);
    if let Some(v) = verify {
        statements.extend(split(v)?);
    }
    Ok(Job {
        migration: m,
        direction,
        script,
        statements,
        verify,
        verify_at,
        previous,
        online: false,
    })
}
