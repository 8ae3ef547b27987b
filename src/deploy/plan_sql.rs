//! `cutover plan --sql DIR`: a plan's up scripts as SQL files for the engine's own client
//! (`psql`, `mariadb`, `sqlite3`), one per migration in the order cutover applies them, so
//! that a DBA can review exactly what a release sends, and so that the same text replayed
//! by the native client can be compared with what cutover built (`bench/replay.sh`).
//!
//! A script that cutover splits as the client splits is written as it was read (a dbmate
//! file's up section, a popx file chosen for the dialect, …): the client finds the same
//! statements. On MySQL, a statement holding a `;` (a `BEGIN … END` body, which cutover
//! keeps whole where the client would not without `DELIMITER`) makes the script written
//! statement by statement, unless it has `DELIMITER` lines of its own. A script split by
//! another tool's rules (goose statement blocks and `${VAR}`, Liquibase changesets, sqitch
//! without its outer `BEGIN` … `COMMIT`, an Atlas delimiter) is written statement by
//! statement, each ended so that the client sends it whole: `DELIMITER` lines for `mariadb`
//! around a statement holding a `;`, and psql's `\gexec` for a statement psql would split.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::plan::Plan;
use crate::error::Error;
use crate::migrations::Migration;
use crate::session::Session;
use crate::sql::{Dialect, Statement};

/// One written file.
#[derive(Debug, Clone, Serialize)]
pub struct SqlFile {
    /// The file's path (inside the folder given).
    pub path: PathBuf,
    pub id: String,
    /// The migration file the text was read from.
    pub source: PathBuf,
    pub statements: usize,
    /// Whether cutover runs it in one transaction (replay it with `psql -1`, or between
    /// `BEGIN` and `COMMIT` in `sqlite3`); otherwise statement by statement.
    pub transaction: bool,
}

/// Write one file per migration of `plan` into `dir` (created when missing). A folder
/// that already holds `.sql` files is refused: a replay of `*.sql` would run them too.
pub fn write(session: &mut Session, plan: &Plan, dir: &Path) -> Result<Vec<SqlFile>, Error> {
    prepare(dir)?;
    let dialect = session.dialect();
    let transactional_ddl = session.engine().capabilities().transactional_ddl;
    let width = plan.migrations.len().to_string().len().max(4);
    let mut written = Vec::new();
    for (n, planned) in plan.migrations.iter().enumerate() {
        let m = session
            .migrations()
            .migrations
            .iter()
            .find(|m| m.id == planned.id)
            .expect("a planned migration was discovered");
        let (text, statements) = render(m, dialect).map_err(|e| Error::Split {
            path: e.0,
            line: e.1,
            message: e.2,
        })?;
        let transaction = transactional_ddl && !m.up.directives.no_transaction;
        let path = dir.join(format!(
            "{:0width$}_{}.sql",
            n + 1,
            file_stem(&m.id, &m.name)
        ));
        let header = header(m, statements, transaction, dialect);
        std::fs::write(&path, format!("{header}{text}")).map_err(|e| io(&path, e))?;
        written.push(SqlFile {
            path,
            id: m.id.clone(),
            source: m.up.path.clone(),
            statements,
            transaction,
        });
    }
    Ok(written)
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn prepare(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    let stale = entries
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "sql"));
    if stale {
        return Err(Error::Usage(format!(
            "{} already holds .sql files: give `--sql` an empty or new folder, so that a replay \
             of its files runs only this plan's",
            dir.display()
        )));
    }
    Ok(())
}

/// `<version>_<name>` with anything a file name should not hold as `_` (Liquibase ids
/// hold `::`, memos ids a `/`); the id alone when it already holds the name.
fn file_stem(id: &str, name: &str) -> String {
    let stem = if name.is_empty() || id.contains(name) {
        id.to_string()
    } else {
        format!("{id}_{name}")
    };
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn header(m: &Migration, statements: usize, transaction: bool, dialect: Dialect) -> String {
    let how = if transaction {
        "runs in one transaction"
    } else {
        "runs statement by statement, outside a transaction"
    };
    let mut out = format!(
        "-- migration {} ({}) from {}\n-- {how}; {statements} statement(s) for {}\n",
        m.id,
        m.name,
        m.up.path.display(),
        client(dialect)
    );
    if let Some(v) = &m.verify {
        out.push_str(&format!(
            "-- then its verify script {}, in the same transaction\n",
            v.path.display()
        ));
    }
    out
}

fn client(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "psql",
        Dialect::MySql => "mariadb/mysql",
        Dialect::Sqlite => "sqlite3",
    }
}

/// A split error as (file, line in the file, message).
type Failed = (PathBuf, usize, String);

/// The text to write and the number of statements cutover sends.
fn render(m: &Migration, dialect: Dialect) -> Result<(String, usize), Failed> {
    let mut text = String::new();
    let mut count = 0;
    for script in std::iter::once(&m.up).chain(m.verify.as_ref()) {
        let statements = script
            .statements(dialect)
            .map_err(|e| (script.path.clone(), e.line + script.line_offset, e.message))?;
        count += statements.len();
        if script.path != m.up.path {
            text.push_str(&format!("\n-- {}\n", script.path.display()));
        }
        if verbatim(script, &statements, dialect) {
            text.push_str(&script.sql);
            if !script.sql.ends_with('\n') {
                text.push('\n');
            }
        } else {
            for s in &statements {
                text.push_str(&ended(s, dialect));
            }
        }
    }
    Ok((text, count))
}

