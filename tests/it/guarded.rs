//! Issue 12, guarded execution: a DDL statement stuck behind another session's transaction
//! gives up at the guard's lock timeout and is tried again (each retry shown and journaled)
//! until the blocker ends, or the tries run out with nothing changed; the deploy's
//! preflight names the sessions that would block the migrations and waits, refuses or
//! terminates them by policy; it lints the pending migrations and a prod policy blocks on
//! the findings; the old `lock_timeout` setting is read with a warning.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::*;

/// One test per server engine (guarded execution has nothing to do on SQLite).
macro_rules! per_server {
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

/// A project: table `t` with one row (applied by migration 1 through `migrate`), then
/// `next` as migration 2, and an environment of `kind` with `guard` settings.
fn project(db: &TestDb, kind: &str, guard: &str, next: &str, extra: &str) {
    write_files(
        db.path(),
        &[(
            "migrations/1_t.sql",
            "CREATE TABLE t (id int PRIMARY KEY, a int);\nINSERT INTO t VALUES (1, 1);\n",
        )],
    );
    let out = db
        .cutover()
        .args(["--migrations", "migrations", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    write_files(db.path(), &[("migrations/2_next.sql", next)]);
    configure(db, kind, guard, extra);
}

/// `cutover.toml`: one environment `test` of `kind`, with `guard` settings and `extra`
/// top-level tables.
fn configure(db: &TestDb, kind: &str, guard: &str, extra: &str) {
    let config = format!(
        r#"
{extra}
[environments.test]
kind = "{kind}"
url = "{url}"
migrations = "migrations"
approval = false

[environments.test.backup]
required = false
dir = "backups"

[environments.test.guard]
{guard}
"#,
        url = db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

fn deploy(db: &TestDb) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .output()
        .unwrap()
}

/// The journal of the one run in `report/`.
fn journal(db: &TestDb) -> String {
    let dir = std::fs::read_dir(db.path().join("report"))
        .expect("report/ exists")
        .flatten()
        .next()
        .expect("a run folder");
    std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("journal.jsonl")
}

/// Another session that reads `t` in a transaction (holding a lock DDL on `t` must wait
/// for) for `hold`, then commits. Returns once the lock is held; the handle says whether
/// the session was still alive at the end.
fn blocker(db: &TestDb, hold: Duration) -> JoinHandle<bool> {
    blocker_with(db, "SELECT count(*) FROM t", hold)
}

/// Another session that runs `sql` in a transaction and holds it for `hold`.
fn blocker_with(db: &TestDb, sql: &'static str, hold: Duration) -> JoinHandle<bool> {
    let url = db.url.clone();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let parsed = cutover::target::DatabaseUrl::parse(&url).unwrap();
        let mut c = cutover::engine::connect(&parsed, &Default::default()).unwrap();
        c.begin().unwrap();
        c.execute(sql).unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(hold);
        c.commit().is_ok()
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the blocker holds its lock");
    handle
}

fn columns(db: &TestDb) -> i64 {
    let schema = match db.kind {
        Kind::Postgres => "current_schema()",
        _ => "DATABASE()",
    };
    db.count(&format!(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = {schema} AND table_name = 't'"
    ))
}

const ADD_COLUMN: &str = "ALTER TABLE t ADD COLUMN b int;\n";

/// Generous tries, short pauses; the preflight ignores the blocker (it is not old yet).
const PATIENT: &str = "lock_timeout = \"500ms\"\ntries = 30\nretry_for = \"60s\"\nbackoff = \"100ms\"\nmax_backoff = \"300ms\"\nblocker_age = \"1h\"\n";

fn retries_a_lock_timeout_until_the_blocker_ends(kind: Kind) {
    let db = TestDb::new(kind);
    project(&db, "test", PATIENT, ADD_COLUMN, "");
    let held = blocker(&db, Duration::from_millis(2500));
    let out = deploy(&db);
    assert!(held.join().unwrap(), "the blocker committed normally");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("lock timeout") && err.contains("2 statement 1 gave up waiting for a lock"),
        "each retry is shown: {err}"
    );
    let journal = journal(&db);
    let retries = journal
        .lines()
        .filter(|l| l.contains(r#""event":"lock_retry""#))
        .count();
    assert!(retries >= 1, "each retry is journaled: {journal}");
    assert_eq!(columns(&db), 3, "the column was added");
    assert_eq!(db.history().last().unwrap().1, "applied");
}

fn gives_up_after_the_configured_tries_and_changes_nothing(kind: Kind) {
    let db = TestDb::new(kind);
    let guard = "lock_timeout = \"500ms\"\ntries = 2\nbackoff = \"100ms\"\nblocker_age = \"1h\"\n";
    project(&db, "test", guard, ADD_COLUMN, "");
    let held = blocker(&db, Duration::from_secs(8));
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("gave up after 2 tries"), "{err}");
    assert!(err.contains("guard.tries = 2"), "{err}");
    assert!(held.join().unwrap());
    assert_eq!(columns(&db), 2, "nothing changed");
    let history = db.history();
    assert!(
        !history.iter().any(|(v, _)| v == "2"),
        "no row for the migration that never ran: {history:?}"
    );
    let journal = journal(&db);
    assert_eq!(
        journal
            .lines()
            .filter(|l| l.contains(r#""event":"lock_retry""#))
            .count(),
        1,
        "one retry after the first try: {journal}"
    );
}

fn preflight_refuses_or_terminates_blockers(kind: Kind) {
    let db = TestDb::new(kind);
    project(
        &db,
        "test",
        "blockers = \"refuse\"\nblocker_age = \"0s\"\n",
        ADD_COLUMN,
        "",
    );
    let held = blocker(&db, Duration::from_secs(4));
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("sessions would block the migrations' DDL (guard.blockers = \"refuse\")"),
        "{err}"
    );
    if kind == Kind::Postgres {
        assert!(
            err.contains("SELECT count(*) FROM t"),
            "the blocker's query is named: {err}"
        );
        assert!(err.contains("holding a lock on t"), "and the table: {err}");
    }
    assert_eq!(columns(&db), 2, "nothing changed");
    assert!(held.join().unwrap());

    // Terminate: the blocker's session ends and the deploy goes on at once.
    std::fs::remove_dir_all(db.path().join("report")).unwrap();
    let config = std::fs::read_to_string(db.path().join("cutover.toml")).unwrap();
    let config = config.replace("blockers = \"refuse\"", "blockers = \"terminate\"");
    write_files(db.path(), &[("cutover.toml", &config)]);
    let held = blocker(&db, Duration::from_secs(20));
    let started = std::time::Instant::now();
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "did not wait for the blocker"
    );
    assert!(err.contains("terminated session"), "{err}");
    assert!(!held.join().unwrap(), "the blocker's session was ended");
    assert_eq!(columns(&db), 3);
    assert!(journal(&db).contains("terminated session"));
}

/// A long transaction in another database of the same server blocks nothing this deploy
/// touches: `terminate` leaves it alone, and `refuse` does not count it.
fn other_databases_sessions_are_not_blockers(kind: Kind) {
    let (db, other) = (TestDb::new(kind), TestDb::new(kind));
    project(
        &db,
        "test",
        "blockers = \"terminate\"\nblocker_age = \"0s\"\n",
        ADD_COLUMN,
        "",
    );
    other.connect().execute("CREATE TABLE t (a int)").unwrap();
    let held = blocker(&other, Duration::from_secs(6));
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("terminated session"), "{err}");
    assert!(
        held.join().unwrap(),
        "the other database's session was ended"
    );
    assert_eq!(columns(&db), 3);
}

fn preflight_waits_for_blockers_to_end(kind: Kind) {
    let db = TestDb::new(kind);
    project(
        &db,
        "test",
        "blocker_age = \"0s\"\nblockers_wait = \"30s\"\n",
        ADD_COLUMN,
        "",
    );
    // Long enough that the deploy reaches its preflight while it holds, on a loaded machine.
    let held = blocker(&db, Duration::from_secs(5));
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("waiting up to 30s for sessions"), "{err}");
    assert!(held.join().unwrap(), "the blocker finished on its own");
    assert!(journal(&db).contains("for the sessions that would have blocked the migrations"));
    assert_eq!(columns(&db), 3);
}

/// A change lint flags on each engine: a type change that rewrites or copies the table
/// (an index build would be built online instead: `index_builds_run_online`).
fn flagged(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n",
        _ => "ALTER TABLE t MODIFY a BIGINT;\n",
    }
}

fn prod_blocks_on_lint_findings_and_dev_reports_them(kind: Kind) {
    let db = TestDb::new(kind);
    let fail_on = "[lint]\nfail_on = \"warning\"\n";
    project(&db, "prod", "", flagged(kind), fail_on);
    let out = deploy(&db);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("guard.lint = \"block\""), "{err}");
    assert!(
        err.contains("2_next.sql:1"),
        "the finding's file and line: {err}"
    );
    assert!(
        !db.history().iter().any(|(v, _)| v == "2"),
        "nothing applied"
    );
    // On MariaDB the live schema says `a` was an int: a change of type.
    let rule = "changing-column-type";
    assert!(journal(&db).contains(rule), "the finding is journaled");
    // The guard's own lock timeout answers squawk's require-lock-timeout.
    assert!(!journal(&db).contains("require-lock-timeout"));

    // The same change in a dev environment: reported, journaled, and deployed.
    std::fs::remove_dir_all(db.path().join("report")).unwrap();
    configure(&db, "dev", "", fail_on);
    let out = deploy(&db);
    assert!(out.status.success(), "{}", stderr(&out));
    let journal = journal(&db);
    assert!(journal.contains(rule), "{journal}");
    let dir = std::fs::read_dir(db.path().join("report"))
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["lint"][0]["rule"], rule, "{report}");
    assert_eq!(
        db.history().last().unwrap(),
        &("2".to_string(), "applied".to_string())
    );
}

