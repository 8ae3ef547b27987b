//! Scratch databases never outlive their command: `backup verify --level restore`
//! stopped by SIGINT or SIGTERM drops its scratch (a full copy of the data) on the way
//! out; one left by SIGKILL is swept by the next command that makes a scratch, which says
//! so; a scratch whose owner still runs, or runs on another host, is left alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::backup::{bulk, create, lms, wait_for};
use crate::common::*;
use sha2::Digest;

/// The scratches that exist now: database names on the servers, folder names in `tmp`
/// for SQLite.
fn scratches(db: &TestDb, tmp: &Path) -> Vec<String> {
    let sql = match db.kind {
        Kind::Sqlite => {
            return std::fs::read_dir(tmp)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("cutover_scratch_"))
                .collect();
        }
        Kind::Postgres => {
            "SELECT datname FROM pg_database WHERE datname LIKE 'cutover!_scratch!_%' ESCAPE '!'"
        }
        Kind::MySql => {
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'cutover!_scratch!_%' ESCAPE '!'"
        }
    };
    db.connect()
        .query(sql)
        .unwrap()
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect()
}

/// A backup big enough that restoring it into a scratch takes a few seconds.
fn big_backup(db: &TestDb) -> (PathBuf, PathBuf) {
    lms(db);
    bulk(db, 300_000);
    let tmp = db.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    (create(db, &db.path().join("b"), "checksum"), tmp)
}

fn spawn_verify(db: &TestDb, file: &Path, tmp: &Path) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .args([
            "--url",
            &db.url,
            "backup",
            "verify",
            file.to_str().unwrap(),
            "--level",
            "restore",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Start a restore check and wait until its scratch exists and is being filled; the
/// scratches that are its own (by its pid when the name carries it, else every new one).
fn verify_under_way(db: &TestDb, file: &Path, tmp: &Path) -> (std::process::Child, Vec<String>) {
    let before = scratches(db, tmp);
    let child = spawn_verify(db, file, tmp);
    let pid = format!("_{}_", child.id());
    let mut mine = Vec::new();
    wait_for("the scratch database", || {
        let new: Vec<String> = scratches(db, tmp)
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        let own: Vec<String> = new.iter().filter(|n| n.contains(&pid)).cloned().collect();
        mine = if own.is_empty() { new } else { own };
        !mine.is_empty()
    });
    // A SQLite scratch is filled in a fraction of a second: signal at once. The servers
    // take seconds: let the load get going.
    if db.kind != Kind::Sqlite {
        std::thread::sleep(Duration::from_millis(300));
    }
    (child, mine)
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// SIGINT and SIGTERM during a restore check: the command stops, says so, and its scratch
/// is gone.
fn interrupted_verify_drops_its_scratch(kind: Kind) {
    let db = TestDb::new(kind);
    let (file, tmp) = big_backup(&db);
    for name in ["INT", "TERM"] {
        let (child, mine) = verify_under_way(&db, &file, &tmp);
        signal(&child, name);
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "SIG{name}: the check finished first");
        let left: Vec<_> = scratches(&db, &tmp)
            .into_iter()
            .filter(|n| mine.contains(n))
            .collect();
        assert!(
            left.is_empty(),
            "{kind:?} SIG{name} left {left:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("interrupted by SIGINT/SIGTERM"),
            "{}",
            stderr(&out)
        );
    }
}

/// This host's tag in scratch names (as cutover makes it).
fn host() -> String {
    let name = whoami::hostname().unwrap_or_default();
    sha2::Sha256::digest(name.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SIGKILL during a restore check leaves its scratch; the next command that makes one
/// sweeps it and says so, and leaves alone the scratch of a process still running (this
/// test) and one from another host.
fn killed_verify_scratch_is_swept(kind: Kind) {
    let db = TestDb::new(kind);
    let (file, tmp) = big_backup(&db);
    let (mut child, mine) = verify_under_way(&db, &file, &tmp);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        scratches(&db, &tmp).iter().any(|n| mine.contains(n)),
        "the kill left the scratch"
    );
    let alive = format!("cutover_scratch_{}_{}_alive000", std::process::id(), host());
    let elsewhere = format!("cutover_scratch_{}_00000000_other000", child.id());
    for name in [&alive, &elsewhere] {
        match kind {
            Kind::Sqlite => std::fs::create_dir(tmp.join(name)).unwrap(),
            _ => db
                .connect()
                .execute(&format!("CREATE DATABASE {name}"))
                .unwrap(),
        }
    }
    let out = spawn_verify(&db, &file, &tmp).wait_with_output().unwrap();
    let err = stderr(&out);
    let now = scratches(&db, &tmp);
    for name in [&alive, &elsewhere] {
        if kind != Kind::Sqlite {
            db.connect()
                .execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .unwrap();
        }
    }
    assert!(out.status.success(), "{err}");
    for name in &mine {
        assert!(!now.contains(name), "{name} was not swept: {err}");
        assert!(
            err.contains(name.as_str()),
            "the sweep of {name} was not reported: {err}"
        );
    }
    assert!(
        err.contains("left behind by cutover processes that are gone"),
        "{err}"
    );
    assert!(now.contains(&alive), "a live owner's scratch was swept");
    assert!(now.contains(&elsewhere), "another host's scratch was swept");
}

per_engine!(
    interrupted_verify_drops_its_scratch,
    killed_verify_scratch_is_swept
);
