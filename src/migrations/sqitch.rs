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

/// The plan file whose presence makes a folder a sqitch project.
pub(super) const PLAN: &str = "sqitch.plan";

/// Names sqitch reserves (`App::Sqitch::Plan`).
const RESERVED: [&str; 4] = ["ROOT", "HEAD", "FIRST", "LAST"];

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

/// One change line of the plan.
struct Change {
    name: String,
    line: usize,
    /// The tag after which sqitch keeps this instance's scripts, when it was reworked.
    suffix: Option<String>,
    /// Which instance of its name this is (1 for the first).
    instance: usize,
}

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

/// The changes of a plan, in order; errors name the plan's line.
fn parse_plan(path: &Path, text: &str) -> Result<Vec<Change>, Error> {
    let bad = |line: usize, reason: String| Error::BadSections {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut project = false;
    // Pragmas, up to the first blank line.
    for (n, line) in lines.by_ref() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            break;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let Some(pragma) = trimmed.strip_prefix('%') else {
            return Err(bad(
                n,
                "invalid pragma; a blank line must come between pragmas and changes".into(),
            ));
        };
        project |= pragma
            .split('=')
            .next()
            .is_some_and(|k| k.trim() == "project");
    }
    if !project {
        return Err(bad(
            1,
            "missing %project pragma, which sqitch requires".into(),
        ));
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut last_tag: Option<String> = None;
    let mut tags: Vec<String> = Vec::new();
    // Changes since the last tag, and every change name seen, with its latest instance.
    let mut since_tag: Vec<String> = Vec::new();
    for (n, line) in lines {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let parsed = parse_line(content).map_err(|e| bad(n, e))?;
        match parsed {
            Line::Tag(name) => {
                if changes.is_empty() {
                    return Err(bad(
                        n,
                        format!("tag `@{name}` declared without a preceding change"),
                    ));
                }
                if tags.contains(&name) {
                    return Err(bad(n, format!("tag `@{name}` is declared twice")));
                }
                tags.push(name.clone());
                last_tag = Some(name);
                since_tag.clear();
            }
            Line::Change { name, requires } => {
                if since_tag.contains(&name) {
                    return Err(bad(
                        n,
                        format!(
                            "change `{name}` duplicates an earlier declaration since the last tag"
                        ),
                    ));
                }
                for dep in &requires {
                    check_dependency(dep, &changes, &tags).map_err(|e| bad(n, e))?;
                }
                let earlier = changes.iter().filter(|c| c.name == name).count();
                if earlier > 0 {
                    // The previous instance's scripts are kept under the latest tag.
                    let tag = last_tag.clone().expect("a rework follows a tag");
                    if let Some(prev) = changes.iter_mut().rev().find(|c| c.name == name) {
                        prev.suffix = Some(tag);
                    }
                }
                since_tag.push(name.clone());
                changes.push(Change {
                    name,
                    line: n,
                    suffix: None,
                    instance: earlier + 1,
                });
            }
        }
    }
    Ok(changes)
}

enum Line {
    Tag(String),
    Change { name: String, requires: Vec<String> },
}

/// One plan line without its note: `@tag …` or `[+]change [deps] <timestamp> <planner> <email>`.
fn parse_line(content: &str) -> Result<Line, String> {
    let (is_tag, rest) = match content.strip_prefix('@') {
        Some(rest) => (true, rest),
        None => (false, content),
    };
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix(['+', '-']) {
        Some(_) if rest.starts_with('-') => {
            return Err("a `-change` line (a revert in the plan) is not supported by cutover: remove the change from the plan instead".into());
        }
        Some(after) => after.trim_start(),
        None => rest,
    };
    let name_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let name = &rest[..name_end];
    check_name(name)?;
    let mut rest = rest[name_end..].trim_start();
    let mut requires = Vec::new();
    if let Some(deps) = rest.strip_prefix('[') {
        if is_tag {
            return Err("tags may not specify dependencies".into());
        }
        let Some((list, after)) = deps.split_once(']') else {
            return Err("the dependency list has no closing `]`".into());
        };
        requires = list.split_whitespace().map(str::to_string).collect();
        rest = after.trim_start();
    }
    let (timestamp, planner) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !is_timestamp(timestamp) {
        return Err(if rest.is_empty() {
            "missing timestamp and planner name and email".into()
        } else {
            format!("`{timestamp}` is not a timestamp (YYYY-MM-DDTHH:MM:SSZ)")
        });
    }
    let planner = planner.trim();
    if !(planner.ends_with('>') && planner.contains('<') && !planner.starts_with('<')) {
        return Err("missing planner name and email".into());
    }
    let name = name.to_string();
    Ok(if is_tag {
        Line::Tag(name)
    } else {
        Line::Change { name, requires }
    })
}

/// sqitch's name rule: no blanks, `:`, `@` or `#`; no punctuation first or last; not
/// reserved; not mistakable for a SHA-1 change id.
fn check_name(name: &str) -> Result<(), String> {
    let punct = |c: char| c.is_ascii_punctuation() && c != '_';
    let bad = name.is_empty()
        || name.contains([':', '@', '#'])
        || name.starts_with(punct)
        || name.ends_with(punct);
    if bad {
        return Err(format!(
            "invalid name `{name}`: names must not begin with punctuation, contain \"@\", \":\", or \"#\", or end in punctuation"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!("`{name}` is a reserved name"));
    }
    if name.len() >= 40
        && name[..40]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("`{name}` could be confused with a SHA-1 change id"));
    }
    Ok(())
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A `requires` entry must name an earlier change (or tag) of this plan.
fn check_dependency(dep: &str, changes: &[Change], tags: &[String]) -> Result<(), String> {
    if dep.starts_with('!') {
        return Err(format!(
            "conflict `{dep}`: cutover does not check conflicts against the database; remove it, or keep deploying this plan with sqitch"
        ));
    }
    if dep.contains(':') {
        return Err(format!(
            "`{dep}` depends on another sqitch project, which cutover cannot check: remove it, or keep deploying this plan with sqitch"
        ));
    }
    let (change, tag) = match dep.split_once('@') {
        Some((c, t)) => (c, Some(t)),
        None => (dep, None),
    };
    let change_ok = change.is_empty() || changes.iter().any(|c| c.name == change);
    let tag_ok = tag.is_none_or(|t| tags.iter().any(|x| x == t));
    if change_ok && tag_ok {
        Ok(())
    } else {
        Err(format!(
            "`{dep}` is not an earlier change of the plan: sqitch deploys changes in plan order, so a change may only require changes above it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Layout, discover};

    const PLAN_TEXT: &str = "%syntax-version=1.0.0
%project=flipr
%uri=https://github.com/sqitchers/sqitch-intro/

users 2012-07-03T20:53:06Z Marge N. O'Vera <marge@example.com> # Creates table to track our users.
flips [users] 2012-07-03T21:18:31Z Marge N. O'Vera <marge@example.com> # Adds table for storing flips.
@v1.0.0-dev1 2012-07-03T21:43:11Z Marge N. O'Vera <marge@example.com> # Tag v1.0.0-dev1.

users [users@v1.0.0-dev1] 2012-07-04T12:00:00Z Marge N. O'Vera <marge@example.com> # Adds twitter column.
";

    fn project(dir: &Path) {
        write(dir, "sqitch.plan", PLAN_TEXT);
        write(dir, "sqitch.conf", "[core]\n\tengine = pg\n");
        write(
            dir,
            "deploy/users@v1.0.0-dev1.sql",
            "-- Deploy flipr:users to pg\n\nBEGIN;\n\nCREATE TABLE users (nickname TEXT PRIMARY KEY);\n\nCOMMIT;\n",
        );
        write(
            dir,
            "revert/users@v1.0.0-dev1.sql",
            "-- Revert flipr:users from pg\n\nBEGIN;\nDROP TABLE users;\nCOMMIT;\n",
        );
        write(
            dir,
            "verify/users@v1.0.0-dev1.sql",
            "-- Verify flipr:users on pg\n\nBEGIN;\nSELECT nickname FROM users WHERE FALSE;\nROLLBACK;\n",
        );
        write(
            dir,
            "deploy/flips.sql",
            "CREATE TABLE flips (id INT);\nCREATE INDEX flips_id ON flips (id);\n",
        );
        write(
            dir,
            "deploy/users.sql",
            "BEGIN;\nALTER TABLE users ADD twitter TEXT;\nCOMMIT;\n",
        );
        write(
            dir,
            "revert/users.sql",
            "BEGIN;\nALTER TABLE users DROP twitter;\nCOMMIT;\n",
        );
        write(dir, "deploy/unplanned.sql", "SELECT 1;\n");
    }

    #[test]
    fn plan_order_reworks_and_scripts() {
        let tmp = tempfile::tempdir().unwrap();
        project(tmp.path());
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Sqitch);
        assert_eq!(names(&found), ["users", "flips", "users#2"]);
        let m = &found.migrations;
        assert!(m[0].up.path.ends_with("deploy/users@v1.0.0-dev1.sql"));
        assert!(m[2].up.path.ends_with("deploy/users.sql"));
        assert!(
            !m[0].up.directives.no_transaction,
            "BEGIN … COMMIT: one transaction"
        );
        let up: Vec<String> = m[0]
            .up
            .statements(Dialect::Postgres)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(up, ["CREATE TABLE users (nickname TEXT PRIMARY KEY)"]);
        let verify = m[0].verify.as_ref().unwrap();
        let v: Vec<String> = verify
            .statements(Dialect::Postgres)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(v, ["SELECT nickname FROM users WHERE FALSE"]);
        assert!(
            m[1].up.directives.no_transaction,
            "no BEGIN: statement by statement, as sqitch runs it"
        );
        assert!(m[1].down.is_none() && m[1].verify.is_none());
        assert!(
            m[1].missing_down().ends_with("revert/flips.sql"),
            "{}",
            m[1].missing_down()
        );
        assert!(
            found
                .ignored
                .iter()
                .any(|i| i.path.ends_with("deploy/unplanned.sql"))
        );
    }

    #[test]
    fn plan_errors_name_the_line() {
        let cases = [
            (
                "%project=p\n\nb [a] 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "earlier change",
            ),
            (
                "%project=p\n\na 2012-07-03T20:53:06Z M <m@x>\na 2012-07-03T20:53:07Z M <m@x>\n",
                4,
                "duplicates",
            ),
            ("%project=p\n\na\n", 3, "missing timestamp"),
            ("%project=p\n\na 2012-07-03T20:53:06Z\n", 3, "planner"),
            (
                "%project=p\n\n@t 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "without a preceding change",
            ),
            (
                "%project=p\n\na: 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "invalid name",
            ),
            (
                "%project=p\n\nHEAD 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "reserved",
            ),
            (
                "%project=p\n\na [!b] 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "conflict",
            ),
            (
                "%project=p\n\na [other:b] 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "another sqitch project",
            ),
            (
                "%project=p\n\n-a 2012-07-03T20:53:06Z M <m@x>\n",
                3,
                "revert in the plan",
            ),
            (
                "%syntax-version=1.0.0\n\na 2012-07-03T20:53:06Z M <m@x>\n",
                1,
                "%project",
            ),
            (
                "%project=p\nusers 2012-07-03T20:53:06Z M <m@x>\n",
                2,
                "blank line",
            ),
        ];
        for (plan, line, word) in cases {
            let tmp = tempfile::tempdir().unwrap();
            write(tmp.path(), "sqitch.plan", plan);
            write(tmp.path(), "deploy/a.sql", "SELECT 1;\n");
            let msg = discover(tmp.path(), Dialect::Postgres)
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains(&format!("sqitch.plan:{line}:")) && msg.contains(word),
                "{plan:?}: {msg}"
            );
        }
    }

    #[test]
    fn a_missing_deploy_script_and_inner_transactions_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "sqitch.plan",
            "%project=p\n\na 2012-07-03T20:53:06Z M <m@x>\n",
        );
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("sqitch.plan:3") && msg.contains("deploy/a.sql"),
            "{msg}"
        );
        write(
            tmp.path(),
            "deploy/a.sql",
            "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
        );
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("deploy/a.sql:1") && msg.contains("BEGIN"),
            "{msg}"
        );
        write(tmp.path(), "deploy/a.sql", "SELECT 1;\n");
        write(tmp.path(), "sqitch.conf", "[core]\n\ttop_dir = db\n");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("sqitch.conf"), "{msg}");
    }
}
