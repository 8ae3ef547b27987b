//! Writing a squash into the migrations folder: the baseline as the layout expects it (in
//! the last squashed migration's place, under its id), the squashed files moved into the
//! archive folder with the same relative paths, and the manifest. Also the one-file folder
//! the proof applies the baseline from.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::migrations::{ARCHIVE, Discovered, Layout, Migration, Squash, Squashed};
use crate::sql::Dialect;

/// A folder holding only the baseline, as a plain migration.
pub(super) fn plain(dir: &Path, baseline: &str) -> Result<(), Error> {
    let path = dir.join("1_baseline.sql");
    std::fs::write(&path, baseline).map_err(|source| Error::Io { path, source })
}

/// Where the baseline goes: the last squashed migration's up script (the folder's naming
/// for its id); for ory/popx, named for this engine's dialect, in a transaction.
pub(super) fn baseline_path(through: &Migration, layout: Layout, dialect: Dialect) -> PathBuf {
    let path = through.up.path.clone();
    if layout != Layout::Popx {
        return path;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or(name);
    path.with_file_name(format!("{stem}.{}.up.sql", pop_dialect(dialect)))
}

const POP_DIALECTS: [&str; 5] = ["postgres", "mysql", "sqlite3", "sqlite", "cockroach"];

fn pop_dialect(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
        Dialect::Sqlite => "sqlite3",
    }
}

/// The baseline's text in the layout's form.
fn text(layout: Layout, baseline: &str, dialect: Dialect) -> Result<String, Error> {
    let header = "squashed by `cutover squash`: the schema the migrations archived in \
                  cutover-squashed/ built; it has no down script";
    Ok(match layout {
        Layout::Dbmate => format!("-- {header}\n-- migrate:up\n{baseline}"),
        Layout::Goose => format!(
            "-- {header}\n-- +goose Up\n{}",
            goose_blocks(baseline, dialect)?
        ),
        _ => format!("-- {header}\n\n{baseline}"),
    })
}

/// goose splits an Up section at semicolons that end a line, knowing no quotes, dollar
/// quotes or `DELIMITER`: each statement of the dump goes in a block of its own
/// (`StatementBegin` … `StatementEnd`), which goose sends whole.
fn goose_blocks(baseline: &str, dialect: Dialect) -> Result<String, Error> {
    let statements = crate::sql::split(baseline, dialect).map_err(|e| Error::Refused {
        message: format!("cannot split the baseline into goose statements: {e}"),
        hint: "report this dump: the squash wrote nothing".into(),
    })?;
    Ok(statements
        .iter()
        .map(|s| {
            format!(
                "-- +goose StatementBegin\n{};\n-- +goose StatementEnd\n",
                s.sql
            )
        })
        .collect())
}

/// Move the squashed files into the archive, write the manifest and the baseline.
pub(super) fn archive(
    dir: &Path,
    found: &Discovered,
    range: &[&Migration],
    file: &Path,
    baseline: &str,
    engine: &str,
    dialect: Dialect,
) -> Result<(), Error> {
    // Written before anything moves: a baseline the layout cannot hold changes nothing.
    let text = text(found.layout, baseline, dialect)?;
    let archive = dir.join(ARCHIVE);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir(&archive).map_err(io(&archive))?;
    let pop = (found.layout == Layout::Popx).then(|| pop_dialect(dialect));
    for entry in entries(dir, pop, range) {
        let to = archive.join(&entry);
        std::fs::rename(dir.join(&entry), &to).map_err(io(&to))?;
    }
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(file, &text).map_err(io(file))?;
    let last = range.last().expect("a range is never empty");
    Squash {
        baseline: last.id.clone(),
        engine: engine.to_string(),
        created_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string()),
        baseline_checksum: crate::migrations::checksum(&text),
        migrations: range
            .iter()
            .map(|m| Squashed {
                id: m.id.clone(),
                name: m.name.clone(),
                checksum: m.checksum.clone(),
            })
            .collect(),
        dir: archive,
    }
    .write()
    .map_err(Error::from)
}

/// The top-level files and folders the squashed migrations live in, relative to `dir`:
/// their scripts' (a Diesel or Prisma folder, a flat file), and for ory/popx every file of
/// their versions that is not another engine's, so no generic file takes their place.
fn entries(dir: &Path, pop: Option<&str>, range: &[&Migration]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for m in range {
        let scripts = [Some(&m.up), m.down.as_ref(), m.verify.as_ref()];
        for script in scripts.into_iter().flatten() {
            if let Ok(rel) = script.path.strip_prefix(dir)
                && let Some(first) = rel.components().next()
            {
                out.insert(PathBuf::from(first.as_os_str()));
            }
        }
    }
    if let Some(ours) = pop {
        let prefixes: Vec<String> = out
            .iter()
            .filter_map(|p| p.to_str()?.split_once('_').map(|(v, _)| format!("{v}_")))
            .collect();
        let theirs = |name: &str| {
            name.split('.').any(|s| {
                POP_DIALECTS.contains(&s) && s != ours && !(ours == "sqlite3" && s == "sqlite")
            })
        };
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if prefixes.iter().any(|p| name.starts_with(p.as_str())) && !theirs(&name) {
                out.insert(PathBuf::from(name));
            }
        }
    }
    out
}
