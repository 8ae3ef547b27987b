//! Checks of every kind (HTTP, Prometheus, Redis, TCP, disk, SQL) run by `validate` from
//! `[[checks]]` against real local servers started here (and the machine's Redis), with
//! retries; the deploy's actions (commands, HTTP, webhooks) and what they may print; and
//! `config check` naming mistakes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// A request as the local server received it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Path and query.
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Request>>>;

/// A Prometheus answer holding one sample.
fn sample(value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
    )
}

/// A local HTTP server: `/health` 200, `/json` a JSON document, Prometheus
/// `/api/v1/query` and `/prometheus/api/v1/query` answering 0.02, `/nan/api/v1/query`
/// NaN (0/0 with no traffic), `/empty/api/v1/query` an empty result, `/maint/*`, `/hook/*`
/// and `/call/*` 200, anything else 503. Records every request.
fn server() -> (String, Log) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a local port");
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let seen: Log = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let url = req.url().to_string();
            let path = url.split('?').next().unwrap_or("").to_string();
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            log.lock().unwrap().push(Request {
                method: req.method().to_string(),
                url: url.clone(),
                headers: req
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect(),
                body,
            });
            let (status, body) = match path.as_str() {
                "/health" => (200, "ok: English courses".to_string()),
                "/json" => (200, r#"{"status":"ok","db":{"up":true}}"#.to_string()),
                "/api/v1/query" | "/prometheus/api/v1/query" => (200, sample("0.02")),
                "/nan/api/v1/query" => (200, sample("NaN")),
                "/empty/api/v1/query" => (
                    200,
                    r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
                        .to_string(),
                ),
                p if p.starts_with("/maint/")
                    || p.starts_with("/hook/")
                    || p.starts_with("/call/") =>
                {
                    (200, "ok".to_string())
                }
                _ => (503, "maintenance".to_string()),
            };
            let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (base, seen)
}

/// `METHOD path` of every request the server received.
fn paths(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.split('?').next().unwrap_or("")))
        .collect()
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
    let log = paths(&seen);
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
            "environments.x.url: ${CUTOVER_TEST_UNSET_VAR} is not set",
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

/// `validate --json` on `db` with this `cutover.toml`: the exit code and the report.
fn validate(db: &TestDb, config: &str) -> (Option<i32>, Value) {
    let dir = db.path();
    write_files(dir, &[("cutover.toml", config)]);
    db.connect()
        .execute("CREATE TABLE IF NOT EXISTS t (id INT)")
        .unwrap();
    let out = cutover_cmd(dir)
        .args(["--env", "t", "--json", "validate"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code(), report)
}

/// A check's status and message in a validation or deploy report.
fn result(report: &Value, id: &str) -> (String, String) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id}: {report:#}"));
    (
        c["status"].as_str().unwrap().to_string(),
        c["message"].as_str().unwrap().to_string(),
    )
}

#[test]
fn prometheus_base_url_keeps_its_path() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, seen) = server();
    let config = format!(
        "[environments.t]\nurl = \"{url}\"\n\
         [[environments.t.checks]]\nname = \"behind a path\"\nprometheus = \"{base}/prometheus\"\nquery = \"up\"\nmax = 0.05\n\
         [[environments.t.checks]]\nname = \"behind a path with slash\"\nprometheus = \"{base}/prometheus/\"\nquery = \"up\"\nmax = 0.05\n",
        url = db.url
    );
    let (code, r) = validate(&db, &config);
    for id in ["custom.behind_a_path", "custom.behind_a_path_with_slash"] {
        let (status, message) = result(&r, id);
        assert_eq!(status, "pass", "{id}: {message} {:?}", paths(&seen));
    }
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(
        paths(&seen),
        vec!["GET /prometheus/api/v1/query"; 2],
        "the path of the base URL is kept"
    );
}

#[test]
fn prometheus_without_data_warns_unless_on_no_data_fail() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, _seen) = server();
    let mut config = format!("[environments.t]\nurl = \"{}\"\n", db.url);
    for (name, path, on_no_data) in [
        ("empty", "empty", ""),
        ("nan", "nan", ""),
        ("empty fail", "empty", "on_no_data = \"fail\"\n"),
        ("nan fail", "nan", "on_no_data = \"fail\"\n"),
        ("nan warn", "nan", "on_no_data = \"warn\"\n"),
    ] {
        config.push_str(&format!(
            "[[environments.t.checks]]\nname = \"{name}\"\nprometheus = \"{base}/{path}/\"\n\
             query = \"sum(rate(errors[5m])) / sum(rate(requests[5m]))\"\nmax = 0.05\n{on_no_data}"
        ));
    }
    let (code, r) = validate(&db, &config);
    for id in ["custom.empty", "custom.nan", "custom.nan_warn"] {
        let (status, message) = result(&r, id);
        assert_eq!(status, "warn", "{id}: {message}");
        assert!(message.contains("no data"), "{message}");
    }
    for id in ["custom.empty_fail", "custom.nan_fail"] {
        let (status, message) = result(&r, id);
        assert_eq!(status, "fail", "{id}: {message}");
        assert!(message.contains("no data"), "{message}");
    }
    assert_eq!(
        code,
        Some(1),
        "the on_no_data = \"fail\" checks fail validate"
    );
}

