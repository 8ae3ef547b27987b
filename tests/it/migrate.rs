//! Applying, failing, editing, rolling back and resolving migrations, on every engine,
//! through the real binary.

use crate::common::*;

/// The LMS example applies, `status --check` passes, and a second run does nothing.
fn lms_apply_then_noop(kind: Kind) {
    let db = TestDb::new(kind);
    let m = lms_migrations();
    db.cutover()
        .arg("--migrations")
        .arg(&m)
        .arg("migrate")
        .assert()
        .success();
    for t in [
        "students",
        "instructors",
        "courses",
        "enrollments",
        "grades",
        "payments",
    ] {
        assert!(db.has_table(t), "{t} missing on {kind:?}");
    }
    assert_eq!(db.count("SELECT count(*) FROM courses"), 2);
    let rows = db.history();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|(_, s)| s == "applied"), "{rows:?}");

    db.cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["status", "--check"])
        .assert()
        .success();
    let out = db
        .cutover()
        .arg("--migrations")
        .arg(&m)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("nothing to apply"),
        "{}",
        stdout(&out)
    );

    let out = db
        .cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    assert_eq!(json["layout"], "native");
    let states: Vec<&str> = json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["applied"; 8]);
    assert!(
        json["migrations"][0]["applied_by"]
            .as_str()
            .unwrap()
            .contains('@')
    );
}

/// A failing statement names file, line and the database's message. PostgreSQL and SQLite
/// keep nothing of the migration; MariaDB records it as failed at that statement and
/// refuses to go on until it is resolved.
fn failing_statement(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/1_first.up.sql", "CREATE TABLE a (id INT);\n"),
            (
                "migrations/2_broken.up.sql",
                "CREATE TABLE b (id INT);\n-- a comment line\nINSERT INTO b VALUES (1);\nSELECT * FROM no_such_table;\n",
            ),
            ("migrations/3_later.up.sql", "CREATE TABLE c (id INT);\n"),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("2_broken.up.sql:4"), "{err}");
    assert!(err.contains("statement 3 of 3"), "{err}");
    assert!(err.contains("no_such_table"), "{err}");
    assert!(db.has_table("a"));
    assert!(!db.has_table("c"), "nothing runs after a failure");

    if kind == Kind::MySql {
        assert!(db.has_table("b"), "MariaDB commits DDL as it goes");
        assert_eq!(
            db.count("SELECT count(*) FROM b"),
            0,
            "the INSERT shared a transaction with the failing SELECT"
        );
        assert_eq!(
            db.history(),
            vec![
                ("1".into(), "applied".into()),
                ("2".into(), "failed".into())
            ]
        );
        assert!(
            err.contains("statements 1..1 of this script are applied"),
            "{err}"
        );
        assert!(err.contains("cutover resolve --applied 2"), "{err}");
        let status = db.cutover().args(["status", "--check"]).output().unwrap();
        assert_eq!(status.status.code(), Some(1));
        let text = stdout(&status);
        assert!(
            text.contains("stopped at statement 2 (line 3): statement 3 failed"),
            "{text}"
        );
        let again = db.cutover().arg("migrate").output().unwrap();
        assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
        assert!(
            stderr(&again).contains("2_broken.up.sql:3 (statement 2)"),
            "{}",
            stderr(&again)
        );
        assert!(!db.has_table("c"));
        // The operator undoes it by hand and says so; then the fixed file applies.
        db.connect().execute("DROP TABLE b").unwrap();
        db.cutover()
            .args(["resolve", "--rolled-back", "2"])
            .assert()
            .success();
    } else {
        assert!(
            !db.has_table("b"),
            "the failed migration left a table on {kind:?}"
        );
        assert_eq!(db.history(), vec![("1".into(), "applied".into())]);
        assert!(err.contains("nothing of this migration was kept"), "{err}");
    }
    write_files(
        db.path(),
        &[(
            "migrations/2_broken.up.sql",
            "CREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);\n",
        )],
    );
    db.cutover().arg("migrate").assert().success();
    assert!(db.has_table("c"));
    assert_eq!(db.count("SELECT count(*) FROM b"), 1);
}

/// An edited applied migration is reported and blocks `migrate` until accepted; a deleted
/// one is reported as missing.
fn changed_and_missing(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("migrations/2_b.up.sql", "CREATE TABLE b (id INT);\n"),
        ],
    );
    db.cutover().arg("migrate").assert().success();
    // Line endings alone are not an edit.
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\r\n")],
    );
    db.cutover().args(["status", "--check"]).assert().success();

    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id BIGINT);\n"),
            ("migrations/3_c.up.sql", "CREATE TABLE c (id INT);\n"),
        ],
    );
    let status = db.cutover().args(["status", "--check"]).output().unwrap();
    assert_eq!(status.status.code(), Some(1));
    assert!(stdout(&status).contains("changed"), "{}", stdout(&status));
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("1 (a)"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resolve --accept-checksum 1"),
        "{}",
        stderr(&out)
    );
    assert!(
        !db.has_table("c"),
        "nothing ran while a migration was changed"
    );

    db.cutover()
        .args(["resolve", "--accept-checksum", "1"])
        .assert()
        .success();
    db.cutover().arg("migrate").assert().success();
    assert!(db.has_table("c"));

    std::fs::remove_file(db.path().join("migrations/2_b.up.sql")).unwrap();
    let out = db.cutover().args(["status", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["migrations"][1]["version"], "2");
    assert_eq!(json["migrations"][1]["state"], "missing");
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "a missing migration blocks migrate"
    );
}