/// PostgreSQL: a `CREATE INDEX CONCURRENTLY` waits for older transactions, and a lock
/// timeout there leaves an INVALID index behind; cutover drops it before each try again,
/// and after the last.
#[test]
fn a_concurrent_index_build_retried_leaves_no_invalid_index() {
    let online = "-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY ia ON t (a);\n";
    let invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid";
    let exists = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ia'";

    // A writer: a concurrent build waits for every transaction that may change the table.
    let writer = "UPDATE t SET a = a WHERE id = 1";
    let db = TestDb::new(Kind::Postgres);
    project(&db, "test", PATIENT, online, "");
    let held = blocker_with(&db, writer, Duration::from_millis(2500));
    let out = deploy(&db);
    assert!(held.join().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        journal(&db).contains(r#""event":"lock_retry""#),
        "the build was retried"
    );
    assert_eq!(
        (db.count(exists), db.count(invalid)),
        (1, 0),
        "one valid index"
    );

    let db = TestDb::new(Kind::Postgres);
    // One try: the build fails at the lock timeout; its INVALID index is dropped (the drop
    // waits for the writer without blocking anyone) and nothing is left.
    let guard = "lock_timeout = \"300ms\"\ntries = 1\nblocker_age = \"1h\"\n";
    project(&db, "test", guard, online, "");
    let held = blocker_with(&db, writer, Duration::from_secs(3));
    let out = deploy(&db);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("gave up after 1 tries"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cutover dropped it"),
        "{}",
        stderr(&out)
    );
    assert!(held.join().unwrap());
    assert_eq!(
        (db.count(exists), db.count(invalid)),
        (0, 0),
        "no INVALID index left behind"
    );
    assert!(
        !db.history().iter().any(|(v, _)| v == "2"),
        "{:?}",
        db.history()
    );
}

/// A plain `CREATE INDEX` on a table in use, in prod (where lint blocks): cutover builds it
/// online as the linter asks, and says so; with `online_indexes = false` the finding stops
/// the deploy as before.
fn index_builds_run_online(kind: Kind) {
    // Every table counts as large: the finding is an error, which prod blocks on.
    let large = "[lint]\nlarge_table = \"1B\"\n";
    let db = TestDb::new(kind);
    project(
        &db,
        "prod",
        "blocker_age = \"1h\"\n",
        "CREATE INDEX t_a ON t (a);\n",
        large,
    );
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--yes", "--report-dir", "report"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let how = match kind {
        Kind::Postgres => "CREATE INDEX CONCURRENTLY, outside a transaction",
        _ => "ALGORITHM=INPLACE, LOCK=NONE",
    };
    assert!(journal(&db).contains(how), "{}", journal(&db));
    let valid = match kind {
        Kind::Postgres => {
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_a' AND i.indisvalid"
        }
        _ => {
            "SELECT count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 't_a'"
        }
    };
    assert_eq!(db.count(valid), 1);
    assert!(db.history().iter().any(|(v, s)| v == "2" && s == "applied"));

    // Switched off: the statement as written, and on PostgreSQL the prod lint stops it.
    let off = TestDb::new(kind);
    project(
        &off,
        "prod",
        "blocker_age = \"1h\"\nonline_indexes = false\n",
        "CREATE INDEX t_a ON t (a);\n",
        large,
    );
    let out = cutover_cmd(off.path())
        .args(["--env", "test", "deploy", "--yes", "--report-dir", "report"])
        .output()
        .unwrap();
    if kind == Kind::Postgres {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("require-concurrent-index-creation"),
            "{}",
            stderr(&out)
        );
    } else {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!journal(&off).contains("guard.online_indexes"));
    }
}