/// A project with one migration (and its down script) on `db`, and this environment policy.
fn project(db: &TestDb, policy: &str) {
    let config = format!(
        "[environments.t]\nkind = \"test\"\nurl = \"{}\"\nmigrations = \"migrations\"\n{policy}\n",
        db.url
    );
    write_files(
        db.path(),
        &[
            ("cutover.toml", &config),
            (
                "migrations/20240101000000_t.up.sql",
                "CREATE TABLE t (id INT);\n",
            ),
            ("migrations/20240101000000_t.down.sql", "DROP TABLE t;\n"),
        ],
    );
}

/// `cutover --env t deploy --report-dir report` with these environment variables.
fn deploy(db: &TestDb, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = cutover_cmd(db.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["--env", "t", "deploy", "--report-dir", "report"])
        .output()
        .unwrap()
}

/// Every file under `dir`, with its text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn watch_without_traffic_does_not_roll_back() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, seen) = server();
    project(
        &db,
        &format!(
            "[environments.t.watch]\nduration = \"500ms\"\ninterval = \"100ms\"\nbreaches = 1\n\
             [[environments.t.watch.checks]]\nname = \"error ratio\"\nprometheus = \"{base}/nan/\"\n\
             query = \"sum(rate(errors[1m])) / sum(rate(requests[1m]))\"\nmax = 0.05\n"
        ),
    );
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "0/0 without traffic is no breach\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(db.has_table("t"));
    assert!(paths(&seen).contains(&"GET /nan/api/v1/query".to_string()));
}

/// Whether a process is still running (a zombie has finished).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        }
    }
}

#[test]
fn loud_commands_do_not_hang() {
    let db = TestDb::new(Kind::Sqlite);
    // 1 MB on stdout and 200 kB on stderr: far more than a pipe holds (64 KiB).
    let loud = "yes out | head -c 1000000; yes err | head -c 200000 >&2";
    project(
        &db,
        &format!(
            "[environments.t.maintenance]\non = {{ command = \"{loud}\", timeout = \"30s\" }}\n\
             off = {{ command = \"{loud}\", timeout = \"30s\" }}\n\
             [[environments.t.hooks]]\nwhen = \"before-migrate\"\ncommand = \"{loud}\"\ntimeout = \"30s\"\n\
             [[environments.t.notify]]\ncommand = \"cat >/dev/null; {loud}\"\non = [\"success\"]\n"
        ),
    );
    let t = Instant::now();
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "a loud command waited for its timeout: {:?}",
        t.elapsed()
    );
    assert!(db.has_table("t"));
}

