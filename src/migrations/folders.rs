//! Folder layouts: one folder per migration (Diesel `<version>_<name>/up.sql` + `down.sql`,
//! Prisma `<timestamp>_<name>/migration.sql`), and usememos/memos version folders
//! (`0.19/00__add_resource_name.sql`, one folder per release holding numbered steps).

use super::flat::{Named, pair, unexpected};
use super::tree::{Found, SubDir, Tree, is_digits, split_version, sql_only};
use super::{Error, Layout, Migration, Script, Version, read_text};

/// memos' full-schema snapshot for fresh installs, kept beside the version folders.
pub(super) const LATEST: &str = "LATEST.sql";

const DIESEL_EXPECTED: &str = "migration folders <version>_<name>/ holding up.sql and optionally down.sql, where <version> is digits and dashes";
const PRISMA_EXPECTED: &str = "migration folders <timestamp>_<name>/ holding migration.sql (and optionally down.sql), where <timestamp> is digits";
const VERSIONED_EXPECTED: &str = "version folders such as 0.19/ holding steps <NN>__<name>.sql";

/// The layout a sub-folder belongs to, judged by what it holds.
pub(super) fn kind(sub: &SubDir) -> Option<Layout> {
    if sub.file("up.sql").is_some() {
        Some(Layout::Diesel)
    } else if sub.file("migration.sql").is_some() {
        Some(Layout::Prisma)
    } else if is_version_folder(&sub.entry.name)
        && sub.files.iter().any(|f| step_name(&f.name).is_some())
    {
        Some(Layout::VersionFolders)
    } else {
        None
    }
}

/// Diesel and Prisma: the migration's id is its whole folder name, as both tools record it.
pub(super) fn read_single(tree: &Tree, layout: Layout, found: &mut Found) -> Result<(), Error> {
    let expected = if layout == Layout::Diesel {
        DIESEL_EXPECTED
    } else {
        PRISMA_EXPECTED
    };
    if let Some(stray) = sql_only(&tree.files, found).first() {
        return Err(unexpected(tree, stray, layout, expected));
    }
    for sub in &tree.dirs {
        if let Some(migration) = read_folder(tree, sub, layout, expected, found)? {
            found.migrations.push(migration);
        }
    }
    Ok(())
}

fn read_folder(
    tree: &Tree,
    sub: &SubDir,
    layout: Layout,
    expected: &'static str,
    found: &mut Found,
) -> Result<Option<Migration>, Error> {
    let main = if layout == Layout::Diesel {
        "up.sql"
    } else {
        "migration.sql"
    };
    let Some(up) = sub.file(main) else {
        return folder_without(tree, sub, layout, expected, found).map(|()| None);
    };
    let version =
        split_version(&sub.entry.name).filter(|(version, _)| valid_version(layout, version));
    let Some((version, name)) = version else {
        return Err(unexpected(tree, &sub.entry, layout, expected));
    };
    let mut no_transaction = false;
    for file in &sub.files {
        match file.name.as_str() {
            n if n == main || n == "down.sql" => {}
            "metadata.toml" if layout == Layout::Diesel => {
                no_transaction = !runs_in_transaction(&file.path)?
            }
            _ if file.is_sql() && !file.is_hidden() => {
                return Err(unexpected(tree, file, layout, expected));
            }
            _ => found.ignore(
                &file.path,
                if file.is_hidden() {
                    "hidden file"
                } else {
                    "not a .sql file"
                },
            ),
        }
    }
    ignore_nested(sub, found);
    let up = Script::read(&up.path, no_transaction, layout)?;
    let down = sub
        .file("down.sql")
        .map(|down| Ok::<_, Error>(Script::pending(&down.path, no_transaction, layout)))
        .transpose()?;
    let version = Version::parse(version).expect("checked by valid_version");
    Ok(Some(Migration::new(
        sub.entry.name.clone(),
        version,
        name.to_string(),
        up,
        down,
    )))
}

/// A folder without the layout's main file: an error if it holds SQL, else ignored.
fn folder_without(
    tree: &Tree,
    sub: &SubDir,
    layout: Layout,
    expected: &'static str,
    found: &mut Found,
) -> Result<(), Error> {
    if let Some(down) = sub.file("down.sql") {
        return Err(Error::DownWithoutUp {
            path: down.path.clone(),
        });
    }
    if let Some(sql) = sub.files.iter().find(|f| f.is_sql() && !f.is_hidden()) {
        return Err(unexpected(tree, sql, layout, expected));
    }
    found.ignore(&sub.entry.path, "folder without .sql files");
    Ok(())
}

fn valid_version(layout: Layout, version: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_digit() || (layout == Layout::Diesel && b == b'-');
    version.as_bytes()[0].is_ascii_digit() && version.bytes().all(allowed)
}

