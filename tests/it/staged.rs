//! Issue 12, expand and contract in stages: the LMS example's column rename
//! (`examples/lms/rename`: students.phone → students.mobile) in three deploys on every
//! engine — the expand step, the backfill (the contract step waits, and `status` says so),
//! then `deploy --phase contract` behind its gate (an HTTP check of the application); a
//! contract deploy with expand steps pending is refused, and so is rolling back the expand
//! step once its contract step has run, naming it.

use std::path::Path;

use crate::common::*;
use crate::deploy::start_app;

const EXPAND: &str = "20240105090800";
const CONTRACT: &str = "20240105091000";

/// The LMS migrations and the rename's, and an environment whose contract gate asks the
/// application's health URL.
fn project(db: &TestDb, base: &str) {
    let lms = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms");
    for dir in ["migrations", "rename"] {
        for f in std::fs::read_dir(lms.join(dir)).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            let name = format!("migrations/{}", f.file_name().to_string_lossy());
            write_files(db.path(), &[(&name, &text)]);
        }
    }
    let config = format!(
        r#"
[environments.test]
kind = "test"
url = "{url}"
migrations = "migrations"

[environments.test.backup]
required = false

[[environments.test.contract_gate]]
name = "the release that reads mobile is serving"
http = "{base}/health"
"#,
        url = db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "test"])
        .args(args)
        .output()
        .unwrap()
}

fn has_column(db: &TestDb, column: &str) -> bool {
    let sql = match db.kind {
        Kind::Sqlite => {
            format!("SELECT count(*) FROM pragma_table_info('students') WHERE name = '{column}'")
        }
        Kind::Postgres => format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'students' AND column_name = '{column}'"
        ),
        Kind::MySql => format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'students' AND column_name = '{column}'"
        ),
    };
    db.count(&sql) == 1
}

fn a_column_rename_in_three_deploys(kind: Kind) {
    let db = TestDb::new(kind);
    let app = start_app();
    project(&db, &app.base);

    // Deploy 1: the expand step. A contract deploy now is refused: the expand is pending.
    let out = cli(&db, &["deploy", "--phase", "contract"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is pending before them") && stderr(&out).contains("--phase expand"),
        "{}",
        stderr(&out)
    );
    let out = cli(&db, &["deploy", "--to", EXPAND]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(has_column(&db, "mobile") && has_column(&db, "phone"));
    // The release that dual-writes: a student written with both columns, one with only
    // the old (written before that release).
    let mut c = db.connect();
    c.execute("INSERT INTO students (id, email, full_name, enrolled_on, phone) VALUES (1, 'a@x', 'A', '2024-01-08', '555-1')").unwrap();

    // Deploy 2: the backfill; the contract step waits, and the preflight and status say so.
    let out = cli(&db, &["deploy", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "1 contract step(s) wait for `cutover deploy --phase contract`: {CONTRACT}"
        )),
        "the preflight says what waits: {}",
        stdout(&out)
    );
    assert_eq!(
        db.scalar("SELECT mobile FROM students WHERE id = 1")
            .as_deref(),
        Some("555-1")
    );
    assert!(has_column(&db, "phone"), "the contract step waited");
    let status = cli(&db, &["status"]);
    assert!(
        stdout(&status).contains(&format!(
            "1 contract step(s) waiting for `cutover deploy --phase contract`: {CONTRACT}"
        )),
        "{}",
        stdout(&status)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&cli(&db, &["status", "--json"]).stdout).unwrap();
    let last = json["migrations"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["version"].as_str(), last["phase"].as_str()),
        (Some(CONTRACT), Some("contract"))
    );

    // The gate: while the application answers 503 (the old release still deploying), the
    // contract deploy is refused and changes nothing.
    *app.maintenance.lock().unwrap() = true;
    let out = cli(&db, &["deploy", "--phase", "contract"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the contract gate did not pass"),
        "{}",
        stderr(&out)
    );
    assert!(has_column(&db, "phone"));

    // Deploy 3: the gate passes; the old column goes.
    *app.maintenance.lock().unwrap() = false;
    let out = cli(&db, &["deploy", "--phase", "contract"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!has_column(&db, "phone"));
    assert_eq!(
        db.scalar("SELECT mobile FROM students WHERE id = 1")
            .as_deref(),
        Some("555-1")
    );
    assert!(!stdout(&cli(&db, &["status"])).contains("waiting for"));

    // Rolling back the expand step after its contract step ran is refused, naming it.
    let out = cli(&db, &["rollback", "--to", "20240105090700", "--yes"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("cannot roll back the expand step {EXPAND}"))
            && err.contains(&format!("its contract step {CONTRACT}")),
        "{err}"
    );
    assert!(has_column(&db, "mobile"), "nothing was rolled back");
    // Undoing the contract step alone is still possible.
    let out = cli(&db, &["rollback", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(has_column(&db, "phone"));
}

per_engine!(a_column_rename_in_three_deploys);
