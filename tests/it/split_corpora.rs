//! Splits every SQL file of the shared third-party corpora (real migration histories and
//! sample databases, see `shared/corpora/SOURCES.md`) and pins facts checked by reading them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cutover::sql::{Dialect, Statement, split};

fn corpora() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    assert!(
        dir.is_dir(),
        "the shared corpora must sit beside the repo, at {}",
        dir.display()
    );
    dir
}

/// The dialect a corpus file is written in: by top folder, and by file name for the
/// sample databases.
fn dialect_of(relative: &Path) -> Dialect {
    let top = relative.iter().next().unwrap().to_string_lossy();
    let name = relative.file_name().unwrap().to_string_lossy();
    let has = |needles: &[&str]| needles.iter().any(|n| name.contains(n));
    match &*top {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::MySql,
        "sqlite" => Dialect::Sqlite,
        "sample-databases" if has(&["PostgreSql", "postgres", "pagila"]) => Dialect::Postgres,
        "sample-databases" if has(&["MySql", "mysql", "sakila-mv"]) => Dialect::MySql,
        "sample-databases" if has(&["Sqlite", "sqlite"]) => Dialect::Sqlite,
        _ => panic!("no dialect known for corpus file {}", relative.display()),
    }
}

/// Every `*.sql` file under `dir` (so not the `.sqlite` database file).
fn sql_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sql_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "sql") {
            found.push(path);
        }
    }
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(corpora().join(relative)).unwrap()
}

fn split_file(relative: &str) -> Vec<Statement> {
    split(&read(relative), dialect_of(Path::new(relative))).unwrap()
}

/// Every SQL file splits without error. The psql-only files (`pagila-data.sql` and
/// `postgres-sakila-insert-data-using-copy.sql` with `COPY … FROM stdin` data blocks,
/// `Chinook_PostgreSql.sql` with `\c`) are client features, not SQL; they still split
/// without error (the data rows become statement text), so they are not left out here,
/// but only `psql` can run them.
#[test]
fn every_corpus_file_splits() {
    let root = corpora();
    let mut files = Vec::new();
    sql_files(&root, &mut files);
    files.sort();
    let (mut not_utf8, mut failed, mut statements, mut bytes) = (vec![], vec![], 0, 0);
    let started = Instant::now();
    for path in &files {
        let relative = path.strip_prefix(&root).unwrap();
        let Ok(text) = String::from_utf8(std::fs::read(path).unwrap()) else {
            not_utf8.push(relative.display().to_string());
            continue;
        };
        bytes += text.len();
        match split(&text, dialect_of(relative)) {
            Ok(found) => statements += found.len(),
            Err(e) => failed.push(format!("{}: {e}", relative.display())),
        }
    }
    let elapsed = started.elapsed();
    let mb = bytes as f64 / 1e6;
    println!(
        "split {} files ({mb:.1} MB) into {statements} statements in {elapsed:?}",
        files.len()
    );
    assert!(
        not_utf8.is_empty(),
        "corpus files that are not UTF-8: {not_utf8:#?}"
    );
    assert!(
        failed.is_empty(),
        "corpus files that did not split: {failed:#?}"
    );
    // Measured: 5,007 files, 15,157 statements; allow 10% for changes of the rules.
    assert!(files.len() >= 5_000, "only {} SQL files found", files.len());
    assert!(statements > 13_600, "only {statements} statements");
}

#[test]
fn vmangos_procedure_with_custom_delimiter() {
    let got = split_file("mysql/vmangos/20220523001700_logs.sql");
    let lines: Vec<_> = got.iter().map(|s| s.line).collect();
    assert_eq!(lines, [1, 3, 20, 21, 23]);
    assert_eq!(got[0].sql, "DROP PROCEDURE IF EXISTS add_migration");
    assert!(
        got[1]
            .sql
            .starts_with("CREATE PROCEDURE `add_migration`()\nBEGIN\n")
    );
    assert!(got[1].sql.contains("DROP TABLE IF EXISTS `logs_behavior`;"));
    assert!(got[1].sql.ends_with("-- End of migration.\nEND IF;\nEND"));
    assert_eq!(got[2].sql, "CALL add_migration()");
    assert_eq!(got[3].sql, "DROP PROCEDURE IF EXISTS add_migration");
    assert_eq!(got[4].sql, "DROP TABLE IF EXISTS `logs_behavior`");
}

#[test]
fn vmangos_crlf_file_keeps_line_numbers() {
    let got = split_file("mysql/vmangos/20210515110157_world.sql");
    let lines: Vec<_> = got.iter().map(|s| s.line).collect();
    assert_eq!(lines, [1, 3, 1147, 1148]);
    assert!(got[1].sql.ends_with("END IF;\r\nEND"));
}

#[test]
fn memos_sqlite_triggers_stay_whole() {
    let got = split_file("sqlite/memos/0.5/00__regenerate_foreign_keys.sql");
    assert_eq!(got.len(), 40);
    let trigger = got.iter().position(|s| s.line == 32).unwrap();
    let text = &got[trigger].sql;
    assert!(
        text.starts_with("CREATE TRIGGER IF NOT EXISTS `trigger_update_user_modification_time`")
    );
    assert!(text.ends_with("rowid = old.rowid;\n\nEND"), "{text}");
    assert_eq!(got[trigger + 1].line, 45);
    let triggers = got
        .iter()
        .filter(|s| s.sql.starts_with("CREATE TRIGGER"))
        .count();
    assert_eq!(triggers, 4);
}

#[test]
fn documenso_do_block_is_one_statement() {
    let got = split_file("postgres/documenso/20240205120648_create_delete_account/migration.sql");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].line, 2);
    assert!(got[0].sql.starts_with("DO $$\nBEGIN"));
    assert!(got[0].sql.ends_with("  END IF;  \nEND $$"));
}

#[test]
fn lemmy_plpgsql_functions() {
    let got = split_file("postgres/lemmy/00000000000000_diesel_initial_setup/up.sql");
    let lines: Vec<_> = got.iter().map(|s| s.line).collect();
    assert_eq!(lines, [15, 25]);
    assert!(
        got[0]
            .sql
            .starts_with("CREATE OR REPLACE FUNCTION diesel_manage_updated_at")
    );
    assert!(got[0].sql.ends_with("_tbl);\nEND;\n$$\nLANGUAGE plpgsql"));
    assert!(
        got[1]
            .sql
            .contains("    END IF;\n    RETURN NEW;\nEND;\n$$")
    );
}

#[test]
fn sakila_schema_statement_lines() {
    let got = split_file("sample-databases/sakila-mysql/sakila-mv-schema.sql");
    let lines: Vec<_> = got.iter().map(|s| s.line).collect();
    assert_eq!(got.len(), 42);
    assert_eq!(lines[..7], [18, 19, 20, 22, 23, 24, 30]);
    // `/*!50610 … */;`, then three triggers under `DELIMITER ;;`.
    assert_eq!(lines[16..20], [183, 190, 196, 208]);
    assert_eq!(
        got[16].sql,
        "/*!50610 ALTER TABLE film_text engine=InnoDB */"
    );
    // Routines under `DELIMITER //` and `DELIMITER $$`.
    assert_eq!(lines[33..39], [453, 520, 565, 581, 597, 615]);
    assert!(got[38].sql.ends_with("END"));
}
