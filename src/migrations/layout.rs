//! Layouts: recognising which tool's naming scheme a migrations directory follows and
//! dispatching to the reader for it.
//!
//! The directory is listed once (top level, plus one level into sub-folders), in name order
//! so that results and errors are deterministic. Folder layouts (Diesel, Prisma, memos-style
//! version folders) are recognised by what their sub-folders hold; flat layouts by their
//! file names (Flyway, ory/popx) or, failing that, by content (dbmate's markers, goose's
//! annotations). Entries that are neither regular files nor folders (FIFOs, sockets,
//! devices) are errors: opening a FIFO would wait forever.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::sql::Dialect;

use super::{Error, Migration, dbmate, flat, folders, goose, popx, read_text};

/// The naming scheme of a migrations directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `<version>_<name>.up.sql` + optional `.down.sql` (golang-migrate, sqlx reversible),
    /// possibly mixed with up-only `<version>_<name>.sql`.
    Native,
    /// Only up-only `<version>_<name>.sql` files (sqlx simple migrations).
    SqlxSimple,
    /// `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down` sections.
    Dbmate,
    /// pressly/goose: `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down`
    /// sections, statement blocks and `${VAR}` substitution.
    Goose,
    /// `V<version>__<name>.sql` + optional `U<version>__<name>.sql` undo.
    Flyway,
    /// Folders `<version>_<name>/up.sql` + `down.sql`.
    Diesel,
    /// Folders `<timestamp>_<name>/migration.sql`.
    Prisma,
    /// ory/popx: `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`.
    Popx,
    /// usememos/memos: folders `<x.y>/<NN>__<name>.sql`.
    VersionFolders,
}

impl Layout {
    /// Every layout, in the order of the enum.
    pub const ALL: [Layout; 9] = [
        Layout::Native,
        Layout::SqlxSimple,
        Layout::Dbmate,
        Layout::Goose,
        Layout::Flyway,
        Layout::Diesel,
        Layout::Prisma,
        Layout::Popx,
        Layout::VersionFolders,
    ];

