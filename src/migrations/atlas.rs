//! Atlas migration directories: `<version>_<name>.sql` files run in lexical order, checked
//! against `atlas.sum` before anything runs, as `atlas migrate apply` does.
//!
//! `atlas.sum` (`sql/migrate/dir.go`): the first line is `h1:` and the base64 SHA-256 of
//! every following line's name and hash; each following line is `<file> h1:<hash>`, where
//! the hash is a running SHA-256 over every file so far, name then bytes, in name order (a
//! file whose first line says `atlas:sum ignore` adds only its name). A file added, edited
//! or removed since the sum was written is an error naming it.
//!
//! File directives stand in the comment block at the top of a file, separated from the
//! first statement by a blank line: `-- atlas:txmode none` runs the file outside a
//! transaction, `-- atlas:delimiter <d>` (first line) ends statements at `<d>`.
//! `atlas:checkpoint`, `atlas:txtar` and `atlas:execorder` are refused. Atlas has no down
//! files: `rollback` refuses them.

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::tree::{Entry, Found, Tree};
use super::{Error, Layout, Migration, Script, Splitting, Version, read_bytes};

/// The integrity file whose presence makes a folder an Atlas directory.
pub(super) const SUM: &str = "atlas.sum";

/// Reads an Atlas directory, refusing it when `atlas.sum` does not match its files.
pub(super) fn read(tree: &Tree, found: &mut Found) -> Result<(), Error> {
    let mut files = Vec::new();
    for entry in &tree.files {
        if entry.name.ends_with(".sql") {
            files.push((entry, read_bytes(&entry.path)?));
        } else if entry.name != SUM {
            found.ignore(&entry.path, "not a .sql file (Atlas reads *.sql only)");
        }
    }
    for sub in &tree.dirs {
        found.ignore(
            &sub.entry.path,
            "folder: Atlas reads only the files at the top of its directory",
        );
    }
    let sum_path = tree.dir.join(SUM);
    let listed = parse_sum(&sum_path, &String::from_utf8_lossy(&read_bytes(&sum_path)?))?;
    let computed = hash_files(files.iter().map(|(e, b)| (e.name.as_str(), b.as_slice())));
    check(&tree.dir, &sum_path, &listed, &computed)?;
    let mut seen: std::collections::HashMap<String, &Path> = std::collections::HashMap::new();
    for (rank, (entry, bytes)) in files.iter().enumerate() {
        let m = migration(entry, bytes, rank)?;
        if let Some(first) = seen.insert(m.id.clone(), &entry.path) {
            return Err(Error::DuplicateVersion {
                version: m.id,
                direction: "up",
                paths: vec![first.to_path_buf(), entry.path.clone()],
            });
        }
        found.migrations.push(m);
    }
    Ok(())
}

/// One file: version before the first `_`, description after it (`LocalFile.Version`).
fn migration(entry: &Entry, bytes: &[u8], rank: usize) -> Result<Migration, Error> {
    let stem = entry.name.strip_suffix(".sql").unwrap_or(&entry.name);
    let (version, name) = stem.split_once('_').unwrap_or((stem, ""));
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| Error::NotUtf8 {
        path: entry.path.clone(),
        line: bytes[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    })?;
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    let directives = FileDirectives::read(&entry.path, &text)?;
    let mut up = Script::new(
        &entry.path,
        text,
        0,
        directives.no_transaction,
        Layout::Atlas,
    )?;
    if let Some(d) = directives.delimiter {
        up.splitting = Splitting::Delimiter(d);
    }
    Ok(Migration::new(
        version.to_string(),
        Version::ordinal(version, &[rank]),
        name.to_string(),
        up,
        None,
    ))
}

/// The directives of a file's header comment block.
struct FileDirectives {
    no_transaction: bool,
    delimiter: Option<String>,
}

