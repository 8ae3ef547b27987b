//! sqitch projects: a `sqitch.plan` naming the changes in order, each with
//! `deploy/<change>.sql`, and optionally `revert/<change>.sql` (its down script) and
//! `verify/<change>.sql` (run right after the deploy script; an error from it fails the
//! migration).
//!
//! The plan is read as sqitch reads it (`App::Sqitch::Plan`): pragmas up to the first blank
//! line (`%project` required), then one change per line — `[+]name [deps] <timestamp>
//! <planner> <<email>> [# note]` — and `@tag` lines. A change named again after a tag is a
//! rework: sqitch keeps the earlier instance's scripts as `deploy/<name>@<tag>.sql`, and
//! cutover identifies the later instances as `<name>#2`, `<name>#3` so that an applied
//! instance keeps its id. Dependencies must name earlier changes of the plan.
//!
//! sqitch runs each script as the engine's client does, without a transaction of its own,
//! so its templates wrap the SQL in `BEGIN;` … `COMMIT;` (`ROLLBACK;` for verify scripts).
//! cutover runs such a script in its own transaction with the history row and the verify
//! script, without the script's outer pair; a script without the pair runs statement by
//! statement outside a transaction, as sqitch runs it.

use std::path::Path;

use crate::sql::{Dialect, SplitError, Statement};

use super::tree::{Found, Tree};
use super::{Error, Layout, Migration, Script, Splitting, Version, read_text};

mod plan;

use plan::parse_plan;

/// The plan file whose presence makes a folder a sqitch project.
pub(super) const PLAN: &str = "sqitch.plan";

/// Settings of `sqitch.conf` that move the plan or the scripts away from the default layout.
const MOVED: [&str; 7] = [
    "top_dir",
    "plan_file",
    "deploy_dir",
    "revert_dir",
    "verify_dir",
    "reworked_dir",
    "extension",
];

/// Reads a sqitch project.
pub(super) fn read(tree: &Tree, dialect: Dialect, found: &mut Found) -> Result<(), Error> {
    let plan_path = tree.dir.join(PLAN);
    check_conf(&tree.dir)?;
    let changes = parse_plan(&plan_path, &read_text(&plan_path)?)?;
    let mut planned = std::collections::HashSet::new();
    for (index, change) in changes.iter().enumerate() {
        let file = match &change.suffix {
            Some(tag) => format!("{}@{tag}.sql", change.name),
            None => format!("{}.sql", change.name),
        };
        planned.insert(file.clone());
        let deploy = tree.dir.join("deploy").join(&file);
        if !deploy.is_file() {
            return Err(Error::BadSections {
                path: plan_path.clone(),
                line: change.line,
                reason: format!(
                    "change `{}` has no deploy script {}: add it, or remove the change from the plan",
                    change.name,
                    deploy.display()
                ),
            });
        }
        let up = script(&deploy, dialect)?;
        let down = optional(&tree.dir.join("revert").join(&file), dialect)?;
        let id = match change.instance {
            1 => change.name.clone(),
            n => format!("{}#{n}", change.name),
        };
        let version = Version::ordinal(id.clone(), &[index]);
        let mut m = Migration::new(id, version, change.name.clone(), up, down);
        m.verify = optional(&tree.dir.join("verify").join(&file), dialect)?;
        found.migrations.push(m);
    }
    ignore_unplanned(tree, &planned, found);
    Ok(())
}

/// Where the revert script of the change whose deploy script is `deploy` would be.
pub(super) fn revert_path(deploy: &Path) -> std::path::PathBuf {
    let parts: Vec<_> = deploy.components().collect();
    match parts.iter().rposition(|c| c.as_os_str() == "deploy") {
        Some(i) => parts[..i]
            .iter()
            .map(|c| c.as_os_str())
            .chain(std::iter::once(std::ffi::OsStr::new("revert")))
            .chain(parts[i + 1..].iter().map(|c| c.as_os_str()))
            .collect(),
        None => deploy.to_path_buf(),
    }
}

