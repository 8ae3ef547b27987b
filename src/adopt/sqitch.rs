//! sqitch's registry: `changes` holds the changes deployed now (a revert deletes them),
//! `events` every deploy, revert and failure. A change deployed again after a rework has
//! the same name and a new id; cutover names the later instances `<name>#2`, … in plan
//! order, and so does this reader, by deploy order. A change whose last event is `fail`
//! (sqitch reverted it) or `revert` and that is not deployed now is listed as such.
//!
//! Where the registry lives depends on the engine (the `driver` table says): a schema of
//! the target database on PostgreSQL, a database beside it on MariaDB (read only when the
//! migrations folder is the sqitch project, since other targets' registries sit there too),
//! a file of its own beside the database on SQLite (attached to the connection to be read).
//! Its name is `registry` in `sqitch.conf`'s `[engine "pg"]` (or `"mysql"`, `"sqlite"`)
//! section, `sqitch` by default; when the folder holds the plan, only its `%project` is
//! read.

use std::collections::HashMap;
use std::path::Path;

use crate::engine::DbError;
use crate::migrations::Migration;

use super::tool::{Target, Tool, cell, entry, has_columns};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Sqitch;

/// The schema name a SQLite registry file is attached under.
const ATTACHED: &str = "sqitch_registry";

/// This target's registry: its name, the schema its tables are read from, and the
/// project to read.
struct Registry {
    name: String,
    schema: String,
    /// A file to attach first (SQLite).
    file: bool,
    /// `AND r.project = '…'`, or nothing.
    project: String,
}

fn registry(t: &Target<'_>) -> Option<Registry> {
    let place = crate::driver::of(t.engine.kind()).sqitch.as_ref()?;
    let project = plan_project(t.folder);
    if place.beside_target && project.is_none() {
        return None;
    }
    let name = conf_registry(t.folder, place.engine).unwrap_or_else(|| "sqitch".into());
    // Spliced into SQL: a name sqitch.conf could make anything else of is not read (a
    // file's name is not spliced: it is attached under a name of cutover's).
    let identifier = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() || (!place.file && !identifier) {
        return None;
    }
    let project = project
        .map(|p| format!(" AND r.project = '{}'", p.replace('\'', "''")))
        .unwrap_or_default();
    let schema = if place.file {
        ATTACHED.into()
    } else {
        name.clone()
    };
    Some(Registry {
        name,
        schema,
        file: place.file,
        project,
    })
}

/// This target's registry, its file attached first where it is one; `None` when there
/// is none to read.
fn readable(t: &mut Target<'_>) -> Result<Option<Registry>, DbError> {
    let Some(r) = registry(t) else {
        return Ok(None);
    };
    if r.file && !attach(t.engine, &r.name)? {
        return Ok(None);
    }
    Ok(Some(r))
}

/// Attach the registry file beside the target's database file, as sqitch names it;
/// whether it is there to read.
fn attach(engine: &mut dyn crate::engine::Engine, name: &str) -> Result<bool, DbError> {
    let attached = engine.query("SELECT name, file FROM pragma_database_list")?;
    if attached.iter().any(|r| cell(r, 0) == Some(ATTACHED)) {
        return Ok(true);
    }
    let main = attached
        .iter()
        .find(|r| cell(r, 0) == Some("main"))
        .and_then(|r| cell(r, 1))
        .filter(|f| !f.is_empty());
    let Some(main) = main else {
        return Ok(false);
    };
    let file = registry_file(Path::new(main), name);
    if !file.is_file() {
        return Ok(false);
    }
    let path = file.to_string_lossy().replace('\'', "''");
    engine.execute(&format!("ATTACH DATABASE '{path}' AS {ATTACHED}"))?;
    Ok(true)
}

/// Where sqitch's SQLite engine keeps the registry of the database at `db`: an absolute
/// `registry` as it is; otherwise beside the database, the registry's name taking the
/// place of the file's name before its first dot (`flipr.db` → `sqitch.db`), or of the
/// whole name when either has a dot in it or the file has none.
fn registry_file(db: &Path, registry: &str) -> std::path::PathBuf {
    let reg = Path::new(registry);
    if reg.is_absolute() {
        return reg.to_path_buf();
    }
    let base = db
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.split_once('.') {
        Some((_, ext)) if !registry.contains('.') => format!("{registry}.{ext}"),
        _ => registry.to_string(),
    };
    db.with_file_name(name)
}

/// The plan's `%project`, when the folder is a sqitch project.
fn plan_project(folder: &Path) -> Option<String> {
    let text = std::fs::read_to_string(folder.join("sqitch.plan")).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("%project="))
        .map(|p| p.trim().to_string())
}