#[test]
fn timed_out_command_leaves_no_process_behind() {
    let db = TestDb::new(Kind::Sqlite);
    // The hook's shell starts a grandchild that records its pid, then waits for it.
    project(
        &db,
        "[[environments.t.hooks]]\nwhen = \"before-migrate\"\n\
         command = \"sh -c 'echo $$ > grandchild.pid; exec sleep 37' & wait\"\ntimeout = \"1s\"\n",
    );
    let out = deploy(&db, &[]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("killed"), "{text}");
    let pid: u32 = std::fs::read_to_string(db.path().join("grandchild.pid"))
        .expect("the grandchild wrote its pid")
        .trim()
        .parse()
        .unwrap();
    let gone_by = Instant::now() + Duration::from_secs(3);
    while running(pid) && Instant::now() < gone_by {
        std::thread::sleep(Duration::from_millis(20));
    }
    let survived = running(pid);
    if survived {
        // Leave nothing behind, then fail.
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    assert!(
        !survived,
        "the hook's grandchild {pid} outlived its timeout"
    );
    assert!(!db.has_table("t"), "the hook failed before migrate");
}

#[test]
fn every_string_setting_is_interpolated() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, seen) = server();
    project(
        &db,
        "[environments.t.maintenance]\n\
         on = { http = \"POST ${CUTOVER_T_BASE}/maint/on\", headers = { Authorization = \"Bearer ${CUTOVER_T_TOKEN}\" } }\n\
         off = { http = \"POST ${CUTOVER_T_BASE}/maint/off\" }\n\
         [[environments.t.preflight]]\nhttp = \"${CUTOVER_T_BASE}/health\"\n\
         [[environments.t.hooks]]\nwhen = \"after-migrate\"\nhttp = \"POST ${CUTOVER_T_BASE}/call/after\"\nbody = \"${CUTOVER_T_BODY}\"\n\
         [[environments.t.notify]]\nwebhook = \"${CUTOVER_T_WEBHOOK}\"\non = [\"success\"]\n",
    );
    let webhook = format!("{base}/hook/services/T1/B2/C3");
    let out = deploy(
        &db,
        &[
            ("CUTOVER_T_BASE", &base),
            ("CUTOVER_T_TOKEN", "tok-123"),
            ("CUTOVER_T_BODY", "hello from the environment"),
            ("CUTOVER_T_WEBHOOK", &webhook),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let log = seen.lock().unwrap().clone();
    let find = |path: &str| {
        log.iter()
            .find(|r| r.url == path)
            .unwrap_or_else(|| panic!("no request to {path}: {log:?}"))
            .clone()
    };
    assert_eq!(
        find("/maint/on").header("authorization"),
        Some("Bearer tok-123")
    );
    assert_eq!(find("/call/after").body, "hello from the environment");
    find("/health");
    find("/maint/off");
    let hook: Value = serde_json::from_str(&find("/hook/services/T1/B2/C3").body).unwrap();
    assert_eq!(hook["event"], "success");

    // An unset variable names the setting it is in.
    project(
        &db,
        "[[environments.t.notify]]\nwebhook = \"${CUTOVER_T_UNSET_WEBHOOK}\"\n",
    );
    let out = cutover_cmd(db.path())
        .args(["--env", "t", "config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out)
            .contains("environments.t.notify[0].webhook: ${CUTOVER_T_UNSET_WEBHOOK} is not set"),
        "{}",
        stderr(&out)
    );
}

/// Secrets the redaction test puts in URLs and headers; none may be shown anywhere.
const SECRETS: [&str; 8] = [
    "MAINTTOKEN888",
    "AUTHSECRET777",
    "HEADERKEY666",
    "APIKEY555",
    "USERPASS444",
    "WEBHOOKSECRET333",
    "SMOKETOKEN222",
    "PREFLIGHT999",
];

#[test]
fn secrets_in_checks_and_actions_are_never_shown() {
    let db = TestDb::new(Kind::Sqlite);
    let (base, seen) = server();
    let host = base.trim_start_matches("http://");
    project(
        &db,
        &format!(
            "[environments.t.maintenance]\n\
             on = {{ http = \"POST {base}/maint/on?token=MAINTTOKEN888\", headers = {{ Authorization = \"Bearer AUTHSECRET777\" }} }}\n\
             off = {{ http = \"POST http://ops:USERPASS444@{host}/maint/off?api_key=APIKEY555&mode=off\" }}\n\
             [[environments.t.preflight]]\nhttp = \"{base}/health?access_token=PREFLIGHT999\"\nheaders = {{ \"X-Api-Key\" = \"HEADERKEY666\" }}\n\
             [[environments.t.checks]]\nhttp = \"{base}/health?api_key=APIKEY555\"\n\
             [[environments.t.smoke]]\nhttp = \"{base}/broken?token=SMOKETOKEN222\"\n\
             [[environments.t.notify]]\nwebhook = \"{base}/hook/services/T000/B000/WEBHOOKSECRET333\"\n"
        ),
    );
    let mut shown = Vec::new();
    for args in [
        &["--env", "t", "config", "check"][..],
        &["--env", "t", "--json", "config", "check"][..],
        &[
            "--env", "t", "validate", "--report", "v.html", "--report", "v.json",
        ][..],
    ] {
        let out = cutover_cmd(db.path()).args(args).output().unwrap();
        shown.push((args.join(" "), format!("{}{}", stdout(&out), stderr(&out))));
    }
    let out = deploy(&db, &[]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(11), "the smoke check fails: {text}");
    shown.push(("deploy".into(), text));
    for args in [
        &["--env", "t", "runs", "list"][..],
        &["--env", "t", "--json", "runs", "list"][..],
    ] {
        let out = cutover_cmd(db.path()).args(args).output().unwrap();
        shown.push((args.join(" "), format!("{}{}", stdout(&out), stderr(&out))));
    }
    shown.extend(files_under(&db.path().join("report")));
    for f in ["v.html", "v.json"] {
        shown.push((
            f.into(),
            std::fs::read_to_string(db.path().join(f)).unwrap(),
        ));
    }
    let log = seen.lock().unwrap().clone();
    for r in log.iter().filter(|r| r.url.starts_with("/hook/")) {
        shown.push((format!("webhook payload {}", r.method), r.body.clone()));
    }
    let rows = db.connect().query("SELECT * FROM cutover_runs").unwrap();
    shown.push(("cutover_runs".into(), format!("{rows:?}")));

    // The requests themselves carried the secrets: redaction is of what is shown.
    let on = log.iter().find(|r| r.url.starts_with("/maint/on")).unwrap();
    assert_eq!(on.url, "/maint/on?token=MAINTTOKEN888");
    assert_eq!(on.header("authorization"), Some("Bearer AUTHSECRET777"));
    assert!(log.iter().any(|r| {
        r.url
            .starts_with("/hook/services/T000/B000/WEBHOOKSECRET333")
    }));

    for (what, text) in &shown {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
        }
    }
    let all: String = shown.iter().map(|(_, t)| t.as_str()).collect();
    // What was hidden is still there, masked: the messages still say what happened.
    assert!(all.contains("/maint/on?token=***"), "{all}");
    assert!(all.contains("mode=off"), "{all}");
    assert!(all.contains("/broken?token=***"), "{all}");
}

#[test]
fn config_check_validates_every_check_and_action() {
    let dir = tempfile::tempdir().unwrap();
    let head = "[environments.x]\nurl = \"sqlite://a.db\"\n";
    for (text, setting, wanted) in [
        (
            "[[environments.x.preflight]]\ntcp = \"nohostport\"\n",
            "environments.x.preflight[0].tcp",
            "host:port",
        ),
        (
            "[[environments.x.smoke]]\ntcp = \"db:99999\"\n",
            "environments.x.smoke[0].tcp",
            "port",
        ),
        (
            "[[environments.x.smoke]]\nredis = \"http://x\"\n",
            "environments.x.smoke[0].redis",
            "redis://",
        ),
        (
            "[[environments.x.notify]]\nwebhook = \"not a url\"\n",
            "environments.x.notify[0].webhook",
            "http",
        ),
        (
            "[[environments.x.checks]]\nprometheus = \"prometheus:9090\"\nquery = \"up\"\nmax = 1\n",
            "environments.x.checks[0].prometheus",
            "http",
        ),
        (
            "[[environments.x.checks]]\nhttp = \"https://\"\n",
            "environments.x.checks[0].http",
            "host",
        ),
        (
            "[environments.x.maintenance]\non = { http = \"POST not-a-url\" }\noff = { file = \"m.flag\" }\n",
            "environments.x.maintenance.on.http",
            "http",
        ),
        (
            "[[environments.x.hooks]]\nwhen = \"after-deploy\"\nhttp = \"FETCH https://app/x\"\n",
            "environments.x.hooks[0].http",
            "`FETCH` is not an HTTP method",
        ),
        (
            "[[environments.x.hooks]]\nwhen = \"after-deploy\"\ncommand = \"  \"\n",
            "environments.x.hooks[0].command",
            "empty",
        ),
        (
            "[[environments.x.smoke]]\nhttp = \"https://app/x\"\nheaders = { \"bad header\" = \"1\" }\n",
            "environments.x.smoke[0].headers",
            "bad header",
        ),
        (
            "[[environments.x.smoke]]\nhttp = \"https://app/x\"\njson = { pointer = \"status\", equals = \"ok\" }\n",
            "environments.x.smoke[0].json.pointer",
            "/",
        ),
        (
            "[environments.x.watch]\n[[environments.x.watch.checks]]\nprometheus = \"http://p:9090\"\nquery = \"up\"\nmax = 1\non_no_data = \"maybe\"\n",
            "line 8",
            "unknown variant `maybe`, expected `warn` or `fail`",
        ),
    ] {
        write_files(dir.path(), &[("cutover.toml", &format!("{head}{text}"))]);
        let out = cutover_cmd(dir.path())
            .args(["config", "check"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}\n{}{err}", stdout(&out));
        assert!(err.contains(setting), "{text}\n{err}");
        assert!(err.contains(wanted), "{text}\n{err}");
    }
    // A bad webhook URL is still not repeated: it may hold a token.
    write_files(
        dir.path(),
        &[(
            "cutover.toml",
            &format!(
                "{head}[[environments.x.notify]]\nwebhook = \"hooks.slack.com/services/T/B/SECRETX\"\n"
            ),
        )],
    );
    let out = cutover_cmd(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("SECRETX"), "{}", stderr(&out));
}