/// A unique index that cutover builds CONCURRENTLY and that fails (duplicates) leaves no
/// INVALID index behind, and no history row.
#[test]
fn a_failed_online_build_leaves_no_invalid_index() {
    let db = TestDb::new(Kind::Postgres);
    project(
        &db,
        "test",
        "blocker_age = \"1h\"\n",
        "CREATE UNIQUE INDEX t_a ON t (a);\n",
        "",
    );
    db.connect().execute("INSERT INTO t VALUES (2, 1)").unwrap();
    let out = deploy(&db);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cutover dropped it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relname = 't_a'"),
        0,
        "no INVALID index left behind"
    );
    assert!(!db.history().iter().any(|(v, _)| v == "2"));
}

per_server!(
    index_builds_run_online,
    retries_a_lock_timeout_until_the_blocker_ends,
    gives_up_after_the_configured_tries_and_changes_nothing,
    preflight_refuses_or_terminates_blockers,
    other_databases_sessions_are_not_blockers,
    preflight_waits_for_blockers_to_end,
    prod_blocks_on_lint_findings_and_dev_reports_them,
);

#[test]
fn the_old_lock_timeout_setting_is_read_with_a_warning() {
    let db = TestDb::new(Kind::Sqlite);
    let config = format!(
        "[environments.dev]\nurl = \"{}\"\nlock_timeout = \"7s\"\n",
        db.url
    );
    write_files(
        db.path(),
        &[
            ("cutover.toml", &config),
            ("migrations/1_t.sql", "CREATE TABLE t (id int);\n"),
        ],
    );
    let out = cutover_cmd(db.path()).args(["status"]).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("environments.dev.lock_timeout is read as `run_lock_timeout`")
            && err.contains("`guard.lock_timeout` does"),
        "{err}"
    );
    let out = cutover_cmd(db.path())
        .args(["config", "check", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("Rename it to `run_lock_timeout`"),
        "{v}"
    );
    assert_eq!(v["run_lock_timeout"], "7s", "{v}");
    assert_eq!(v["guard"]["lock_timeout"], "0.5s", "{v}");

    // Both names at once: one clear error naming the old one.
    let both = format!("{config}run_lock_timeout = \"8s\"\n");
    write_files(db.path(), &[("cutover.toml", &both)]);
    let out = cutover_cmd(db.path()).args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("environments.dev.lock_timeout: is the old name of `run_lock_timeout`"),
        "{}",
        stderr(&out)
    );
}