impl FileDirectives {
    fn read(path: &Path, text: &str) -> Result<FileDirectives, Error> {
        let bad = |line: usize, reason: String| Error::BadSections {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .take_while(|l| l.starts_with("--") || l.starts_with('#'))
            .count();
        // Atlas reads the block as file directives only when a blank line follows it.
        let detached = lines.get(header).is_none_or(|l| l.trim().is_empty());
        let mut out = FileDirectives {
            no_transaction: false,
            delimiter: None,
        };
        for (i, line) in lines.iter().enumerate() {
            let Some((name, arg)) = directive(line) else {
                continue;
            };
            let in_header = i < header && detached;
            match name {
                "nolint" => {}
                "sum" => {}
                "delimiter" if i == 0 && line.starts_with("-- ") => {
                    out.delimiter = Some(unescape(arg))
                }
                "txmode" if !in_header => {
                    return Err(bad(
                        i + 1,
                        format!(
                            "`atlas:{name}` has no effect here: Atlas reads it only in the comment block at the top of the file, separated from the first statement by a blank line"
                        ),
                    ));
                }
                "txmode" => match arg {
                    "none" => out.no_transaction = true,
                    "file" => {}
                    other => {
                        return Err(bad(
                            i + 1,
                            format!(
                                "`atlas:txmode {other}`: cutover runs each file on its own; the modes are `none` and `file`"
                            ),
                        ));
                    }
                },
                "delimiter" => {
                    return Err(bad(i + 1, "`atlas:delimiter` counts only on the first line of the file, written `-- atlas:delimiter <delimiter>`".into()));
                }
                // The markers table refuses the others, with the line.
                _ => {}
            }
        }
        Ok(out)
    }
}

/// `atlas:<name> <arg>` in a comment line, as Atlas's directive pattern finds it.
fn directive(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim();
    if !(trimmed.starts_with("--") || trimmed.starts_with('#')) {
        return None;
    }
    let at = trimmed.find("atlas:")?;
    let rest = &trimmed[at + "atlas:".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].trim()))
}

/// `\n`, `\r` and `\t` in a delimiter, as Atlas unescapes them.
fn unescape(d: &str) -> String {
    d.replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
}

/// A file's entry in `atlas.sum`: its name and the running hash after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SumLine {
    pub name: String,
    pub hash: String,
    /// Its line in `atlas.sum` (0 for computed entries).
    pub line: usize,
}

/// The running hashes of `files` (name, bytes), in the given (name) order.
pub(super) fn hash_files<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<SumLine> {
    let mut h = Sha256::new();
    let mut out = Vec::new();
    for (name, bytes) in files {
        h.update(name.as_bytes());
        if ignored_by_sum(bytes) {
            continue;
        }
        h.update(bytes);
        out.push(SumLine {
            name: name.to_string(),
            hash: b64(&h.clone().finalize()),
            line: 0,
        });
    }
    out
}

/// `atlas:sum ignore` on the first line: the file's bytes stay out of the sum.
fn ignored_by_sum(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    directive_anywhere(&first).is_some_and(|(n, a)| n == "sum" && a == "ignore")
}

/// Atlas's pattern `^([ -~]*)atlas:(\w+)(?: +([ -~]*))*` on a line.
fn directive_anywhere(line: &str) -> Option<(&str, &str)> {
    let at = line.find("atlas:")?;
    if !line[..at].bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return None;
    }
    let rest = &line[at + 6..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].trim()))
}

/// The total of a list of entries: the first line of `atlas.sum`.
pub(super) fn total(lines: &[SumLine]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.name.as_bytes());
        h.update(l.hash.as_bytes());
    }
    b64(&h.finalize())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `atlas.sum` as written, checked against its own first line.
fn parse_sum(path: &Path, text: &str) -> Result<Vec<SumLine>, Error> {
    let bad = |line: usize, reason: String| Error::Integrity {
        path: path.to_path_buf(),
        line: Some(line),
        reason,
    };
    let mut lines = text.lines().enumerate();
    let Some((_, first)) = lines.next() else {
        return Err(bad(
            1,
            "is empty; run `atlas migrate hash` to write it".into(),
        ));
    };
    let sum = first.strip_prefix("h1:").unwrap_or(first);
    let mut out = Vec::new();
    for (i, line) in lines {
        let Some((name, hash)) = line.split_once("h1:") else {
            return Err(bad(i + 1, "is not `<file> h1:<hash>`: the file is damaged; run `atlas migrate hash` to write it again".into()));
        };
        out.push(SumLine {
            name: name.trim().to_string(),
            hash: hash.to_string(),
            line: i + 1,
        });
    }
    if total(&out) != sum {
        return Err(bad(1, "its total does not match the lines below it, so it was edited by hand; run `atlas migrate hash` to write it again".into()));
    }
    Ok(out)
}

