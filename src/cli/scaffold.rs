//! `cutover init` and `cutover new`: files for a new project and for the next migration.

use std::fs;
use std::path::{Path, PathBuf};

use cutover::Error;
use cutover::config::{DEFAULT_FILE, INIT_TEMPLATE};
use cutover::migrations::{self, Layout};
use cutover::sql::Dialect;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `cutover.toml` (never over an existing one) and create `migrations/`.
pub fn init(config: Option<&Path>) -> Result<Vec<String>, Error> {
    let file = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    if file.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; cutover init never overwrites it",
            file.display()
        )));
    }
    let dir = file.parent().unwrap_or(Path::new("")).join("migrations");
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    fs::write(&file, INIT_TEMPLATE).map_err(io(&file))?;
    Ok(vec![
        file.display().to_string(),
        format!("{}/", dir.display()),
    ])
}

/// Create the next migration in `dir`, in the layout the folder already uses.
pub fn new(dir: &Path, name: &str, with_down: bool) -> Result<Vec<String>, Error> {
    let slug = slug(name)?;
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    // The dialect only matters for ory/popx file selection, which `new` does not use.
    let found = migrations::discover(dir, Dialect::Sqlite)?;
    let version = next_version(&found.migrations);
    let up_text = format!("-- {slug}: up\n");
    let down_text = format!("-- {slug}: undo what the up script does\n");
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    match found.layout {
        Layout::Dbmate => {
            let mut text = format!("-- migrate:up\n{up_text}\n");
            if with_down {
                text.push_str(&format!("-- migrate:down\n{down_text}"));
            }
            files.push((dir.join(format!("{version}_{slug}.sql")), text));
        }
        Layout::Goose => {
            let mut text = format!("-- +goose Up\n{up_text}\n");
            if with_down {
                text.push_str(&format!("-- +goose Down\n{down_text}"));
            }
            files.push((dir.join(format!("{version}_{slug}.sql")), text));
        }
        Layout::Diesel => {
            let folder = dir.join(format!("{version}_{slug}"));
            files.push((folder.join("up.sql"), up_text));
            files.push((folder.join("down.sql"), down_text));
        }
        Layout::Prisma => {
            files.push((
                dir.join(format!("{version}_{slug}")).join("migration.sql"),
                up_text,
            ));
        }
        Layout::Flyway => {
            files.push((dir.join(format!("V{version}__{slug}.sql")), up_text));
            if with_down {
                files.push((dir.join(format!("U{version}__{slug}.sql")), down_text));
            }
        }
        Layout::SqlxSimple => files.push((dir.join(format!("{version}_{slug}.sql")), up_text)),
        Layout::VersionFolders => {
            return Err(Error::Usage(format!(
                "{} uses version folders (memos); create the file by hand",
                dir.display()
            )));
        }
        Layout::Liquibase | Layout::Sqitch | Layout::Atlas => {
            let how = match found.layout {
                Layout::Liquibase => {
                    "add a `--changeset` to a changelog, or a new formatted SQL file"
                }
                Layout::Sqitch => "use `sqitch add`, which also writes the plan",
                _ => "use `atlas migrate new`, which also updates atlas.sum",
            };
            return Err(Error::Usage(format!(
                "{} is a {} folder: {how}",
                dir.display(),
                found.layout
            )));
        }
        _ => {
            files.push((dir.join(format!("{version}_{slug}.up.sql")), up_text));
            if with_down {
                files.push((dir.join(format!("{version}_{slug}.down.sql")), down_text));
            }
        }
    }
    let mut created = Vec::new();
    for (path, text) in files {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::write(&path, text).map_err(io(&path))?;
        created.push(path.display().to_string());
    }
    Ok(created)
}

/// `Create Students!` → `create_students`; refuses names with nothing usable.
fn slug(name: &str) -> Result<String, Error> {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "`{name}` is not a usable migration name; use letters, digits and underscores"
        )));
    }
    Ok(out)
}

/// The current UTC time as `YYYYMMDDHHMMSS`, or one more than the newest existing
/// timestamp version when that is not older (two `new` in one second, clock skew).
fn next_version(existing: &[migrations::Migration]) -> String {
    let now = jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string();
    let newest = existing
        .iter()
        .filter_map(|m| m.version.to_string().parse::<u64>().ok())
        .filter(|v| (10_000_000_000_000..100_000_000_000_000).contains(v))
        .max();
    match (now.parse::<u64>(), newest) {
        (Ok(n), Some(v)) if v >= n => (v + 1).to_string(),
        _ => now,
    }
}
