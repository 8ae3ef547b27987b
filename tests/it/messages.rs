//! What cutover tells an operator must be true (issue 9, defect 17): who holds the run lock
//! (the real connection, and "client host unknown" rather than an empty or made-up host),
//! row estimates shown as estimates with their source (never as counts), and what a backup
//! verification did and did not prove.

use cutover::engine::{self, ConnectOptions, Engine};
use cutover::target::DatabaseUrl;
use serde_json::Value;

use crate::common::*;

/// A connection to `url` that takes the run lock, labelled `label`.
fn hold_lock(url: &str, label: &str) -> Box<dyn Engine> {
    let mut holder = engine::connect(
        &DatabaseUrl::parse(url).unwrap(),
        &ConnectOptions {
            label: label.into(),
            ..ConnectOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(holder.try_lock().unwrap());
    holder
}

/// stderr of a `migrate` that gives up waiting for the lock `holder` has.
fn lock_message(db: &TestDb, holder: &mut dyn Engine) -> String {
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")],
    );
    let out = db
        .cutover()
        .args(["--lock-timeout", "1s", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    holder.unlock().unwrap();
    stderr(&out)
}

/// The URL of `db` through the server's Unix socket instead of TCP.
fn socket_url(db: &TestDb) -> String {
    match db.kind {
        Kind::Postgres => {
            let dirs = db.scalar("SHOW unix_socket_directories").unwrap();
            let dir = dirs.split(',').next().unwrap().trim();
            format!(
                "postgres://postgres@localhost/{}?host={dir}&sslmode=disable",
                db.name
            )
        }
        Kind::MySql => {
            let socket = db.scalar("SELECT @@socket").unwrap();
            format!("mysql://root@localhost/{}?socket={socket}", db.name)
        }
        Kind::Sqlite => unreachable!("SQLite has no socket"),
    }
}

/// PostgreSQL: a holder without an application name is called so (not an empty name), and
/// one on the Unix socket is "client host unknown", not an address.
#[test]
fn postgres_lock_holder_is_described() {
    let db = TestDb::new(Kind::Postgres);
    let mut holder = hold_lock(&db.url, "");
    let pid = holder.query("SELECT pg_backend_pid()").unwrap()[0][0]
        .clone()
        .unwrap();
    let err = lock_message(&db, holder.as_mut());
    assert!(!err.contains("held by  ("), "{err}");
    assert!(
        err.contains("held by a session with no application name"),
        "{err}"
    );
    assert!(err.contains(&format!("backend pid {pid}")), "{err}");
    assert!(err.contains("from 127.0.0.1"), "{err}");
    drop(holder);

    let mut holder = hold_lock(&socket_url(&db), "holder-on-the-socket");
    let err = lock_message(&db, holder.as_mut());
    assert!(err.contains("held by holder-on-the-socket"), "{err}");
    assert!(
        err.contains("over a Unix socket on the database server (client host unknown)"),
        "{err}"
    );
    assert!(err.contains("idle since"), "{err}");
}

/// MariaDB: the holder's real connection id, its address over TCP, and "client host
/// unknown" over the socket, where the server shows only `localhost`.
#[test]
fn mysql_lock_holder_is_described() {
    let db = TestDb::new(Kind::MySql);
    let mut holder = hold_lock(&db.url, "");
    let id = holder.query("SELECT CONNECTION_ID()").unwrap()[0][0]
        .clone()
        .unwrap();
    let err = lock_message(&db, holder.as_mut());
    assert!(err.contains(&format!("held by connection {id} ")), "{err}");
    assert!(err.contains("user root from 127.0.0.1:"), "{err}");
    assert!(err.contains("idle for"), "{err}");
    drop(holder);

    let mut holder = hold_lock(&socket_url(&db), "");
    let err = lock_message(&db, holder.as_mut());
    assert!(!err.contains("root@"), "{err}");
    assert!(
        err.contains("user root over a Unix socket on the database server (client host unknown)"),
        "{err}"
    );
}

/// `performance.largest_tables` for a table of four rows: exact only where it was counted,
/// "about" with its source where the catalog estimates, "unknown" where it has no estimate.
fn largest_tables_say_what_they_know(kind: Kind) {
    let db = TestDb::new(kind);
    let mut c = db.connect();
    c.execute("CREATE TABLE enrollments (id INT PRIMARY KEY)")
        .unwrap();
    c.execute("INSERT INTO enrollments (id) VALUES (1), (2), (3), (4)")
        .unwrap();
    let largest = || -> Value {
        let out = db
            .cutover()
            .args(["validate", "--json", "--level", "comprehensive"])
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "performance.largest_tables")
            .unwrap_or_else(|| panic!("{r:#}"))
            .clone()
    };
    let check = largest();
    let msg = check["message"].as_str().unwrap().to_string();
    let row = &check["evidence"]["rows"][0];
    match kind {
        Kind::Sqlite => {
            assert!(msg.ends_with("enrollments (4 rows)"), "counted: {msg}");
            assert_eq!(row[1], "4", "{check:#}");
        }
        Kind::Postgres => {
            // Never analyzed: reltuples is -1, which is no estimate at all (it read 0 rows).
            assert!(msg.contains("row count unknown"), "{msg}");
            assert!(msg.contains("never analyzed"), "{msg}");
            assert_eq!(row[1], "unknown", "{check:#}");
            c.execute("ANALYZE enrollments").unwrap();
            let check = largest();
            let msg = check["message"].as_str().unwrap();
            assert!(
                msg.contains("about 4 rows (pg_class.reltuples, as of the last VACUUM or ANALYZE"),
                "{msg}"
            );
            assert_eq!(check["evidence"]["rows"][0][1], "about 4", "{check:#}");
        }
        Kind::MySql => {
            assert!(msg.contains("enrollments, about "), "{msg}");
            assert!(
                msg.contains("information_schema.TABLES.TABLE_ROWS, InnoDB's estimate"),
                "{msg}"
            );
            assert!(row[1].as_str().unwrap().starts_with("about "), "{check:#}");
        }
    }
    assert!(!msg.contains("(0 rows)"), "{msg}");
}

per_engine!(largest_tables_say_what_they_know);

/// `backup verify` says what it proved: a checksum shows the file is intact but was not
/// restored; a restore compares the schema and the row counts (named as such), with the
/// right plurals; and `backup list` shows the latest verification, so a backup whose last
/// check failed is not listed as verified.
#[test]
fn backup_verify_says_what_it_proved() {
    let db = TestDb::new(Kind::Sqlite);
    let mut c = db.connect();
    c.execute("CREATE TABLE t (id INT PRIMARY KEY)").unwrap();
    c.execute("INSERT INTO t (id) VALUES (1), (2)").unwrap();
    drop(c);
    let out = db
        .cutover()
        .args(["backup", "create", "--dir", "b", "--verify", "checksum"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let created = stdout(&out);
    assert!(created.contains("1 table, 2 rows)"), "{created}");
    assert!(created.contains("checksum ok"), "{created}");
    assert!(created.contains("not restored"), "{created}");
    let file = std::fs::read_dir(db.path().join("b"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "zst"))
        .unwrap();
    let file = file.to_str().unwrap();

    let out = db
        .cutover()
        .args(["backup", "verify", file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("checksum ok "), "{text}");
    assert!(!text.contains("verified"), "{text}");
    assert!(
        text.contains("the file is intact; it was not restored, so this does not prove it loads (--level restore does)"),
        "{text}"
    );

    let out = db
        .cutover()
        .args(["backup", "verify", "--level", "restore", file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("restore verified "), "{text}");
    assert!(
        text.contains(
            "restored into a scratch database: 1 table, 2 rows; each table's row count and \
             the schema fingerprint match the manifest"
        ),
        "{text}"
    );

    // Damage the file: verification fails, and the list says so.
    let mut bytes = std::fs::read(file).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(file, bytes).unwrap();
    let out = db
        .cutover()
        .args(["backup", "verify", file])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = db
        .cutover()
        .args(["backup", "list", "--dir", "b"])
        .output()
        .unwrap();
    let list = stdout(&out);
    let line = list.lines().nth(1).unwrap_or_else(|| panic!("{list}"));
    assert!(line.trim_end().ends_with("FAILED"), "{list}");
}
