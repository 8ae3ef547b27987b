//! TLS options in the URL are honoured: `sslmode=require` really encrypts on PostgreSQL, and
//! `ssl-mode=REQUIRED` refuses a MariaDB server that cannot do TLS instead of falling back.

use crate::common::*;
use cutover::engine::{self, ConnectOptions};
use cutover::target::DatabaseUrl;

#[test]
fn postgres_sslmode_require_encrypts() {
    let db = TestDb::new(Kind::Postgres);
    let url = db.url.replace("sslmode=disable", "sslmode=require");
    let mut conn = engine::connect(
        &DatabaseUrl::parse(&url).unwrap(),
        &ConnectOptions::default(),
    )
    .expect("the test server has ssl = on");
    let rows = conn
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap();
    assert_eq!(rows, vec![vec![Some("t".to_string())]]);
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")],
    );
    cutover_cmd(db.path())
        .args(["--url", &url, "migrate"])
        .assert()
        .success();
    assert!(db.has_table("a"));

    let plain = DatabaseUrl::parse(&db.url).unwrap();
    let mut conn = engine::connect(&plain, &ConnectOptions::default()).unwrap();
    let rows = conn
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![Some("f".to_string())]],
        "sslmode=disable stays plain"
    );
}

#[test]
fn mysql_ssl_mode_required_is_not_downgraded() {
    let db = TestDb::new(Kind::MySql);
    let have_ssl = db.scalar("SELECT @@have_ssl").unwrap_or_default();
    write_files(
        db.path(),
        &[("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n")],
    );
    let url = format!("{}?ssl-mode=REQUIRED", db.url);
    let out = cutover_cmd(db.path())
        .args(["--url", &url, "migrate"])
        .output()
        .unwrap();
    if have_ssl == "YES" {
        assert!(out.status.success(), "{}", stderr(&out));
    } else {
        // This server has no TLS: a required TLS connection must fail, not go plain.
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(!db.has_table("a"));
    }
}