/// Diesel's `metadata.toml` may say `run_in_transaction = false`, which Diesel honours for
/// both directions (needed for `CREATE INDEX CONCURRENTLY`). Read line by line: it is a
/// flat file of `key = value` lines.
fn runs_in_transaction(path: &std::path::Path) -> Result<bool, Error> {
    let text = read_text(path)?;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "run_in_transaction"
        {
            return Ok(value.trim() != "false");
        }
    }
    Ok(true)
}

fn ignore_nested(sub: &SubDir, found: &mut Found) {
    for nested in &sub.dirs {
        found.ignore(&nested.path, "folder inside a migration folder");
    }
}

/// usememos/memos: `<x.y>/<NN>__<name>.sql`, ordered by the folder's version then `NN`.
/// `LATEST.sql` is a snapshot of the whole schema, not a step, so it is ignored.
pub(super) fn read_versioned(tree: &Tree, found: &mut Found) -> Result<(), Error> {
    for file in sql_only(&tree.files, found) {
        if file.name != LATEST {
            return Err(unexpected(
                tree,
                file,
                Layout::VersionFolders,
                VERSIONED_EXPECTED,
            ));
        }
        found.ignore(
            &file.path,
            "full-schema snapshot for fresh installs, not a migration step",
        );
    }
    let mut steps = Vec::new();
    for sub in &tree.dirs {
        steps.extend(folder_steps(tree, sub, found)?);
    }
    for step in pair(steps)? {
        let Named {
            version,
            name,
            entry,
            ..
        } = step.up;
        let stem = entry
            .name
            .strip_suffix(".sql")
            .expect("a step is a .sql file");
        let folder = version
            .as_str()
            .split('/')
            .next()
            .expect("version is <folder>/<NN>");
        let up = Script::read(&entry.path, false, Layout::VersionFolders)?;
        found.migrations.push(Migration::new(
            format!("{folder}/{stem}"),
            version,
            name,
            up,
            None,
        ));
    }
    Ok(())
}

fn folder_steps<'a>(
    tree: &Tree,
    sub: &'a SubDir,
    found: &mut Found,
) -> Result<Vec<Named<'a>>, Error> {
    ignore_nested(sub, found);
    let sql = sql_only(&sub.files, found);
    if !is_version_folder(&sub.entry.name) {
        if let Some(first) = sql.first() {
            return Err(unexpected(
                tree,
                first,
                Layout::VersionFolders,
                VERSIONED_EXPECTED,
            ));
        }
        found.ignore(&sub.entry.path, "not a version folder");
        return Ok(Vec::new());
    }
    if sql.is_empty() {
        found.ignore(&sub.entry.path, "version folder without steps");
    }
    let mut steps = Vec::new();
    for entry in sql {
        let (number, name) = step_name(&entry.name)
            .ok_or_else(|| unexpected(tree, entry, Layout::VersionFolders, VERSIONED_EXPECTED))?;
        steps.push(Named {
            version: Version::parse(&format!("{}/{number}", sub.entry.name)).expect("digits"),
            name: name.to_string(),
            up: true,
            entry,
            no_transaction: false,
        });
    }
    Ok(steps)
}

/// `0.19`, `1`, `2.0.1`: digit groups separated by dots.
fn is_version_folder(name: &str) -> bool {
    name.split('.').all(is_digits)
}

/// `<NN>__<name>.sql` -> `(NN, name)`.
fn step_name(file: &str) -> Option<(&str, &str)> {
    let (number, name) = file.strip_suffix(".sql")?.split_once("__")?;
    (is_digits(number) && !name.is_empty()).then_some((number, name))
}

