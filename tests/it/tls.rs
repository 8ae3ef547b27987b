//! TLS options in the URL are honoured: `sslmode=require` really encrypts on PostgreSQL, and
//! `ssl-mode=REQUIRED` refuses a MariaDB server that cannot do TLS instead of falling back.
//! A TLS connection costs its handshake and no more: no write waits on Nagle's algorithm.

use std::time::{Duration, Instant};

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

/// Issue 9, "Speed": sqlx 0.9.0 stopped setting TCP_NODELAY (transact-rs/sqlx#4335), so
/// each small write of the TLS handshake waited for the server's delayed ACK, 40 ms or more
/// each on Linux: a TLS connection took about 90 ms more than a plain one. With the patched
/// sqlx-core (vendor/sqlx-core) the fastest of seven TLS connections, each running one
/// query, is within 30 ms of the fastest plain one (the fastest, so that load from other
/// processes on the machine does not decide).
#[test]
fn postgres_tls_connection_waits_on_no_delayed_ack() {
    let db = TestDb::new(Kind::Postgres);
    let fastest = |url: &str| -> Duration {
        let parsed = DatabaseUrl::parse(url).unwrap();
        (0..7)
            .map(|_| {
                let t = Instant::now();
                let mut conn = engine::connect(&parsed, &ConnectOptions::default()).unwrap();
                conn.query("SELECT 1").unwrap();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let plain = fastest(&db.url);
    let tls = fastest(&db.url.replace("sslmode=disable", "sslmode=require"));
    assert!(
        tls < plain + Duration::from_millis(30),
        "a TLS connection took {tls:?}, a plain one {plain:?}"
    );
}
