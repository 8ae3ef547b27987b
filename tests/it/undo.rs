//! Undoing a failed deploy without losing what it must not lose: a watch window that trips
//! after the application has written rows (`rollback_after_traffic` decides between the
//! down scripts, a refusal, and a restore that says from when writes were discarded), and
//! a first migration that MariaDB half-applied (undone by the backup, nothing left).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::App;
use crate::common::*;

/// A target with an `orders` table the application writes to, one deploy migration with
/// a down script, and a watch that trips once the application wrote three orders.
fn traffic_project(db: &TestDb, app: &App, policy: &str) {
    db.connect()
        .execute("CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(50))")
        .unwrap();
    write_files(
        db.path(),
        &[
            (
                "migrations/1_feature.up.sql",
                "CREATE TABLE feature (id INT);\n",
            ),
            ("migrations/1_feature.down.sql", "DROP TABLE feature;\n"),
        ],
    );
    let base = &app.base;
    let config = format!(
        r#"
[environments.test]
url = "{url}"
migrations = "migrations"
kind = "test"
{policy}

[environments.test.backup]
required = true
verify = "checksum"
dir = "backups"

[environments.test.maintenance]
on = {{ http = "POST {base}/maintenance/on" }}
off = {{ http = "POST {base}/maintenance/off" }}

[environments.test.watch]
duration = "60s"
interval = "100ms"
breaches = 1
[[environments.test.watch.checks]]
name = "fewer than three orders"
sql = "SELECT count(*) FROM orders"
expect = "< 3"

[[environments.test.notify]]
webhook = "{base}/hook"
"#,
        url = db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

/// Whether the run's journal says the watch window started.
fn watching(db: &TestDb) -> bool {
    let Ok(dirs) = std::fs::read_dir(db.path().join("report")) else {
        return false;
    };
    dirs.flatten().any(|d| {
        std::fs::read_to_string(d.path().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(r#""phase":"watch""#) && l.contains(r#""status":"started""#))
    })
}

struct Traffic {
    out: std::process::Output,
    /// Just before the application's first write.
    first_write: jiff::Timestamp,
    report: Value,
}

/// Deploy; once the watch runs, the application writes three orders through its own
/// connection, and the watch trips.
fn deploy_with_traffic(db: &TestDb) -> Traffic {
    let child = crate::kills::Spawned::new(
        Command::new(assert_cmd::cargo::cargo_bin("cutover"))
            .current_dir(db.path())
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .args(["--env", "test", "deploy", "--report-dir", "report"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !watching(db) {
        assert!(Instant::now() < deadline, "the watch window never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let first_write = jiff::Timestamp::now();
    let mut application = db.connect();
    for id in 1..=3 {
        application
            .execute(&format!(
                "INSERT INTO orders (id, note) VALUES ({id}, 'written while live')"
            ))
            .unwrap();
    }
    drop(application);
    let out = child.take().wait_with_output().unwrap();
    let dir = std::fs::read_dir(db.path().join("report"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    Traffic {
        out,
        first_write,
        report,
    }
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// `down-only`: even with `rollback = "restore"`, the undo runs the down scripts, so the
/// orders the application wrote survive; maintenance went back on before the undo.
fn watch_trip_after_traffic_down_only(kind: Kind) {
    let db = TestDb::new(kind);
    let app = App::start(Duration::ZERO);
    traffic_project(
        &db,
        &app,
        "rollback = \"restore\"\nrollback_after_traffic = \"down-only\"",
    );
    let t = deploy_with_traffic(&db);
    let all = text(&t.out);
    assert_eq!(t.out.status.code(), Some(11), "{all}");
    assert!(all.contains("fewer than three orders"), "{all}");
    assert_eq!(db.count("SELECT count(*) FROM orders"), 3, "{all}");
    assert!(!db.has_table("feature"), "{all}");
    assert!(!db.has_table("cutover_migrations") || db.history().is_empty());
    assert_eq!(t.report["undo"]["how"], "down_scripts", "{all}");
    assert!(t.report["undo"]["writes_discarded_since"].is_null());
    assert_eq!(app.switches(), ["on", "off", "on", "off"], "{all}");
    assert!(!all.contains("DISCARDED"), "{all}");
}

/// `refuse`: nothing is undone, and the run says so (exit 12): the new table and the
/// orders are both still there.
fn watch_trip_after_traffic_refuse(kind: Kind) {
    let db = TestDb::new(kind);
    let app = App::start(Duration::ZERO);
    traffic_project(&db, &app, "rollback_after_traffic = \"refuse\"");
    let t = deploy_with_traffic(&db);
    let all = text(&t.out);
    assert_eq!(t.out.status.code(), Some(12), "{all}");
    assert!(
        all.contains("rollback_after_traffic = refuse") && all.contains("nothing was undone"),
        "{all}"
    );
    assert_eq!(db.count("SELECT count(*) FROM orders"), 3);
    assert!(db.has_table("feature"));
    assert_eq!(db.history(), [("1".to_string(), "applied".to_string())]);
    assert_eq!(app.switches(), ["on", "off", "on", "off"], "{all}");
    assert_eq!(t.report["outcome"], "rollback_failed");
}

/// `restore`: the backup is loaded, the orders are gone, and the output, the report and
/// the notification say from what time writes were discarded: when maintenance went off,
/// before the application's first write.
fn watch_trip_after_traffic_restore(kind: Kind) {
    let db = TestDb::new(kind);
    let app = App::start(Duration::ZERO);
    traffic_project(
        &db,
        &app,
        "rollback = \"restore\"\nrollback_after_traffic = \"restore\"",
    );
    let started = jiff::Timestamp::now();
    let t = deploy_with_traffic(&db);
    let all = text(&t.out);
    assert_eq!(t.out.status.code(), Some(11), "{all}");
    assert_eq!(db.count("SELECT count(*) FROM orders"), 0, "{all}");
    assert!(!db.has_table("feature"));
    assert_eq!(t.report["undo"]["how"], "restored", "{all}");
    let since = t.report["undo"]["writes_discarded_since"]
        .as_str()
        .unwrap_or_else(|| panic!("no time in the report: {}", t.report["undo"]))
        .to_string();
    let at: jiff::Timestamp = since.parse().unwrap();
    assert!(started <= at && at <= t.first_write, "{since}");
    assert!(
        all.contains(&format!("writes made since {since} were DISCARDED")),
        "{all}"
    );
    let hooks = app.hooks();
    let rollback = hooks.iter().find(|h| h["event"] == "rollback").unwrap();
    assert_eq!(rollback["writes_discarded_since"], since.as_str());
    assert!(
        rollback["text"]
            .as_str()
            .unwrap()
            .contains(&format!("writes made since {since} were DISCARDED")),
        "{rollback}"
    );
    assert_eq!(app.switches(), ["on", "off", "on", "off"], "{all}");
}

per_engine!(
    watch_trip_after_traffic_down_only,
    watch_trip_after_traffic_refuse,
    watch_trip_after_traffic_restore
);

/// MariaDB: the deploy's first migration commits two DDL statements, then fails. With
/// `rollback = "restore"` and a verified backup, the backup is restored: no column, no
/// table, no failed row left, exit 11.
#[test]
fn mariadb_half_applied_first_migration_is_restored() {
    let db = TestDb::new(Kind::MySql);
    let app = App::start(Duration::ZERO);
    write_files(
        db.path(),
        &[
            ("migrations/1_base.up.sql", "CREATE TABLE base (id INT);\n"),
            (
                "migrations/2_half.up.sql",
                "ALTER TABLE base ADD COLUMN extra INT;\nCREATE TABLE half (id INT);\nINSERT INTO no_such_table VALUES (1);\n",
            ),
        ],
    );
    let config = format!(
        "[environments.test]\nurl = \"{}\"\nmigrations = \"migrations\"\nkind = \"test\"\nrollback = \"restore\"\n\
         [environments.test.backup]\nrequired = true\nverify = \"checksum\"\ndir = \"backups\"\n\
         [[environments.test.notify]]\nwebhook = \"{}/hook\"\n",
        db.url, app.base
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
    let migrated = cutover_cmd(db.path())
        .args(["--env", "test", "migrate", "--to", "1"])
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(11), "{all}");
    assert!(!all.contains("nothing to undo"), "{all}");
    assert!(
        !db.has_table("half")
            && db.count(
                "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'base' AND COLUMN_NAME = 'extra'"
            ) == 0,
        "{all}"
    );
    assert_eq!(db.history(), [("1".to_string(), "applied".to_string())]);
    assert_eq!(app.events(), ["start", "rollback"]);
    let runs = cutover_cmd(db.path())
        .args(["--env", "test", "--json", "runs", "list"])
        .output()
        .unwrap();
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["outcome"], "rolled_back", "{runs}");
}
