//! ory/popx (gobuffalo/pop) migrations: `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`.
//!
//! A file without a dialect applies to every engine; a file for the target dialect replaces
//! the generic file of the same version and direction; files for other dialects are not
//! ours. `.autocommit` runs the script outside a transaction. pop writes `sqlite` and
//! `sqlite3` for the same engine.

use std::collections::HashMap;

use crate::sql::Dialect;

use super::flat::{Named, duplicates, pair, unexpected};
use super::tree::{Entry, Found, Tree, is_digits, split_version};
use super::{Error, Layout, Version};

const DIALECTS: [&str; 5] = ["postgres", "mysql", "sqlite3", "sqlite", "cockroach"];
const EXPECTED: &str = "<version>_<name>[.<dialect>][.autocommit].(up|down).sql, with <dialect> one of postgres, mysql, sqlite3, sqlite, cockroach";

/// Whether a file name has a popx dialect or `.autocommit` segment (or is a pop `.fizz`
/// migration), which no other layout uses.
pub(super) fn is_popx_like(name: &str) -> bool {
    let Some(middle) = segments(name) else {
        return false;
    };
    name.ends_with(".fizz")
        || middle
            .iter()
            .any(|s| *s == "autocommit" || DIALECTS.contains(s))
}

/// The segments between `<version>_<name>` and `.(up|down).(sql|fizz)`.
fn segments(name: &str) -> Option<Vec<&str>> {
    let mut parts: Vec<&str> = name.split('.').collect();
    if parts.len() < 3
        || !matches!(parts.pop()?, "sql" | "fizz")
        || !matches!(parts.pop()?, "up" | "down")
    {
        return None;
    }
    let (version, _) = split_version(parts.first()?)?;
    is_digits(version).then(|| parts.split_off(1))
}

/// A popx file parsed from its name.
struct PopxFile<'a> {
    named: Named<'a>,
    /// Canonical dialect (`sqlite` -> `sqlite3`); `None` for a generic file.
    dialect: Option<&'static str>,
}

/// Reads a popx directory for `dialect`.
pub(super) fn read(tree: &Tree, dialect: Dialect, found: &mut Found) -> Result<(), Error> {
    let target = pop_dialect(dialect);
    let mut files = Vec::new();
    for entry in &tree.files {
        if let Some(file) = classify(tree, entry, target, found)? {
            files.push(file);
        }
    }
    let chosen = choose(files, target, found)?;
    for pair in pair(chosen)? {
        found
            .migrations
            .push(pair.into_migration(Layout::Popx, &mut super::read_text)?);
    }
    Ok(())
}

/// The name pop gives the target engine.
fn pop_dialect(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
        Dialect::Sqlite => "sqlite3",
    }
}

/// A candidate for the target, or `None` for a file that is ignored (and recorded so).
fn classify<'a>(
    tree: &Tree,
    entry: &'a Entry,
    target: &str,
    found: &mut Found,
) -> Result<Option<PopxFile<'a>>, Error> {
    if entry.is_hidden() {
        found.ignore(&entry.path, "hidden file");
        return Ok(None);
    }
    if entry.name.ends_with(".fizz") {
        return Err(Error::Unsupported {
            path: entry.path.clone(),
            what: "pop fizz migrations",
            hint: "translate it into SQL as <version>_<name>[.<dialect>].(up|down).sql",
        });
    }
    if !entry.is_sql() {
        found.ignore(&entry.path, "not a .sql file");
        return Ok(None);
    }
    let file = parse(entry).ok_or_else(|| unexpected(tree, entry, Layout::Popx, EXPECTED))?;
    match file.dialect {
        Some(dialect) if dialect != target => {
            found.ignore(&entry.path, format!("for {dialect}, not {target}"));
            Ok(None)
        }
        _ => Ok(Some(file)),
    }
}

fn parse(entry: &Entry) -> Option<PopxFile<'_>> {
    let middle = segments(&entry.name)?;
    let (dialect, autocommit) = match middle.as_slice() {
        [] => (None, false),
        ["autocommit"] => (None, true),
        [dialect] => (Some(*dialect), false),
        [dialect, "autocommit"] => (Some(*dialect), true),
        _ => return None,
    };
    let dialect = match dialect {
        None => None,
        Some("sqlite") => Some("sqlite3"),
        Some(d) => Some(*DIALECTS.iter().find(|known| **known == d)?),
    };
    let stem = entry.name.split('.').next()?;
    let (version, name) = split_version(stem)?;
    Some(PopxFile {
        named: Named {
            version: Version::parse(version)?,
            name: name.to_string(),
            up: entry.name.ends_with(".up.sql"),
            entry,
            no_transaction: autocommit,
        },
        dialect,
    })
}