/// Files and folders of the project that are not scripts of planned changes.
fn ignore_unplanned(tree: &Tree, planned: &std::collections::HashSet<String>, found: &mut Found) {
    for file in &tree.files {
        if file.name != PLAN && file.name != "sqitch.conf" {
            found.ignore(&file.path, "not part of a sqitch project's plan or scripts");
        }
    }
    for sub in &tree.dirs {
        if !["deploy", "revert", "verify"].contains(&sub.entry.name.as_str()) {
            found.ignore(&sub.entry.path, "not a sqitch script folder");
            continue;
        }
        for file in &sub.files {
            if !planned.contains(&file.name) {
                found.ignore(&file.path, "not in sqitch.plan");
            }
        }
    }
}

/// A `sqitch.conf` that moves the plan or scripts is refused: cutover reads the defaults.
fn check_conf(dir: &Path) -> Result<(), Error> {
    let conf = dir.join("sqitch.conf");
    if !conf.is_file() {
        return Ok(());
    }
    for line in read_text(&conf)?.lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        if MOVED.contains(&key) {
            return Err(Error::Unsupported {
                path: conf,
                what: "sqitch projects whose sqitch.conf moves the plan or the scripts",
                hint: "cutover reads sqitch.plan and deploy/, revert/, verify/ *.sql beside it: point --migrations at that folder, or move the files there",
            });
        }
    }
    Ok(())
}

/// A script of a change, with the transaction sqitch would give it.
fn script(path: &Path, dialect: Dialect) -> Result<Script, Error> {
    let text = read_text(path)?;
    let statements = crate::sql::split(&text, dialect).map_err(|e| split_error(path, e))?;
    let wrapped = outer(&statements).is_some();
    control_inside(path, &statements)?;
    let mut script = Script::new(path, text, 0, !wrapped, Layout::Sqitch)?;
    script.splitting = Splitting::Sqitch;
    Ok(script)
}

fn optional(path: &Path, dialect: Dialect) -> Result<Option<Script>, Error> {
    if path.is_file() {
        script(path, dialect).map(Some)
    } else {
        Ok(None)
    }
}

fn split_error(path: &Path, e: SplitError) -> Error {
    Error::BadSections {
        path: path.to_path_buf(),
        line: e.line,
        reason: e.message,
    }
}

/// The statements of a sqitch script as cutover runs them: without its outer `BEGIN` …
/// `COMMIT` (or `ROLLBACK`), whose place cutover's transaction takes.
pub(super) fn statements(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    let mut all = crate::sql::split(sql, dialect)?;
    if outer(&all).is_some() {
        all.pop();
        all.remove(0);
    }
    Ok(all)
}

/// What a statement does to the transaction, by its first words.
#[derive(PartialEq, Eq)]
enum Control {
    Begin,
    End,
    None,
}

fn control(sql: &str) -> Control {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["BEGIN"] | ["START", "TRANSACTION", ..] => Control::Begin,
        [
            "BEGIN",
            "TRANSACTION" | "WORK" | "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE",
            ..,
        ] => Control::Begin,
        ["COMMIT" | "END" | "ROLLBACK"] => Control::End,
        ["COMMIT" | "END" | "ROLLBACK", "TRANSACTION" | "WORK", ..] => Control::End,
        _ => Control::None,
    }
}

/// Whether the script is wrapped in one `BEGIN` … `COMMIT`/`ROLLBACK` pair.
fn outer(statements: &[Statement]) -> Option<()> {
    let (first, last) = (statements.first()?, statements.last()?);
    (statements.len() >= 2
        && control(&first.sql) == Control::Begin
        && control(&last.sql) == Control::End)
        .then_some(())
}

/// Transaction statements other than the outer pair would commit cutover's transaction
/// half-way, so they are refused with their line.
fn control_inside(path: &Path, statements: &[Statement]) -> Result<(), Error> {
    let inner = if outer(statements).is_some() {
        &statements[1..statements.len() - 1]
    } else {
        statements
    };
    match inner.iter().find(|s| control(&s.sql) != Control::None) {
        Some(s) => Err(Error::BadSections {
            path: path.to_path_buf(),
            line: s.line,
            reason: format!(
                "`{}` inside the script: cutover runs a sqitch script in one transaction when `BEGIN;` is its first statement and `COMMIT;` its last, and statement by statement when it has neither; other transaction statements are not supported",
                s.sql
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
