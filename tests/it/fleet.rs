//! Fleets: one deploy over many targets — by list, file, catalog query and schema per
//! tenant — in waves with gates, an error budget, a cancelled wave rolled back, resume and
//! shards, several workers sharing one run through a coordination database (one of them
//! SIGKILLed), the report in Chromium, and notifications per wave.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::App;
use crate::common::*;

/// One test per server engine.
macro_rules! per_engine_servers {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            use super::*;
            #[test]
            fn postgres() {
                super::$f(Kind::Postgres)
            }
            #[test]
            fn mysql() {
                super::$f(Kind::MySql)
            }
        }
    )*};
}

/// The LMS migrations in `dir`, and `cutover.toml` with a `tenants` fleet.
fn project(dir: &Path, fleet: &str, extra: &str) {
    let lms = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/migrations");
    for f in std::fs::read_dir(lms).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        write_files(
            dir,
            &[(
                &format!("migrations/{}", f.file_name().to_string_lossy()),
                &text,
            )],
        );
    }
    let config = format!(
        "[environments.tenants]\nkind = \"test\"\nmigrations = \"migrations\"\n{extra}\n\n[environments.tenants.fleet]\n{fleet}\n"
    );
    write_files(dir, &[("cutover.toml", &config)]);
}

/// `n` SQLite tenants `t01…` listed in `tenants.txt`.
fn sqlite_tenants(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    let lines: Vec<String> = (1..=n)
        .map(|i| format!("t{i:02} sqlite://tenants/t{i:02}.db"))
        .collect();
    write_files(dir, &[("tenants.txt", &(lines.join("\n") + "\n"))]);
}

fn cutover(dir: &Path, args: &[&str]) -> std::process::Output {
    cutover_cmd(dir)
        .args(["--env", "tenants"])
        .args(args)
        .output()
        .unwrap()
}

/// The fleet report of the newest fleet run in `dir`.
fn report(dir: &Path) -> Value {
    let run = newest_fleet_dir(dir);
    serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap()
}

fn newest_fleet_dir(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join(".cutover/fleets"))
        .unwrap()
        .flatten()
        .max_by_key(|d| d.file_name())
        .unwrap()
        .path()
}