/// Rollback by steps and to a version; a missing down script refuses before anything runs.
fn rollback(kind: Kind) {
    let db = TestDb::new(kind);
    let m = lms_migrations();
    let run = |args: &[&str]| {
        db.cutover()
            .arg("--migrations")
            .arg(&m)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());

    let out = run(&["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(db.history().len(), 7);
    let out = run(&["rollback", "--to", "20240105090100", "--dry-run"]);
    assert!(
        stdout(&out).contains("would roll back 20240105090600"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.history().len(), 7, "dry run changed nothing");
    assert!(
        run(&["rollback", "--to", "20240105090100"])
            .status
            .success()
    );
    let versions: Vec<String> = db.history().into_iter().map(|(v, _)| v).collect();
    assert_eq!(versions, vec!["20240105090000", "20240105090100"]);
    assert!(!db.has_table("courses") && db.has_table("instructors"));
    assert!(run(&["migrate"]).status.success());
    assert_eq!(db.history().len(), 8);
    assert_eq!(db.count("SELECT count(*) FROM courses"), 2);

    // A migration without a down script stops the whole rollback before it starts.
    let dir = db.path().join("nodown");
    write_files(
        db.path(),
        &[
            ("nodown/1_a.up.sql", "CREATE TABLE x1 (id INT);\n"),
            ("nodown/1_a.down.sql", "DROP TABLE x1;\n"),
            ("nodown/2_b.up.sql", "CREATE TABLE x2 (id INT);\n"),
            ("nodown/3_c.up.sql", "CREATE TABLE x3 (id INT);\n"),
            ("nodown/3_c.down.sql", "DROP TABLE x3;\n"),
        ],
    );
    let other = TestDb::new(kind);
    other
        .cutover()
        .arg("--migrations")
        .arg(&dir)
        .arg("migrate")
        .assert()
        .success();
    let out = other
        .cutover()
        .arg("--migrations")
        .arg(&dir)
        .args(["rollback", "--steps", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr(&out).contains("2 (b): no down script beside"),
        "{}",
        stderr(&out)
    );
    assert!(other.has_table("x3"), "nothing was rolled back");
    assert_eq!(other.history().len(), 3);
}

/// `--dry-run` prints the plan and creates nothing, not even the history table.
fn dry_run_changes_nothing(kind: Kind) {
    let db = TestDb::new(kind);
    let m = lms_migrations();
    let out = db
        .cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["migrate", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("would apply 20240105090000 create_students"),
        "{text}"
    );
    assert!(text.contains("CREATE TABLE students"), "{text}");
    assert!(text.contains("8 migration(s) would apply"), "{text}");
    if kind == Kind::Sqlite {
        assert!(
            !db.path().join("test.db").exists(),
            "dry run created the SQLite file"
        );
    } else {
        assert!(!db.has_table("cutover_migrations"));
    }
    let out = db
        .cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["migrate", "--dry-run", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["scripts"].as_array().unwrap().len(), 8);
}

/// `baseline` adopts a database; `--to` stops early.
fn baseline_and_to(kind: Kind) {
    let db = TestDb::new(kind);
    let m = lms_migrations();
    db.connect()
        .execute("CREATE TABLE students (id INT)")
        .unwrap();
    db.cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["baseline", "--version", "20240105090000"])
        .assert()
        .success();
    db.cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["migrate", "--to", "20240105090200"])
        .assert()
        .success();
    let versions: Vec<String> = db.history().into_iter().map(|(v, _)| v).collect();
    assert_eq!(
        versions,
        vec!["20240105090000", "20240105090100", "20240105090200"]
    );
    let out = db
        .cutover()
        .arg("--migrations")
        .arg(&m)
        .args(["migrate", "--to", "1999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no migration has the id or version 1999"),
        "{}",
        stderr(&out)
    );
}

/// `-- cutover:env` limits a migration to some environments; an unknown directive is an
/// error naming file and line, and nothing is created.
fn directives(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            (
                "migrations/2_dev_data.up.sql",
                "-- cutover:env dev,test\nINSERT INTO a VALUES (42);\n",
            ),
        ],
    );
    db.cutover().arg("migrate").assert().success();
    assert_eq!(db.count("SELECT count(*) FROM a"), 0);
    let out = db.cutover().args(["status", "--check"]).output().unwrap();
    assert!(out.status.success(), "a skipped migration is not a problem");
    assert!(stdout(&out).contains("skipped"), "{}", stdout(&out));

    write_files(
        db.path(),
        &[(
            "cutover.toml",
            &format!("[environments.test]\nurl = \"{}\"\n", db.url),
        )],
    );
    cutover_cmd(db.path())
        .args(["--env", "test", "migrate"])
        .assert()
        .success();
    assert_eq!(db.count("SELECT count(*) FROM a"), 1);

    let fresh = TestDb::new(kind);
    write_files(
        fresh.path(),
        &[(
            "migrations/1_x.up.sql",
            "-- create x\n-- cutover:no-transactoin\nCREATE TABLE x (id INT);\n",
        )],
    );
    let out = fresh.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("1_x.up.sql:2"), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-transactoin"), "{}", stderr(&out));
    if kind != Kind::Sqlite {
        assert!(
            !fresh.has_table("cutover_migrations"),
            "bad input changed nothing"
        );
    } else {
        assert!(!fresh.path().join("test.db").exists());
    }
}

