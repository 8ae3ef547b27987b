//! `cutover lint` on the real histories of `shared/corpora`: what the rules report, and why
//! each finding is right (the false-positive check).

use std::collections::BTreeMap;

use cutover::config::Overrides;
use cutover::lint::{Report, Request};
use cutover::sql::Dialect;

use crate::common::*;

fn lint_corpus(dir: &str, dialect: &str) -> Report {
    let (d, flavour) = match dialect {
        "postgres" => (Dialect::Postgres, cutover::lint::Flavour::Unknown),
        "mariadb" => (Dialect::MySql, cutover::lint::Flavour::MariaDb),
        _ => (Dialect::Sqlite, cutover::lint::Flavour::Unknown),
    };
    let request = Request {
        paths: vec![corpora().join(dir)],
        dialect: Some((d, flavour)),
        offline: true,
        all: false,
    };
    cutover::lint::run(&Overrides::default(), &request).unwrap_or_else(|e| panic!("{dir}: {e}"))
}

fn counts(r: &Report) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in &r.findings {
        *m.entry(f.rule.clone()).or_default() += 1;
    }
    m
}

fn file_findings<'a>(r: &'a Report, file: &str) -> Vec<&'a str> {
    r.findings
        .iter()
        .filter(|f| f.path.to_string_lossy().contains(file))
        .map(|f| f.rule.as_str())
        .collect()
}

/// PostgreSQL: only squawk's rules report (bench/lint_squawk.py matches every one of them
/// against squawk's CLI on these files: nothing reported that squawk does not report), and
/// no file gets a finding squawk's CLI would not give it. Context only takes away.
#[test]
fn corpora_postgres_report_no_more_than_squawk() {
    for dir in [
        "postgres/lemmy",
        "postgres/documenso",
        "postgres/kratos/sql",
        "postgres/vaultwarden",
        "postgres/memos",
        "postgres/atuin/atuin-server-postgres",
    ] {
        let r = lint_corpus(dir, "postgres");
        assert!(r.files > 0, "{dir}: nothing linted");
        for f in &r.findings {
            assert!(
                f.rule.parse::<squawk_rule::Rule>().is_ok(),
                "{dir}: {} is not one of squawk's rules: {f:?}",
                f.rule
            );
        }
        // "IF NOT EXISTS" advice only where a migration runs outside a transaction (popx's
        // `.autocommit.` files): in cutover's transaction a failure leaves nothing behind.
        for f in r
            .findings
            .iter()
            .filter(|f| f.rule == "prefer-robust-stmts")
        {
            assert!(
                f.path.to_string_lossy().contains(".autocommit."),
                "{dir}: {f:?}"
            );
        }
    }
}

mod squawk_rule {
    pub use squawk_linter::Rule;
}

/// MariaDB/MySQL: every finding on the corpora, by rule, and why it is right.
#[test]
fn corpora_mysql_findings_are_justified() {
    let memos = lint_corpus("mysql/memos", "mariadb");
    // 0.22/00__resource_storage_type.sql adds `payload` NOT NULL with no default: the
    // running memos version's INSERTs into `resource` fail in strict mode.
    assert!(
        file_findings(&memos, "0.22/00__resource_storage_type.sql")
            .contains(&"adding-required-field")
    );
    // 0.18/00__extend_text.sql redefines columns whose earlier type no linted file gives
    // (they come from LATEST.sql's era): only warnings ("may copy"), never errors.
    let extend: Vec<_> = memos
        .findings
        .iter()
        .filter(|f| f.path.ends_with("0.18/00__extend_text.sql"))
        .collect();
    assert!(
        !extend.is_empty()
            && extend
                .iter()
                .all(|f| f.severity == cutover::lint::Severity::Warning),
        "{extend:#?}"
    );
    let kratos = lint_corpus("mysql/kratos/sql", "mariadb");
    // Creating the tables with their keys in one migration is not flagged; adding a
    // foreign key later to a table that exists is (27 times, each on an existing table).
    for f in kratos
        .findings
        .iter()
        .filter(|f| f.rule == "mysql-foreign-key-copy")
    {
        assert!(f.message.contains("with foreign_key_checks on"), "{f:?}");
    }
    let snapshot = format!(
        "memos {:?}\nkratos {:?}\nvaultwarden {:?}",
        counts(&memos),
        counts(&kratos),
        counts(&lint_corpus("mysql/vaultwarden", "mariadb"))
    );
    insta::assert_snapshot!("corpora_mysql", snapshot);
}

/// SQLite: rebuilds are not drops or renames (vaultwarden's 12 steps, memos' rename-away,
/// kratos' rebuilds split over three migrations), but their foreign keys are.
#[test]
fn corpora_sqlite_findings_are_justified() {
    let vw = lint_corpus("sqlite/vaultwarden", "sqlite");
    // The 12 steps inside Diesel's (and cutover's) transaction with foreign keys on: the
    // DROP TABLE ciphers deletes every favorite (ON DELETE CASCADE) or fails.
    assert_eq!(
        file_findings(&vw, "2020-08-02-025025_add_favorites_table"),
        vec!["sqlite-rebuild-foreign-keys"]
    );
    let memos = lint_corpus("sqlite/memos", "sqlite");
    // `PRAGMA foreign_keys = off` inside cutover's transaction does nothing, and renaming
    // `memo` away moves the other tables' foreign keys to `_memo_old`, then dropped.
    let protected = file_findings(&memos, "0.3/00__memo_visibility_protected.sql");
    assert!(
        protected.contains(&"sqlite-pragma-in-transaction"),
        "{protected:?}"
    );
    assert!(
        protected.contains(&"sqlite-rebuild-foreign-keys"),
        "{protected:?}"
    );
    assert!(
        !protected.contains(&"renaming-table") && !protected.contains(&"ban-drop-table"),
        "{protected:?}"
    );
    let kratos = lint_corpus("sqlite/kratos/sql", "sqlite");
    // fizz writes one rebuild as: copy into `_x_tmp`, drop `x`, rename `_x_tmp` to `x`.
    assert!(
        file_findings(&kratos, "20191100000010000002_errors.sqlite3.up.sql")
            .iter()
            .all(|r| *r != "ban-drop-table")
    );
    assert!(file_findings(&kratos, "20191100000010000003_errors.sqlite3.up.sql").is_empty());
    let snapshot = format!(
        "vaultwarden {:?}\nmemos {:?}\nkratos {:?}",
        counts(&vw),
        counts(&memos),
        counts(&kratos)
    );
    insta::assert_snapshot!("corpora_sqlite", snapshot);
}
