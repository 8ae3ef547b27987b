//! Encrypted backups (`[…backup] encrypt`) on every engine: a round trip through create,
//! a restore check and a restore; a wrong key, a flipped byte and no key each stop with one
//! clear error and the target untouched; a passphrase from the environment. No secret key
//! or passphrase reaches any output, manifest, journal or report.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::backup::{lms, manifest, state};
use crate::backup_folder::flip_a_byte;
use crate::common::*;
use serde_json::Value;

/// A fresh X25519 key pair: (secret `AGE-SECRET-KEY-1…`, public `age1…`).
fn key_pair() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    (
        id.to_string().expose_secret().to_string(),
        id.to_public().to_string(),
    )
}

/// `cutover.toml` with an environment `test` whose backups go to `b/`, verified as
/// `verify` says and encrypted as `encrypt` (an inline table) says.
fn configure(db: &TestDb, verify: &str, encrypt: &str) {
    write_files(
        db.path(),
        &[(
            "cutover.toml",
            &format!(
                "[environments.test]\nurl = \"{}\"\nkind = \"test\"\n\
                 [environments.test.backup]\ndir = \"b\"\nverify = \"{verify}\"\nencrypt = {encrypt}\n",
                db.url
            ),
        )],
    );
}

fn cutover(db: &TestDb, args: &[&str]) -> Output {
    cutover_cmd(db.path())
        .args(["--env", "test"])
        .args(args)
        .output()
        .unwrap()
}

fn succeeds(db: &TestDb, args: &[&str]) -> String {
    let out = cutover(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Every file under `dir` except `except`, recursively.
fn files_under(dir: &Path, except: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, except, found);
        } else if path != except {
            found.push(path);
        }
    }
}

/// No output and no file the test's folder holds (manifests, journals, reports, the
/// database) contains `secret`, except the file that is meant to hold it.
fn nowhere(db: &TestDb, secret: &str, outputs: &[&Output], except: &Path) {
    for out in outputs {
        assert!(!stdout(out).contains(secret), "stdout: {}", stdout(out));
        assert!(!stderr(out).contains(secret), "stderr: {}", stderr(out));
    }
    let mut files = Vec::new();
    files_under(db.path(), except, &mut files);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret",
            f.display()
        );
    }
}

