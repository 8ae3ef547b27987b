//! The safety promises: a killed run leaves the database consistent, concurrent runners
//! apply each migration once, a busy lock is reported and times out, and passwords never
//! reach the output.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use cutover::engine::{self, ConnectOptions};
use cutover::target::DatabaseUrl;

fn slow_statement(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "SELECT pg_sleep(4);",
        Kind::MySql => "SELECT SLEEP(4);",
        // No sleep function in SQLite: count to a large number instead (a few seconds).
        Kind::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c;"
        }
    }
}

/// Wait until the slow statement is running, so the kill lands inside the migration.
fn wait_until_inside(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let probe = |db: &TestDb| {
        match db.kind {
        // The journal is empty between transactions (cutover runs in TRUNCATE mode).
        Kind::Sqlite => std::fs::metadata(db.path().join("test.db-journal")).is_ok_and(|m| m.len() > 0),
        Kind::Postgres => {
            db.count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(4)%'") > 0
        }
        Kind::MySql => {
            db.count("SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(4)%'") > 0
        }
    }
    };
    while !probe(db) {
        assert!(
            Instant::now() < deadline,
            "the migration never reached its slow statement"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
}

/// SIGKILL in the middle of a migration: PostgreSQL and SQLite hold neither its effects nor
/// its history row and the next run applies it; MariaDB records it as failed at the
/// statement that was running and refuses to go on until resolved.
fn killed_mid_migration(kind: Kind) {
    let db = TestDb::new(kind);
    let script = format!(
        "CREATE TABLE k (id INT);\nINSERT INTO k VALUES (1);\n{}\n",
        slow_statement(kind)
    );
    write_files(
        db.path(),
        &[
            ("migrations/1_base.up.sql", "CREATE TABLE base (id INT);\n"),
            ("migrations/2_slow.up.sql", &script),
        ],
    );
    let bin = assert_cmd::cargo::cargo_bin("cutover");
    let mut child = Command::new(bin)
        .current_dir(db.path())
        .args(["--url", &db.url, "migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_inside(&db);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // let the server notice the dead session

    assert!(db.has_table("base"));
    if kind == Kind::MySql {
        assert!(
            db.has_table("k"),
            "MariaDB committed the DDL before the kill"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM k"),
            0,
            "the INSERT shared the killed transaction"
        );
        assert_eq!(
            db.history(),
            vec![
                ("1".into(), "applied".into()),
                ("2".into(), "failed".into())
            ]
        );
        assert_eq!(
            db.scalar("SELECT failed_statement FROM cutover_migrations WHERE version = '2'")
                .as_deref(),
            Some("2"),
            "statement 1 is applied; 2 and 3 were lost with the connection"
        );
        let out = db.cutover().arg("migrate").output().unwrap();
        assert_eq!(out.status.code(), Some(5));
        let err = stderr(&out);
        assert!(err.contains("2_slow.up.sql:2 (statement 2)"), "{err}");
        assert!(err.contains("cutover resolve --applied 2"), "{err}");
        // The operator finishes the migration by hand and records it.
        db.connect().execute("INSERT INTO k VALUES (1)").unwrap();
        db.cutover()
            .args(["resolve", "--applied", "2"])
            .assert()
            .success();
        db.cutover().args(["status", "--check"]).assert().success();
    } else {
        assert!(
            !db.has_table("k"),
            "the killed migration's table survived on {kind:?}"
        );
        assert_eq!(db.history(), vec![("1".into(), "applied".into())]);
        db.cutover().arg("migrate").assert().success();
        assert_eq!(db.count("SELECT count(*) FROM k"), 1);
        assert_eq!(db.history().len(), 2);
    }
}

/// Eight `cutover migrate` processes at once on one fresh database: all succeed and every
/// migration runs exactly once.
fn eight_concurrent_runners(kind: Kind) {
    let db = TestDb::new(kind);
    let mut files = vec![(
        "migrations/0000_log.up.sql".to_string(),
        "CREATE TABLE run_log (version VARCHAR(10) NOT NULL);\n".to_string(),
    )];
    for i in 1..=25 {
        files.push((
            format!("migrations/{i:04}_t{i}.up.sql"),
            format!("CREATE TABLE t{i} (id INT);\nINSERT INTO run_log VALUES ('{i}');\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_files(db.path(), &refs);
    let bin = assert_cmd::cargo::cargo_bin("cutover");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(&bin)
                .current_dir(db.path())
                .env("NO_COLOR", "1")
                .args(["--url", &db.url, "migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a runner failed: {}", stderr(&out));
    }
    assert_eq!(db.count("SELECT count(*) FROM run_log"), 25);
    assert_eq!(db.count("SELECT count(DISTINCT version) FROM run_log"), 25);
    assert_eq!(db.history().len(), 26);
}

/// A runner that cannot get the lock says who holds it and gives up after the timeout.
fn lock_timeout_names_holder(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")],
    );
    let mut holder = engine::connect(
        &DatabaseUrl::parse(&db.url).unwrap(),
        &ConnectOptions {
            label: "holder-for-test".into(),
            ..ConnectOptions::default()
        },
    )
    .unwrap();
    assert!(holder.try_lock().unwrap());
    let start = Instant::now();
    let out = db
        .cutover()
        .args(["--lock-timeout", "1s", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(15));
    let err = stderr(&out);
    assert!(err.contains("waiting for the run lock, held by"), "{err}");
    assert!(err.contains("gave up waiting"), "{err}");
    if kind != Kind::MySql {
        assert!(err.contains("holder-for-test"), "{err}");
    }
    assert!(!db.has_table("a"));
    holder.unlock().unwrap();
    db.cutover().arg("migrate").assert().success();
    assert!(db.has_table("a"));
}

per_engine!(
    killed_mid_migration,
    eight_concurrent_runners,
    lock_timeout_names_holder
);

/// The password of the URL appears nowhere in output, even when a statement fails.
#[test]
fn postgres_password_never_printed() {
    let db = TestDb::new(Kind::Postgres);
    // Trust authentication ignores the password, so the run gets far enough to fail.
    let url = db.url.replacen("postgres@", "postgres:Hunter2Secret@", 1);
    write_files(
        db.path(),
        &[(
            "migrations/1_bad.up.sql",
            "SELECT 'Hunter2' || 'Secret' FROM nowhere;\n",
        )],
    );
    for args in [
        &["migrate"][..],
        &["status"],
        &["status", "--json"],
        &["migrate", "--json"],
    ] {
        let out = cutover_cmd(db.path())
            .arg("--url")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains("Hunter2Secret"),
            "{args:?} printed the password: {all}"
        );
        assert!(all.contains("***") || !all.contains("postgres:"), "{all}");
    }
}

#[test]
fn mysql_wrong_password_is_one_clear_error() {
    let db = TestDb::new(Kind::MySql);
    let url = db.url.replacen("root@", "root:Wr0ngPassw0rd@", 1);
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")],
    );
    let out = cutover_cmd(db.path())
        .arg("--url")
        .arg(&url)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(!err.contains("Wr0ngPassw0rd"), "{err}");
    assert!(err.contains("cannot connect to mysql://root:***@"), "{err}");
    assert!(err.contains("Access denied"), "{err}");
    assert!(!db.has_table("a"));
}

#[test]
fn unreachable_server_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("migrations/1_a.up.sql", "SELECT 1;\n")]);
    let out = cutover_cmd(dir.path())
        .args([
            "--url",
            "postgres://u:pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
            "status",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot connect to postgres://u:***@127.0.0.1:1/db"),
        "{}",
        stderr(&out)
    );
}

/// The SQLite run lock belongs to the database file, not to how its path is written: a
/// runner reaching the same file through a symlink, a symlinked folder or `sub/../` waits
/// for the lock another session holds, and gives up after the timeout.
#[test]
fn sqlite_lock_follows_the_file_not_the_path() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("sub/.keep", ""),
        ],
    );
    let mut holder = db.connect();
    assert!(holder.try_lock().unwrap());
    std::os::unix::fs::symlink(db.path().join("test.db"), db.path().join("link.db")).unwrap();
    std::os::unix::fs::symlink(db.path(), db.path().join("alias")).unwrap();
    let mut proceeded = Vec::new();
    for url in [
        "sqlite://link.db",
        "sqlite://./sub/../test.db",
        "sqlite://alias/test.db",
    ] {
        let out = cutover_cmd(db.path())
            .args(["--url", url, "--lock-timeout", "1s", "migrate"])
            .output()
            .unwrap();
        if out.status.code() != Some(6) {
            proceeded.push(format!("{url}: {}{}", stdout(&out), stderr(&out)));
        }
    }
    assert!(
        proceeded.is_empty(),
        "did not wait for the lock: {proceeded:#?}"
    );
    assert!(!db.has_table("a"));
    holder.unlock().unwrap();
    cutover_cmd(db.path())
        .args(["--url", "sqlite://link.db", "migrate"])
        .assert()
        .success();
    assert!(db.has_table("a"));
}

/// MariaDB with a MyISAM table: a migration inserts into it, then fails. ROLLBACK cannot take
/// the rows back, so the history records the migration as failed at the failing statement
/// with what came before it kept, instead of forgetting it; after the fix, `migrate` refuses
/// to run it again from the start (which would insert the rows twice) until resolved.
#[test]
fn mariadb_myisam_rows_kept_are_recorded() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_m.up.sql",
                "CREATE TABLE m (id INT) ENGINE=MyISAM;\n",
            ),
            (
                "migrations/2_fill.up.sql",
                "INSERT INTO m VALUES (1);\nINSERT INTO m VALUES (2);\nINSERT INTO nowhere VALUES (3);\n",
            ),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(
        db.count("SELECT count(*) FROM m"),
        2,
        "MyISAM kept the rows"
    );
    assert!(!err.contains("nothing of this migration was kept"), "{err}");
    assert!(err.contains("statements 1..2"), "{err}");
    assert_eq!(
        db.history(),
        [
            ("1".to_string(), "applied".to_string()),
            ("2".to_string(), "failed".to_string())
        ]
    );
    assert_eq!(
        db.scalar("SELECT failed_statement FROM cutover_migrations WHERE version = '2'")
            .as_deref(),
        Some("3")
    );
    let error = db
        .scalar("SELECT error FROM cutover_migrations WHERE version = '2'")
        .unwrap();
    assert!(error.contains("non-transactional"), "{error}");

    // The fix: the third statement now inserts where it should. Running the whole file again
    // would insert 1 and 2 a second time: refused until an operator resolves it.
    write_files(
        db.path(),
        &[(
            "migrations/2_fill.up.sql",
            "INSERT INTO m VALUES (1);\nINSERT INTO m VALUES (2);\nINSERT INTO m VALUES (3);\n",
        )],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("(statement 3)"), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM m"), 2, "nothing ran twice");
    db.connect().execute("INSERT INTO m VALUES (3)").unwrap();
    db.cutover()
        .args(["resolve", "--applied", "2"])
        .assert()
        .success();
    db.cutover().args(["status", "--check"]).assert().success();
    assert_eq!(db.count("SELECT count(*) FROM m"), 3);
}

