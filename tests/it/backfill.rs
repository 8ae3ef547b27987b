//! Issue 12, batched backfills: `-- cutover:backfill batch=N pause=D` runs one UPDATE (or
//! DELETE) in batches outside a transaction on every engine, with progress journaled; a
//! run killed half-way (SIGKILL: the history says the backfill stopped) resumes from where
//! the rows say it stopped; a script that cannot be batched is refused with its file and
//! line before anything runs.

use std::time::{Duration, Instant};

use crate::common::*;

const ROWS: i64 = 3000;

/// Table `t` with `ROWS` rows whose `b` is NULL, through migration 1.
fn filled(kind: Kind) -> TestDb {
    let db = TestDb::new(kind);
    let fill = match kind {
        Kind::Postgres => {
            format!("INSERT INTO t (id, a) SELECT g, g FROM generate_series(1, {ROWS}) g;")
        }
        Kind::MySql => format!(
            "SET SESSION max_recursive_iterations = 100000;\nINSERT INTO t (id, a) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n, n FROM s;"
        ),
        Kind::Sqlite => format!(
            "INSERT INTO t (id, a) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n, n FROM s;"
        ),
    };
    write_files(
        db.path(),
        &[(
            "migrations/1_t.sql",
            &format!("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER);\n{fill}\n"),
        )],
    );
    let out = db
        .cutover()
        .args(["--migrations", "migrations", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

fn migrate(db: &TestDb) -> std::process::Output {
    db.cutover()
        .args(["--migrations", "migrations", "migrate"])
        .output()
        .unwrap()
}

fn done(db: &TestDb) -> i64 {
    db.count("SELECT count(*) FROM t WHERE b IS NOT NULL")
}

fn runs_in_batches_and_deletes_too(kind: Kind) {
    let db = filled(kind);
    write_files(
        db.path(),
        &[
            (
                "migrations/2_fill.sql",
                "-- cutover:backfill batch=1000 pause=1ms\nUPDATE t SET b = a * 2 WHERE b IS NULL;\n",
            ),
            (
                "migrations/3_trim.sql",
                "-- cutover:backfill batch=400\nDELETE FROM t WHERE a > 2000;\n",
            ),
        ],
    );
    let out = cutover_cmd(db.path())
        .args([
            "--url",
            &db.url,
            "--migrations",
            "migrations",
            "--json",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(done(&db), 2000);
    assert_eq!(
        db.count("SELECT count(*) FROM t"),
        2000,
        "the DELETE ran in batches too"
    );
    assert_eq!(db.count("SELECT count(*) FROM t WHERE b <> a * 2"), 0);
    let text = stderr(&migrate(&db));
    assert!(!text.contains("backfill"), "nothing left to do: {text}");
    assert_eq!(db.history().len(), 3);
}

/// The progress is shown when a backfill ends, with its rows and rate.
fn progress_is_reported(kind: Kind) {
    let db = filled(kind);
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.sql",
            "-- cutover:backfill batch=700 pause=1ms\nUPDATE t SET b = a WHERE b IS NULL;\n",
        )],
    );
    let out = migrate(&db);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("backfill 2: {ROWS} rows (")), "{err}");
    assert!(err.contains("rows/s)"), "{err}");
}

fn a_killed_backfill_resumes(kind: Kind) {
    let db = filled(kind);
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.sql",
            "-- cutover:backfill batch=100 pause=100ms\nUPDATE t SET b = a WHERE b IS NULL;\n",
        )],
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .args(["--url", &db.url, "--migrations", "migrations", "migrate"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while done(&db) < 500 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the backfill never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let part = done(&db);
    assert!(part > 0 && part < ROWS, "killed half-way: {part}");
    assert!(
        db.history().contains(&("2".into(), "failed".into())),
        "{:?}",
        db.history()
    );

    // The next run picks it up (the history does not block it) and finishes it.
    let out = migrate(&db);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(done(&db), ROWS);
    assert!(db.history().contains(&("2".into(), "applied".into())));
}

fn what_cannot_be_batched_is_refused_with_its_line(kind: Kind) {
    let db = filled(kind);
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.sql",
            "-- cutover:backfill\n-- fill b\nUPDATE t SET b = 1;\n",
        )],
    );
    let out = migrate(&db);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2_fill.sql:3") && stderr(&out).contains("needs one WHERE"),
        "{}",
        stderr(&out)
    );
    assert_eq!(done(&db), 0, "nothing ran");
}

/// Batches walk the primary key where the table has one (every test above); a table
/// without one is batched by the engine's own form, to the same end.
fn a_table_without_a_key_is_batched_too(kind: Kind) {
    let db = TestDb::new(kind);
    let fill = match kind {
        Kind::Postgres => "INSERT INTO u (a) SELECT g FROM generate_series(1, 1500) g;",
        Kind::MySql => {
            "SET SESSION max_recursive_iterations = 100000;\nINSERT INTO u (a) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1500) SELECT n FROM s;"
        }
        Kind::Sqlite => {
            "INSERT INTO u (a) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1500) SELECT n FROM s;"
        }
    };
    write_files(
        db.path(),
        &[
            (
                "migrations/1_u.sql",
                &format!("CREATE TABLE u (a INTEGER, b INTEGER);\n{fill}\n"),
            ),
            (
                "migrations/2_fill.sql",
                "-- cutover:backfill batch=400 pause=1ms\nUPDATE u SET b = a WHERE b IS NULL;\n",
            ),
        ],
    );
    let out = migrate(&db);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM u WHERE b = a"), 1500);
}

/// A SET that does not make its rows stop matching would run forever: after a pass over
/// the whole table that left as many rows matching, the backfill stops and says why.
fn a_backfill_whose_rows_never_stop_matching_is_stopped(kind: Kind) {
    let db = filled(kind);
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.sql",
            "-- cutover:backfill batch=1000 pause=1ms\nUPDATE t SET a = a + 1 WHERE b IS NULL;\n",
        )],
    );
    let out = migrate(&db);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("still matches {ROWS} rows after a pass")),
        "{err}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM t WHERE a = id + 1"),
        ROWS,
        "one pass, not more"
    );
}

/// `batch_time`: quick batches grow (at most doubling), so 3000 rows starting from a
/// one-row batch take about a dozen batches, not 3000. Each batch is a transaction of its
/// own, and PostgreSQL stamps the rows it wrote with its id (`xmin`): the distinct ids
/// count the batches.
#[test]
fn batch_time_grows_quick_batches() {
    let db = filled(Kind::Postgres);
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.sql",
            "-- cutover:backfill batch=1 batch_time=5s pause=0ms\nUPDATE t SET b = a WHERE b IS NULL;\n",
        )],
    );
    let out = migrate(&db);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(done(&db), ROWS);
    let batches = db.count("SELECT count(DISTINCT xmin::text) FROM t");
    assert!(
        (12..=20).contains(&batches),
        "doubling from one row: {batches} batches for {ROWS} rows"
    );
}

per_engine!(
    runs_in_batches_and_deletes_too,
    progress_is_reported,
    a_killed_backfill_resumes,
    what_cannot_be_batched_is_refused_with_its_line,
    a_table_without_a_key_is_batched_too,
    a_backfill_whose_rows_never_stop_matching_is_stopped,
);
