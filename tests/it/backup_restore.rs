//! Restores under attack: killed half-way (each engine leaves a state the next command
//! reports plainly, or the database as it was), and the backup file replaced or changed
//! while the safety backup runs (the restore loads the bytes it checked, or rolls back).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::backup::{bulk, create, lms, ok, run, spawn_restore, state, wait_for};
use crate::common::*;

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

/// Two backups of different states, the target in a third state; `backup restore FIRST`
/// is started with its safety backup, and once that is under way `change` is done to
/// FIRST's file with SECOND's bytes. Returns the restore's output and the three states.
fn restore_while_file_changes(
    db: &TestDb,
    change: fn(&Path, &[u8]),
) -> (std::process::Output, [(String, Vec<String>); 3]) {
    lms(db);
    bulk(db, 200_000);
    let first = create(db, &db.path().join("b1"), "checksum");
    let at_first = state(db);
    db.connect().execute("DELETE FROM grades").unwrap();
    let second = create(db, &db.path().join("b2"), "checksum");
    let at_second = state(db);
    db.connect()
        .execute("UPDATE students SET full_name = 'Third' WHERE id = 2")
        .unwrap();
    let now = state(db);
    let safety = db.path().join("backups");
    let child = Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .args([
            "--url",
            &db.url,
            "backup",
            "restore",
            first.to_str().unwrap(),
            "--yes",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the safety backup", || {
        std::fs::read_dir(&safety).is_ok_and(|mut d| d.next().is_some())
    });
    change(&first, &std::fs::read(&second).unwrap());
    (
        child.wait_with_output().unwrap(),
        [at_first, at_second, now],
    )
}

/// Another file put in the backup's place (a new file renamed over it) during the safety
/// backup is never read: the restore loads the file it checked.
fn replaced_file_is_not_read(kind: Kind) {
    let db = TestDb::new(kind);
    let (out, [at_first, at_second, _]) = restore_while_file_changes(&db, |file, bytes| {
        let other = file.with_extension("swap");
        std::fs::write(&other, bytes).unwrap();
        std::fs::rename(&other, file).unwrap();
    });
    assert!(
        out.status.success(),
        "{kind:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let now = state(&db);
    assert_ne!(now, at_second, "{kind:?} loaded the unchecked file");
    assert_eq!(now, at_first, "{kind:?}: the checked backup was restored");
}

/// The backup file overwritten in place during the safety backup: the bytes the load
/// reads differ from those checked. PostgreSQL and SQLite roll the restore back (the
/// target is as it was); MariaDB cannot, and leaves the restore marked unfinished, so
/// every command refuses until a trusted backup is restored.
fn changed_file_is_rolled_back(kind: Kind) {
    let db = TestDb::new(kind);
    let (out, [_, at_second, before]) =
        restore_while_file_changes(&db, |file, bytes| std::fs::write(file, bytes).unwrap());
    assert_eq!(out.status.code(), Some(8), "{kind:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("changed after it was checked"),
        "{kind:?}: {err}"
    );
    if kind == Kind::MySql {
        assert!(db.has_table("cutover_restore_in_progress"), "{err}");
        let out = run(
            &db,
            &["--migrations", lms_migrations().to_str().unwrap(), "status"],
        );
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    } else {
        let now = state(&db);
        assert_ne!(now, at_second, "{kind:?} kept the unchecked content");
        assert_eq!(now, before, "{kind:?}: the target is as it was");
    }
}

per_engine!(replaced_file_is_not_read, changed_file_is_rolled_back);

/// A killed SQLite restore leaves its staged copy of the backup beside the database; the
/// next restore removes it and says so.
#[test]
fn sqlite_staged_copy_of_a_killed_restore_is_swept() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    bulk(&db, 200_000);
    let file = create(&db, &db.path().join("b"), "checksum");
    let staged = || {
        std::fs::read_dir(db.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".cutover-"))
            .count()
    };
    let mut child = spawn_restore(&db, &file);
    wait_for("the staged copy", || staged() > 0);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(staged() > 0, "the kill left the staged copy");
    let out = run(
        &db,
        &[
            "backup",
            "restore",
            file.to_str().unwrap(),
            "--yes",
            "--no-safety-backup",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("staged restore file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(staged(), 0);
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