/// `registry = …` in `[engine "<engine>"]` of `sqitch.conf` (git-config syntax).
fn conf_registry(folder: &Path, engine: &str) -> Option<String> {
    let text = std::fs::read_to_string(folder.join("sqitch.conf")).ok()?;
    let wanted = format!("engine \"{engine}\"");
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.split_whitespace().collect::<Vec<_>>().join(" ");
        } else if section == wanted
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "registry"
        {
            return Some(value.trim().trim_matches('"').to_string());
        }
    }
    None
}

impl Tool for Sqitch {
    fn name(&self) -> &'static str {
        "sqitch"
    }

    fn table(&self, t: &Target<'_>) -> String {
        match registry(t) {
            Some(r) if r.file => format!("{} (its changes table)", r.name),
            Some(r) => format!("{}.changes", r.name),
            None => "sqitch.changes".into(),
        }
    }

    fn detect(&self, t: &mut Target<'_>) -> bool {
        readable(t).ok().flatten().is_some_and(|r| {
            has_columns(
                t.engine,
                &format!("{}.changes r", r.schema),
                "r.change_id, r.change, r.project",
            )
        })
    }

    fn read(&self, t: &mut Target<'_>) -> Result<ForeignHistory, DbError> {
        let Some(Registry {
            schema: r, project, ..
        }) = readable(t)?
        else {
            return Ok(ForeignHistory::default());
        };
        let deployed = t.engine.query(&format!(
            "SELECT r.change, r.change_id, r.committed_at, r.script_hash FROM {r}.changes r WHERE 1 = 1{project} \
             ORDER BY r.committed_at, r.change_id"
        ))?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::new();
        for row in &deployed {
            let name = cell(row, 0).unwrap_or_default().to_string();
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            let key = if *n == 1 { name } else { format!("{name}#{n}") };
            let mut e = entry(key.clone(), key, ForeignStatus::Applied, cell(row, 2));
            e.checksum = cell(row, 3).map(str::to_string);
            entries.push(e);
        }
        let events = t.engine.query(&format!(
            "SELECT r.event, r.change, r.committed_at FROM {r}.events r WHERE 1 = 1{project} \
             ORDER BY r.committed_at"
        ))?;
        let mut last: Vec<(String, String, Option<String>)> = Vec::new();
        for row in &events {
            let change = cell(row, 1).unwrap_or_default().to_string();
            last.retain(|(c, _, _)| *c != change);
            let event = cell(row, 0).unwrap_or_default().to_string();
            last.push((change, event, cell(row, 2).map(str::to_string)));
        }
        for (change, event, at) in last {
            if seen.contains_key(&change) {
                continue;
            }
            let status = match event.as_str() {
                "fail" => ForeignStatus::Failed("failed; sqitch reverted it".into()),
                "revert" => ForeignStatus::RolledBack("reverted".into()),
                _ => continue,
            };
            entries.push(entry(change.clone(), change, status, at.as_deref()));
        }
        Ok(ForeignHistory {
            entries,
            upto: None,
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        Some(m.id.clone())
    }

    /// sqitch records the SHA-1 of the deploy script's bytes (`script_hash`).
    fn same_script(&self, recorded: &str, m: &Migration) -> Option<bool> {
        use sha1::{Digest, Sha1};
        Some(recorded.eq_ignore_ascii_case(&hex::encode(Sha1::digest(m.up.sql.as_bytes()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_name_from_the_engine_section() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sqitch.conf"),
            "[core]\n\tengine = mysql\n[engine \"pg\"]\n\tregistry = pg_reg\n[engine  \"mysql\"]\n\tregistry = \"flipr_sqitch\"\n",
        )
        .unwrap();
        assert_eq!(
            conf_registry(dir.path(), "mysql").as_deref(),
            Some("flipr_sqitch")
        );
        assert_eq!(conf_registry(dir.path(), "pg").as_deref(), Some("pg_reg"));
        assert_eq!(conf_registry(dir.path(), "sqlite"), None);
    }

    #[test]
    fn the_sqlite_registry_file_is_named_as_sqitch_names_it() {
        let file = |db: &str, reg: &str| registry_file(Path::new(db), reg);
        assert_eq!(file("/d/flipr.db", "sqitch"), Path::new("/d/sqitch.db"));
        assert_eq!(
            file("/d/flipr.tar.db", "sqitch"),
            Path::new("/d/sqitch.tar.db")
        );
        assert_eq!(file("/d/flipr", "sqitch"), Path::new("/d/sqitch"));
        assert_eq!(
            file("/d/flipr.db", "reg.sqlite"),
            Path::new("/d/reg.sqlite")
        );
        assert_eq!(file("/d/flipr.db", "/r/reg.db"), Path::new("/r/reg.db"));
    }

    #[test]
    fn project_from_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(plan_project(dir.path()), None);
        std::fs::write(
            dir.path().join("sqitch.plan"),
            "%syntax-version=1.0.0\n%project=flipr\n\nusers 2012-07-03T20:53:06Z M <m@x> # u\n",
        )
        .unwrap();
        assert_eq!(plan_project(dir.path()).as_deref(), Some("flipr"));
    }
}