/// Per version and direction, the target's file if there is one, else the generic file.
fn choose<'a>(
    files: Vec<PopxFile<'a>>,
    target: &str,
    found: &mut Found,
) -> Result<Vec<Named<'a>>, Error> {
    let mut slots: HashMap<(String, bool), (Vec<Named<'a>>, Vec<Named<'a>>)> = HashMap::new();
    let mut order = Vec::new();
    for file in files {
        let key = (file.named.version.number_key(), file.named.up);
        let slot = slots.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Default::default()
        });
        if file.dialect.is_some() {
            slot.0.push(file.named)
        } else {
            slot.1.push(file.named)
        }
    }
    let mut chosen = Vec::new();
    for key in order {
        let (mut specific, mut generic) = slots.remove(&key).expect("every key has a slot");
        let direction = if key.1 { "up" } else { "down" };
        duplicates(&specific, direction)?;
        duplicates(&generic, direction)?;
        match (specific.pop(), generic.pop()) {
            (Some(specific), Some(generic)) => {
                let reason = format!("replaced for {target} by {}", specific.entry.name);
                found.ignore(&generic.entry.path, reason);
                chosen.push(specific);
            }
            (Some(only), None) | (None, Some(only)) => chosen.push(only),
            (None, None) => {}
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Error, Layout, discover};
    use crate::sql::Dialect;

    fn kratos_like() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            d,
            "20220420102701000000_identity_metadata.up.sql",
            "ALTER TABLE i ADD m jsonb;",
        );
        write(
            d,
            "20220420102701000000_identity_metadata.down.sql",
            "ALTER TABLE i DROP m;",
        );
        write(
            d,
            "20220420102701000000_identity_metadata.mysql.up.sql",
            "ALTER TABLE i ADD m JSON;",
        );
        write(
            d,
            "20220420102701000000_identity_metadata.sqlite.up.sql",
            "ALTER TABLE i ADD m TEXT;",
        );
        write(
            d,
            "20220420102701000000_identity_metadata.cockroach.up.sql",
            "ALTER TABLE i ADD m JSONB;",
        );
        write(
            d,
            "20260616000000000000_idx.postgres.autocommit.up.sql",
            "CREATE INDEX CONCURRENTLY x ON t (c);",
        );
        write(
            d,
            "20260616000000000000_idx.postgres.autocommit.down.sql",
            "DROP INDEX CONCURRENTLY x;",
        );
        write(
            d,
            "20260616000000000000_idx.autocommit.up.sql",
            "CREATE INDEX x ON t (c);",
        );
        write(d, "20260616000000000000_idx.autocommit.down.sql", "");
        write(d, "9_small.up.sql", "");
        write(
            d,
            "20150100000001000000_networks.postgres.up.sql",
            "CREATE TABLE networks (id uuid);",
        );
        write(
            d,
            "20150100000001000000_networks.postgres.down.sql",
            "DROP TABLE networks;",
        );
        tmp
    }

    #[test]
    fn dialect_file_replaces_generic_file_per_direction() {
        let tmp = kratos_like();
        let mysql = discover(tmp.path(), Dialect::MySql).unwrap();
        assert_eq!(mysql.layout, Layout::Popx);
        assert_eq!(
            names(&mysql),
            ["9", "20220420102701000000", "20260616000000000000"]
        );
        let meta = &mysql.migrations[1];
        assert!(
            meta.up
                .path
                .ends_with("20220420102701000000_identity_metadata.mysql.up.sql")
        );
        assert_eq!(meta.up.sql, "ALTER TABLE i ADD m JSON;");
        assert!(
            meta.down
                .as_ref()
                .unwrap()
                .path
                .ends_with("20220420102701000000_identity_metadata.down.sql")
        );
        let replaced = mysql.ignored.iter().find(|i| {
            i.path
                .ends_with("20220420102701000000_identity_metadata.up.sql")
        });
        assert!(
            replaced.unwrap().reason.contains("replaced for mysql"),
            "{:?}",
            mysql.ignored
        );
    }

    #[test]
    fn sqlite_is_sqlite3_and_other_dialects_are_ignored() {
        let tmp = kratos_like();
        let sqlite = discover(tmp.path(), Dialect::Sqlite).unwrap();
        assert_eq!(sqlite.migrations[1].up.sql, "ALTER TABLE i ADD m TEXT;");
        let ignored: Vec<String> = sqlite
            .ignored
            .iter()
            .map(|i| i.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for other in [
            "20220420102701000000_identity_metadata.mysql.up.sql",
            "20220420102701000000_identity_metadata.cockroach.up.sql",
            "20260616000000000000_idx.postgres.autocommit.up.sql",
            "20150100000001000000_networks.postgres.up.sql",
        ] {
            assert!(
                ignored.iter().any(|name| name == other),
                "{other} not in {ignored:?}"
            );
        }
        let reason = &sqlite
            .ignored
            .iter()
            .find(|i| {
                i.path
                    .ends_with("20150100000001000000_networks.postgres.up.sql")
            })
            .unwrap()
            .reason;
        assert_eq!(reason, "for postgres, not sqlite3");
    }

    #[test]
    fn autocommit_means_no_transaction() {
        let tmp = kratos_like();
        let pg = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(
            names(&pg),
            [
                "9",
                "20150100000001000000",
                "20220420102701000000",
                "20260616000000000000"
            ]
        );
        let idx = &pg.migrations[3];
        assert!(
            idx.up
                .path
                .ends_with("20260616000000000000_idx.postgres.autocommit.up.sql")
        );
        assert!(
            idx.up.directives.no_transaction
                && idx.down.as_ref().unwrap().directives.no_transaction
        );
        assert!(!pg.migrations[2].up.directives.no_transaction);
        let mysql = discover(tmp.path(), Dialect::MySql).unwrap();
        assert!(
            mysql.migrations[2].up.directives.no_transaction,
            "generic .autocommit applies too"
        );
        assert_eq!(
            mysql.migrations[2].down.as_ref().unwrap().sql,
            "",
            "empty files are no-op scripts"
        );
    }

    #[test]
    fn two_generic_files_of_one_version_clash() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.mysql.up.sql", "");
        write(tmp.path(), "2_a.up.sql", "");
        write(tmp.path(), "2_a.autocommit.up.sql", "");
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
            msg.contains("2_a.up.sql") && msg.contains("2_a.autocommit.up.sql"),
            "{msg}"
        );
    }

    #[test]
    fn sqlite_and_sqlite3_files_of_one_version_clash() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sqlite.up.sql", "");
        write(tmp.path(), "1_a.sqlite3.up.sql", "");
        let msg = discover(tmp.path(), Dialect::Sqlite)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("1_a.sqlite.up.sql") && msg.contains("1_a.sqlite3.up.sql"),
            "{msg}"
        );
        assert!(
            discover(tmp.path(), Dialect::MySql)
                .unwrap()
                .migrations
                .is_empty(),
            "not ours on mysql"
        );
    }

    #[test]
    fn unknown_dialect_fizz_and_down_without_up_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.postgres.up.sql", "");
        write(tmp.path(), "2_b.mssql.up.sql", "");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("2_b.mssql.up.sql") && msg.contains("popx"),
            "{msg}"
        );

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.postgres.up.sql", "");
        write(tmp.path(), "2_b.up.fizz", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(err, Error::Unsupported { .. }) && err.to_string().contains("2_b.up.fizz"),
            "{err}"
        );

        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.postgres.up.sql", "");
        write(tmp.path(), "2_b.postgres.down.sql", "");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(
            matches!(err, Error::DownWithoutUp { .. })
                && err.to_string().contains("2_b.postgres.down.sql"),
            "{err}"
        );
    }

    #[test]
    fn twenty_digit_versions_sort_numerically() {
        let tmp = tempfile::tempdir().unwrap();
        for v in [
            "20191100000002000000",
            "20150100000001000000",
            "9",
            "20191100000001000005",
        ] {
            write(tmp.path(), &format!("{v}_m.mysql.up.sql"), "");
        }
        let found = discover(tmp.path(), Dialect::MySql).unwrap();
        assert_eq!(
            names(&found),
            [
                "9",
                "20150100000001000000",
                "20191100000001000005",
                "20191100000002000000"
            ]
        );
    }
}
