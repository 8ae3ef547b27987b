//! dbmate: one `<version>_<name>.sql` file per migration, split into sections by a
//! `-- migrate:up` line and an optional `-- migrate:down` line.
//!
//! The marker rules follow dbmate's: a marker starts in the first column; only blank and
//! comment lines may precede `-- migrate:up`; options such as `transaction:false` follow the
//! marker on its line. Each section keeps its position in the file (`line_offset`) so that
//! statement line numbers point into the file.

use std::path::Path;

use super::directives::forbid;
use super::flat::{Named, pair, unexpected};
use super::tree::{Entry, Found, Texts, Tree, numbered, sql_only};
use super::{Error, Layout, Migration, Script, Version};

const EXPECTED: &str =
    "<version>_<name>.sql with a `-- migrate:up` line, where <version> is digits";

/// Whether a line is a dbmate section marker (of either direction, so that a file with
/// only a down marker is reported rather than run as plain SQL).
pub(super) fn is_marker(line: &str) -> bool {
    marker(line).is_some()
}

/// Reads every file of a dbmate directory.
pub(super) fn read(tree: &Tree, texts: &mut Texts, found: &mut Found) -> Result<(), Error> {
    let mut files = Vec::new();
    for entry in sql_only(&tree.files, found) {
        files.push(
            file_name(entry).ok_or_else(|| unexpected(tree, entry, Layout::Dbmate, EXPECTED))?,
        );
    }
    for file in pair(files)? {
        let Named {
            version,
            name,
            entry,
            ..
        } = file.up;
        let text = texts.take(&entry.path)?;
        found
            .migrations
            .push(migration(&entry.path, version, name, text)?);
    }
    Ok(())
}

fn file_name(entry: &Entry) -> Option<Named<'_>> {
    let (version, name) = numbered(entry.name.strip_suffix(".sql")?)?;
    Some(Named {
        version: Version::parse(&version)?,
        name: name.to_string(),
        up: true,
        entry,
        no_transaction: false,
    })
}