#[cfg(test)]
mod tests {
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Error, Layout, checksum, discover};
    use crate::sql::Dialect;

    #[test]
    fn diesel_folders_sort_as_dates_and_keep_the_folder_as_id() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "2026-06-03-220228-0000_split/up.sql", "SELECT 3;");
        write(d, "2026-06-03-220228-0000_split/down.sql", "");
        write(d, "00000000000000_diesel_initial_setup/up.sql", "SELECT 0;");
        write(
            d,
            "00000000000000_diesel_initial_setup/down.sql",
            "SELECT 0;",
        );
        write(d, "2019-02-26-002946_create_user/up.sql", "SELECT 1;");
        write(d, "2019-02-26-002946_create_user/down.sql", "SELECT -1;");
        write(d, "2025-08-01-000017_forbid/up.sql", "SELECT 2;");
        write(d, ".keep", "");
        let found = discover(d, Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Diesel);
        assert_eq!(
            names(&found),
            [
                "00000000000000_diesel_initial_setup",
                "2019-02-26-002946_create_user",
                "2025-08-01-000017_forbid",
                "2026-06-03-220228-0000_split",
            ]
        );
        let m = &found.migrations;
        assert_eq!(m[1].version.as_str(), "2019-02-26-002946");
        assert_eq!(m[1].name, "create_user");
        assert_eq!(m[1].down.as_ref().unwrap().sql, "SELECT -1;");
        assert!(m[2].down.is_none(), "a missing down.sql is no down");
        assert_eq!(
            m[3].down.as_ref().unwrap().sql,
            "",
            "an empty down.sql is a no-op down"
        );
        assert_eq!(m[3].checksum, checksum("SELECT 3;"));
    }

    #[test]
    fn diesel_metadata_can_turn_the_transaction_off() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "1_a/up.sql",
            "CREATE INDEX CONCURRENTLY i ON t (c);",
        );
        write(tmp.path(), "1_a/down.sql", "DROP INDEX CONCURRENTLY i;");
        write(
            tmp.path(),
            "1_a/metadata.toml",
            "# no tx\nrun_in_transaction = false\n",
        );
        write(tmp.path(), "2_b/up.sql", "");
        write(
            tmp.path(),
            "2_b/metadata.toml",
            "run_in_transaction = true\n",
        );
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        let m = &found.migrations;
        assert!(
            m[0].up.directives.no_transaction
                && m[0].down.as_ref().unwrap().directives.no_transaction
        );
        assert!(!m[1].up.directives.no_transaction);
        assert!(
            found.ignored.is_empty(),
            "metadata.toml is read, not ignored: {:?}",
            found.ignored
        );
    }

    #[test]
    fn diesel_errors_name_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a/up.sql", "");
        write(tmp.path(), "2_b/down.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(err, Error::DownWithoutUp { .. }) && err.to_string().contains("2_b"),
            "{err}"
        );

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a/up.sql", "");
        write(tmp.path(), "1_a/extra.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnexpectedFile {
                    layout: Layout::Diesel,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("extra.sql"), "{err}");

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a/up.sql", "");
        write(tmp.path(), "schema.sql", "");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("schema.sql") && msg.contains("diesel"),
            "{msg}"
        );

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a/up.sql", "");
        write(tmp.path(), "initial/up.sql", "");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("initial") && msg.contains("<version>_<name>"),
            "{msg}"
        );
    }

    #[test]
    fn prisma_folders_and_lock_file() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            d,
            "20230411134605_doc_208/migration.sql",
            "ALTER TABLE a ADD b int;",
        );
        write(
            d,
            "20230404095503_initial_migration/migration.sql",
            "CREATE TABLE a (id int);",
        );
        write(
            d,
            "20230404095503_initial_migration/down.sql",
            "DROP TABLE a;",
        );
        write(d, "migration_lock.toml", "provider = \"postgresql\"\n");
        let found = discover(d, Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Prisma);
        assert_eq!(
            names(&found),
            ["20230404095503_initial_migration", "20230411134605_doc_208"]
        );
        assert_eq!(
            found.migrations[0].down.as_ref().unwrap().sql,
            "DROP TABLE a;"
        );
        assert!(found.migrations[1].down.is_none());
        assert_eq!(found.ignored.len(), 1);
        assert!(found.ignored[0].path.ends_with("migration_lock.toml"));
    }

    #[test]
    fn version_folders_order_numerically_and_ignore_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "LATEST.sql", "CREATE TABLE everything (id int);");
        write(d, "0.10/00__activity.sql", "SELECT 10;");
        write(d, "0.2/01__memo_visibility.sql", "SELECT 21;");
        write(d, "0.2/00__user_role.sql", "SELECT 20;");
        write(d, "0.19/00__add_resource_name.sql", "SELECT 19;");
        std::fs::create_dir(d.join("0.29")).unwrap();
        let found = discover(d, Dialect::Sqlite).unwrap();
        assert_eq!(found.layout, Layout::VersionFolders);
        assert_eq!(
            names(&found),
            [
                "0.2/00__user_role",
                "0.2/01__memo_visibility",
                "0.10/00__activity",
                "0.19/00__add_resource_name"
            ]
        );
        assert_eq!(found.migrations[0].name, "user_role");
        assert_eq!(found.migrations[0].version.as_str(), "0.2/00");
        assert!(found.migrations.iter().all(|m| m.down.is_none()));
        let ignored: Vec<_> = found
            .ignored
            .iter()
            .map(|i| {
                (
                    i.path.file_name().unwrap().to_str().unwrap(),
                    i.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(ignored.len(), 2, "{ignored:?}");
        assert_eq!(ignored[0].0, "0.29");
        assert_eq!(ignored[1].0, "LATEST.sql");
        assert!(ignored[1].1.contains("snapshot"));
    }

    #[test]
    fn version_folder_errors_name_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "0.2/00__a.sql", "");
        write(tmp.path(), "0.2/00__b.sql", "");
        let msg = discover(tmp.path(), Dialect::Sqlite)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("00__a.sql") && msg.contains("00__b.sql"),
            "{msg}"
        );

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "0.2/00__a.sql", "");
        write(tmp.path(), "0.2/notes.sql", "");
        let err = discover(tmp.path(), Dialect::Sqlite).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnexpectedFile {
                    layout: Layout::VersionFolders,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("notes.sql"), "{err}");

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "0.2/00__a.sql", "");
        write(tmp.path(), "schema.sql", "");
        assert!(
            discover(tmp.path(), Dialect::Sqlite)
                .unwrap_err()
                .to_string()
                .contains("schema.sql")
        );
    }
}
