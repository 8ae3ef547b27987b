//! Off-site copies (`[…backup] copies`) against a real S3-compatible server (`moto_server`,
//! started here on a free port and killed after) and a folder: each copy is read back and
//! checked; `backup list --copies`; a restore fetches a backup whose local file is gone;
//! prune applies the retention at each destination; a failed copy fails the backup when
//! copies are required; an upload killed half-way leaves no object behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::backup::{lms, state};
use crate::common::*;
use serde_json::Value;

const SECRET: &str = "moto-secret-access-key-7731";

/// A `moto_server` of this test's own, on a free port, with one bucket.
struct Moto {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "moto_server cannot start ({e}): install it with `pip install 'moto[server]'`"
                )
            });
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&moto.url("/")).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        ureq::put(&moto.url("/bkt"))
            .send_empty()
            .expect("create the bucket");
        moto
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The bucket's object keys (moto does not check signatures on reads like this one).
    fn keys(&self) -> String {
        ureq::get(&self.url("/bkt?list-type=2"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// Multipart uploads under way.
    fn uploads(&self) -> String {
        ureq::get(&self.url("/bkt?uploads"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configure(db: &TestDb, copies: &str, required: bool) {
    write_files(
        db.path(),
        &[(
            "cutover.toml",
            &format!(
                "[environments.test]\nurl = \"{}\"\nkind = \"test\"\n\
                 [environments.test.backup]\ndir = \"b\"\nverify = \"checksum\"\ncopies = {copies}\ncopies_required = {required}\n",
                db.url
            ),
        )],
    );
}

fn cutover(db: &TestDb, port: u16, args: &[&str]) -> Output {
    command(db, port, args).output().unwrap()
}

fn command(db: &TestDb, port: u16, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("cutover"));
    cmd.current_dir(db.path())
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "moto")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(["--env", "test"])
        .args(args);
    cmd
}

fn succeeds(db: &TestDb, port: u16, args: &[&str]) -> Value {
    let out = cutover(db, port, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!stdout(&out).contains(SECRET) && !stderr(&out).contains(SECRET));
    serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null)
}

fn name(file: &Path) -> String {
    file.file_name().unwrap().to_string_lossy().into_owned()
}

fn copies_to_a_folder_and_s3(kind: Kind) {
    let moto = Moto::start();
    let db = TestDb::new(kind);
    lms(&db);
    configure(&db, "[\"offsite\", \"s3://bkt/prod/db\"]", true);
    let before = state(&db);
    let created = succeeds(&db, moto.port, &["--json", "backup", "create"]);
    let file = db.path().join(created["file"].as_str().unwrap());
    let copies = created["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2, "{created:#}");
    for c in copies {
        assert_eq!(c["ok"], true, "{created:#}");
        assert!(c["detail"].as_str().unwrap().contains("read back"), "{c}");
    }
    let n = name(&file);
    assert!(db.path().join("offsite").join(&n).exists());
    assert!(db.path().join("offsite").join(format!("{n}.json")).exists());
    let keys = moto.keys();
    assert!(keys.contains(&format!("<Key>prod/db/{n}</Key>")), "{keys}");
    assert!(
        keys.contains(&format!("<Key>prod/db/{n}.json</Key>")),
        "{keys}"
    );

    let listed = succeeds(&db, moto.port, &["--json", "backup", "list", "--copies"]);
    assert_eq!(listed["backups"][0]["file"], n.as_str(), "{listed:#}");
    assert_eq!(listed["backups"][0]["local"], true);
    assert_eq!(
        listed["backups"][0]["copies"],
        serde_json::json!(["offsite", "s3://bkt/prod/db"])
    );

    // The local file is lost: the restore fetches it from a destination.
    db.connect().execute("DELETE FROM grades").unwrap();
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_file(db.path().join("b").join(format!("{n}.json"))).unwrap();
    std::fs::remove_dir_all(db.path().join("offsite")).unwrap();
    succeeds(
        &db,
        moto.port,
        &[
            "backup",
            "restore",
            file.to_str().unwrap(),
            "--yes",
            "--no-safety-backup",
        ],
    );
    assert_eq!(state(&db), before, "restored from the S3 copy");
    assert!(file.exists(), "fetched back beside the others");

    // A second backup, then prune keeping one: the first goes at each destination too.
    std::thread::sleep(Duration::from_millis(1100));
    let second = succeeds(&db, moto.port, &["--json", "backup", "create"]);
    let second = name(Path::new(second["file"].as_str().unwrap()));
    let pruned = succeeds(
        &db,
        moto.port,
        &[
            "--json",
            "backup",
            "prune",
            "--keep",
            "1",
            "--keep-days",
            "0",
        ],
    );
    let at_s3 = pruned["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["destination"] == "s3://bkt/prod/db")
        .unwrap();
    assert_eq!(at_s3["deleted"], serde_json::json!([n]), "{pruned:#}");
    let keys = moto.keys();
    assert!(!keys.contains(&format!("<Key>prod/db/{n}</Key>")), "{keys}");
    assert!(
        keys.contains(&format!("<Key>prod/db/{second}</Key>")),
        "{keys}"
    );
}

/// A destination that cannot be reached: the backup fails when copies are required (the
/// local backup stays), and succeeds with the failure reported when they are not.
#[test]
fn a_failed_copy_fails_the_backup_when_required() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    let nobody = free_port();
    configure(&db, "[\"s3://bkt/x\"]", true);
    let out = cutover(&db, nobody, &["backup", "create"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("its off-site copy failed") && stderr(&out).contains("s3://bkt/x"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(SECRET));
    configure(&db, "[\"s3://bkt/x\"]", false);
    let created = succeeds(&db, nobody, &["--json", "backup", "create"]);
    assert_eq!(created["copies"][0]["ok"], false, "{created:#}");
    let local: Vec<PathBuf> = std::fs::read_dir(db.path().join("b"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".zst"))
        .collect();
    assert_eq!(local.len(), 2, "both local backups stay: {local:?}");
}

/// A backup whose upload is killed half-way: no object appears under its name; the next
/// backup's copy goes through.
#[test]
fn an_interrupted_upload_leaves_no_object() {
    let moto = Moto::start();
    let db = TestDb::new(Kind::Sqlite);
    let mut c = db.connect();
    c.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")
        .unwrap();
    // 48 MiB that do not compress: six parts of 8 MiB.
    c.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) \
         INSERT INTO blobs (id, b) SELECT i, randomblob(1048576) FROM n",
    )
    .unwrap();
    drop(c);
    configure(&db, "[\"s3://bkt/p\"]", true);
    let mut child = command(&db, moto.port, &["backup", "create"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !moto.uploads().contains("<UploadId>") {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before its upload was seen under way"
        );
        assert!(Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !moto.keys().contains(".sqlite.zst"),
        "an interrupted upload left an object: {}",
        moto.keys()
    );
    let created = succeeds(&db, moto.port, &["--json", "backup", "create"]);
    assert_eq!(created["copies"][0]["ok"], true, "{created:#}");
    let n = name(Path::new(created["file"].as_str().unwrap()));
    let listed = succeeds(&db, moto.port, &["--json", "backup", "list", "--copies"]);
    assert_eq!(
        listed["destinations"][0]["backups"],
        serde_json::json!([n]),
        "only the complete copy is at the destination: {listed:#}"
    );
}

per_engine!(copies_to_a_folder_and_s3);

/// A deploy whose backup phase cannot make its required copy stops before any change.
#[test]
fn a_failed_required_copy_stops_a_deploy() {
    let db = TestDb::new(Kind::Sqlite);
    let nobody = free_port();
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            (
                "cutover.toml",
                &format!(
                    "[environments.test]\nurl = \"{}\"\nmigrations = \"migrations\"\nkind = \"test\"\n\
                     [environments.test.backup]\nrequired = true\ndir = \"b\"\nverify = \"checksum\"\n\
                     copies = [\"s3://bkt/x\"]\ncopies_required = true\n",
                    db.url
                ),
            ),
        ],
    );
    let out = cutover(&db, nobody, &["deploy", "--no-maintenance", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("off-site copy failed"), "{said}");
    assert!(!said.contains(SECRET), "{said}");
    assert!(!db.has_table("a"), "the deploy went ahead without its copy");
}
