//! What lands in the backup folder, and what cutover makes of it: the latest verification
//! decides whether a backup counts as verified (list, prune, the deploy's preflight);
//! backups taken at the same moment never share a file; an interrupted backup leaves no
//! file behind; a manifest that does not parse is listed, not hidden; a missing file is
//! named as the user gave it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::backup::{bulk, create, lms, manifest, ok, run, wait_for};
use crate::common::*;
use serde_json::Value;

fn manifest_path(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", file.display()))
}

/// Set a backup's creation time `days` ago.
fn age(file: &Path, days: i64) {
    let mut m = manifest(file);
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days);
    m["created_at"] = at.to_string().into();
    std::fs::write(manifest_path(file), serde_json::to_string(&m).unwrap()).unwrap();
}

pub(crate) fn flip_a_byte(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(file, bytes).unwrap();
}

fn list_json(db: &TestDb, dir: &Path) -> Vec<Value> {
    let out = ok(
        db,
        &["--json", "backup", "list", "--dir", dir.to_str().unwrap()],
    );
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Two verified backups; the newer one is damaged and fails its next verification. It no
/// longer counts as verified: `backup list` says FAILED, prune keeps the older intact one
/// as the newest verified (and deletes the damaged one), and the preflight's `max_age`
/// does not accept it.
#[test]
fn latest_verification_decides() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    let dir = db.path().join("b");
    let intact = create(&db, &dir, "checksum");
    let damaged = create(&db, &dir, "checksum");
    age(&intact, 40);
    age(&damaged, 30);
    flip_a_byte(&damaged);
    let d = damaged.to_str().unwrap();
    let out = run(&db, &["backup", "verify", d, "--level", "checksum"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));

    let text = ok(&db, &["backup", "list", "--dir", dir.to_str().unwrap()]);
    let line = |f: &Path| {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        text.lines()
            .find(|l| l.contains(&name))
            .unwrap()
            .to_string()
    };
    assert!(line(&damaged).contains("FAILED"), "{text}");
    assert!(line(&intact).contains("checksum"), "{text}");
    let listed = list_json(&db, &dir);
    let status = |f: &Path| {
        listed
            .iter()
            .find(|b| b["path"] == f.to_str().unwrap())
            .map(|b| b["status"].clone())
            .unwrap()
    };
    assert_eq!(status(&damaged), "failed", "{listed:?}");
    assert_eq!(status(&intact), "verified", "{listed:?}");

    let dir_s = dir.to_str().unwrap();
    let prune = [
        "--json",
        "backup",
        "prune",
        "--dir",
        dir_s,
        "--keep-days",
        "15",
        "--keep",
        "0",
    ];
    let p: Value = serde_json::from_str(&ok(&db, &prune)).unwrap();
    assert!(intact.exists(), "the only intact backup was deleted: {p:#}");
    assert!(!damaged.exists(), "{p:#}");
    assert_eq!(
        p["kept"][0]["reason"], "the newest verified backup",
        "{p:#}"
    );

    // The preflight: a damaged backup made a moment ago is not a verified one.
    let fresh = create(&db, &dir, "checksum");
    age(&intact, 400);
    flip_a_byte(&fresh);
    let out = run(&db, &["backup", "verify", fresh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            (
                "cutover.toml",
                &format!(
                    "[environments.test]\nurl = \"{}\"\nmigrations = \"migrations\"\nkind = \"test\"\n\
                     [environments.test.backup]\ndir = \"b\"\nverify = \"checksum\"\nmax_age = \"1h\"\n",
                    db.url
                ),
            ),
        ],
    );
    let out = cutover_cmd(db.path())
        .args([
            "--env",
            "test",
            "deploy",
            "--no-maintenance",
            "--yes",
            "--report-dir",
            "r",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(10),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        !db.has_table("a"),
        "the deploy went ahead on a damaged backup"
    );
}

/// Six backups at once into one folder: six files, each with its own manifest, each intact.
fn simultaneous_backups_never_share_a_file(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let dir = db.path().join("b");
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(assert_cmd::cargo::cargo_bin("cutover"))
                .current_dir(db.path())
                .env("NO_COLOR", "1")
                .args(["--url", &db.url, "--json", "backup", "create", "--dir", "b"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut files = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        files.push(db.path().join(json["file"].as_str().unwrap()));
    }
    let mut unique = files.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "two backups wrote one file: {files:?}");
    let on_disk: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        on_disk.len(),
        12,
        "six files and six manifests: {on_disk:?}"
    );
    for f in &files {
        let m = manifest(f);
        assert_eq!(m["file"], f.file_name().unwrap().to_str().unwrap());
        ok(
            &db,
            &[
                "backup",
                "verify",
                f.to_str().unwrap(),
                "--level",
                "checksum",
            ],
        );
    }
}

