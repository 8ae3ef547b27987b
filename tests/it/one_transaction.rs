//! `transaction = "deploy"`: a deploy's migrations and seeds, through verify, in one
//! transaction on PostgreSQL and SQLite, so a failure anywhere is a plain ROLLBACK; refused up
//! front on MariaDB and for a migration that must run outside a transaction.

use serde_json::Value;

use crate::common::*;

/// One test per engine that can hold a deploy in one transaction.
macro_rules! per_engine_tx {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            use super::*;
            #[test]
            fn sqlite() {
                super::$f(Kind::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$f(Kind::Postgres)
            }
        }
    )*};
}

/// The LMS migrations and seeds in the test's folder, `extra` files, and an environment
/// `one` with one transaction per deploy.
fn project(db: &TestDb, policy: &str, extra: &[(&str, &str)]) {
    let lms = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms");
    for dir in ["migrations", "seeds"] {
        for f in std::fs::read_dir(lms.join(dir)).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            write_files(
                db.path(),
                &[(&format!("{dir}/{}", f.file_name().to_string_lossy()), &text)],
            );
        }
    }
    write_files(db.path(), extra);
    let config = format!(
        "[environments.test]\nkind = \"test\"\nurl = \"{}\"\nmigrations = \"migrations\"\nseeds = \"seeds\"\ntransaction = \"deploy\"\n{policy}\n",
        db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

fn deploy(db: &TestDb) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .output()
        .unwrap()
}

fn report(db: &TestDb) -> Value {
    let dir = std::fs::read_dir(db.path().join("report"))
        .unwrap()
        .flatten()
        .max_by_key(|d| d.file_name())
        .unwrap()
        .path();
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn application_tables(db: &TestDb) -> i64 {
    let sql = match db.kind {
        Kind::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'cutover%'"
        }
        _ => {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT LIKE 'cutover%'"
        }
    };
    db.count(sql)
}

/// Everything applies in one transaction: migrations, their history rows, the seeds.
fn one_transaction_deploys(kind: Kind) {
    let db = TestDb::new(kind);
    project(&db, "", &[]);
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(db.history().len(), 8);
    assert_eq!(db.count("SELECT count(*) FROM students WHERE id = 1001"), 1);
    let r = report(&db);
    let migrate = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "verify")
        .unwrap();
    assert!(
        migrate["detail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "committed the deploy's transaction"),
        "{migrate}"
    );
}

/// The last migration fails: a plain ROLLBACK takes every earlier migration of the deploy
/// with it, the schema is proved back, and the report says how.
fn failure_anywhere_is_one_rollback(kind: Kind) {
    let db = TestDb::new(kind);
    project(
        &db,
        "",
        &[(
            "migrations/20240105090800_broken.up.sql",
            "INSERT INTO nowhere VALUES (1);\n",
        )],
    );
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_eq!(
        application_tables(&db),
        0,
        "the seven good migrations went too"
    );
    assert!(
        !db.has_table("cutover_migrations") || db.history().is_empty(),
        "no history row survives the ROLLBACK"
    );
    let r = report(&db);
    assert_eq!(r["outcome"], "rolled_back");
    assert_eq!(r["undo"]["how"], "transaction", "{}", r["undo"]);
    assert_eq!(r["fingerprint_before"], r["fingerprint_after"]);
    // The run's own row was written before the transaction and survives it.
    assert_eq!(
        db.count("SELECT count(*) FROM cutover_runs WHERE outcome = 'rolled_back'"),
        1
    );
}

/// A verify check fails after the migrations and seeds ran: still inside the transaction,
/// so still one ROLLBACK.
fn verify_failure_rolls_back_the_transaction(kind: Kind) {
    let db = TestDb::new(kind);
    project(
        &db,
        "[[environments.test.verify]]\nname = \"enough courses\"\nsql = \"SELECT count(*) FROM courses\"\nexpect = \">= 50\"\n",
        &[],
    );
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("enough courses"), "{}", stderr(&out));
    assert_eq!(application_tables(&db), 0);
    assert_eq!(report(&db)["undo"]["how"], "transaction");
}

/// A script's statements may reach the server together (PostgreSQL: one query per
/// script); a failure still names the statement that failed, its line, and no other.
fn failure_names_the_statement_and_its_line(kind: Kind) {
    let db = TestDb::new(kind);
    project(
        &db,
        "",
        &[(
            "migrations/20240105090800_broken.up.sql",
            "CREATE TABLE ok_one (id int);\n-- a comment\nINSERT INTO ok_one\n  VALUES (1) RETURNINGG id;\nCREATE TABLE never (id int);\n",
        )],
    );
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    // The error points into the statement: its second line, the file's fourth.
    let at = "20240105090800_broken.up.sql:4 (statement 2 of 3)";
    assert!(stderr(&out).contains(at), "{at} in {}", stderr(&out));
    assert!(stderr(&out).contains("RETURNINGG"), "{}", stderr(&out));
    assert_eq!(application_tables(&db), 0);
}

/// Every applied script's history row is written, with its checksum, before the commit.
fn every_history_row_is_written(kind: Kind) {
    let db = TestDb::new(kind);
    project(&db, "", &[]);
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let applied = db.count(
        "SELECT count(*) FROM cutover_migrations WHERE status = 'applied' AND checksum <> '' AND run_id IS NOT NULL",
    );
    assert_eq!(applied, 8);
}

per_engine_tx!(
    one_transaction_deploys,
    failure_anywhere_is_one_rollback,
    verify_failure_rolls_back_the_transaction,
    failure_names_the_statement_and_its_line,
    every_history_row_is_written
);

/// A script's `SET` ends with it inside the one transaction too: the next script starts
/// from the environment's settings.
#[test]
fn a_scripts_setting_does_not_reach_the_next() {
    let db = TestDb::new(Kind::Postgres);
    project(
        &db,
        "",
        &[
            (
                "migrations/20240105090800_set.up.sql",
                "SET work_mem = '7MB';\n",
            ),
            (
                "migrations/20240105090900_read.up.sql",
                "CREATE TABLE seen AS SELECT current_setting('work_mem') AS v;\n",
            ),
        ],
    );
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = db.scalar("SELECT v FROM seen").unwrap();
    assert_ne!(seen, "7MB", "the first script's SET leaked into the second");
}

/// MariaDB commits DDL implicitly: one transaction cannot hold a deploy, and cutover says so
/// before changing anything.
#[test]
fn refused_on_mariadb() {
    let db = TestDb::new(Kind::MySql);
    project(&db, "", &[]);
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("transaction = \"deploy\" is refused on mysql")
            && stderr(&out).contains("commits implicitly"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
    assert!(!db.has_table("cutover_migrations"));
}

/// A pending migration that must run outside a transaction is named in the refusal.
#[test]
fn refused_with_a_no_transaction_migration() {
    let db = TestDb::new(Kind::Postgres);
    project(
        &db,
        "",
        &[(
            "migrations/20240105090800_index.up.sql",
            "-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY students_name ON students (full_name);\n",
        )],
    );
    let out = deploy(&db);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("must run outside a transaction")
            && stderr(&out).contains("20240105090800"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
}