fn statuses(r: &Value) -> Vec<(String, String)> {
    r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn history_len(url: &str) -> i64 {
    let e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(url).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    );
    let mut e = e.unwrap();
    e.query("SELECT count(*) FROM cutover_migrations WHERE status = 'applied'")
        .map(|r| r[0][0].clone().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// A file of six SQLite tenants: a canary, then two waves; every tenant deployed, each with
/// its own history and run record; `fleet status` sees one version.
#[test]
fn file_of_sqlite_tenants_in_waves() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 6);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\ncanary = 1\nwaves = [\"50%\", \"100%\"]\nconcurrency = 3",
        "",
    );
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("fleet run "),
        "the id is printed: {}",
        stderr(&out)
    );
    let r = report(dir.path());
    assert_eq!(r["outcome"], "success");
    let sizes: Vec<u64> = r["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["targets"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 2, 3], "canary, up to 50 %, the rest");
    for i in 1..=6 {
        let url = format!("sqlite://{}/tenants/t{i:02}.db", dir.path().display());
        assert_eq!(history_len(&url), 8, "t{i:02}");
    }
    // Each target keeps its journal (its deploy's folder under the fleet run's); the
    // fleet's one report stands for the targets' reports.
    let t01 = newest_fleet_dir(dir.path()).join("targets/t01");
    let runs: Vec<_> = std::fs::read_dir(&t01).unwrap().flatten().collect();
    assert_eq!(runs.len(), 1, "{}", t01.display());
    let run = runs[0].path();
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"phase\":\"migrate\""), "{journal}");
    assert!(!run.join("report.json").exists() && !run.join("report.html").exists());
    let status = cutover(dir.path(), &["--json", "fleet", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["versions"].as_array().unwrap().len(), 1, "{s}");
    assert!(
        s["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["drift"] == false)
    );
    // One target's schema changed by hand: drift, and the fleet is mixed (exit 1).
    let mut t3 = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&format!(
            "sqlite://{}/tenants/t03.db",
            dir.path().display()
        ))
        .unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    t3.execute("CREATE TABLE by_hand (id INT)").unwrap();
    let status = cutover(dir.path(), &["--json", "fleet", "status"]);
    assert_eq!(status.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    let drifted: Vec<&str> = s["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["drift"] == true)
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(drifted, ["t03"]);
}

/// Server databases named in a list, on PostgreSQL and MariaDB, and found by a catalog
/// query: each is one target with a stable name.
fn list_and_query(kind: Kind) {
    let dbs: Vec<TestDb> = (0..3).map(|_| TestDb::new(kind)).collect();
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<String> = dbs
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{{ name = \"db{i}\", url = \"{}\" }}", d.url))
        .collect();
    project(
        dir.path(),
        &format!("targets = [{}]\nconcurrency = 2", list.join(", ")),
        "",
    );
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for d in &dbs {
        assert_eq!(d.history().len(), 8);
    }
    let names: Vec<String> = statuses(&report(dir.path()))
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(names, ["db0", "db1", "db2"]);

    // The catalog: a table of database names in the first database.
    let catalog = &dbs[0];
    catalog
        .connect()
        .execute("CREATE TABLE tenant_list (db VARCHAR(100))")
        .unwrap();
    for d in &dbs[1..] {
        catalog
            .connect()
            .execute(&format!("INSERT INTO tenant_list VALUES ('{}')", d.name))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        &format!(
            "targets_query = {{ url = \"{}\", sql = \"SELECT db FROM tenant_list ORDER BY db\" }}",
            catalog.url
        ),
        "",
    );
    let out = cutover(dir.path(), &["--json", "fleet", "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = s["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = dbs[1..].iter().map(|d| d.name.as_str()).collect();
    want.sort();
    assert_eq!(names, want);
}

per_engine_servers!(list_and_query);

/// A schema per tenant in one PostgreSQL database: each schema gets its own tables and its
/// own history, and the tenants deploy at the same time (each has its own run lock).
#[test]
fn postgres_schema_per_tenant() {
    let db = TestDb::new(Kind::Postgres);
    for s in ["acme", "globex", "initech"] {
        db.connect().execute(&format!("CREATE SCHEMA {s}")).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        &format!(
            "schemas = {{ url = \"{}\", query = \"SELECT nspname FROM pg_namespace WHERE nspname IN ('acme', 'globex', 'initech') ORDER BY 1\" }}\nconcurrency = 3",
            db.url
        ),
        "",
    );
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for s in ["acme", "globex", "initech"] {
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {s}.cutover_migrations")),
            8,
            "{s}"
        );
        assert_eq!(db.count(&format!("SELECT count(*) FROM {s}.courses")), 2);
    }
    assert!(!db.has_table("students"), "nothing landed in public");
}

/// A tenant that cannot take the migrations (a table in the way): with no error budget the
/// fleet stops at it, the rest of the fleet is not started, and with `on_cancel =
/// "rollback"` its wave's deployed targets are rolled back. Fixed, `--resume
/// --retry-failed` finishes the fleet without deploying anyone twice.
#[test]
fn budget_cancel_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 5);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\nwaves = [\"60%\", \"100%\"]\nconcurrency = 1\non_cancel = \"rollback\"",
        "",
    );
    let t02 = format!("sqlite://{}/tenants/t02.db", dir.path().display());
    let mut e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&t02).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute("CREATE TABLE courses (id INT)").unwrap();
    drop(e);
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("t02"),
        "the failure is named: {}",
        stderr(&out)
    );
    let r = report(dir.path());
    assert_eq!(r["outcome"], "stopped");
    let st = statuses(&r);
    assert_eq!(
        st,
        [
            ("t01".into(), "rolled_back".into()),
            ("t02".into(), "failed".into()),
            ("t03".into(), "skipped".into()),
            ("t04".into(), "pending".into()),
            ("t05".into(), "pending".into())
        ]
    );
    let t01 = format!("sqlite://{}/tenants/t01.db", dir.path().display());
    assert_eq!(history_len(&t01), 0, "t01 was rolled back with its wave");

    // Fixed: resume the same fleet run, retrying the failed target.
    let mut e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&t02).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute("DROP TABLE courses").unwrap();
    drop(e);
    let id = r["id"].as_str().unwrap().to_string();
    let out = cutover(dir.path(), &["deploy", "--resume", &id, "--retry-failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["id"], id.as_str(), "the same fleet run");
    for (name, status) in statuses(&r) {
        assert!(
            status == "done" || (name == "t01" && status == "rolled_back"),
            "{name}: {status}"
        );
    }
    for i in 2..=5 {
        let url = format!("sqlite://{}/tenants/t{i:02}.db", dir.path().display());
        assert_eq!(history_len(&url), 8, "t{i:02}");
    }
}

/// With an error budget of one, a failed tenant does not stop the fleet.
#[test]
fn within_the_error_budget() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 4);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\nconcurrency = 2\nerror_budget = 1",
        "",
    );
    let t03 = format!("sqlite://{}/tenants/t03.db", dir.path().display());
    let mut e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&t03).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute("CREATE TABLE courses (id INT)").unwrap();
    drop(e);
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["outcome"], "within_budget");
    let failed: Vec<String> = statuses(&r)
        .into_iter()
        .filter(|t| t.1 == "failed")
        .map(|t| t.0)
        .collect();
    assert_eq!(failed, ["t03"]);
}

