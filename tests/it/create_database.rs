//! `create_database = true`: a command that changes the target creates the database its
//! environment names when the server does not have it (seed 003's test database); without
//! the setting, the error says the database is missing, not that the server may be down.

use crate::common::*;

/// A server database that does not exist (yet): a `TestDb` whose database is dropped
/// right away, so its drop cleans up whatever the test created.
fn missing(kind: Kind) -> TestDb {
    let db = TestDb::new(kind);
    let url = cutover::target::DatabaseUrl::parse(&db.url).unwrap();
    let admin = match kind {
        Kind::Postgres => "postgres",
        _ => "information_schema",
    };
    let mut e = cutover::engine::connect(
        &url.with_database(admin).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute(&format!("DROP DATABASE {}", db.name)).unwrap();
    db
}

fn config(db: &TestDb, create: bool) {
    write_files(
        db.path(),
        &[
            (
                "cutover.toml",
                &format!(
                    "[environments.test]\nurl = \"{}\"\ncreate_database = {create}\n",
                    db.url
                ),
            ),
            ("migrations/1_a.up.sql", "CREATE TABLE a (id int);\n"),
        ],
    );
}

/// Server engines only: SQLite creates its file on the first write anyway.
fn creates_a_missing_database(kind: Kind) {
    let db = missing(kind);
    config(&db, false);
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no such database") && err.contains("create_database = true"),
        "{err}"
    );
    assert!(!err.contains("check that the server is running"), "{err}");

    config(&db, true);
    // Reading does not create it.
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("created the database"),
        "{}",
        stderr(&out)
    );
    assert!(db.has_table("a"));
    assert_eq!(db.history().len(), 1);
}

#[test]
fn postgres() {
    creates_a_missing_database(Kind::Postgres);
}

#[test]
fn mariadb() {
    creates_a_missing_database(Kind::MySql);
}
