//! Flat layouts whose file names say everything: native (`.up.sql`/`.down.sql`, sqlx
//! simple `.sql`) and Flyway (`V…__`/`U…__`). Also the pairing of up and down files by
//! version that ory/popx shares.

use std::collections::HashMap;
use std::path::Path;

use super::tree::{Entry, Found, Texts, Tree, is_digits, numbered, sql_only};
use super::{Error, Kind, Layout, Migration, Script, Version};

const NATIVE_EXPECTED: &str = "<version>_<name>.up.sql, <version>_<name>.down.sql or <version>_<name>.sql, where <version> is digits";
const FLYWAY_EXPECTED: &str = "V<version>__<description>.sql, U<version>__<description>.sql or R__<description>.sql (two underscores; <version> is digits separated by `.` or `_`)";

/// Whether a `.sql` file name looks meant for Flyway (`V1__…`, `U1__…`, `R__…`, or a
/// misspelling such as `V1_x.sql`), which no other layout's name starts like.
pub(super) fn is_flyway_like(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('V' | 'U' | 'R'))
        && chars.next().is_some_and(|c| c.is_ascii_digit() || c == '_')
}

/// Whether a file name is one half of a reversible native pair.
pub(super) fn is_reversible(name: &str) -> bool {
    name.ends_with(".up.sql") || name.ends_with(".down.sql")
}

/// One up or down file, parsed from its name.
pub(super) struct Named<'a> {
    pub version: Version,
    pub name: String,
    pub up: bool,
    pub entry: &'a Entry,
    /// The layout's own no-transaction marker in the name (popx `.autocommit`).
    pub no_transaction: bool,
}

/// The up file of a version and its down file, if any.
pub(super) struct Pair<'a> {
    pub up: Named<'a>,
    pub down: Option<Named<'a>>,
}

/// Pairs up and down files by version number. Two files for one version and direction,
/// or a down file without an up file, are errors.
pub(super) fn pair(files: Vec<Named<'_>>) -> Result<Vec<Pair<'_>>, Error> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(Vec<Named>, Vec<Named>)> = Vec::new();
    for file in files {
        let i = *index.entry(file.version.number_key()).or_insert_with(|| {
            groups.push((Vec::new(), Vec::new()));
            groups.len() - 1
        });
        if file.up {
            groups[i].0.push(file)
        } else {
            groups[i].1.push(file)
        }
    }
    groups.sort_by(|a, b| first_version(a).cmp(first_version(b)));
    groups
        .into_iter()
        .map(|(ups, downs)| one_pair(ups, downs))
        .collect()
}

fn first_version<'a>((ups, downs): &'a (Vec<Named>, Vec<Named>)) -> &'a Version {
    &ups.first()
        .or(downs.first())
        .expect("a group has a file")
        .version
}

fn one_pair<'a>(mut ups: Vec<Named<'a>>, mut downs: Vec<Named<'a>>) -> Result<Pair<'a>, Error> {
    duplicates(&ups, "up")?;
    duplicates(&downs, "down")?;
    let down = downs.pop();
    match ups.pop() {
        Some(up) => Ok(Pair { up, down }),
        None => Err(Error::DownWithoutUp {
            path: down.expect("a group has a file").entry.path.clone(),
        }),
    }
}

/// An error naming every file when more than one claims a version and direction.
pub(super) fn duplicates(files: &[Named<'_>], direction: &'static str) -> Result<(), Error> {
    if files.len() < 2 {
        return Ok(());
    }
    Err(Error::DuplicateVersion {
        version: files[0].version.to_string(),
        direction,
        paths: files.iter().map(|f| f.entry.path.clone()).collect(),
    })
}

impl Pair<'_> {
    /// Reads both files. The id is the version, as the tools that use these layouts store it.
    pub(super) fn into_migration(
        self,
        layout: Layout,
        read: &mut impl FnMut(&Path) -> Result<String, Error>,
    ) -> Result<Migration, Error> {
        let up = script(&self.up, layout, read)?;
        let down = self
            .down
            .map(|down| Script::pending(&down.entry.path, down.no_transaction, layout));
        let Named { version, name, .. } = self.up;
        Ok(Migration::new(version.to_string(), version, name, up, down))
    }
}

fn script(
    file: &Named<'_>,
    layout: Layout,
    read: &mut impl FnMut(&Path) -> Result<String, Error>,
) -> Result<Script, Error> {
    let path = &file.entry.path;
    Script::new(path, read(path)?, 0, file.no_transaction, layout)
}