    /// The name used in messages and `--json` output (`native`, `sqlx-simple`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Layout::Native => "native",
            Layout::SqlxSimple => "sqlx-simple",
            Layout::Dbmate => "dbmate",
            Layout::Goose => "goose",
            Layout::Flyway => "flyway",
            Layout::Diesel => "diesel",
            Layout::Prisma => "prisma",
            Layout::Popx => "popx",
            Layout::VersionFolders => "version-folders",
        }
    }

    /// Whether migrations live in sub-folders rather than in files at the top level.
    pub fn uses_folders(&self) -> bool {
        matches!(
            self,
            Layout::Diesel | Layout::Prisma | Layout::VersionFolders
        )
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layout {
    type Err = String;

    /// Parses a name as given by [`Layout::name`].
    fn from_str(s: &str) -> Result<Layout, String> {
        Layout::ALL
            .into_iter()
            .find(|layout| layout.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Layout::ALL.iter().map(Layout::name).collect();
                format!("unknown layout `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// What [`discover`] found in a migrations directory.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub layout: Layout,
    /// Sorted ascending by version (ties broken by id).
    pub migrations: Vec<Migration>,
    /// Files and folders seen but not used, each with the reason, sorted by path.
    pub ignored: Vec<Ignored>,
}

impl Discovered {
    /// Read the down scripts, which [`discover_only`] only lists (a rollback needs them).
    pub fn read_downs(&mut self) -> Result<(), Error> {
        for m in &mut self.migrations {
            if let Some(down) = &mut m.down {
                down.load()?;
            }
        }
        Ok(())
    }
}

/// A file or folder in the migrations directory that is not (part of) a migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ignored {
    pub path: PathBuf,
    pub reason: String,
}

/// Finds the migrations in `dir`, detecting its layout. For layouts that keep files per
/// dialect (ory/popx), `dialect` selects them. Either every migration is read or an error
/// is returned.
pub fn discover(dir: &Path, dialect: Dialect) -> Result<Discovered, Error> {
    let mut found = discover_only(dir, dialect, &[])?;
    found.read_downs()?;
    Ok(found)
}

/// Like [`discover`], reading only the top-level files and folders whose names match one of
/// `include` (all of them when it is empty), and only listing down scripts held in files of
/// their own: [`Discovered::read_downs`] reads them. One folder can hold several histories told
/// apart by name (vmangos keeps `*_world.sql` and `*_logon.sql` side by side, each for its
/// own database); the others are listed in `ignored`.
pub fn discover_only(
    dir: &Path,
    dialect: Dialect,
    include: &[glob::Pattern],
) -> Result<Discovered, Error> {
    let mut tree = Tree::scan(dir)?;
    let excluded = tree.keep_only(include);
    let mut texts = Texts::default();
    let layout = tree.detect(&mut texts)?;
    let mut found = Found::default();
    for entry in excluded {
        found.ignore(
            &entry.path,
            "not matched by the environment's `include` patterns",
        );
    }
    tree.ignore_hidden(&mut found);
    if !layout.uses_folders() {
        tree.ignore_folders(layout, &mut found);
    }
    match layout {
        Layout::Native | Layout::SqlxSimple => {
            flat::read_native(&tree, layout, &mut texts, &mut found)?
        }
        Layout::Flyway => flat::read_flyway(&tree, &mut found)?,
        Layout::Dbmate => dbmate::read(&tree, &mut texts, &mut found)?,
        Layout::Goose => goose::read(&tree, &mut texts, &mut found)?,
        Layout::Popx => popx::read(&tree, dialect, &mut found)?,
        Layout::Diesel | Layout::Prisma => folders::read_single(&tree, layout, &mut found)?,
        Layout::VersionFolders => folders::read_versioned(&tree, &mut found)?,
    }
    found
        .migrations
        .sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
    found.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Discovered {
        layout,
        migrations: found.migrations,
        ignored: found.ignored,
    })
}

/// Detects the layout of `dir` without reading the migrations (only dbmate and goose
/// detection read file contents).
pub fn detect(dir: &Path) -> Result<Layout, Error> {
    Tree::scan(dir)?.detect(&mut Texts::default())
}

/// What the readers collect.
#[derive(Default)]
pub(super) struct Found {
    pub migrations: Vec<Migration>,
    pub ignored: Vec<Ignored>,
}

impl Found {
    pub fn ignore(&mut self, path: &Path, reason: impl Into<String>) {
        self.ignored.push(Ignored {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }
}

/// A file or folder, by name and path.
pub(super) struct Entry {
    pub name: String,
    pub path: PathBuf,
}

impl Entry {
    pub fn is_hidden(&self) -> bool {
        self.name.starts_with('.')
    }

    /// `.sql` in any case, so that `X.SQL` is reported as misnamed rather than skipped.
    pub fn is_sql(&self) -> bool {
        let name = self.name.as_bytes();
        name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".sql")
    }
}

/// A sub-folder and its direct content.
pub(super) struct SubDir {
    pub entry: Entry,
    pub files: Vec<Entry>,
    pub dirs: Vec<Entry>,
}

impl SubDir {
    pub fn file(&self, name: &str) -> Option<&Entry> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// The migrations directory, listed two levels deep (hidden folders are not entered).
pub(super) struct Tree {
    pub dir: PathBuf,
    pub files: Vec<Entry>,
    pub dirs: Vec<SubDir>,
    hidden_dirs: Vec<Entry>,
}

impl Tree {
    fn scan(dir: &Path) -> Result<Tree, Error> {
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(Error::MissingDir { dir: dir.into() }),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::MissingDir { dir: dir.into() });
            }
            Err(e) => return Err(Error::io(dir, e)),
        }
        let (files, dirs) = list(dir)?;
        let (hidden_dirs, dirs): (Vec<Entry>, Vec<Entry>) =
            dirs.into_iter().partition(Entry::is_hidden);
        let dirs = dirs
            .into_iter()
            .map(|entry| {
                let (files, dirs) = list(&entry.path)?;
                Ok(SubDir { entry, files, dirs })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Tree {
            dir: dir.to_path_buf(),
            files,
            dirs,
            hidden_dirs,
        })
    }

    /// Drop top-level entries that match none of `include`; returns them.
    fn keep_only(&mut self, include: &[glob::Pattern]) -> Vec<Entry> {
        if include.is_empty() {
            return Vec::new();
        }
        let wanted = |name: &str| include.iter().any(|p| p.matches(name));
        let (files, mut excluded): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|e| wanted(&e.name));
        self.files = files;
        let (dirs, other): (Vec<SubDir>, Vec<SubDir>) = std::mem::take(&mut self.dirs)
            .into_iter()
            .partition(|d| wanted(&d.entry.name));
        self.dirs = dirs;
        excluded.extend(other.into_iter().map(|d| d.entry));
        excluded
    }

    /// Flat layouts read only the top level, so their sub-folders are reported as unread.
    fn ignore_folders(&self, layout: Layout, found: &mut Found) {
        for sub in &self.dirs {
            let reason = format!(
                "folder: the {layout} layout reads only the files directly in {}",
                self.dir.display()
            );
            found.ignore(&sub.entry.path, reason);
        }
    }

    fn ignore_hidden(&self, found: &mut Found) {
        for entry in &self.hidden_dirs {
            found.ignore(&entry.path, "hidden folder");
        }
    }

    /// Top-level `.sql` files that are not hidden.
    pub fn sql_files(&self) -> impl Iterator<Item = &Entry> {
        self.files.iter().filter(|f| f.is_sql() && !f.is_hidden())
    }

    fn detect(&self, texts: &mut Texts) -> Result<Layout, Error> {
        if let Some(layout) = self.folder_layout()? {
            return Ok(layout);
        }
        let files: Vec<&Entry> = self.sql_files().collect();
        if files.iter().any(|f| flat::is_flyway_like(&f.name)) {
            return Ok(Layout::Flyway);
        }
        if self.files.iter().any(|f| popx::is_popx_like(&f.name)) {
            return Ok(Layout::Popx);
        }
        if files.len() == 1 && files[0].name == folders::LATEST {
            return Ok(Layout::VersionFolders);
        }
        if let Some(layout) = self.sections_layout(&files, texts)? {
            return Ok(layout);
        }
        let reversible = files.iter().any(|f| flat::is_reversible(&f.name));
        Ok(if reversible || files.is_empty() {
            Layout::Native
        } else {
            Layout::SqlxSimple
        })
    }

    /// dbmate or goose, whose files are plain `<version>_<name>.sql` told apart by their
    /// markers (`.up.sql`/`.down.sql` files never need opening to tell), or a goose Go
    /// migration beside them; an error if both tools' files are there.
    fn sections_layout(
        &self,
        files: &[&Entry],
        texts: &mut Texts,
    ) -> Result<Option<Layout>, Error> {
        let mut dbmate_file = None;
        let mut goose_file = self.files.iter().find(|f| goose::is_go_migration(&f.name));
        for file in files.iter().filter(|f| !flat::is_reversible(&f.name)) {
            // A file with both tools' markers counts for the first one in it; its reader
            // then refuses the other one with its line.
            let first = texts.get(&file.path)?.lines().find_map(|line| {
                if dbmate::is_marker(line) {
                    Some(Layout::Dbmate)
                } else {
                    goose::is_up(line).then_some(Layout::Goose)
                }
            });
            match first {
                Some(Layout::Dbmate) => {
                    dbmate_file.get_or_insert(*file);
                }
                Some(_) => {
                    goose_file.get_or_insert(*file);
                }
                None => {}
            }
        }
        match (dbmate_file, goose_file) {
            (Some(first), Some(second)) => Err(Error::MixedLayouts {
                dir: self.dir.clone(),
                first_layout: Layout::Dbmate,
                first: first.path.clone(),
                second_layout: Layout::Goose,
                second: second.path.clone(),
            }),
            (Some(_), None) => Ok(Some(Layout::Dbmate)),
            (None, Some(_)) => Ok(Some(Layout::Goose)),
            (None, None) => Ok(None),
        }
    }

    /// The layout of the migration folders, if there are any; an error if they disagree.
    fn folder_layout(&self) -> Result<Option<Layout>, Error> {
        let mut kinds = self
            .dirs
            .iter()
            .filter_map(|d| Some((folders::kind(d)?, d)));
        let Some((first_layout, first)) = kinds.next() else {
            return Ok(None);
        };
        if let Some((second_layout, second)) = kinds.find(|(layout, _)| *layout != first_layout) {
            return Err(Error::MixedLayouts {
                dir: self.dir.clone(),
                first_layout,
                first: first.entry.path.clone(),
                second_layout,
                second: second.entry.path.clone(),
            });
        }
        Ok(Some(first_layout))
    }
}

/// Lists a directory's files and folders, each sorted by name. Symbolic links count as
/// what they point to; a dangling one is listed as a file, so that reading it names it.
/// Anything else that is not hidden (a FIFO, a socket, a device) is an error naming it.
fn list(dir: &Path) -> Result<(Vec<Entry>, Vec<Entry>), Error> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let item = item.map_err(|e| Error::io(dir, e))?;
        let path = item.path();
        let name = (item.file_name().into_string())
            .map_err(|_| Error::NotUtf8Name { path: path.clone() })?;
        // The directory entry's type costs no system call; only links need following.
        let mut kind = item.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_symlink()
            && let Ok(target) = fs::metadata(&path)
        {
            kind = target.file_type();
        }
        let entry = Entry { name, path };
        if kind.is_dir() {
            dirs.push(entry)
        } else if kind.is_file() || kind.is_symlink() || entry.is_hidden() {
            files.push(entry)
        } else {
            return Err(Error::NotAFile {
                path: entry.path,
                kind: kind_of(&kind),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    dirs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((files, dirs))
}

/// What a file type that is neither a regular file nor a folder is, for messages.
pub(super) fn kind_of(kind: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        } else if kind.is_socket() {
            return "a socket";
        } else if kind.is_block_device() {
            return "a block device";
        } else if kind.is_char_device() {
            return "a character device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// File contents read during detection, kept so that each file is read once.
#[derive(Default)]
pub(super) struct Texts(HashMap<PathBuf, String>);

impl Texts {
    fn get(&mut self, path: &Path) -> Result<&str, Error> {
        if !self.0.contains_key(path) {
            let text = read_text(path)?;
            self.0.insert(path.to_path_buf(), text);
        }
        Ok(&self.0[path])
    }

    /// The text of `path`, from the cache or the disk.
    pub fn take(&mut self, path: &Path) -> Result<String, Error> {
        match self.0.remove(path) {
            Some(text) => Ok(text),
            None => read_text(path),
        }
    }
}

/// Splits `<version>_<name>` at the first `_`; both parts non-empty.
pub(super) fn split_version(stem: &str) -> Option<(&str, &str)> {
    stem.split_once('_')
        .filter(|(version, name)| !version.is_empty() && !name.is_empty())
}

/// Non-empty and ASCII digits only.
pub(super) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Non-hidden files other than `.sql` are listed as ignored; returns the `.sql` ones.
pub(super) fn sql_only<'a>(files: &'a [Entry], found: &mut Found) -> Vec<&'a Entry> {
    let mut sql = Vec::new();
    for file in files {
        if file.is_hidden() {
            found.ignore(&file.path, "hidden file");
        } else if file.is_sql() {
            sql.push(file);
        } else {
            found.ignore(&file.path, "not a .sql file");
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::tests::{names, write};

    #[test]
    fn layout_names_round_trip() {
        for layout in Layout::ALL {
            assert_eq!(layout.name().parse::<Layout>(), Ok(layout));
            assert_eq!(
                serde_json::to_string(&layout).unwrap(),
                format!("\"{layout}\"")
            );
        }
        assert_eq!(format!("layout: {}", Layout::Diesel), "layout: diesel");
        assert!(
            "liquibase"
                .parse::<Layout>()
                .unwrap_err()
                .contains("version-folders")
        );
    }

    #[test]
    fn missing_directory_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nope");
        let err = discover(&dir, Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::MissingDir { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("nope") && msg.contains("cutover init") && msg.contains("--migrations"),
            "{msg}"
        );
        write(tmp.path(), "file", "");
        let err = discover(&tmp.path().join("file"), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::MissingDir { .. }), "{err}");
    }

    #[test]
    fn empty_directory_is_native_with_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let found = discover(tmp.path(), Dialect::Sqlite).unwrap();
        assert_eq!(found.layout, Layout::Native);
        assert!(found.migrations.is_empty() && found.ignored.is_empty());
    }

    #[test]
    fn non_sql_and_hidden_entries_are_ignored_with_reasons() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.up.sql", "SELECT 1;");
        write(tmp.path(), "README.md", "# notes");
        write(tmp.path(), ".gitkeep", "");
        write(tmp.path(), ".git/config", "");
        write(tmp.path(), "old/0_x.sql", "");
        let found = discover(tmp.path(), Dialect::Sqlite).unwrap();
        assert_eq!(names(&found), ["1"]);
        let ignored: Vec<(String, &str)> = found
            .ignored
            .iter()
            .map(|i| {
                (
                    i.path
                        .strip_prefix(tmp.path())
                        .unwrap()
                        .display()
                        .to_string(),
                    i.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(ignored.len(), 4, "{ignored:?}");
        assert_eq!(ignored[0], (".git".to_string(), "hidden folder"));
        assert_eq!(ignored[1], (".gitkeep".to_string(), "hidden file"));
        assert_eq!(ignored[2], ("README.md".to_string(), "not a .sql file"));
        assert_eq!(ignored[3].0, "old");
        assert!(ignored[3].1.contains("native"), "{:?}", ignored[3]);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_that_is_not_utf8_is_an_error() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"1_caf\xe9.sql");
        fs::write(tmp.path().join(name), "").unwrap();
        let err = discover(tmp.path(), Dialect::Sqlite).unwrap_err();
        assert!(matches!(err, Error::NotUtf8Name { .. }), "{err}");
        assert!(err.to_string().contains("1_caf"), "{err}");
    }

    #[test]
    fn folders_of_two_layouts_are_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "20200101000000_a/up.sql", "");
        write(tmp.path(), "20200102000000_b/migration.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(
            err,
            Error::MixedLayouts {
                first_layout: Layout::Diesel,
                second_layout: Layout::Prisma,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("20200101000000_a") && msg.contains("20200102000000_b"),
            "{msg}"
        );
    }

    #[test]
    fn detect_matches_discover() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sql", "-- migrate:up\nSELECT 1;\n");
        assert_eq!(detect(tmp.path()).unwrap(), Layout::Dbmate);
        assert_eq!(
            discover(tmp.path(), Dialect::MySql).unwrap().layout,
            Layout::Dbmate
        );
    }

    #[test]
    fn directories_are_read_in_name_order() {
        let tmp = tempfile::tempdir().unwrap();
        for v in ["3", "1", "10", "2"] {
            write(tmp.path(), &format!("{v}_m.sql"), "");
        }
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(names(&found), ["1", "2", "3", "10"]);
    }
}