/// Gates: checks that must hold before the next wave (a failing one stops the fleet after
/// the canary), and a person's approval (none without a terminal and without --yes).
#[test]
fn gates_between_waves() {
    let app = App::start(Duration::ZERO);
    for (check, code, done) in [("/health", 0, 3), ("/nope", 10, 1)] {
        let dir = tempfile::tempdir().unwrap();
        sqlite_tenants(dir.path(), 3);
        project(
            dir.path(),
            &format!(
                "targets_file = \"tenants.txt\"\ncanary = 1\n[environments.tenants.fleet.gate]\nhold = \"300ms\"\ninterval = \"100ms\"\n[[environments.tenants.fleet.gate.checks]]\nhttp = \"{}{check}\"",
                app.base
            ),
            "",
        );
        let out = cutover(dir.path(), &["deploy"]);
        assert_eq!(out.status.code(), Some(code), "{check}: {}", stderr(&out));
        let r = report(dir.path());
        let deployed = statuses(&r).iter().filter(|t| t.1 == "done").count();
        assert_eq!(deployed, done, "{check}");
        let gate = &r["waves"][0]["gate"];
        assert_eq!(gate["passed"], code == 0, "{gate}");
    }
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 3);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\ncanary = 1\n[environments.tenants.fleet.gate]\napproval = true",
        "",
    );
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("no terminal"), "{}", stderr(&out));
    let out = cutover(dir.path(), &["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `--shard i/n` splits the fleet into fixed shares that together are the whole fleet.
#[test]
fn shards_split_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 8);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\nconcurrency = 2",
        "",
    );
    let mut names = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = cutover(dir.path(), &["deploy", "--shard", shard]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(dir.path());
        let part: Vec<String> = statuses(&r).into_iter().map(|t| t.0).collect();
        assert!(!part.is_empty() && part.len() < 8, "{shard}: {part:?}");
        names.extend(part);
    }
    names.sort();
    let want: Vec<String> = (1..=8).map(|i| format!("t{i:02}")).collect();
    assert_eq!(names, want);
    let bad = cutover(dir.path(), &["deploy", "--shard", "3/2"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Notifications go out per wave and at the end, not per target; a failure is named.
#[test]
fn notifications_per_wave() {
    let app = App::start(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 4);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\ncanary = 1\nerror_budget = 1",
        &format!(
            "[[environments.tenants.notify]]\nwebhook = \"{}/hook\"\n",
            app.base
        ),
    );
    let t04 = format!("sqlite://{}/tenants/t04.db", dir.path().display());
    let mut e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&t04).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute("CREATE TABLE courses (id INT)").unwrap();
    drop(e);
    let out = cutover(dir.path(), &["deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hooks = app.hooks();
    let texts: Vec<&str> = hooks.iter().map(|h| h["text"].as_str().unwrap()).collect();
    assert_eq!(hooks.len(), 4, "start, canary, wave 1, end: {texts:?}");
    assert!(texts.iter().all(|t| t.contains("fleet")), "{texts:?}");
    assert!(texts[2].contains("t04"), "the failure is named: {texts:?}");
}

/// The fleet report in Chromium: the grid shows done targets green and the failed one red.
#[test]
fn fleet_report_renders() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 4);
    project(
        dir.path(),
        "targets_file = \"tenants.txt\"\nerror_budget = 1",
        "",
    );
    let t01 = format!("sqlite://{}/tenants/t01.db", dir.path().display());
    let mut e = cutover::engine::connect(
        &cutover::target::DatabaseUrl::parse(&t01).unwrap(),
        &cutover::engine::ConnectOptions::default(),
    )
    .unwrap();
    e.execute("CREATE TABLE courses (id INT)").unwrap();
    drop(e);
    assert!(cutover(dir.path(), &["deploy"]).status.success());
    let html = newest_fleet_dir(dir.path()).join("report.html");
    let shot = crate::browser::Shot::of(&html, dir.path());
    assert!(shot.count("#12b76a") > 200, "no green (done) cells");
    assert!(shot.count("#d92d20") > 50, "no red (failed) cell");
}