/// Native and sqlx layouts: `<version>_<name>.up.sql` / `.down.sql` / `.sql`.
pub(super) fn read_native(
    tree: &Tree,
    layout: Layout,
    texts: &mut Texts,
    found: &mut Found,
) -> Result<(), Error> {
    let mut files = Vec::new();
    for entry in sql_only(&tree.files, found) {
        files.push(
            native_name(entry).ok_or_else(|| unexpected(tree, entry, layout, NATIVE_EXPECTED))?,
        );
    }
    for pair in pair(files)? {
        found
            .migrations
            .push(pair.into_migration(layout, &mut |path| texts.take(path))?);
    }
    Ok(())
}

fn native_name(entry: &Entry) -> Option<Named<'_>> {
    let stem = entry.name.strip_suffix(".sql")?;
    let (stem, up) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
        (Some(stem), _) => (stem, true),
        (_, Some(stem)) => (stem, false),
        _ => (stem, true),
    };
    let (version, name) = numbered(stem)?;
    Some(Named {
        version: Version::parse(&version)?,
        name: name.to_string(),
        up,
        entry,
        no_transaction: false,
    })
}

/// Flyway: `V<version>__<description>.sql` with optional `U<version>__<description>.sql`,
/// and repeatable `R__<description>.sql` scripts, which run after every versioned migration
/// (in the order of their descriptions, as Flyway orders them) and again whenever their
/// checksum changes.
pub(super) fn read_flyway(tree: &Tree, found: &mut Found) -> Result<(), Error> {
    let mut files = Vec::new();
    let mut repeatables: Vec<(String, &Entry)> = Vec::new();
    for entry in sql_only(&tree.files, found) {
        if let Some(description) = repeatable_name(entry) {
            if let Some((_, first)) = repeatables.iter().find(|(d, _)| *d == description) {
                return Err(Error::DuplicateVersion {
                    version: format!("R__ (description \"{description}\")"),
                    direction: "repeatable",
                    paths: vec![first.path.clone(), entry.path.clone()],
                });
            }
            repeatables.push((description, entry));
            continue;
        }
        files.push(
            flyway_name(entry)
                .ok_or_else(|| unexpected(tree, entry, Layout::Flyway, FLYWAY_EXPECTED))?,
        );
    }
    for pair in pair(files)? {
        found
            .migrations
            .push(pair.into_migration(Layout::Flyway, &mut super::read_text)?);
    }
    for (description, entry) in repeatables {
        let up = Script::read(&entry.path, false, Layout::Flyway)?;
        let stem = entry.name.strip_suffix(".sql").expect("a .sql file");
        let name = stem.trim_start_matches("R__").to_string();
        let mut m = Migration::new(
            stem.to_string(),
            Version::repeatable(description),
            name,
            up,
            None,
        );
        m.kind = Kind::Repeatable;
        found.migrations.push(m);
    }
    Ok(())
}

/// `R__<description>.sql` -> the description as Flyway reads it (`_` is a space).
fn repeatable_name(entry: &Entry) -> Option<String> {
    let description = entry.name.strip_prefix("R__")?.strip_suffix(".sql")?;
    (!description.is_empty()).then(|| description.replace('_', " "))
}

fn flyway_name(entry: &Entry) -> Option<Named<'_>> {
    let up = match entry.name.as_bytes().first()? {
        b'V' => true,
        b'U' => false,
        _ => return None,
    };
    let (version, description) = entry.name[1..].strip_suffix(".sql")?.split_once("__")?;
    if !version.split(['.', '_']).all(is_digits) {
        return None;
    }
    Some(Named {
        // Flyway treats `1_2` as `1.2` and records it so.
        version: Version::parse(&version.replace('_', "."))?,
        name: description.to_string(),
        up,
        entry,
        no_transaction: false,
    })
}