fn migration(
    path: &Path,
    version: Version,
    name: String,
    text: String,
) -> Result<Migration, Error> {
    let (up, down) = sections(path, &text)?;
    forbid(path, &text[..up.marker_start], 0, Layout::Dbmate)?;
    let up_end = down.as_ref().map_or(text.len(), |down| down.marker_start);
    let up_script = Script::new(
        path,
        text[up.body_start..up_end].to_string(),
        up.line,
        up.no_transaction,
        Layout::Dbmate,
    )?;
    let down_script = down
        .map(|down| {
            Script::new(
                path,
                text[down.body_start..].to_string(),
                down.line,
                down.no_transaction,
                Layout::Dbmate,
            )
        })
        .transpose()?;
    Ok(Migration::new(
        version.to_string(),
        version,
        name,
        up_script,
        down_script,
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Up,
    Down,
}

/// A marker line: where it is and what its options say.
struct Marker {
    /// 1-based line of the marker, which is also the number of lines before its section.
    line: usize,
    marker_start: usize,
    body_start: usize,
    no_transaction: bool,
}

/// `-- migrate:up opts` / `-- migrate:down opts` -> the kind and the options text.
fn marker(line: &str) -> Option<(Kind, &str)> {
    let rest = line.trim_end().strip_prefix("--")?.trim_start();
    [(Kind::Up, "migrate:up"), (Kind::Down, "migrate:down")]
        .into_iter()
        .find_map(|(kind, word)| {
            let options = rest.strip_prefix(word)?;
            (options.is_empty() || options.starts_with(char::is_whitespace))
                .then(|| (kind, options.trim()))
        })
}

/// Finds the up marker and the optional down marker, checking their order.
fn sections(path: &Path, text: &str) -> Result<(Marker, Option<Marker>), Error> {
    let bad = |line: usize, reason: &str| Error::BadSections {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
    };
    let mut up: Option<Marker> = None;
    let mut down: Option<Marker> = None;
    let mut pos = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let start = pos;
        pos += line.len();
        let Some((kind, options)) = marker(line) else {
            let content = line.trim();
            if up.is_none() && !content.is_empty() && !content.starts_with("--") {
                return Err(bad(
                    number,
                    "SQL before `-- migrate:up`, which dbmate would not run: move it below the `-- migrate:up` line",
                ));
            }
            continue;
        };
        let found = Marker {
            line: number,
            marker_start: start,
            body_start: pos,
            no_transaction: no_transaction(path, number, options)?,
        };
        match (kind, &up, &down) {
            (Kind::Up, None, _) => up = Some(found),
            (Kind::Up, Some(first), _) => {
                return Err(bad(
                    number,
                    &format!(
                        "a second `-- migrate:up` (the first is at line {}): keep one per file",
                        first.line
                    ),
                ));
            }
            (Kind::Down, None, _) => {
                return Err(bad(
                    number,
                    "`-- migrate:down` before `-- migrate:up`: put the up section first",
                ));
            }
            (Kind::Down, Some(_), Some(first)) => {
                return Err(bad(
                    number,
                    &format!(
                        "a second `-- migrate:down` (the first is at line {}): keep one per file",
                        first.line
                    ),
                ));
            }
            (Kind::Down, Some(_), None) => down = Some(found),
        }
    }
    let up = up.ok_or_else(|| {
        bad(1, "no `-- migrate:up` line, which every file in a dbmate directory needs: add it above the migration's SQL")
    })?;
    Ok((up, down))
}

/// The options after a marker: dbmate knows `transaction:false` (and `transaction:true`).
fn no_transaction(path: &Path, line: usize, options: &str) -> Result<bool, Error> {
    let mut no_transaction = false;
    for option in options.split_whitespace() {
        match option {
            "transaction:false" => no_transaction = true,
            "transaction:true" => no_transaction = false,
            _ => {
                return Err(Error::BadSections {
                    path: path.to_path_buf(),
                    line,
                    reason: format!(
                        "unknown option `{option}` on a dbmate marker; the only option is `transaction:false`"
                    ),
                });
            }
        }
    }
    Ok(no_transaction)
}

#[cfg(test)]
mod tests {
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Error, Layout, checksum, discover};
    use crate::sql::Dialect;

    const USERS: &str = "-- a header comment\n\n-- migrate:up\nCREATE TABLE users (id int);\nCREATE INDEX i ON users (id);\n\n-- migrate:down transaction:false\nDROP TABLE users;\n";

    fn read_one(text: &str) -> Result<crate::migrations::Migration, Error> {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "20200101000000_users.sql", text);
        let found = discover(tmp.path(), Dialect::Postgres)?;
        assert_eq!(found.layout, Layout::Dbmate);
        Ok(found.migrations.into_iter().next().unwrap())
    }

    #[test]
    fn sections_with_line_offsets_and_transaction_false() {
        let m = read_one(USERS).unwrap();
        assert_eq!(m.id, "20200101000000");
        assert_eq!(m.name, "users");
        assert_eq!(
            m.up.sql,
            "CREATE TABLE users (id int);\nCREATE INDEX i ON users (id);\n\n"
        );
        assert_eq!(
            m.up.line_offset, 3,
            "line 1 of the up section is line 4 of the file"
        );
        assert!(!m.up.directives.no_transaction);
        let down = m.down.as_ref().unwrap();
        assert_eq!(down.sql, "DROP TABLE users;\n");
        assert_eq!(down.line_offset, 7);
        assert!(down.directives.no_transaction);
        assert_eq!(
            m.checksum,
            checksum(&m.up.sql),
            "the checksum covers the up section only"
        );
        assert!(m.up.path.ends_with("20200101000000_users.sql") && m.up.path == down.path);
    }

    #[test]
    fn transaction_false_on_the_up_marker() {
        let m =
            read_one("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (c);\n")
                .unwrap();
        assert!(m.up.directives.no_transaction);
        assert!(m.down.is_none(), "no down marker means no down script");
    }

    #[test]
    fn empty_down_section_is_a_no_op_down() {
        let m = read_one("-- migrate:up\nSELECT 1;\n-- migrate:down\n").unwrap();
        assert_eq!(m.down.unwrap().sql, "");
    }

    #[test]
    fn crlf_sections_keep_offsets_and_checksum() {
        let lf = read_one("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n").unwrap();
        let crlf =
            read_one("-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n").unwrap();
        assert_eq!(crlf.up.sql, "SELECT 1;\r\n");
        assert_eq!(crlf.down.as_ref().unwrap().line_offset, 3);
        assert_eq!(lf.checksum, crlf.checksum);
    }

    #[test]
    fn directive_errors_give_the_line_in_the_file() {
        let err =
            read_one("-- migrate:up\nSELECT 1;\n-- migrate:down\n-- cutover:bogus\nSELECT 2;\n")
                .unwrap_err();
        assert!(
            matches!(err, Error::UnknownDirective { line: 4, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("20200101000000_users.sql:4"),
            "{err}"
        );
        let m = read_one("-- migrate:up\n-- cutover:env dev\nSELECT 1;\n").unwrap();
        assert_eq!(m.up.directives.envs, Some(vec!["dev".to_string()]));
    }

    #[test]
    fn a_directive_above_the_up_marker_is_misplaced() {
        let err = read_one("-- cutover:no-transaction\n-- migrate:up\nSELECT 1;\n").unwrap_err();
        assert!(
            matches!(err, Error::MisplacedDirective { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_sections_are_errors_with_lines() {
        let cases = [
            ("SELECT 0;\n-- migrate:up\nSELECT 1;\n", 1, "before"),
            ("-- migrate:down\nSELECT 1;\n-- migrate:up\n", 1, "before"),
            ("-- migrate:up\nSELECT 1;\n-- migrate:up\n", 3, "second"),
            (
                "-- migrate:up\n-- migrate:down\n-- migrate:down\n",
                3,
                "second",
            ),
            (
                "-- migrate:up transaction:flase\nSELECT 1;\n",
                1,
                "transaction:flase",
            ),
        ];
        for (text, line, word) in cases {
            let err = read_one(text).unwrap_err();
            assert!(
                matches!(err, Error::BadSections { line: l, .. } if l == line),
                "{text:?}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("20200101000000_users.sql") && msg.contains(word),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_file_without_up_marker_in_a_dbmate_directory_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "1_a.sql", USERS);
        write(tmp.path(), "2_b.sql", "CREATE TABLE b (id int);\n");
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::BadSections { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("2_b.sql"), "{err}");
    }

    #[test]
    fn marker_must_be_a_whole_word_at_line_start() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "1_a.sql",
            "-- migrate:upgrade notes\n  -- migrate:up\nSELECT 1;\n",
        );
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::SqlxSimple);
        assert_eq!(names(&found), ["1"]);
    }
}