per_engine!(
    lms_apply_then_noop,
    failing_statement,
    changed_and_missing,
    rollback,
    dry_run_changes_nothing,
    baseline_and_to,
    directives,
);

/// `CREATE INDEX CONCURRENTLY` needs `-- cutover:no-transaction` on PostgreSQL.
#[test]
fn postgres_no_transaction() {
    let db = TestDb::new(Kind::Postgres);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_t.up.sql",
                "CREATE TABLE t (id INT, v TEXT);\n",
            ),
            (
                "migrations/2_idx.up.sql",
                "CREATE INDEX CONCURRENTLY t_v ON t (v);\n",
            ),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("cannot run inside a transaction block"),
        "{}",
        stderr(&out)
    );
    write_files(
        db.path(),
        &[(
            "migrations/2_idx.up.sql",
            "-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY t_v ON t (v);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        )],
    );
    db.cutover().arg("migrate").assert().success();
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE tablename = 't'"),
        2
    );
    assert_eq!(db.history().len(), 2);
}

/// `init_sql` (and `--init-sql`) run on every connection before the migrations.
#[test]
fn mysql_init_sql_sets_session() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[(
            "migrations/1_t.up.sql",
            "CREATE TABLE t (c VARCHAR(2));\nINSERT INTO t VALUES ('abcdef');\n",
        )],
    );
    let strict = db
        .cutover()
        .args([
            "--init-sql",
            "SET SESSION sql_mode='STRICT_ALL_TABLES'",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(4));
    assert!(
        stderr(&strict).contains("Data too long"),
        "{}",
        stderr(&strict)
    );
    db.cutover()
        .args(["resolve", "--rolled-back", "1"])
        .assert()
        .success();
    db.connect().execute("DROP TABLE t").unwrap();
    write_files(
        db.path(),
        &[(
            "cutover.toml",
            &format!(
                "[environments.lenient]\nurl = \"{}\"\ninit_sql = [\"SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'\"]\n",
                db.url
            ),
        )],
    );
    cutover_cmd(db.path())
        .args(["--env", "lenient", "migrate"])
        .assert()
        .success();
    assert_eq!(db.scalar("SELECT c FROM t").as_deref(), Some("ab"));
}

/// On MariaDB a script ending in data statements writes the next script's "failed at
/// statement 1" row in its last transaction; when that next script then fails before
/// anything is applied, the row is taken back and nothing blocks the next run.
#[test]
fn mysql_handoff_row_is_taken_back_when_nothing_ran() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_a.up.sql",
                "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n",
            ),
            ("migrations/2_b.up.sql", "SELECT * FROM nowhere;\n"),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing of this migration was kept"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.history(), vec![("1".into(), "applied".into())]);
    let again = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(4),
        "fails the same way, not refused"
    );
    write_files(
        db.path(),
        &[("migrations/2_b.up.sql", "SELECT * FROM a;\n")],
    );
    db.cutover().args(["migrate"]).assert().success();
    assert_eq!(db.history().len(), 2);
}

/// Issue 9, defect 3: a failed `CREATE UNIQUE INDEX CONCURRENTLY` leaves an INVALID index.
/// cutover says so, drops it, and the next run (after the data is fixed) succeeds instead of
/// failing with "relation already exists".
#[test]
fn postgres_failed_concurrent_index_is_cleaned_up() {
    let db = TestDb::new(Kind::Postgres);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_t.up.sql",
                "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1), (1);\n",
            ),
            (
                "migrations/2_ux.up.sql",
                "-- cutover:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY ux ON t (a);\n",
            ),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("left the INVALID index public.ux; cutover dropped it"),
        "{err}"
    );
    assert!(err.contains("nothing of this migration was kept"), "{err}");
    assert_eq!(
        db.count("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
        0,
        "no invalid index is left"
    );
    db.connect()
        .execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")
        .unwrap();
    let out = db.cutover().arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.history(),
        [
            ("1".to_string(), "applied".to_string()),
            ("2".to_string(), "applied".to_string())
        ]
    );
}