/// Whether the client finds cutover's statements in the script's own text. The mysql and
/// mariadb clients end a statement at every `;`, where cutover (like dbmate, Diesel and the
/// drivers) keeps a `BEGIN … END` body whole: such a script is written statement by
/// statement, unless it was written for the client, with its own `DELIMITER` lines.
fn verbatim(
    script: &crate::migrations::Script,
    statements: &[Statement],
    dialect: Dialect,
) -> bool {
    script.is_client_split()
        && (dialect != Dialect::MySql
            || statements.iter().all(|s| !s.sql.contains(';'))
            || script.sql.lines().any(is_delimiter_command))
}

/// A MySQL client `DELIMITER` line (any case), as the client reads it.
fn is_delimiter_command(line: &str) -> bool {
    let line = line.trim_start().as_bytes();
    line.len() > 10
        && line[..9].eq_ignore_ascii_case(b"delimiter")
        && matches!(line[9], b' ' | b'\t')
}

/// One statement, ended so that the engine's client sends exactly this text as one
/// statement.
pub fn ended(statement: &Statement, dialect: Dialect) -> String {
    let sql = statement.sql.trim_end();
    match dialect {
        // The mysql and mariadb clients end a statement at any `;` outside quotes and
        // comments, `BEGIN … END` bodies included.
        Dialect::MySql if sql.contains(';') => {
            let d = unused(sql, &["$$", "//", ";;", "$$$$"]);
            format!("DELIMITER {d}\n{sql}\n{d}\nDELIMITER ;\n")
        }
        Dialect::Postgres if !one_statement(&terminated(sql), sql, dialect) => {
            // psql would split it: `\gexec` sends the text as one query, as cutover does.
            let tag = (0..)
                .map(|n| format!("$cutover{n}$"))
                .find(|t| !sql.contains(t.as_str()))
                .expect("some tag is unused");
            format!("SELECT {tag}{sql}{tag} \\gexec\n")
        }
        // sqlite3 ends statements where SQLite's own tokenizer does: nothing else to do.
        _ => terminated(sql),
    }
}

/// `sql;`, with the `;` on a line of its own when the last line holds a comment.
fn terminated(sql: &str) -> String {
    let last = sql.rsplit('\n').next().unwrap_or(sql);
    if last.contains("--") || last.contains('#') || last.contains("/*") {
        format!("{sql}\n;\n")
    } else {
        format!("{sql};\n")
    }
}

/// Whether the client reading `text` finds exactly one statement, `sql`.
fn one_statement(text: &str, sql: &str, dialect: Dialect) -> bool {
    matches!(crate::sql::split(text, dialect).as_deref(), Ok([s]) if s.sql.trim_end() == sql.trim_start())
}

fn unused<'a>(sql: &str, candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .find(|d| !sql.contains(*d))
        .copied()
        .unwrap_or("$cutover$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(sql: &str) -> Statement {
        Statement {
            sql: sql.into(),
            line: 1,
        }
    }

    #[test]
    fn a_plain_statement_ends_with_a_semicolon() {
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(
                ended(&st("CREATE TABLE t (id int)"), d),
                "CREATE TABLE t (id int);\n"
            );
        }
        // A comment on the last line would swallow the `;`.
        assert_eq!(
            ended(&st("SELECT 1 -- one"), Dialect::Sqlite),
            "SELECT 1 -- one\n;\n"
        );
    }

    #[test]
    fn mysql_bodies_get_delimiter_lines_that_the_text_does_not_hold() {
        let body = "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END";
        assert_eq!(
            ended(&st(body), Dialect::MySql),
            format!("DELIMITER $$\n{body}\n$$\nDELIMITER ;\n")
        );
        let dollars = "CREATE PROCEDURE p() BEGIN SELECT '$$'; END";
        assert!(ended(&st(dollars), Dialect::MySql).starts_with("DELIMITER //\n"));
    }

    #[test]
    fn psql_gets_gexec_only_for_what_it_would_split() {
        let function =
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$";
        assert_eq!(
            ended(&st(function), Dialect::Postgres),
            format!("{function};\n")
        );
        let two = "CREATE TABLE a (id int); SELECT '$cutover0$'";
        assert_eq!(
            ended(&st(two), Dialect::Postgres),
            format!("SELECT $cutover1${two}$cutover1$ \\gexec\n")
        );
    }

    #[test]
    fn delimiter_commands_as_the_client_reads_them() {
        assert!(is_delimiter_command("delimiter ??"));
        assert!(is_delimiter_command("  DELIMITER ;;"));
        assert!(!is_delimiter_command("delimiter"));
        assert!(!is_delimiter_command("delimiters ??"));
        assert!(!is_delimiter_command("-- delimiter ??"));
    }

    #[test]
    fn file_stems_hold_no_separator() {
        assert_eq!(
            file_stem("20240101", "create_users"),
            "20240101_create_users"
        );
        assert_eq!(
            file_stem("2019-02-26-002946_create", "create"),
            "2019-02-26-002946_create"
        );
        assert_eq!(file_stem("001.sql::2::ann", "2"), "001.sql__2__ann");
        assert_eq!(file_stem("0.22/00__memo", "memo"), "0.22_00__memo");
    }
}
