//! Checks of every kind (HTTP, Prometheus, Redis, TCP, disk, SQL) run by `validate` from
//! `[[checks]]` against real local servers started here (and the machine's Redis), with
//! retries, and `config check` naming mistakes.

use std::sync::{Arc, Mutex};

use crate::common::*;
use serde_json::Value;

/// A local HTTP server: `/health` 200, `/down` 503, `/json` a JSON document, and a
/// Prometheus `/api/v1/query` answering 0.02. Records every path asked for.
fn server() -> (String, Arc<Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a local port");
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let path = req.url().split('?').next().unwrap_or("").to_string();
            log.lock().unwrap().push(format!("{} {path}", req.method()));
            let (status, body) = match path.as_str() {
                "/health" => (200, "ok: English courses".to_string()),
                "/json" => (200, r#"{"status":"ok","db":{"up":true}}"#.to_string()),
                "/api/v1/query" => (
                    200,
                    r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.02"]}]}}"#
                        .to_string(),
                ),
                _ => (503, "maintenance".to_string()),
            };
            let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (base, seen)
}

#[test]
fn validate_runs_every_kind_of_check() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, seen) = server();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = format!(
        r#"
[environments.t]
url = "{url}"

[[environments.t.checks]]
name = "health"
http = "{base}/health"
body_contains = "English"
[[environments.t.checks]]
name = "down"
http = "GET {base}/down"
retries = 2
retry_delay = "10ms"
[[environments.t.checks]]
name = "json"
http = "{base}/json"
json = {{ pointer = "/db/up", equals = true }}
[[environments.t.checks]]
name = "maintenance page"
http = "POST {base}/maintenance"
status = 503
body = "on"
[[environments.t.checks]]
name = "error rate low"
prometheus = "{base}"
query = "sum(rate(errors[5m]))"
max = 0.05
[[environments.t.checks]]
name = "error rate tiny"
prometheus = "{base}"
query = "sum(rate(errors[5m]))"
max = 0.01
[[environments.t.checks]]
name = "redis"
redis = "redis://127.0.0.1:6379"
[[environments.t.checks]]
name = "tcp open"
tcp = "{open}"
[[environments.t.checks]]
name = "tcp closed"
tcp = "{closed}"
timeout = "1s"
[[environments.t.checks]]
name = "disk ok"
disk = "{dir}"
min_free = "1MB"
[[environments.t.checks]]
name = "disk huge"
disk = "{dir}"
min_free = "1000000TiB"
[[environments.t.checks]]
name = "sql"
sql = "SELECT 42"
expect = ">= 40"
"#,
        url = db.url,
        dir = db.path().display()
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
    db.connect().execute("CREATE TABLE t (id INT)").unwrap();
    let out = cutover_cmd(db.path())
        .args(["--env", "t", "--json", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |id: &str| -> String {
        let c = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {r:#}"));
        c["status"].as_str().unwrap().to_string()
    };
    let message = |id: &str| -> String {
        let c = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        c["message"].as_str().unwrap().to_string()
    };
    for id in [
        "custom.health",
        "custom.json",
        "custom.maintenance_page",
        "custom.error_rate_low",
        "custom.tcp_open",
        "custom.disk_ok",
        "custom.sql",
    ] {
        assert_eq!(status(id), "pass", "{id}: {}", message(id));
    }
    assert_eq!(
        status("custom.redis"),
        "pass",
        "{} — start Redis with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''",
        message("custom.redis")
    );
    for id in [
        "custom.down",
        "custom.error_rate_tiny",
        "custom.tcp_closed",
        "custom.disk_huge",
    ] {
        assert_eq!(status(id), "fail", "{id}: {}", message(id));
    }
    assert_eq!(
        message("custom.down"),
        format!("down: HTTP 503, expected HTTP 200 after 3 attempts")
    );
    assert!(
        message("custom.error_rate_tiny").contains("0.02, expected <= 0.01"),
        "{}",
        message("custom.error_rate_tiny")
    );
    let log = seen.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| *l == "GET /down").count(),
        3,
        "{log:?}"
    );
    assert!(log.contains(&"POST /maintenance".to_string()), "{log:?}");
    drop(listener);
}

#[test]
fn config_check_prints_the_policy_and_names_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let good = "[environments.prod]\nkind = \"prod\"\nurl = \"postgres://app:hunter2@db/app\"\n\
                [[environments.prod.preflight]]\nhttp = \"https://app.example.com/health\"\n\
                [[environments.prod.smoke]]\nname = \"courses\"\nhttp = \"GET https://app.example.com/api/courses\"\nbody_contains = \"English\"\n";
    write_files(dir.path(), &[("cutover.toml", good)]);
    let out = cutover_cmd(dir.path())
        .args(["--env", "prod", "--json", "config", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "prod");
    assert_eq!(v["backup"]["retention_days"], 35);
    assert_eq!(v["backup"]["verify"], "restore");
    assert_eq!(v["preflight"][0]["probe"]["http"]["status"], 200);
    assert_eq!(v["smoke"][0]["name"], "courses");
    assert!(!stdout(&out).contains("hunter2"), "{}", stdout(&out));

    for (text, wanted) in [
        (
            "[environments.x]\nurl = \"sqlite://a.db\"\nlock_timeout = \"soonish\"\n",
            "environments.x.lock_timeout: `soonish` is not a duration",
        ),
        (
            "[environments.x]\nurl = \"sqlite://a.db\"\n[[environments.x.preflight]]\ntcp = \"a:1\"\nredis = \"redis://r\"\n",
            "environments.x.preflight[0]: a check has one kind; this one has redis and tcp",
        ),
        (
            "[environments.x]\nurl = \"sqlite://a.db\"\n[[environments.x.smoke]]\nhttpx = \"https://x\"\n",
            "line 4, column 1: unknown field `httpx`",
        ),
        (
            "[environments.x]\nurl = \"${CUTOVER_TEST_UNSET_VAR}\"\n",
            "environments.x.url: environment variable CUTOVER_TEST_UNSET_VAR is not set",
        ),
    ] {
        write_files(dir.path(), &[("cutover.toml", text)]);
        let out = cutover_cmd(dir.path())
            .args(["config", "check"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(stderr(&out).contains(wanted), "{}", stderr(&out));
    }
}
