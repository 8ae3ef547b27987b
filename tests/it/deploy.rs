//! `cutover deploy` end to end on real engines, with a real local HTTP server standing in
//! for the application (maintenance switch, health, smoke pages, webhook): a full deploy,
//! failures injected at preflight, migrate, smoke and watch, a dry run, and the policy's
//! refusals.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common::*;
use serde_json::Value;

type Shared<T> = Arc<Mutex<T>>;

/// The application: `/maintenance/on|off` switch a flag, `/health` answers 503 while it
/// is on, `/api/courses` lists courses, `/broken` always 500, `/hook` takes webhooks.
pub(crate) struct App {
    pub(crate) base: String,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    pub(crate) hooks: Arc<Mutex<Vec<Value>>>,
    pub(crate) maintenance: Arc<Mutex<bool>>,
}

pub(crate) fn start_app() -> App {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind a local port");
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let log: Shared<Vec<String>> = Arc::default();
    let hooks: Shared<Vec<Value>> = Arc::default();
    let maintenance: Shared<bool> = Arc::default();
    let (l, h, m) = (
        Arc::clone(&log),
        Arc::clone(&hooks),
        Arc::clone(&maintenance),
    );
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let path = req.url().to_string();
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let on = *m.lock().unwrap();
            l.lock().unwrap().push(format!(
                "{} {path}{}",
                req.method(),
                if path == "/health" && on {
                    " (503)"
                } else {
                    ""
                }
            ));
            let (status, text) = match path.as_str() {
                "/maintenance/on" => {
                    *m.lock().unwrap() = true;
                    (200, "on".to_string())
                }
                "/maintenance/off" => {
                    *m.lock().unwrap() = false;
                    (200, "off".to_string())
                }
                "/health" if on => (503, "maintenance".to_string()),
                "/health" => (200, "ok".to_string()),
                "/api/courses" => (200, "English, Mathematics".to_string()),
                "/hook" => {
                    h.lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                    (200, "ok".to_string())
                }
                _ => (500, "broken".to_string()),
            };
            let _ = req.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    App {
        base,
        log,
        hooks,
        maintenance,
    }
}

