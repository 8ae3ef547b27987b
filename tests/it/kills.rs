//! A real `cutover deploy` killed (SIGKILL) at each of its phases on each engine, then the
//! next commands: `runs list` shows the killed run as interrupted at its phase, `status`
//! reports it, and the next `deploy` switches off the maintenance mode it left on, closes
//! it, and finishes the job (seeds and verify run even when no migration is pending); the
//! target's history and schema agree throughout. Also SIGTERM during the migrate phase:
//! the run stops after the migration under way and rolls back.
//!
//! Each deploy is held at its phase deterministically: an HTTP endpoint of the test's
//! application that stalls until released (preflight, maintenance, hooks, verify, smoke,
//! watch), a statement that sleeps while a row in the `stall` table asks it to (migrate,
//! seed), or a table big enough that the backup is still being written.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::App;
use crate::common::*;

/// A statement that sleeps while `stall` holds a row naming `at`: long enough for a kill
/// to land in it, or with `short` about two seconds. A server goes on running the statement
/// of a killed client to its end, holding the client's locks, so "long" is five seconds
/// there; SQLite's dies with the process.
fn stall_sql(kind: Kind, at: &str, short: bool) -> String {
    let armed = format!("EXISTS (SELECT 1 FROM stall WHERE phase = '{at}')");
    let secs = if short { 2 } else { 5 };
    match kind {
        Kind::Postgres => format!("SELECT pg_sleep(CASE WHEN {armed} THEN {secs} ELSE 0 END);"),
        Kind::MySql => format!("SELECT SLEEP(IF({armed}, {secs}, 0));"),
        // No sleep function: count, up to a number that takes that long when armed.
        Kind::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \
             (SELECT CASE WHEN {armed} THEN {} ELSE 1 END)) SELECT count(*) FROM c;",
            if short { 20_000_000 } else { 2_000_000_000 }
        ),
    }
}

/// The target before the deploy (a `stall` switch and an `items` table the seed fills),
/// two migrations with down scripts and one seed, and an environment whose every phase
/// can be held.
fn project(db: &TestDb, app: &App) {
    let mut target = db.connect();
    target
        .execute("CREATE TABLE stall (phase VARCHAR(20))")
        .unwrap();
    target
        .execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50))")
        .unwrap();
    // MariaDB commits DDL at once: the sleep comes first there, so a kill inside it leaves
    // nothing of the migration applied. Elsewhere the table comes first, so the killed
    // transaction has something to lose.
    let feature = match db.kind {
        Kind::MySql => format!(
            "{}\nCREATE TABLE feature (id INT);\n",
            stall_sql(db.kind, "migrate", false)
        ),
        _ => format!(
            "CREATE TABLE feature (id INT);\n{}\n",
            stall_sql(db.kind, "migrate", false)
        ),
    };
    let seed = format!(
        "DELETE FROM items WHERE id = 1;\nINSERT INTO items (id, name) VALUES (1, 'seeded');\n{}\n",
        stall_sql(db.kind, "seed", false)
    );
    write_files(
        db.path(),
        &[
            ("migrations/1_feature.up.sql", &feature),
            ("migrations/1_feature.down.sql", "DROP TABLE feature;\n"),
            ("migrations/2_more.up.sql", "CREATE TABLE more (id INT);\n"),
            ("migrations/2_more.down.sql", "DROP TABLE more;\n"),
            ("seeds/01_items.sql", &seed),
        ],
    );
    let base = &app.base;
    let config = format!(
        r#"
[environments.test]
url = "{url}"
migrations = "migrations"
seeds = "seeds"
kind = "test"

[environments.test.backup]
required = true
verify = "checksum"
dir = "backups"

[environments.test.maintenance]
on = {{ http = "POST {base}/maintenance/on" }}
off = {{ http = "POST {base}/maintenance/off" }}

[[environments.test.preflight]]
http = "{base}/stall/preflight"

[[environments.test.hooks]]
when = "before-migrate"
http = "POST {base}/stall/hooks"

[[environments.test.verify]]
name = "seeded"
sql = "SELECT count(*) FROM items WHERE id = 1"
expect = 1

[[environments.test.verify]]
http = "{base}/stall/verify"

[[environments.test.smoke]]
http = "{base}/stall/smoke"

[environments.test.watch]
duration = "300ms"
interval = "100ms"
[[environments.test.watch.checks]]
http = "{base}/stall/watch"

[[environments.test.notify]]
webhook = "{base}/hook"
"#,
        url = db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

/// `cutover --env test ARGS` in the test's folder, to its end.
fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test"])
        .args(args)
        .output()
        .unwrap()
}