/// Arguments, an extra migration file (path, text), and what the error must name.
type BadInput<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);

/// Bad input exits 2 and changes nothing: no history table, no run record, and on SQLite no
/// database file. An unknown version for `migrate --to` or `deploy --to`, a file that cannot
/// be split, an unknown directive. (The SQLite run lock's file beside the database stays:
/// removing a lock file while another runner may be waiting on it would split the lock.)
fn bad_input_changes_nothing(kind: Kind) {
    let db = TestDb::new(kind);
    let good = [("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")];
    let cases: [BadInput; 4] = [
        (&["migrate", "--to", "nope"], None, "nope"),
        (&["deploy", "--to", "nope", "--skip-backup"], None, "nope"),
        (
            &["migrate"],
            Some((
                "migrations/2_broken.up.sql",
                "CREATE TABLE b (id INT);\nSELECT 'never closed;\n",
            )),
            "2_broken.up.sql",
        ),
        (
            &["migrate"],
            Some((
                "migrations/2_directive.up.sql",
                "-- cutover:frobnicate\nCREATE TABLE c (id INT);\n",
            )),
            "2_directive.up.sql",
        ),
    ];
    for (args, extra, named) in cases {
        let _ = std::fs::remove_dir_all(db.path().join("migrations"));
        write_files(db.path(), &good);
        if let Some(file) = extra {
            write_files(db.path(), &[file]);
        }
        let out = db.cutover().args(args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
        if kind == Kind::Sqlite {
            let left: Vec<String> = std::fs::read_dir(db.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("test.db") && n != "test.db.cutover-lock")
                .collect();
            assert!(left.is_empty(), "{args:?} left {left:?}");
        } else {
            for table in ["cutover_migrations", "cutover_runs", "a"] {
                assert!(!db.has_table(table), "{args:?} created {table}");
            }
        }
    }
}

per_engine!(bad_input_changes_nothing);

/// Six `deploy` runs at once on one target, each to its own version: the run lock serializes
/// them from preflight to the end, so maintenance mode is never switched on while it is on,
/// every run that had work took its own backup file, and every run succeeds (the ones that
/// find their work done say "nothing to do").
fn six_deploys_at_once(kind: Kind) {
    let db = TestDb::new(kind);
    let app = crate::app::App::start(Duration::from_millis(100));
    let mut files = Vec::new();
    for i in 1..=6 {
        let create_log = if i == 1 {
            "CREATE TABLE run_log (version VARCHAR(10) NOT NULL);\n"
        } else {
            ""
        };
        files.push((
            format!("migrations/{i}_t{i}.up.sql"),
            format!(
                "{create_log}CREATE TABLE t{i} (id INT);\nINSERT INTO run_log VALUES ('{i}');\n"
            ),
        ));
    }
    let base = &app.base;
    files.push((
        "cutover.toml".into(),
        format!(
            "[environments.test]\nurl = \"{}\"\nmigrations = \"migrations\"\nkind = \"test\"\n\
             [environments.test.backup]\nrequired = true\nverify = \"checksum\"\ndir = \"backups\"\n\
             [environments.test.maintenance]\non = {{ http = \"POST {base}/maintenance/on\" }}\n\
             off = {{ http = \"POST {base}/maintenance/off\" }}\n",
            db.url
        ),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_files(db.path(), &refs);
    let bin = assert_cmd::cargo::cargo_bin("cutover");
    let children: Vec<_> = (1..=6)
        .map(|i| {
            Command::new(&bin)
                .current_dir(db.path())
                .env("NO_COLOR", "1")
                .env_remove("DATABASE_URL")
                .args(["--env", "test", "--lock-timeout", "120s", "deploy"])
                .args(["--to", &i.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Every run ends before anything is asserted: a failure leaves no process behind.
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut worked = 0;
    for out in outputs {
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{text}");
        if !text.contains("nothing to do") {
            assert!(text.contains("deploy success"), "{text}");
            worked += 1;
        }
    }
    assert!(worked >= 1);
    assert_eq!(app.overlaps(), 0, "{:?}", app.switches());
    let switches = app.switches();
    assert_eq!(switches.len(), 2 * worked, "{switches:?}");
    assert!(
        switches
            .chunks(2)
            .all(|pair| pair == ["on".to_string(), "off".to_string()]),
        "{switches:?}"
    );
    let backups: Vec<String> = std::fs::read_dir(db.path().join("backups"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zst"))
        .collect();
    assert_eq!(
        backups.len(),
        worked,
        "one backup file per run: {backups:?}"
    );
    assert_eq!(db.count("SELECT count(*) FROM run_log"), 6);
    assert_eq!(db.count("SELECT count(DISTINCT version) FROM run_log"), 6);
    assert_eq!(
        db.count("SELECT count(*) FROM cutover_runs WHERE outcome = 'success'"),
        worked as i64
    );
}

/// `backup restore` holds the run lock to its very end: a `migrate` started while it loads
/// waits, so the restore's final comparison sees only what it restored and succeeds, and the
/// migration lands after it.
fn restore_holds_the_lock_to_its_end(kind: Kind) {
    let db = TestDb::new(kind);
    crate::backup::bulk(&db, 100_000);
    write_files(
        db.path(),
        &[("m/1_slipped.up.sql", "CREATE TABLE slipped (id INT);\n")],
    );
    let file = crate::backup::create(&db, &db.path().join("b"), "checksum");
    let restore = crate::kills::Spawned::new(
        Command::new(assert_cmd::cargo::cargo_bin("cutover"))
            .current_dir(db.path())
            .env("NO_COLOR", "1")
            .args(["--url", &db.url, "backup", "restore"])
            .arg(&file)
            .args(["--yes", "--no-safety-backup", "--report-dir", "report"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    crate::backup::wait_for("the restore phase", || {
        std::fs::read_dir(db.path().join("report")).is_ok_and(|dirs| {
            dirs.flatten().any(|d| {
                std::fs::read_to_string(d.path().join("journal.jsonl"))
                    .unwrap_or_default()
                    .contains(r#""phase":"restore","run""#)
            })
        })
    });
    let migrate = db
        .cutover()
        .args(["--migrations", "m", "--lock-timeout", "120s", "migrate"])
        .output()
        .unwrap();
    let migrated_at = jiff::Timestamp::now();
    let restored = restore.take().wait_with_output().unwrap();
    assert_eq!(
        restored.status.code(),
        Some(0),
        "{}{}",
        stdout(&restored),
        stderr(&restored)
    );
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    assert!(
        stderr(&migrate).contains("waiting for the run lock"),
        "migrate waited: {}",
        stderr(&migrate)
    );
    let dir = std::fs::read_dir(db.path().join("report"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let finished: jiff::Timestamp = report["finished_at"].as_str().unwrap().parse().unwrap();
    // MariaDB keeps the UTC time without its offset.
    let applied = db
        .scalar("SELECT applied_at FROM cutover_migrations WHERE version = '1'")
        .unwrap()
        .replace(' ', "T");
    let applied: jiff::Timestamp = if applied.ends_with('Z') || applied.contains('+') {
        applied.parse().unwrap()
    } else {
        format!("{applied}Z").parse().unwrap()
    };
    assert!(
        finished <= applied && applied <= migrated_at,
        "the migration landed after the restore ended: {finished} vs {applied}"
    );
    assert!(db.has_table("slipped"));
    assert_eq!(db.count("SELECT count(*) FROM big"), 100_000);
}

per_engine!(six_deploys_at_once, restore_holds_the_lock_to_its_end);