fn newest_backup(db: &TestDb) -> PathBuf {
    let out = succeeds(db, &["--json", "backup", "list"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    db.path().join(list[0]["path"].as_str().unwrap())
}

fn round_trip(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let (secret, public) = key_pair();
    let key = db.path().join("key.txt");
    std::fs::write(
        &key,
        format!("# created: now\n# public key: {public}\n{secret}\n"),
    )
    .unwrap();
    configure(
        &db,
        "restore",
        &format!("{{ recipients = [\"{public}\"], identity_file = \"key.txt\" }}"),
    );
    let before = state(&db);
    let created = cutover(&db, &["--json", "backup", "create"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let json: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let file = PathBuf::from(json["file"].as_str().unwrap());
    assert!(file.to_string_lossy().ends_with(".zst.age"), "{file:?}");
    let bytes = std::fs::read(db.path().join(&file)).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"), "an age file");
    let m = manifest(&db.path().join(&file));
    assert_eq!(m["encryption"]["format"], "age", "{m:#}");
    assert_eq!(m["encryption"]["recipients"][0], public.as_str());
    assert_eq!(m["verifications"][0]["level"], "restore");
    assert_eq!(m["verifications"][0]["ok"], true, "{m:#}");

    let verified = cutover(
        &db,
        &[
            "backup",
            "verify",
            file.to_str().unwrap(),
            "--level",
            "restore",
        ],
    );
    assert!(verified.status.success(), "{}", stderr(&verified));

    let mut c = db.connect();
    c.execute("DELETE FROM grades").unwrap();
    c.execute("CREATE TABLE scratchpad (id INT)").unwrap();
    drop(c);
    let restored = cutover(&db, &["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert!(
        restored.status.success(),
        "{}{}",
        stdout(&restored),
        stderr(&restored)
    );
    assert_eq!(state(&db), before, "data and schema as at the backup");
    assert!(!db.has_table("scratchpad"));
    // The safety backup before the restore is encrypted too.
    let safety = newest_backup(&db);
    let reason = manifest(&safety)["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with("pre-restore"), "{reason}");
    assert_eq!(manifest(&safety)["encryption"]["format"], "age");
    nowhere(&db, &secret, &[&created, &verified, &restored], &key);
}

/// The key that does not open the file, a damaged file, and no key at all: each one clear
/// error, with the target untouched.
fn wrong_key_flipped_byte_no_key(kind: Kind) {
    let db = TestDb::new(kind);
    lms(&db);
    let (secret, public) = key_pair();
    let (other_secret, _) = key_pair();
    let key = db.path().join("key.txt");
    std::fs::write(&key, format!("{other_secret}\n")).unwrap();
    // Written with the right recipient; the identity configured is another one.
    configure(
        &db,
        "checksum",
        &format!("{{ recipients = [\"{public}\"], identity_file = \"key.txt\" }}"),
    );
    let created = succeeds(&db, &["--json", "backup", "create"]);
    let file: Value = serde_json::from_str(&created).unwrap();
    let file = db.path().join(file["file"].as_str().unwrap());
    let rel = file.to_str().unwrap();
    db.connect()
        .execute("CREATE TABLE marker (id INT)")
        .unwrap();

    let wrong = cutover(&db, &["backup", "verify", rel, "--level", "restore"]);
    assert_eq!(wrong.status.code(), Some(7), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("the identity file") && stderr(&wrong).contains("does not open it"),
        "{}",
        stderr(&wrong)
    );
    let restore = cutover(&db, &["backup", "restore", rel, "--yes"]);
    assert_eq!(restore.status.code(), Some(7), "{}", stderr(&restore));
    assert!(db.has_table("marker"), "a wrong key changes nothing");

    // No key configured: the checksum still holds (it needs none), the rest stops.
    configure(
        &db,
        "checksum",
        &format!("{{ recipients = [\"{public}\"] }}"),
    );
    let checksum = cutover(&db, &["backup", "verify", rel, "--level", "checksum"]);
    assert!(checksum.status.success(), "{}", stderr(&checksum));
    let none = cutover(&db, &["backup", "verify", rel, "--level", "restore"]);
    assert_eq!(none.status.code(), Some(7), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("no key to decrypt it is configured")
            && stderr(&none).contains("identity_file"),
        "{}",
        stderr(&none)
    );
    let restore_none = cutover(&db, &["backup", "restore", rel, "--yes"]);
    assert_eq!(
        restore_none.status.code(),
        Some(7),
        "{}",
        stderr(&restore_none)
    );
    assert!(db.has_table("marker"));
    // A restore check that could not run is refused before anything is written.
    configure(
        &db,
        "restore",
        &format!("{{ recipients = [\"{public}\"] }}"),
    );
    let unverifiable = cutover(&db, &["backup", "create"]);
    assert_eq!(
        unverifiable.status.code(),
        Some(7),
        "{}",
        stderr(&unverifiable)
    );

    // The right key, and a flipped byte: found by the checksum, without decrypting.
    std::fs::write(&key, format!("{secret}\n")).unwrap();
    configure(
        &db,
        "checksum",
        &format!("{{ recipients = [\"{public}\"], identity_env = \"CUTOVER_TEST_AGE_KEY\" }}"),
    );
    flip_a_byte(&file);
    let flipped = cutover(&db, &["backup", "verify", rel, "--level", "checksum"]);
    assert_eq!(flipped.status.code(), Some(8), "{}", stderr(&flipped));
    assert!(stderr(&flipped).contains("sha256"), "{}", stderr(&flipped));
    let restore_flipped = cutover_cmd(db.path())
        .env("CUTOVER_TEST_AGE_KEY", &secret)
        .args(["--env", "test", "backup", "restore", rel, "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        restore_flipped.status.code(),
        Some(8),
        "{}",
        stderr(&restore_flipped)
    );
    assert!(
        stderr(&restore_flipped).contains("the target was not touched"),
        "{}",
        stderr(&restore_flipped)
    );
    assert!(db.has_table("marker"));
    let outputs = [
        &wrong,
        &restore,
        &checksum,
        &none,
        &restore_none,
        &unverifiable,
        &flipped,
        &restore_flipped,
    ];
    nowhere(&db, &secret, &outputs, &key);
    nowhere(&db, &other_secret, &outputs, &key);
}

/// A passphrase from the environment: a round trip, and the passphrase nowhere; without
/// the variable, one error naming it.
#[test]
fn passphrase_from_the_environment() {
    let db = TestDb::new(Kind::Sqlite);
    lms(&db);
    configure(
        &db,
        "restore",
        "{ passphrase_env = \"CUTOVER_TEST_PASSPHRASE\" }",
    );
    let missing = cutover(&db, &["backup", "create"]);
    assert_eq!(missing.status.code(), Some(7), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("$CUTOVER_TEST_PASSPHRASE is not set"),
        "{}",
        stderr(&missing)
    );
    let pass = "correct horse battery staple 42";
    let with = |args: &[&str]| {
        cutover_cmd(db.path())
            .env("CUTOVER_TEST_PASSPHRASE", pass)
            .args(["--env", "test"])
            .args(args)
            .output()
            .unwrap()
    };
    let created = with(&["--json", "backup", "create"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let json: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let file = db.path().join(json["file"].as_str().unwrap());
    let m = manifest(&file);
    assert_eq!(m["encryption"]["passphrase"], true, "{m:#}");
    assert_eq!(m["verifications"][0]["ok"], true, "{m:#}");
    let before = state(&db);
    db.connect().execute("DELETE FROM grades").unwrap();
    let restored = with(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert_eq!(state(&db), before);
    nowhere(&db, pass, &[&missing, &created, &restored], Path::new(""));
}

per_engine!(round_trip, wrong_key_flipped_byte_no_key);
