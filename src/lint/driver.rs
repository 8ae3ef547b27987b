//! From a `cutover lint` request to a report: the settings (which need no database), the
//! dialect (`--dialect`, or the target's URL), the target when it can be reached (its
//! version, its history, its table sizes; unreachable only loses those, and a note says
//! so), then the inputs and the rules.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::config::LintConfig;
use super::input::{self, Input};
use super::report::Report;
use super::sizes::Sizes;
use super::target::{Flavour, Target};
use crate::config::{Overrides, Settings};
use crate::engine::Engine;
use crate::error::Error;
use crate::history::RowStatus;
use crate::sql::Dialect;

/// What the command asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Folders and files; empty: the environment's migrations folder.
    pub paths: Vec<PathBuf>,
    /// `--dialect`: the dialect (and MySQL family) without a URL, or against one.
    pub dialect: Option<(Dialect, Flavour)>,
    /// Do not connect, even with a URL.
    pub offline: bool,
    /// Lint migrations the target has applied too.
    pub all: bool,
}

/// Lint what `request` names, with the settings `o` resolves to.
pub fn run(o: &Overrides, request: &Request) -> Result<Report, Error> {
    let ls = Settings::for_lint(o)?;
    let config = LintConfig::from_spec(&ls.lint)?;
    let settings = ls.settings.as_ref().ok();
    let dialect = match (request.dialect, settings) {
        (Some((d, _)), Some(s)) if s.url.kind().dialect() != d && !request.offline => {
            return Err(Error::Usage(format!(
                "--dialect {} does not match the target, a {} database; leave --dialect out, or add --offline",
                d.name(),
                s.url.kind().name()
            )));
        }
        (Some((d, _)), _) => d,
        (None, Some(s)) => s.url.kind().dialect(),
        (None, None) => {
            return Err(Error::Usage(format!(
                "no dialect: pass --dialect postgres|mysql|mariadb|sqlite, or a target with --url or --env ({})",
                ls.settings.as_ref().err().map_or("", String::as_str)
            )));
        }
    };
    let mut notes = Vec::new();
    let mut reached = match settings.filter(|_| !request.offline) {
        Some(s) => match reach(s) {
            Ok(r) => Some(r),
            Err(e) => {
                notes.push(format!(
                    "the target could not be reached, so no table sizes were read: {}",
                    s.scrub(&e.to_string())
                ));
                None
            }
        },
        None => None,
    };
    if reached.is_none() && notes.is_empty() {
        notes.push(match (&ls.settings, request.offline) {
            (_, true) => "offline (--offline): no table sizes, so a table the run does not create counts as large".into(),
            (Err(why), false) => format!(
                "offline: no table sizes, so a table the run does not create counts as large ({why})"
            ),
            (Ok(_), false) => "offline".into(),
        });
    }
    let mut target = match &reached {
        Some(r) => Target::from_server(dialect, &r.version),
        None => Target::offline(dialect, "--dialect or the target's URL"),
    };
    if let Some((Dialect::MySql, flavour)) = request.dialect
        && reached.is_none()
    {
        target.flavour = flavour;
    }
    if let Some(s) = settings {
        target.init_sql = crate::deploy::guarded::session_sql(s);
    }
    let configured = canonical(&ls.migrations);
    let inputs: Vec<Input> = if request.paths.is_empty() {
        vec![Input::Folder {
            dir: ls.migrations.clone(),
            include: ls.include.clone(),
        }]
    } else {
        request
            .paths
            .iter()
            .map(|p| match p.is_dir() {
                true if canonical(p) == configured => Input::Folder {
                    dir: p.clone(),
                    include: ls.include.clone(),
                },
                true => Input::Folder {
                    dir: p.clone(),
                    include: Vec::new(),
                },
                false => Input::File(p.clone()),
            })
            .collect()
    };
    let applied = reached.as_ref().and_then(|r| r.applied.clone());
    // The target's history says which migrations of its own folder it applied; another
    // folder's migrations are each a run of their own.
    let own_folder_only = inputs.iter().all(|i| match i {
        Input::Folder { dir, .. } => canonical(dir) == configured,
        Input::File(_) => true,
    });
    let collected = input::collect(
        &inputs,
        dialect,
        applied.as_ref().filter(|_| own_folder_only),
        request.all,
    )?;
    let sizes = reached.as_mut().map(|r| &mut r.sizes);
    let mut report = super::lint(&collected.runs, &target, &config, sizes);
    for n in notes.into_iter().chain(collected.notes) {
        report.note(n);
    }
    Ok(report)
}

/// A reached target: its version, the migrations it applied, its table sizes.
struct Reached {
    version: String,
    applied: Option<HashSet<String>>,
    sizes: Sizes,
}

fn reach(s: &Settings) -> Result<Reached, Error> {
    let mut engine = crate::session::connect(s, &s.url, true)?;
    let version = engine
        .server_version()
        .map_err(Error::db("cannot read the server's version"))?;
    let applied = applied(engine.as_mut())?;
    let sizes = Sizes::read(engine).map_err(Error::db("cannot read the table sizes"))?;
    Ok(Reached {
        version,
        applied,
        sizes,
    })
}

/// The ids of the migrations the target applied; `None` without a history table.
fn applied(engine: &mut dyn Engine) -> Result<Option<HashSet<String>>, Error> {
    let exists = engine
        .history_exists()
        .map_err(Error::db("cannot look for the history table"))?;
    if !exists {
        return Ok(Some(HashSet::new()));
    }
    let rows = engine.load_history().map_err(Error::db(
        "cannot read the history table cutover_migrations",
    ))?;
    Ok(Some(
        rows.into_iter()
            .filter(|r| r.status == RowStatus::Applied)
            .map(|r| r.version)
            .collect(),
    ))
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
