//! `cutover backup` on every engine: create → verify (both levels) → change → restore
//! gives back the data and schema of the moment of the backup; a flipped byte is refused
//! by verify and restore with the target untouched; a restore killed half-way leaves a
//! state the next command reports plainly; prune keeps what it must; no password is
//! written anywhere; missing or old dump tools are one clear error.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    db.cutover().args(args).output().unwrap()
}

fn ok(db: &TestDb, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The LMS with a few rows in every table.
fn lms(db: &TestDb) {
    ok(
        db,
        &[
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "migrate",
        ],
    );
    let mut c = db.connect();
    for sql in [
        "INSERT INTO students (id, email, full_name, enrolled_on) VALUES (1, 'ann@lms.example', 'Ann', '2024-01-01'), (2, 'bob@lms.example', 'Bob', '2024-01-02')",
        "INSERT INTO enrollments (id, student_id, course_id) VALUES (1, 1, 1), (2, 2, 2)",
        "INSERT INTO grades (id, enrollment_id, assessment, score) VALUES (1, 1, 'exam', 91.5)",
        "INSERT INTO payments (id, student_id, course_id, amount, reference) VALUES (1, 1, 1, 120.00, 'PAY-1')",
    ] {
        c.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Create a backup in `dir` and return its path (from `--json`).
fn create(db: &TestDb, dir: &Path, verify: &str) -> PathBuf {
    let out = ok(
        db,
        &[
            "--json",
            "backup",
            "create",
            "--dir",
            dir.to_str().unwrap(),
            "--verify",
            verify,
        ],
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    PathBuf::from(json["file"].as_str().unwrap())
}

/// Everything a restore must give back: the schema's fingerprint and every row.
fn state(db: &TestDb) -> (String, Vec<String>) {
    let out = ok(db, &["--json", "schema"]);
    let schema: Value = serde_json::from_str(&out).unwrap();
    let mut rows = Vec::new();
    for t in [
        "students",
        "instructors",
        "courses",
        "enrollments",
        "grades",
        "payments",
    ] {
        let mut c = db.connect();
        let found = c.query(&format!("SELECT * FROM {t} ORDER BY id")).unwrap();
        rows.extend(found.into_iter().map(|r| format!("{t}: {r:?}")));
    }
    (schema["fingerprint"].as_str().unwrap().to_string(), rows)
}

fn manifest(file: &Path) -> Value {
    let mut name = file.as_os_str().to_owned();
    name.push(".json");
    serde_json::from_str(&std::fs::read_to_string(PathBuf::from(name)).unwrap()).unwrap()
}

fn round_trip(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let dir = db.path().join("backups");
    let before = state(&db);
    let file = create(&db, &dir, "checksum");
    let m = manifest(&file);
    assert_eq!(m["tables"]["students"], 2, "{m:#}");
    assert_eq!(m["tables"]["payments"], 1);
    assert_eq!(m["migration"], "20240105090700");
    assert_eq!(m["fingerprint"], before.0.as_str());
    assert_eq!(m["counts_in_dump_snapshot"], true);
    assert_eq!(m["verifications"][0]["level"], "checksum");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "readable by its owner only");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains("_default_") && name.contains("_20240105090700."),
        "{name}"
    );

    let out = ok(
        &db,
        &[
            "backup",
            "verify",
            file.to_str().unwrap(),
            "--level",
            "checksum",
        ],
    );
    assert!(out.contains("match"), "{out}");
    let out = ok(
        &db,
        &[
            "backup",
            "verify",
            file.to_str().unwrap(),
            "--level",
            "restore",
        ],
    );
    assert!(
        out.contains("restored into a scratch database: 6 tables, 10 rows"),
        "{out}"
    );
    assert_eq!(
        manifest(&file)["verifications"].as_array().unwrap().len(),
        3
    );

    // Change data and schema, then restore.
    let mut c = db.connect();
    c.execute("DELETE FROM grades").unwrap();
    c.execute("UPDATE students SET full_name = 'Changed' WHERE id = 1")
        .unwrap();
    c.execute("INSERT INTO students (id, email, full_name, enrolled_on) VALUES (3, 'cy@lms.example', 'Cy', '2024-02-01')")
        .unwrap();
    c.execute("CREATE TABLE scratchpad (id INT)").unwrap();
    drop(c);
    assert_ne!(state(&db), before);
    let out = run(&db, &["backup", "restore", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "no terminal and no --yes: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(
        db.has_table("scratchpad"),
        "a refused restore changes nothing"
    );

    let out = ok(&db, &["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert!(
        out.contains("row counts and schema fingerprint match"),
        "{out}"
    );
    assert_eq!(state(&db), before, "data and schema as at the backup");
    assert!(!db.has_table("scratchpad"));
    ok(
        &db,
        &[
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "status",
            "--check",
        ],
    );
    let list = ok(
        &db,
        &["--json", "backup", "list", "--dir", dir.to_str().unwrap()],
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    let reasons: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["manifest"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["pre-restore", "manual"],
        "newest first, the safety backup included"
    );
}

/// One byte flipped: verify fails at both levels, restore refuses, the target is untouched.
fn flipped_byte_is_refused(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let file = create(&db, &db.path().join("b"), "checksum");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    db.connect().execute("DELETE FROM grades").unwrap();
    for level in ["checksum", "restore"] {
        let out = run(
            &db,
            &["backup", "verify", file.to_str().unwrap(), "--level", level],
        );
        assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
        assert!(stderr(&out).contains("sha256"), "{}", stderr(&out));
    }
    let out = run(&db, &["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not match its manifest"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM grades"),
        0,
        "the target is untouched"
    );
    assert_eq!(db.count("SELECT count(*) FROM students"), 2);
    let m = manifest(&file);
    assert!(
        m["verifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["ok"] == false)
    );
}

per_engine!(round_trip, flipped_byte_is_refused);

/// Fill `big` with enough rows that a restore takes a moment.
fn bulk(db: &TestDb, rows: u32) {
    let mut c = db.connect();
    c.execute("CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(200))")
        .unwrap();
    let sql = match db.kind {
        Kind::Postgres => format!(
            "INSERT INTO big SELECT g, repeat('x', 150) || g FROM generate_series(1, {rows}) g"
        ),
        _ => format!(
            "INSERT INTO big WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
             SELECT g, CONCAT(REPEAT('x', 150), g) FROM s"
        ),
    };
    let sql = if db.kind == Kind::Sqlite {
        sql.replace("CONCAT(REPEAT('x', 150), g)", "printf('%.150c%d', 'x', g)")
    } else {
        sql
    };
    if db.kind == Kind::MySql {
        c.execute("SET SESSION max_recursive_iterations = 1000000")
            .unwrap();
    }
    c.execute(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn spawn_restore(db: &TestDb, file: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .args([
            "--url",
            &db.url,
            "backup",
            "restore",
            file.to_str().unwrap(),
            "--yes",
            "--no-safety-backup",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// MariaDB cannot restore in one transaction: killed half-way, the marker stays, every
/// command refuses with what happened, and restoring again repairs it.
#[test]
fn mariadb_killed_restore_is_reported() {
    let db = TestDb::new(Kind::MySql);
    lms(&db);
    bulk(&db, 200_000);
    let file = create(&db, &db.path().join("b"), "checksum");
    let mut child = spawn_restore(&db, &file);
    wait_for("the restore marker", || {
        db.has_table("cutover_restore_in_progress")
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let migrations = lms_migrations();
    let out = run(
        &db,
        &["--migrations", migrations.to_str().unwrap(), "status"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "a restore of {}",
            file.file_name().unwrap().to_string_lossy()
        )),
        "{err}"
    );
    assert!(err.contains("did not finish"), "{err}");
    let out = run(
        &db,
        &["--migrations", migrations.to_str().unwrap(), "migrate"],
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "migrate refuses too: {}",
        stderr(&out)
    );
    ok(
        &db,
        &[
            "backup",
            "restore",
            file.to_str().unwrap(),
            "--yes",
            "--no-safety-backup",
        ],
    );
    ok(
        &db,
        &[
            "--migrations",
            migrations.to_str().unwrap(),
            "status",
            "--check",
        ],
    );
    assert_eq!(db.count("SELECT count(*) FROM big"), 200_000);
}

/// PostgreSQL restores in one transaction: killed half-way, the database is as it was.
#[test]
fn postgres_killed_restore_leaves_the_database_as_it_was() {
    let db = TestDb::new(Kind::Postgres);
    lms(&db);
    bulk(&db, 300_000);
    let file = create(&db, &db.path().join("b"), "checksum");
    db.connect()
        .execute("DELETE FROM big WHERE id > 1000")
        .unwrap();
    let before = state(&db);
    let mut child = spawn_restore(&db, &file);
    let active = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'cutover backup' AND state = 'active'",
        db.name
    );
    wait_for("the restore session", || db.count(&active) > 0);
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for("the restore session to end", || {
        db.count(&active.replace(" AND state = 'active'", "")) == 0
    });
    assert_eq!(state(&db), before, "nothing of the restore was kept");
    assert_eq!(db.count("SELECT count(*) FROM big"), 1000);
    ok(
        &db,
        &[
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "status",
            "--check",
        ],
    );
}

/// SQLite restores through the backup API in one transaction: killed at any point, the
/// file is either the old database or the backup, never a mix, and opens cleanly.
#[test]
fn sqlite_killed_restore_leaves_a_whole_database() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    bulk(&db, 200_000);
    let file = create(&db, &db.path().join("b"), "checksum");
    db.connect()
        .execute("DELETE FROM big WHERE id > 1000")
        .unwrap();
    let mut child = spawn_restore(&db, &file);
    wait_for("the staged copy", || {
        std::fs::read_dir(db.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".cutover-"))
    });
    std::thread::sleep(Duration::from_millis(20));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(db.scalar("PRAGMA integrity_check").as_deref(), Some("ok"));
    let n = db.count("SELECT count(*) FROM big");
    assert!(n == 1000 || n == 200_000, "old or new, never a mix: {n}");
    ok(
        &db,
        &[
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "status",
            "--check",
        ],
    );
}

/// Prune: deletes what is past the retention, keeps the newest N and the newest verified
/// one however old, says what it deletes, and `--dry-run` deletes nothing.
#[test]
fn prune_keeps_what_it_must() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    let dir = db.path().join("b");
    let files: Vec<PathBuf> = (0..5).map(|_| create(&db, &dir, "checksum")).collect();
    // Age them: 40, 30, 20, 10 and 0 days; only the oldest keeps its verification.
    for (i, f) in files.iter().enumerate() {
        let mut m = manifest(f);
        let days = 40 - 10 * i as i64;
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days);
        m["created_at"] = at.to_string().into();
        if i > 0 {
            m["verifications"] = serde_json::json!([]);
        }
        let mut name = f.as_os_str().to_owned();
        name.push(".json");
        std::fs::write(PathBuf::from(name), serde_json::to_string(&m).unwrap()).unwrap();
    }
    let dir_s = dir.to_str().unwrap();
    let dry = ok(
        &db,
        &[
            "backup",
            "prune",
            "--dir",
            dir_s,
            "--keep-days",
            "15",
            "--keep",
            "1",
            "--dry-run",
        ],
    );
    assert!(dry.contains("would delete"), "{dry}");
    assert!(
        files.iter().all(|f| f.exists()),
        "a dry run deletes nothing"
    );
    let out = ok(
        &db,
        &[
            "--json",
            "backup",
            "prune",
            "--dir",
            dir_s,
            "--keep-days",
            "15",
            "--keep",
            "1",
        ],
    );
    let p: Value = serde_json::from_str(&out).unwrap();
    let deleted: Vec<&str> = p["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        deleted,
        [files[2].to_str().unwrap(), files[1].to_str().unwrap()],
        "{p:#}"
    );
    assert!(
        files[0].exists(),
        "the newest verified backup stays, 40 days old"
    );
    assert!(
        files[3].exists() && files[4].exists(),
        "younger than 15 days"
    );
    assert!(!files[1].exists() && !PathBuf::from(format!("{}.json", files[1].display())).exists());
}

/// A password in the URL reaches no output, manifest or option file left behind.
#[test]
fn no_password_anywhere() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let db = TestDb::new(kind);
        lms(&db);
        let secret = "s3cret-pw_42";
        let url = match kind {
            // Trust authentication ignores the password, so any will do.
            Kind::Postgres => db
                .url
                .replacen("postgres@", &format!("postgres:{secret}@"), 1),
            _ => {
                let mut c = db.connect();
                c.execute(&format!(
                    "CREATE USER IF NOT EXISTS 'cutover_pw'@'%' IDENTIFIED BY '{secret}'"
                ))
                .unwrap();
                c.execute("GRANT ALL ON *.* TO 'cutover_pw'@'%'").unwrap();
                db.url
                    .replacen("root@", &format!("cutover_pw:{secret}@"), 1)
            }
        };
        let dir = db.path().join("b");
        let mut all = String::new();
        for args in [
            vec![
                "backup",
                "create",
                "--dir",
                dir.to_str().unwrap(),
                "--verify",
                "restore",
            ],
            vec!["--json", "backup", "list", "--dir", dir.to_str().unwrap()],
        ] {
            let out = cutover_cmd(db.path())
                .arg("--url")
                .arg(&url)
                .args(&args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{kind:?} {args:?}: {}", stderr(&out));
            all.push_str(&stdout(&out));
            all.push_str(&stderr(&out));
        }
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
        assert!(!all.contains(secret), "{kind:?}: {all}");
        assert!(all.contains("\"database\""), "the manifest was read");
    }
}

/// A dump tool that is missing, or older than the server, is one clear error naming the
/// package, before anything is written.
#[test]
fn missing_or_old_tools_are_one_clear_error() {
    let db = TestDb::new(Kind::Postgres);
    lms(&db);
    let dir = db.path().join("b");
    let out = db
        .cutover()
        .env("PATH", "/nonexistent")
        .args(["backup", "create", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("pg_dump not found on PATH") && err.contains("postgresql-client-15"),
        "{err}"
    );
    assert!(!dir.exists(), "nothing was written");

    let tools = db.path().join("old-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let fake = tools.join("pg_dump");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "[environments.t]\nurl = \"{}\"\n[environments.t.backup]\ntools = \"old-tools\"\ndir = \"b\"\n",
        db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
    let out = cutover_cmd(db.path())
        .args(["--env", "t", "backup", "create"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pg_dump 9.6.24 is older than the server"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists());
}

/// Real schemas (extensions, functions, triggers, enums, partial indexes, views) survive
/// a backup: restored into a scratch database, every row count and the schema
/// fingerprint match the manifest.
#[test]
fn corpus_schemas_survive_a_backup() {
    for (kind, rel, init) in [
        (Kind::Postgres, "postgres/lemmy", None),
        (Kind::Postgres, "postgres/kratos/sql", None),
        (
            Kind::MySql,
            "mysql/kratos/sql",
            Some("SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'"),
        ),
        (Kind::Sqlite, "sqlite/kratos/sql", None),
    ] {
        let db = TestDb::new(kind);
        let dir = corpora().join(rel);
        let mut migrate = db.cutover();
        migrate.args(["--migrations", dir.to_str().unwrap()]);
        if let Some(sql) = init {
            migrate.args(["--init-sql", sql]);
        }
        // lemmy and kratos stop at the first migration this server cannot run (exit 4).
        let out = migrate.arg("migrate").output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 4)),
            "{rel}: {}",
            stderr(&out)
        );
        let out = run(
            &db,
            &[
                "backup",
                "create",
                "--dir",
                db.path().join("b").to_str().unwrap(),
                "--verify",
                "restore",
            ],
        );
        assert!(
            out.status.success(),
            "{rel}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).contains("schema fingerprint match"),
            "{rel}: {}",
            stdout(&out)
        );
    }
}