/// SIGTERM while a backup is being written: no backup file, no manifest, nothing
/// half-written left in the folder.
fn sigterm_during_create_leaves_no_file(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    bulk(&db, 300_000);
    let dir = db.path().join("b");
    let child = Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .args(["--url", &db.url, "backup", "create", "--dir", "b"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the backup to start writing", || {
        std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some())
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the backup finished before the signal"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "{kind:?} left {left:?}: {}", stderr(&out));
}

per_engine!(
    simultaneous_backups_never_share_a_file,
    sigterm_during_create_leaves_no_file
);

/// A restore refused because the file does not match its manifest is a failed restore
/// (exit 8), with the target untouched.
fn checksum_refused_restore_exits_8(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let file = create(&db, &db.path().join("b"), "checksum");
    flip_a_byte(&file);
    db.connect().execute("DELETE FROM grades").unwrap();
    let out = run(&db, &["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
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
}

per_engine!(checksum_refused_restore_exits_8);

/// `backup restore nope.zst` (and `verify`) say that nope.zst does not exist, naming the
/// file as the user gave it; a backup without its manifest says so.
#[test]
fn missing_files_are_named_as_given() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    for args in [
        &["backup", "restore", "nope.zst", "--yes"][..],
        &["backup", "verify", "nope.zst", "--level", "checksum"],
        &["backup", "verify", "nope.zst", "--level", "restore"],
    ] {
        let out = run(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("nope.zst does not exist"), "{args:?}: {err}");
        assert!(!err.contains("nope.zst.json"), "{args:?}: {err}");
    }
    let file = create(&db, &db.path().join("b"), "checksum");
    std::fs::remove_file(manifest_path(&file)).unwrap();
    let out = run(&db, &["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no manifest"), "{}", stderr(&out));
}

/// A manifest that does not parse is listed, marked unreadable, in text and JSON; prune
/// keeps it.
#[test]
fn unreadable_manifest_is_listed() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    let dir = db.path().join("b");
    let good = create(&db, &dir, "checksum");
    let bad = create(&db, &dir, "checksum");
    std::fs::write(manifest_path(&bad), "{ not json").unwrap();
    let bad_name = bad.file_name().unwrap().to_string_lossy().into_owned();
    let text = ok(&db, &["backup", "list", "--dir", dir.to_str().unwrap()]);
    let line = text.lines().find(|l| l.contains(&bad_name));
    assert!(
        line.is_some_and(|l| l.contains("UNREADABLE")),
        "the damaged manifest is hidden: {text}"
    );
    let listed = list_json(&db, &dir);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let entry = listed
        .iter()
        .find(|b| b["path"] == bad.to_str().unwrap())
        .unwrap();
    assert_eq!(entry["status"], "unreadable", "{entry}");
    assert!(
        entry["problem"].as_str().unwrap().contains("manifest"),
        "{entry}"
    );
    let dir_s = dir.to_str().unwrap();
    ok(
        &db,
        &[
            "backup",
            "prune",
            "--dir",
            dir_s,
            "--keep-days",
            "0",
            "--keep",
            "0",
        ],
    );
    assert!(
        bad.exists() && manifest_path(&bad).exists(),
        "prune deleted what it cannot read"
    );
    assert!(good.exists(), "the newest verified backup stays");
}