pub(super) fn unexpected(
    tree: &Tree,
    entry: &Entry,
    layout: Layout,
    expected: &'static str,
) -> Error {
    Error::UnexpectedFile {
        path: entry.path.clone(),
        dir: tree.dir.clone(),
        layout,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Error, Layout, discover};
    use crate::sql::Dialect;

    #[test]
    fn native_pairs_up_and_down_and_accepts_up_only_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_users.up.sql", "CREATE TABLE users (id int);");
        write(tmp.path(), "1_users.down.sql", "DROP TABLE users;");
        write(tmp.path(), "2_seed.sql", "INSERT INTO users VALUES (1);");
        write(
            tmp.path(),
            "10_posts.up.sql",
            "-- cutover:no-transaction\nCREATE TABLE posts (id int);",
        );
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Native);
        assert_eq!(names(&found), ["1", "2", "10"]);
        let m = &found.migrations;
        assert_eq!(m[0].name, "users");
        assert_eq!(m[0].down.as_ref().unwrap().sql, "DROP TABLE users;");
        assert!(m[1].down.is_none() && m[2].down.is_none());
        assert!(m[2].up.directives.no_transaction && !m[0].up.directives.no_transaction);
        assert!(m[0].up.path.ends_with("1_users.up.sql") && m[0].up.line_offset == 0);
    }

    #[test]
    fn only_simple_files_is_sqlx_simple_and_honours_its_marker() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "20210425153745_create_history.sql",
            "CREATE TABLE h (id int);",
        );
        write(
            tmp.path(),
            "20210425153757_index.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON h (id);",
        );
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::SqlxSimple);
        assert_eq!(names(&found), ["20210425153745", "20210425153757"]);
        assert!(found.migrations[1].up.directives.no_transaction);
        assert!(!found.migrations[0].up.directives.no_transaction);
    }

    #[test]
    fn two_up_files_for_one_version_name_both() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.up.sql", "");
        write(tmp.path(), "1_b.up.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::DuplicateVersion {
                    direction: "up",
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("1_a.up.sql") && msg.contains("1_b.up.sql"),
            "{msg}"
        );
    }

    #[test]
    fn versions_equal_as_numbers_clash() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sql", "");
        write(tmp.path(), "01_b.up.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("1_a.sql") && msg.contains("01_b.up.sql"),
            "{msg}"
        );
    }

    #[test]
    fn down_without_up_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.up.sql", "");
        write(tmp.path(), "2_b.down.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::DownWithoutUp { .. }), "{err}");
        assert!(err.to_string().contains("2_b.down.sql"), "{err}");
    }

    #[test]
    fn stray_sql_file_is_an_error_naming_it_and_the_layout() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.up.sql", "");
        write(tmp.path(), "schema.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnexpectedFile {
                    layout: Layout::Native,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("schema.sql") && msg.contains("native"),
            "{msg}"
        );
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.SQL", "");
        assert!(
            discover(tmp.path(), Dialect::Postgres)
                .unwrap_err()
                .to_string()
                .contains("1_a.SQL")
        );
    }

    #[test]
    fn flyway_versions_and_undo() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1__init.sql", "CREATE TABLE a (id int);");
        write(tmp.path(), "V1_2__add_b.sql", "CREATE TABLE b (id int);");
        write(tmp.path(), "U1_2__add_b.sql", "DROP TABLE b;");
        write(tmp.path(), "V1.10__add_c.sql", "CREATE TABLE c (id int);");
        write(tmp.path(), "V2__add_d.sql", "");
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Flyway);
        assert_eq!(names(&found), ["1", "1.2", "1.10", "2"]);
        assert_eq!(found.migrations[1].name, "add_b");
        assert_eq!(
            found.migrations[1].down.as_ref().unwrap().sql,
            "DROP TABLE b;"
        );
        assert!(found.migrations[0].down.is_none());
    }

    #[test]
    fn flyway_single_underscore_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1__init.sql", "");
        write(tmp.path(), "V2_create.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnexpectedFile {
                    layout: Layout::Flyway,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("V2_create.sql") && msg.contains("two underscores"),
            "{msg}"
        );
    }

    #[test]
    fn flyway_repeatables_come_after_the_versioned_ones() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1__init.sql", "CREATE TABLE t (id int);");
        write(tmp.path(), "R__views.sql", "CREATE VIEW v AS SELECT 1;");
        write(tmp.path(), "R__a_functions.sql", "SELECT 2;");
        write(tmp.path(), "V2__more.sql", "");
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(names(&found), ["1", "2", "R__a_functions", "R__views"]);
        let r = &found.migrations[3];
        assert_eq!(r.kind, crate::migrations::Kind::Repeatable);
        assert_eq!(r.name, "views");
        assert!(r.down.is_none() && r.missing_down().contains("repeatable"));
        write(tmp.path(), "R__a functions.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("R__a_functions.sql") && msg.contains("R__a functions.sql"),
            "same description twice: {msg}"
        );
    }

    #[test]
    fn flyway_undo_without_version_and_duplicate_versions() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "U3__x.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(err.to_string().contains("U3__x.sql"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "V1.1__a.sql", "");
        write(tmp.path(), "V1_1__b.sql", "");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("V1.1__a.sql") && msg.contains("V1_1__b.sql"),
            "{msg}"
        );
    }
}
