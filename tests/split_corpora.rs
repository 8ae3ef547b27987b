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
    let text = relative.to_string_lossy();
    let (top, _) = text.split_once('/').expect("corpus files sit in a folder");
    let name = relative.file_name().unwrap().to_string_lossy();
    let has = |needles: &[&str]| needles.iter().any(|n| name.contains(n));
    match top {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::MySql,
        "sqlite" => Dialect::Sqlite,
        "sample-databases" if has(&["PostgreSql", "postgres", "pagila"]) => Dialect::Postgres,
        "sample-databases" if has(&["MySql", "mysql", "sakila-mv"]) => Dialect::MySql,
        "sample-databases" if has(&["Sqlite", "sqlite"]) => Dialect::Sqlite,
        _ => panic!("no dialect known for corpus file {text}"),
    }
}

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
    println!(
        "split {} files, {} MB, into {statements} statements in {elapsed:?}",
        files.len(),
        bytes / 1_000_000
    );
    assert!(not_utf8.is_empty(), "corpus files that are not UTF-8: {not_utf8:#?}");
    assert!(failed.is_empty(), "corpus files that did not split: {failed:#?}");
    assert!(files.len() > 4_900, "only {} SQL files found", files.len());
    assert!(statements > 0, "{statements} statements");
}