fn deploy(db: &TestDb) -> std::process::Output {
    cli(db, &["deploy", "--report-dir", "report"])
}

/// A child process that is killed (SIGKILL) and reaped if the test fails before it ends,
/// so a failing test leaves no process behind.
pub(crate) struct Spawned(Option<Child>);

impl Spawned {
    pub(crate) fn new(child: Child) -> Spawned {
        Spawned(Some(child))
    }

    pub(crate) fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// The child itself, for the test to end and wait for.
    pub(crate) fn take(mut self) -> Child {
        self.0.take().expect("running")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A deploy in the background, its output in `killed.out`.
fn spawn_deploy(db: &TestDb) -> Spawned {
    let log = std::fs::File::create(db.path().join("killed.out")).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .current_dir(db.path())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("CUTOVER_ENV")
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Spawned::new(child)
}

/// Wait until `cond` has held for 200 ms in a row.
fn wait_steady(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut since: Option<Instant> = None;
    loop {
        if cond() {
            let t = *since.get_or_insert_with(Instant::now);
            if t.elapsed() >= Duration::from_millis(200) {
                return;
            }
        } else {
            since = None;
        }
        assert!(Instant::now() < deadline, "never reached: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the run's journal says `phase` started.
fn phase_started(db: &TestDb, phase: &str) -> bool {
    let Ok(dirs) = std::fs::read_dir(db.path().join("report")) else {
        return false;
    };
    let needle = format!(r#""phase":"{phase}""#);
    dirs.flatten().any(|d| {
        std::fs::read_to_string(d.path().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&needle) && l.contains(r#""status":"started""#))
    })
}

/// Whether the stall statement is running on the target.
fn sleeping(db: &TestDb) -> bool {
    match db.kind {
        // The rollback journal holds pages only inside a write transaction.
        Kind::Sqlite => {
            std::fs::metadata(db.path().join("test.db-journal")).is_ok_and(|m| m.len() > 0)
        }
        Kind::Postgres => {
            db.count(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND query LIKE 'SELECT pg_sleep(CASE%'",
            ) > 0
        }
        Kind::MySql => {
            db.count(
                "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() \
                 AND INFO LIKE 'SELECT SLEEP(IF%'",
            ) > 0
        }
    }
}

/// Files a backup is written under until it is complete.
fn partial_backups(db: &TestDb) -> Vec<String> {
    std::fs::read_dir(db.path().join("backups"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".cutover-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A table big enough that writing its backup takes a while on every engine.
fn bulk(db: &TestDb) {
    let sql: &[&str] = match db.kind {
        Kind::Sqlite => &[
            "CREATE TABLE bulk (b BLOB)",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000) \
             INSERT INTO bulk SELECT randomblob(1000) FROM c",
        ],
        Kind::Postgres => &[
            "CREATE TABLE bulk (b TEXT)",
            "INSERT INTO bulk SELECT md5(random()::text) || md5(random()::text) || md5(random()::text) \
             FROM generate_series(1, 400000)",
        ],
        Kind::MySql => &[
            "CREATE TABLE bulk (b TEXT)",
            "INSERT INTO bulk SELECT CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND())) FROM seq_1_to_400000",
        ],
    };
    let mut target = db.connect();
    for s in sql {
        target.execute(s).unwrap();
    }
}

/// Hold the deploy at `phase` (as its journal and record name it).
fn hold(db: &TestDb, app: &App, phase: &str) -> Spawned {
    let stall_point = match phase {
        "preflight" => Some("preflight"),
        "maintenance on" => Some("maintenance-on"),
        "hooks before migrate" => Some("hooks"),
        "verify" => Some("verify"),
        "maintenance off" => Some("maintenance-off"),
        "smoke" => Some("smoke"),
        "watch" => Some("watch"),
        _ => None,
    };
    match phase {
        "migrate" | "seed" => db
            .connect()
            .execute(&format!("INSERT INTO stall VALUES ('{phase}')"))
            .unwrap(),
        "backup" => bulk(db),
        _ => {}
    }
    if let Some(point) = stall_point {
        app.arm(point);
    }
    let child = spawn_deploy(db);
    match stall_point {
        Some(point) => app.wait_reached(point, Duration::from_secs(60)),
        None if phase == "backup" => wait_steady("the backup is being written", || {
            !partial_backups(db).is_empty()
        }),
        None => wait_steady(&format!("the {phase} statement sleeps"), || {
            phase_started(db, phase) && sleeping(db)
        }),
    }
    child
}

fn runs(db: &TestDb) -> Vec<Value> {
    let out = cli(db, &["--json", "runs", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// History rows as (version, status); none before the table exists.
fn history(db: &TestDb) -> Vec<(String, String)> {
    if db.has_table("cutover_migrations") {
        db.history()
    } else {
        Vec::new()
    }
}

/// History and schema agree: a migration's table exists exactly when it is applied.
fn assert_consistent(db: &TestDb) {
    let history = history(db);
    for (version, table) in [("1", "feature"), ("2", "more")] {
        let applied = history.contains(&(version.into(), "applied".into()));
        assert_eq!(
            db.has_table(table),
            applied,
            "{table} vs history {history:?}"
        );
    }
}

/// Which phases leave maintenance mode on when the run dies in them.
fn leaves_maintenance_on(phase: &str) -> bool {
    matches!(
        phase,
        "maintenance on"
            | "hooks before migrate"
            | "migrate"
            | "seed"
            | "verify"
            | "maintenance off"
    )
}

fn killed_at(kind: Kind, phase: &str) {
    let db = TestDb::new(kind);
    let app = App::start(Duration::ZERO);
    project(&db, &app);
    let mut child = hold(&db, &app, phase).take();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_output = std::fs::read_to_string(db.path().join("killed.out")).unwrap();
    app.release();
    db.connect().execute("DELETE FROM stall").unwrap();
    if kind != Kind::Sqlite && matches!(phase, "migrate" | "seed") {
        wait_steady("the killed client's statement ended on the server", || {
            !sleeping(&db)
        });
    }
    std::thread::sleep(Duration::from_millis(300)); // the server notices the dead session
    assert_eq!(
        app.maintenance(),
        leaves_maintenance_on(phase),
        "maintenance after the kill at {phase}"
    );
    assert_consistent(&db);

    // The record says where it died, whether maintenance is on, and that it is not running.
    let rows = runs(&db);
    if phase == "preflight" {
        // Killed before its first change: nothing to record, nothing to finish.
        assert!(rows.is_empty(), "{rows:?}");
    } else {
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["outcome"], "interrupted", "{rows:?}");
        assert_eq!(rows[0]["phase"], phase, "{rows:?}\n{killed_output}");
        assert_eq!(
            rows[0]["maintenance_on"],
            leaves_maintenance_on(phase),
            "{rows:?}"
        );
        let out = cli(&db, &["status"]);
        assert!(
            stderr(&out).contains(&format!("was interrupted at {phase}")),
            "status reports the killed run: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }

    // The next deploy closes the killed run and switches off what it left on.
    let mut out = deploy(&db);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    if phase != "preflight" {
        assert!(
            text.contains(&format!("was interrupted at {phase}")),
            "{text}"
        );
    }
    if leaves_maintenance_on(phase) {
        assert!(
            text.contains("left maintenance mode on: switched it off"),
            "{text}"
        );
    }
    if kind == Kind::MySql && phase == "migrate" {
        // MariaDB recorded the migration as stopped at its first statement: the next
        // deploy refuses to go on, and says how to resolve.
        assert_eq!(out.status.code(), Some(10), "{text}");
        assert!(text.contains("the history is not clean"), "{text}");
        assert_eq!(
            db.history(),
            [("1".to_string(), "failed".to_string())],
            "{text}"
        );
        assert!(!app.maintenance(), "switched off by the refused deploy");
        let resolved = cli(&db, &["resolve", "--rolled-back", "1"]);
        assert!(resolved.status.success(), "{}", stderr(&resolved));
        out = deploy(&db);
    }
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        out.status.code(),
        Some(0),
        "after the kill at {phase}: {text}"
    );
    assert!(
        !app.maintenance(),
        "maintenance is off after the next deploy"
    );
    assert_eq!(app.overlaps(), 0, "{:?}", app.switches());

    // The job is done: both migrations, the seed, and a verify that passed.
    assert_consistent(&db);
    assert_eq!(
        db.history(),
        [
            ("1".to_string(), "applied".to_string()),
            ("2".to_string(), "applied".to_string())
        ]
    );
    assert_eq!(db.count("SELECT count(*) FROM items WHERE id = 1"), 1);
    let rows = runs(&db);
    let newest = &rows[0];
    assert_eq!(newest["outcome"], "success", "{rows:?}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(
            db.path()
                .join("report")
                .join(newest["id"].as_str().unwrap())
                .join("report.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for done in ["seed", "verify", "maintenance off"] {
        assert!(
            report["phases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == done && p["status"] == "ok"),
            "{done} ran in the next deploy: {}",
            report["phases"]
        );
    }
    let interrupted: Vec<&Value> = rows
        .iter()
        .filter(|r| r["outcome"] == "interrupted")
        .collect();
    if phase != "preflight" {
        assert_eq!(interrupted.len(), 1, "{rows:?}");
        assert_eq!(interrupted[0]["phase"], phase);
        assert_eq!(interrupted[0]["maintenance_on"], false, "{rows:?}");
    }
    assert!(
        partial_backups(&db).is_empty(),
        "{:?}",
        partial_backups(&db)
    );
    // And again: nothing left to finish.
    let out = deploy(&db);
    assert!(stdout(&out).contains("nothing to do"), "{}", stdout(&out));
}

macro_rules! kill_phases {
    ($($f:ident => $phase:literal),* $(,)?) => {$(
        fn $f(kind: Kind) {
            killed_at(kind, $phase)
        }
        per_engine!($f);
    )*};
}

kill_phases!(
    killed_at_preflight => "preflight",
    killed_at_backup => "backup",
    killed_at_maintenance_on => "maintenance on",
    killed_at_hooks => "hooks before migrate",
    killed_at_migrate => "migrate",
    killed_at_seed => "seed",
    killed_at_verify => "verify",
    killed_at_maintenance_off => "maintenance off",
    killed_at_smoke => "smoke",
    killed_at_watch => "watch",
);

/// SIGTERM while the first of three pending migrations runs: it finishes, the other two
/// never start, and the run undoes the first by its down script and exits 11. (On
/// MariaDB the first migration ends with a data statement, whose transaction also writes
/// the next migration's "not started" row: stopping must take that row back.)
fn sigterm_stops_after_the_migration_under_way(kind: Kind) {
    let db = TestDb::new(kind);
    let app = App::start(Duration::ZERO);
    project(&db, &app);
    let first = format!(
        "CREATE TABLE feature (id INT);\n{}\n",
        stall_sql(kind, "migrate", true)
    );
    write_files(
        db.path(),
        &[
            ("migrations/1_feature.up.sql", &first),
            ("migrations/3_last.up.sql", "CREATE TABLE last (id INT);\n"),
            ("migrations/3_last.down.sql", "DROP TABLE last;\n"),
        ],
    );
    let child = hold(&db, &app, "migrate");
    let signalled = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let out = child.take().wait_with_output().unwrap();
    let err = std::fs::read_to_string(db.path().join("killed.out")).unwrap();
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert!(err.contains("interrupted (SIGINT/SIGTERM)"), "{err}");
    let rows = runs(&db);
    let dir = db
        .path()
        .join("report")
        .join(rows[0]["id"].as_str().unwrap());
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let started: Vec<(String, bool)> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "script_started")
        .map(|l| {
            (
                l["name"].as_str().unwrap_or("?").to_string(),
                l["rollback"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        started,
        [
            ("feature".to_string(), false),
            ("feature".to_string(), true)
        ],
        "only the first migration ran, then its down script: {journal}"
    );
    assert!(db.history().is_empty(), "{:?}", db.history());
    for t in ["feature", "more", "last"] {
        assert!(!db.has_table(t), "{t}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["undo"]["how"], "down_scripts", "{}", report["undo"]);
    assert_eq!(report["outcome"], "rolled_back", "{report}");
    assert!(!app.maintenance());
    assert_eq!(app.events(), ["start", "rollback"]);
}

per_engine!(sigterm_stops_after_the_migration_under_way);
