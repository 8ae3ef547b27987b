//! `sqitch.plan` read as sqitch reads it (`App::Sqitch::Plan`): pragmas up to the first
//! blank line (`%project` required), then change lines `[+]name [deps] <timestamp> <planner>
//! <<email>> [# note]` and `@tag` lines; a change named again after a tag is a rework.
//! Errors name the plan's line.

use std::path::Path;

use crate::migrations::Error;

/// Names sqitch reserves (`App::Sqitch::Plan`).
const RESERVED: [&str; 4] = ["ROOT", "HEAD", "FIRST", "LAST"];

/// One change line of the plan.
pub(super) struct Change {
    pub name: String,
    pub line: usize,
    /// The tag after which sqitch keeps this instance's scripts, when it was reworked.
    pub suffix: Option<String>,
    /// Which instance of its name this is (1 for the first).
    pub instance: usize,
}

/// The changes of a plan, in order; errors name the plan's line.
pub(super) fn parse_plan(path: &Path, text: &str) -> Result<Vec<Change>, Error> {
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