/// Compares the directory with `atlas.sum`; an error names the first file that differs.
fn check(
    dir: &Path,
    sum_path: &Path,
    listed: &[SumLine],
    computed: &[SumLine],
) -> Result<(), Error> {
    if total(listed) == total(computed) {
        return Ok(());
    }
    let integrity = |path: &Path, line: Option<usize>, what: String| Error::Integrity {
        path: path.to_path_buf(),
        line,
        reason: format!(
            "{what}; run `atlas migrate hash` if the change is intended, or restore the file; nothing was run"
        ),
    };
    let gone = |l: &SumLine| {
        integrity(
            sum_path,
            Some(l.line),
            format!("lists {}, which is not in the directory", l.name),
        )
    };
    for i in 0..listed.len().max(computed.len()) {
        match (listed.get(i), computed.get(i)) {
            (Some(l), Some(c)) if l.name == c.name && l.hash == c.hash => {}
            (Some(l), Some(c)) if l.name == c.name => {
                return Err(integrity(
                    &dir.join(&c.name),
                    None,
                    format!(
                        "does not match its hash in {SUM} (line {}): it, or an ignored file before it, changed since the sum was written",
                        l.line
                    ),
                ));
            }
            (Some(l), _) if !computed.iter().any(|x| x.name == l.name) => return Err(gone(l)),
            (_, Some(c)) => {
                return Err(integrity(
                    &dir.join(&c.name),
                    None,
                    format!("is not in {SUM}: it was added after the sum was written"),
                ));
            }
            (Some(l), None) => return Err(gone(l)),
            (None, None) => break,
        }
    }
    Err(integrity(
        sum_path,
        Some(1),
        "does not match the directory".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::tests::{names, write};
    use crate::migrations::{Dialect, discover};

    /// Running hashes of two files of Atlas's own test data
    /// (ariga/atlas `sql/migrate/testdata/partial-checkpoint`), as its atlas.sum lists them.
    #[test]
    fn running_hashes_match_atlas() {
        let files: [(&str, &[u8]); 2] = [
            ("1_first.sql", b"create table `tbl_1` (`col` int);\n"),
            ("2_second.sql", b"create table `tbl_2` (`col` int);\n"),
        ];
        let got = hash_files(files.into_iter());
        assert_eq!(got[0].hash, "uJ2MyyeTqXx4rCqtRMQAvRrfsvdwmvsZ3LcadVvCdOc=");
        assert_eq!(got[1].hash, "TLO00GtsqSi8o0ySoaofBqxemrElL8fHOs3IRnqYvB8=");
    }

    /// The total line of Atlas's `sql/migrate/testdata/migrate/sub/atlas.sum`.
    #[test]
    fn total_matches_atlas() {
        let lines: Vec<SumLine> = [
            (
                "1.a_sub.up.sql",
                "nXyZR020M/mH7LxkoTkJr7BcQkipVg90imQ9I4595dw=",
            ),
            (
                "2.10.x-20_description.sql",
                "wQB3Vh3PHVXQg9OD3Gn7TBxbZN3r1Qb7TtAE1g3q9mQ=",
            ),
            (
                "3_partly.sql",
                "lHlMz6mEvBfvjry5lFXjs2vi6Et9xb9CWicaOXD42Qc=",
            ),
        ]
        .into_iter()
        .map(|(n, h)| SumLine {
            name: n.into(),
            hash: h.into(),
            line: 0,
        })
        .collect();
        assert_eq!(
            total(&lines),
            "VpH77zWOBMwX5QhvnQo0XQvXCrOYZg4h1o0XlJTQnl0="
        );
    }

    fn sum_file(files: &[(&str, &str)]) -> String {
        let lines = hash_files(files.iter().map(|(n, b)| (*n, b.as_bytes())));
        let mut out = format!("h1:{}\n", total(&lines));
        for l in &lines {
            out.push_str(&format!("{} h1:{}\n", l.name, l.hash));
        }
        out
    }

    const FILES: [(&str, &str); 3] = [
        (
            "20220318104614_initial.sql",
            "-- atlas:txmode none\n\nCREATE TABLE users (id int);\n",
        ),
        (
            "20220318104615_second.sql",
            "-- atlas:delimiter \\n\\n\nCREATE TABLE a (x int)\n\nCREATE TABLE b (y int)\n",
        ),
        ("3_lexically_last.sql", "CREATE TABLE c (z int);\n"),
    ];

    fn dir() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (n, b) in FILES {
            write(tmp.path(), n, b);
        }
        write(tmp.path(), "atlas.sum", &sum_file(&FILES));
        tmp
    }

    #[test]
    fn reads_in_lexical_order_with_directives() {
        let tmp = dir();
        let found = discover(tmp.path(), Dialect::Postgres).unwrap();
        assert_eq!(found.layout, Layout::Atlas);
        assert_eq!(names(&found), ["20220318104614", "20220318104615", "3"]);
        let m = &found.migrations;
        assert_eq!(m[0].name, "initial");
        assert!(m[0].up.directives.no_transaction && !m[1].up.directives.no_transaction);
        let stmts: Vec<String> = m[1]
            .up
            .statements(Dialect::Postgres)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(stmts, ["CREATE TABLE a (x int)", "CREATE TABLE b (y int)"]);
        assert!(m[2].down.is_none());
    }

    #[test]
    fn tampering_is_refused_naming_the_file() {
        let tmp = dir();
        write(
            tmp.path(),
            "3_lexically_last.sql",
            "CREATE TABLE c (z bigint);\n",
        );
        let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::Integrity { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("3_lexically_last.sql") && msg.contains("atlas migrate hash"),
            "{msg}"
        );

        let tmp = dir();
        write(tmp.path(), "4_added.sql", "SELECT 1;\n");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("4_added.sql") && msg.contains("not in atlas.sum"),
            "{msg}"
        );

        let tmp = dir();
        std::fs::remove_file(tmp.path().join("20220318104615_second.sql")).unwrap();
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("atlas.sum:3") && msg.contains("20220318104615_second.sql"),
            "{msg}"
        );

        let tmp = dir();
        let text = std::fs::read_to_string(tmp.path().join("atlas.sum")).unwrap();
        write(tmp.path(), "atlas.sum", &text.replacen("h1:", "h1:x", 1));
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("atlas.sum:1") && msg.contains("edited by hand"),
            "{msg}"
        );
    }

    #[test]
    fn sum_ignore_leaves_the_bytes_out() {
        let files = [
            ("1_a.sql", "-- atlas:sum ignore\nSELECT 1;\n"),
            ("2_b.sql", "SELECT 2;\n"),
        ];
        let lines = hash_files(files.iter().map(|(n, b)| (*n, b.as_bytes())));
        assert_eq!(lines.len(), 1, "the ignored file has no line");
        let edited = [
            ("1_a.sql", "-- atlas:sum ignore\nSELECT 11;\n"),
            ("2_b.sql", "SELECT 2;\n"),
        ];
        assert_eq!(
            lines,
            hash_files(edited.iter().map(|(n, b)| (*n, b.as_bytes())))
        );
    }

    #[test]
    fn misplaced_and_refused_directives() {
        let cases = [
            (
                "-- atlas:txmode none\nCREATE TABLE t (id int);\n",
                1,
                "blank line",
            ),
            ("-- atlas:txmode all\n\nSELECT 1;\n", 1, "txmode all"),
            (
                "-- x\n-- atlas:delimiter //\n\nSELECT 1//\n",
                2,
                "first line",
            ),
            ("-- atlas:checkpoint\n\nSELECT 1;\n", 1, "Atlas"),
        ];
        for (text, line, word) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let files = [("1_a.sql", text)];
            write(tmp.path(), "1_a.sql", text);
            write(tmp.path(), "atlas.sum", &sum_file(&files));
            let msg = discover(tmp.path(), Dialect::Postgres)
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains(&format!("1_a.sql:{line}:")) && msg.contains(word),
                "{text:?}: {msg}"
            );
        }
    }
}