/// Four workers share one fleet run through the coordination database; one is SIGKILLed
/// while it deploys. Its target's lease runs out, another worker finishes it, and every
/// target ends deployed exactly once.
#[test]
fn four_workers_one_killed() {
    let coord = TestDb::new(Kind::Postgres);
    let dir = tempfile::tempdir().unwrap();
    sqlite_tenants(dir.path(), 12);
    project(
        dir.path(),
        &format!(
            "targets_file = \"tenants.txt\"\nconcurrency = 1\nlease = \"2s\"\ncoordination_url = \"{}\"",
            coord.url
        ),
        // Each deploy takes a while, so the kill lands mid-deploy.
        "[[environments.tenants.hooks]]\nwhen = \"before-migrate\"\ncommand = \"sleep 0.4\"\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("cutover");
    let start = |extra: &[&str]| {
        Command::new(&bin)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .args(["--env", "tenants", "deploy", "--worker"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = start(&[]);
    // The fleet run's id, from the coordination database once the first worker made it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let found = coord
            .connect()
            .query("SELECT id FROM cutover_fleet_runs")
            .ok()
            .and_then(|r| r.into_iter().next())
            .and_then(|r| r[0].clone());
        if let Some(id) = found {
            break id;
        }
        assert!(Instant::now() < deadline, "no fleet run was recorded");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut others: Vec<_> = (0..3).map(|_| start(&["--resume", &id])).collect();
    // Kill the first worker while it holds a target.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = coord.count(&format!(
            "SELECT count(*) FROM cutover_fleet_targets WHERE status = 'running' AND worker LIKE '%:{}'",
            first.id()
        ));
        if running > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never held a target"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    let _ = first.wait();
    for w in &mut others {
        let status = w.wait().unwrap();
        assert!(status.success(), "a worker failed");
    }
    assert_eq!(
        coord.count(&format!(
            "SELECT count(*) FROM cutover_fleet_targets WHERE fleet_id = '{id}' AND status = 'done'"
        )),
        12,
        "every target ends deployed"
    );
    for i in 1..=12 {
        let url = format!("sqlite://{}/tenants/t{i:02}.db", dir.path().display());
        let mut e = cutover::engine::connect(
            &cutover::target::DatabaseUrl::parse(&url).unwrap(),
            &cutover::engine::ConnectOptions::default(),
        )
        .unwrap();
        let rows = e
            .query("SELECT count(*), count(DISTINCT version) FROM cutover_migrations WHERE status = 'applied'")
            .unwrap();
        assert_eq!(rows[0][0], rows[0][1], "t{i:02}: a migration applied twice");
        assert_eq!(rows[0][0].as_deref(), Some("8"), "t{i:02}");
        let succeeded = e
            .query(
                "SELECT count(*) FROM cutover_runs WHERE outcome = 'success' AND migrations != ''",
            )
            .unwrap();
        assert_eq!(
            succeeded[0][0].as_deref(),
            Some("1"),
            "t{i:02} deployed once"
        );
    }
}