impl App {
    pub(crate) fn events(&self) -> Vec<String> {
        self.hooks
            .lock()
            .unwrap()
            .iter()
            .map(|h| h["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// The LMS migrations (and seeds) copied into the test's folder, with `extra` migrations.
fn project(db: &TestDb, app: &App, policy: &str, extra: &[(&str, &str)]) {
    let lms = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms");
    for dir in ["migrations", "seeds"] {
        for f in std::fs::read_dir(lms.join(dir)).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            write_files(
                db.path(),
                &[(&format!("{dir}/{}", f.file_name().to_string_lossy()), &text)],
            );
        }
    }
    write_files(db.path(), extra);
    let base = &app.base;
    let config = format!(
        r#"
[environments.test]
url = "{url}"
migrations = "migrations"
seeds = "seeds"
{policy}

[environments.test.backup]
required = true
verify = "checksum"
dir = "backups"

[environments.test.maintenance]
on = {{ http = "POST {base}/maintenance/on" }}
off = {{ http = "POST {base}/maintenance/off" }}
expect = {{ http = "{base}/health", status = 503 }}

[[environments.test.preflight]]
http = "{base}/health"

[[environments.test.hooks]]
when = "before-migrate"
command = "touch hook-ran"
timeout = "10s"

[[environments.test.verify]]
name = "no orphaned enrollments"
sql = "SELECT count(*) FROM enrollments e LEFT JOIN students s ON s.id = e.student_id WHERE s.id IS NULL"
expect = 0

[[environments.test.notify]]
webhook = "{base}/hook"
"#,
        url = db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

/// `cutover --env test ARGS` in the test's folder.
fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test"])
        .args(args)
        .output()
        .unwrap()
}

fn deploy(db: &TestDb, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .args(args)
        .output()
        .unwrap()
}

/// The folder of the one run that wrote into `report/` (each run gets `report/<run id>/`).
fn run_dir(db: &TestDb) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(db.path().join("report"))
        .expect("report/ exists")
        .map(|d| d.unwrap().path())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run folder in report/")
}

fn fingerprint(db: &TestDb) -> String {
    let out = cli(db, &["--json", "schema"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["fingerprint"].as_str().unwrap().to_string()
}

fn full_deploy(kind: Kind) {
    let db = TestDb::new(kind);
    let app = start_app();
    let policy = format!(
        "kind = \"prod\"\n[[environments.test.smoke]]\nname = \"course list\"\nhttp = \"GET {}/api/courses\"\nbody_contains = \"English\"\n\
         [environments.test.watch]\nduration = \"300ms\"\ninterval = \"100ms\"\n[[environments.test.watch.checks]]\nhttp = \"{}/health\"\n",
        app.base, app.base
    );
    project(&db, &app, &policy, &[]);
    let out = deploy(&db, &["--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let log = app.log();
    let on = log
        .iter()
        .position(|l| l == "POST /maintenance/on")
        .expect("maintenance switched on");
    let off = log
        .iter()
        .position(|l| l == "POST /maintenance/off")
        .expect("maintenance switched off");
    assert!(
        on < off && log[on..off].contains(&"GET /health (503)".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(&"GET /api/courses".to_string()),
        "smoke ran: {log:?}"
    );
    assert_eq!(app.events(), ["start", "success"]);
    let text = app.hooks.lock().unwrap()[1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("of test succeeded")
            && text.contains("8 migration(s)")
            && text.contains("backup"),
        "{text}"
    );
    assert!(
        db.path().join("hook-ran").exists(),
        "the before-migrate hook ran"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM students WHERE id = 1001"),
        1,
        "the seed ran"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cutover_runs WHERE outcome = 'success'"),
        1
    );
    let dir = run_dir(&db);
    for f in ["report.json", "report.md", "report.html", "journal.jsonl"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Timeline") && html.contains("maintenance on") && html.contains("watch"));
    assert!(
        !html.contains("<link") && !html.contains("src="),
        "self-contained"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let phases: Vec<(&str, &str)> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    for phase in [
        "preflight",
        "approval",
        "backup",
        "maintenance on",
        "migrate",
        "seed",
        "verify",
        "maintenance off",
        "smoke",
        "watch",
    ] {
        assert!(phases.contains(&(phase, "ok")), "{phase}: {phases:?}");
    }
    assert!(!*app.maintenance.lock().unwrap());
    // Again: nothing to do, quickly, and nothing switched.
    let before = app.log().len();
    let out = deploy(&db, &["--yes"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("nothing to do"), "{}", stdout(&out));
    assert!(
        !app.log()[before..]
            .iter()
            .any(|l| l.contains("maintenance"))
    );
}

/// A migration that fails after two good ones: the run's migrations are undone by their
/// down scripts, the schema is proved back, maintenance is off, the failure is announced.
fn failure_at_migrate_rolls_back(kind: Kind) {
    let db = TestDb::new(kind);
    let app = start_app();
    let broken = [
        (
            "migrations/20240105090800_broken.up.sql",
            "INSERT INTO no_such_table VALUES (1);\n",
        ),
        ("migrations/20240105090800_broken.down.sql", "SELECT 1;\n"),
    ];
    project(&db, &app, "kind = \"test\"", &broken);
    let out = cli(&db, &["migrate", "--to", "20240105090500"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = fingerprint(&db);
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("no_such_table"), "{}", stderr(&out));
    assert_eq!(fingerprint(&db), before, "the schema is back where it was");
    assert_eq!(
        db.count("SELECT count(*) FROM cutover_migrations WHERE status = 'applied'"),
        6
    );
    assert!(!*app.maintenance.lock().unwrap(), "maintenance is off");
    assert_eq!(
        app.events(),
        ["start", "rollback"],
        "one rollback, one message"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM cutover_runs WHERE outcome = 'rolled_back'"),
        1
    );
}

per_engine!(full_deploy, failure_at_migrate_rolls_back);

/// The health check fails: nothing is backed up, switched or migrated; exit 10.
#[test]
fn preflight_failure_changes_nothing() {
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    *app.maintenance.lock().unwrap() = true;
    let out = deploy(&db, &[]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 503"), "{}", stderr(&out));
    assert!(!db.has_table("students") && !db.path().join("backups").exists());
    assert!(
        !app.log().iter().any(|l| l.contains("/maintenance/")),
        "{:?}",
        app.log()
    );
    assert_eq!(app.events(), ["failure"]);
}

/// The smoke check fails after migrating: the pre-deploy backup is restored (policy
/// `rollback = "restore"`), and the data is as before.
#[test]
fn smoke_failure_restores_the_backup() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    let policy = format!(
        "kind = \"test\"\nrollback = \"restore\"\n[[environments.test.smoke]]\nhttp = \"{}/api/courses\"\nbody_contains = \"Klingon\"\n",
        app.base
    );
    project(&db, &app, &policy, &[]);
    let out = cli(&db, &["migrate", "--to", "20240105090000"]);
    assert!(out.status.success());
    db.connect().execute("INSERT INTO students (id, email, full_name, enrolled_on) VALUES (7, 'x@y', 'X', '2024-01-01')").unwrap();
    let before = fingerprint(&db);
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("Klingon"), "{}", stderr(&out));
    assert_eq!(fingerprint(&db), before);
    assert_eq!(
        db.count("SELECT count(*) FROM students"),
        1,
        "the data as it was"
    );
    assert!(!*app.maintenance.lock().unwrap());
}

/// The watch window trips after two failed rounds in a row: rolled back.
#[test]
fn watch_breach_rolls_back() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    let policy = format!(
        "kind = \"test\"\n[environments.test.watch]\nduration = \"5s\"\ninterval = \"50ms\"\nbreaches = 2\n[[environments.test.watch.checks]]\nhttp = \"{}/broken\"\n",
        app.base
    );
    project(&db, &app, &policy, &[]);
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("2 failed round(s) in a row"),
        "{}",
        stderr(&out)
    );
    assert!(
        !db.has_table("students"),
        "every migration of the run undone"
    );
    assert_eq!(app.log().iter().filter(|l| *l == "GET /broken").count(), 2);
    assert!(!*app.maintenance.lock().unwrap());
    assert_eq!(
        app.events(),
        ["start", "rollback"],
        "one rollback, one message"
    );
}

/// `--dry-run` changes nothing anywhere; production refuses `--skip-backup` and, with no
/// terminal, a deploy without `--yes`.
#[test]
fn dry_run_and_refusals() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(&db, &app, "kind = \"prod\"", &[]);
    let out = deploy(&db, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("8 migration(s) would apply; nothing was changed")
            && stdout(&out).contains("CREATE INDEX courses_instructor_idx"),
        "{}",
        stdout(&out)
    );
    assert!(!db.path().join("test.db").exists() || !db.has_table("students"));
    assert!(!db.path().join("backups").exists());
    assert!(!app.log().iter().any(|l| l.contains("/maintenance/")));

    let out = deploy(&db, &["--yes", "--skip-backup"]);
    assert_eq!(out.status.code(), Some(10));
    assert!(
        stderr(&out).contains("--skip-backup is refused"),
        "{}",
        stderr(&out)
    );
    let out = deploy(&db, &[]);
    assert_eq!(out.status.code(), Some(10));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert!(
        !db.path().join("test.db").exists() || !db.has_table("students"),
        "nothing was applied"
    );
}

/// A failure injected at each remaining phase: the exit code says what happened, the
/// schema is as before the deploy, maintenance is off, and the failure was announced.
#[test]
fn failures_at_backup_maintenance_seed_and_verify() {
    // backup: no pg_dump on PATH → nothing changed (10).
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let out = cutover_cmd(db.path())
        .env("PATH", "/nonexistent")
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pg_dump not found"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
    assert_eq!(app.events(), ["start", "failure"]);

    // maintenance on fails (HTTP 500): nothing migrated; off is still sent.
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let config = std::fs::read_to_string(db.path().join("cutover.toml")).unwrap();
    let config = config.replace("/maintenance/on\"", "/broken\"");
    write_files(db.path(), &[("cutover.toml", &config)]);
    let out = deploy(&db, &[]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "nothing changed: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));
    assert!(!db.has_table("students"));
    assert!(
        app.log().contains(&"POST /maintenance/off".to_string()),
        "{:?}",
        app.log()
    );

    // seed fails: the backup is restored (a seed cannot be undone by down scripts).
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(
        &db,
        &app,
        "kind = \"test\"",
        &[("seeds/02_broken.sql", "INSERT INTO nowhere VALUES (1);\n")],
    );
    let before = fingerprint(&db);
    let out = deploy(&db, &[]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("02_broken.sql:1"), "{}", stderr(&out));
    assert_eq!(fingerprint(&db), before);
    assert!(!*app.maintenance.lock().unwrap());
    assert_eq!(
        app.events(),
        ["start", "rollback"],
        "one rollback, one message"
    );

    // verify fails: rolled back by the down scripts.
    let db = TestDb::new(Kind::MySql);
    let app = start_app();
    project(
        &db,
        &app,
        "kind = \"test\"\n[[environments.test.verify]]\nname = \"enough courses\"\nsql = \"SELECT count(*) FROM courses\"\nexpect = \">= 50\"\n",
        &[],
    );
    let before = fingerprint(&db);
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("enough courses: got 2, expected >= 50"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fingerprint(&db), before);
    assert_eq!(
        app.events(),
        ["start", "rollback"],
        "one rollback, one message"
    );
    assert!(
        !app.log().iter().any(|l| l.contains("/maintenance/")),
        "--no-maintenance"
    );
}

/// A statement over the environment's statement_timeout is cancelled and rolled back.
#[test]
fn postgres_statement_timeout() {
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(
        &db,
        &app,
        "kind = \"test\"\nstatement_timeout = \"300ms\"",
        &[
            (
                "migrations/20240105090800_slow.up.sql",
                "SELECT pg_sleep(3);\n",
            ),
            ("migrations/20240105090800_slow.down.sql", "SELECT 1;\n"),
        ],
    );
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("statement timeout"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
}

/// `plan` writes what a deploy would do; `deploy --plan` applies it, and refuses it once
/// the files or the target changed. `runs list` and `runs show` read the record.
#[test]
fn plans_and_runs() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let plan = |name: &str| {
        let out = cli(&db, &["plan", "--out", name]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    plan("p1.json");
    let p: Value =
        serde_json::from_str(&std::fs::read_to_string(db.path().join("p1.json")).unwrap()).unwrap();
    assert_eq!(p["migrations"].as_array().unwrap().len(), 8);
    assert_eq!(p["migrations"][0]["checksum"].as_str().unwrap().len(), 64);
    // A file added after the plan: refused, nothing changed.
    write_files(
        db.path(),
        &[(
            "migrations/20240105090900_more.up.sql",
            "CREATE TABLE more (id INT);\n",
        )],
    );
    let out = deploy(&db, &["--plan", "p1.json", "--no-maintenance"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the plan is stale"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
    plan("p2.json");
    // The target changed after the plan: refused.
    db.connect()
        .execute("CREATE TABLE by_hand (id INT)")
        .unwrap();
    let out = deploy(&db, &["--plan", "p2.json", "--no-maintenance"]);
    assert_eq!(out.status.code(), Some(10));
    assert!(
        stderr(&out).contains("schema or history changed"),
        "{}",
        stderr(&out)
    );
    plan("p3.json");
    let out = deploy(&db, &["--plan", "p3.json", "--no-maintenance"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(db.has_table("more"));

    let out = cli(&db, &["--json", "runs", "list"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    // Newest first; the first refusal found no database file yet, so nothing to record in.
    assert_eq!(outcomes, ["success", "failed"]);
    let id = runs[0]["id"].as_str().unwrap();
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "runs", "show", &id[..13]])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("success") && stdout(&out).contains("migrations: 2024"),
        "{}",
        stdout(&out)
    );
}

/// SIGTERM in the middle of migrating: the statement under way finishes, then the run
/// rolls back like any failure, switches maintenance off, announces it and exits 11.
#[test]
fn sigterm_while_migrating_rolls_back() {
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(
        &db,
        &app,
        "kind = \"test\"",
        &[
            (
                "migrations/20240105090800_slow.up.sql",
                "SELECT pg_sleep(2);\n",
            ),
            ("migrations/20240105090800_slow.down.sql", "SELECT 1;\n"),
        ],
    );
    let before = fingerprint(&db);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let migrating = || {
        let Ok(dirs) = std::fs::read_dir(db.path().join("report")) else {
            return false;
        };
        dirs.flatten().any(|d| {
            std::fs::read_to_string(d.path().join("journal.jsonl"))
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains(r#""phase":"migrate""#) && l.contains(r#""status":"started""#))
        })
    };
    while !migrating() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the migrate phase never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert!(err.contains("interrupted (SIGINT/SIGTERM)"), "{err}");
    assert_eq!(fingerprint(&db), before);
    assert!(!*app.maintenance.lock().unwrap(), "maintenance is off");
    assert_eq!(
        app.events(),
        ["start", "rollback"],
        "one rollback, one message"
    );
}

/// `rollback --run ID` undoes a finished deploy later by the same rules, and proves the
/// schema is back; a run whose migrations are no longer the newest is refused.
#[test]
fn rollback_a_finished_run() {
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let out = cli(&db, &["migrate", "--to", "20240105090300"]);
    assert!(out.status.success());
    let before = fingerprint(&db);
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs = cli(&db, &["--json", "runs", "list"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["migrations"].as_array().unwrap().len(), 4);

    // Something applied after the run: refused.
    write_files(
        db.path(),
        &[
            (
                "migrations/20240105090900_more.up.sql",
                "CREATE TABLE more (id INT);\n",
            ),
            (
                "migrations/20240105090900_more.down.sql",
                "DROP TABLE more;\n",
            ),
        ],
    );
    assert!(cli(&db, &["migrate"]).status.success());
    let out = cli(&db, &["rollback", "--run", &id]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the newest applied"),
        "{}",
        stderr(&out)
    );

    assert!(cli(&db, &["rollback"]).status.success());
    let out = cli(&db, &["rollback", "--run", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ran the down scripts of 4 migration(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fingerprint(&db), before);
}

/// Another run holding the lock stops the preflight, naming it; nothing changes.
#[test]
fn preflight_sees_the_run_lock_held() {
    let db = TestDb::new(Kind::Postgres);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let mut holder = db.connect();
    assert!(holder.try_lock().unwrap());
    // The deploy waits for the lock (it holds it from the preflight to the end), then
    // gives up naming the holder.
    let out = deploy(&db, &["--lock-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("waiting for the run lock")
            && stderr(&out).contains("gave up waiting for the advisory lock after 1s: held by"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("students"));
    holder.unlock().unwrap();
}

/// A hook that fails stops the deploy before migrating; maintenance goes back off.
#[test]
fn failing_hook_stops_the_deploy() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let config = std::fs::read_to_string(db.path().join("cutover.toml")).unwrap();
    let config = config.replace(
        "command = \"touch hook-ran\"",
        "command = \"echo worker busy >&2; exit 3\"",
    );
    // A command notification too: the JSON on stdin, the text in CUTOVER_MESSAGE.
    let notify = r#"
[[environments.test.notify]]
command = "cat >> notified.json; echo \"$CUTOVER_MESSAGE\" >> notified.txt"
on = ["failure"]
"#;
    write_files(db.path(), &[("cutover.toml", &format!("{config}{notify}"))]);
    let out = deploy(&db, &[]);
    // Nothing in the database changed: exit 10, not 11 ("rolled back").
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("worker busy"), "{}", stderr(&out));
    assert!(!db.has_table("students"));
    assert!(!*app.maintenance.lock().unwrap());
    assert_eq!(app.events(), ["start", "failure"]);
    let text = std::fs::read_to_string(db.path().join("notified.txt")).unwrap();
    assert!(
        text.contains("of test failed: hooks before migrate"),
        "{text}"
    );
    let json = std::fs::read_to_string(db.path().join("notified.json")).unwrap();
    let json: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(json["event"], "failure");
}

/// `backup.max_age`: the preflight wants a verified backup that recent.
#[test]
fn preflight_wants_a_recent_verified_backup() {
    let db = TestDb::new(Kind::Sqlite);
    let app = start_app();
    project(&db, &app, "kind = \"test\"", &[]);
    let config = std::fs::read_to_string(db.path().join("cutover.toml")).unwrap();
    write_files(
        db.path(),
        &[(
            "cutover.toml",
            &config.replace(
                "verify = \"checksum\"",
                "verify = \"checksum\"\nmax_age = \"1h\"",
            ),
        )],
    );
    db.connect().execute("CREATE TABLE keep (id INT)").unwrap();
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("requires a verified backup younger than 3600s"),
        "{}",
        stderr(&out)
    );
    let out = cli(&db, &["backup", "create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// MariaDB: a migration that stops half-way leaves a failed row that blocks the down
/// scripts; `auto` then restores the pre-deploy backup, and the schema is proved back.
#[test]
fn mariadb_half_applied_migration_restores_the_backup() {
    let db = TestDb::new(Kind::MySql);
    let app = start_app();
    let half = [
        (
            "migrations/20240105090800_half.up.sql",
            "CREATE TABLE half_done (id INT);\nINSERT INTO no_such_table VALUES (1);\n",
        ),
        (
            "migrations/20240105090800_half.down.sql",
            "DROP TABLE half_done;\n",
        ),
    ];
    project(&db, &app, "kind = \"test\"", &half);
    let out = cli(&db, &["migrate", "--to", "20240105090500"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = fingerprint(&db);
    let out = deploy(&db, &["--no-maintenance"]);
    assert_eq!(
        out.status.code(),
        Some(11),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report = std::fs::read_to_string(run_dir(&db).join("report.json")).unwrap();
    assert!(report.contains("restoring the backup"), "{report}");
    assert_eq!(fingerprint(&db), before);
    assert!(!db.has_table("half_done"));
    let history = db.history();
    assert!(
        history.iter().all(|(_, s)| s == "applied") && history.len() == 6,
        "{history:?}"
    );
}
