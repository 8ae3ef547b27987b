//! Layouts: recognising which tool's naming scheme a migrations directory follows and
//! dispatching to the reader for it.
//!
//! The directory is listed once (`tree`). A sqitch project is recognised by its
//! `sqitch.plan`, an Atlas directory by its `atlas.sum`; folder layouts (Diesel, Prisma,
//! memos-style version folders) by what their sub-folders hold; flat layouts by their file
//! names (Flyway, ory/popx) or, failing that, by content (dbmate's markers, goose's
//! annotations, Liquibase's `--liquibase formatted sql` first line).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::sql::Dialect;

use super::squashed::Squash;
use super::tree::{Entry, Found, Texts, Tree};
use super::{Error, Migration, atlas, dbmate, flat, folders, goose, liquibase, popx, sqitch};

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
    /// Liquibase formatted SQL changelogs: `--changeset author:id` sections in `.sql` files
    /// that start with `--liquibase formatted sql`.
    Liquibase,
    /// sqitch: `sqitch.plan` and `deploy/`, `revert/`, `verify/` scripts.
    Sqitch,
    /// Atlas: `<version>_<name>.sql` in lexical order, checked against `atlas.sum`.
    Atlas,
}

impl Layout {
    /// Every layout, in the order of the enum.
    pub const ALL: [Layout; 12] = [
        Layout::Native,
        Layout::SqlxSimple,
        Layout::Dbmate,
        Layout::Goose,
        Layout::Flyway,
        Layout::Diesel,
        Layout::Prisma,
        Layout::Popx,
        Layout::VersionFolders,
        Layout::Liquibase,
        Layout::Sqitch,
        Layout::Atlas,
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
            Layout::Liquibase => "liquibase",
            Layout::Sqitch => "sqitch",
            Layout::Atlas => "atlas",
        }
    }

    /// Whether migrations live in sub-folders rather than in files at the top level (the
    /// readers of sqitch and Atlas report the folders they do not read themselves).
    pub fn uses_folders(&self) -> bool {
        matches!(
            self,
            Layout::Diesel
                | Layout::Prisma
                | Layout::VersionFolders
                | Layout::Sqitch
                | Layout::Atlas
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
    /// The squash whose archive folder is there, if any (`cutover squash`).
    pub squash: Option<Squash>,
}

impl Discovered {
    /// Keeps the Liquibase changesets whose `dbms` admits the server, once it is known:
    /// MariaDB and MySQL share a dialect, and Liquibase tells them apart (`dbms:mysql` does
    /// not run on MariaDB). `server_version` is the server's version string.
    pub fn for_server(&mut self, server_version: &str) {
        let short = if server_version.contains("MariaDB") {
            "mariadb"
        } else {
            "mysql"
        };
        let (keep, drop): (Vec<Migration>, Vec<Migration>) = std::mem::take(&mut self.migrations)
            .into_iter()
            .partition(|m| m.dbms.as_ref().is_none_or(|d| d.admits(short)));
        for m in drop {
            self.ignored.push(Ignored {
                path: m.up.path.clone(),
                reason: format!("changeset {} is not for {short}", m.id),
            });
        }
        self.migrations = keep;
        for m in &mut self.migrations {
            m.dbms = None;
        }
    }

    /// Whether [`Discovered::for_server`] has something to decide.
    pub fn needs_server(&self) -> bool {
        self.migrations.iter().any(|m| m.dbms.is_some())
    }

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
    let squash = tree.take_archive()?;
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
    if let Some(s) = &squash {
        found.ignore(
            &s.dir,
            format!(
                "{} migrations squashed into the baseline {} (`cutover squash`)",
                s.migrations.len(),
                s.baseline
            ),
        );
    }
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
        Layout::Liquibase => liquibase::read(&tree, &mut texts, dialect, &mut found)?,
        Layout::Sqitch => sqitch::read(&tree, dialect, &mut found)?,
        Layout::Atlas => atlas::read(&tree, &mut found)?,
    }
    found
        .migrations
        .sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.id.cmp(&b.id)));
    found.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Discovered {
        layout,
        migrations: found.migrations,
        ignored: found.ignored,
        squash,
    })
}

/// Detects the layout of `dir` without reading the migrations (only dbmate and goose
/// detection read file contents).
pub fn detect(dir: &Path) -> Result<Layout, Error> {
    Tree::scan(dir)?.detect(&mut Texts::default())
}

impl Tree {
    fn detect(&self, texts: &mut Texts) -> Result<Layout, Error> {
        let has_file = |name: &str| self.files.iter().any(|f| f.name == name);
        if has_file(sqitch::PLAN) {
            return Ok(Layout::Sqitch);
        }
        if has_file(atlas::SUM) {
            return Ok(Layout::Atlas);
        }
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

    /// dbmate, goose or Liquibase, whose files are told apart by their content
    /// (`.up.sql`/`.down.sql` files never need opening to tell), or a goose Go migration;
    /// an error if two tools' files are there.
    fn sections_layout(
        &self,
        files: &[&Entry],
        texts: &mut Texts,
    ) -> Result<Option<Layout>, Error> {
        let mut firsts: Vec<(Layout, &Entry)> = Vec::new();
        for file in files.iter().filter(|f| !flat::is_reversible(&f.name)) {
            let text = texts.get(&file.path)?;
            // A file with several tools' markers counts for the first one in it; its
            // reader then refuses the others with their lines.
            let layout = if liquibase::is_changelog(text) {
                Some(Layout::Liquibase)
            } else {
                text.lines().find_map(|line| {
                    if dbmate::is_marker(line) {
                        Some(Layout::Dbmate)
                    } else {
                        goose::is_up(line).then_some(Layout::Goose)
                    }
                })
            };
            if let Some(layout) = layout
                && !firsts.iter().any(|(l, _)| *l == layout)
            {
                firsts.push((layout, file));
            }
        }
        if let Some(go) = self.files.iter().find(|f| goose::is_go_migration(&f.name))
            && !firsts.iter().any(|(l, _)| *l == Layout::Goose)
        {
            firsts.push((Layout::Goose, go));
        }
        match firsts.as_slice() {
            [] => Ok(None),
            [(layout, _)] => Ok(Some(*layout)),
            [(first_layout, first), (second_layout, second), ..] => Err(Error::MixedLayouts {
                dir: self.dir.clone(),
                first_layout: *first_layout,
                first: first.path.clone(),
                second_layout: *second_layout,
                second: second.path.clone(),
            }),
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
            "liquibase-xml"
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
        std::fs::write(tmp.path().join(name), "").unwrap();
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
