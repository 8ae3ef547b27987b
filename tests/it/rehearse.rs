//! `cutover rehearse`: the pending migrations tried on a scratch copy of an environment,
//! timed, verified, rolled back and applied again, on every engine; the environment itself
//! unchanged; a missing down script stopping the round trip; a down script that leaves
//! something behind failing the rehearsal.

use crate::common::*;

const BASE: &[(&str, &str)] = &[
    (
        "migrations/1_a.up.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(20));\nINSERT INTO a VALUES (1, 'x');\n",
    ),
    ("migrations/1_a.down.sql", "DROP TABLE a;\n"),
    (
        "migrations/2_b.up.sql",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n",
    ),
    ("migrations/2_b.down.sql", "DROP TABLE b;\n"),
    (
        "migrations/3_note.up.sql",
        "ALTER TABLE a ADD COLUMN note VARCHAR(20);\n",
    ),
    (
        "migrations/3_note.down.sql",
        "ALTER TABLE a DROP COLUMN note;\n",
    ),
];

fn project(db: &TestDb, extra: &[(&str, &str)]) {
    project_on(db, extra, "")
}

/// `server`: the rehearse section's `url` line, if any.
fn project_on(db: &TestDb, extra: &[(&str, &str)], server: &str) {
    let config = format!(
        "[environments.stage]\nurl = \"{}\"\n\n[environments.stage.rehearse]\ncopy = \"data\"\n{server}\n\
         [environments.stage.expect]\ntables = [\"a\", \"b\"]\n\n\
         [[environments.stage.verify]]\nname = \"the seeded row came along\"\nsql = \"SELECT count(*) FROM a\"\nexpect = 1\n",
        db.url
    );
    let mut files: Vec<(&str, &str)> = vec![("cutover.toml", &config)];
    files.extend(
        BASE.iter()
            .filter(|(p, _)| !extra.iter().any(|(q, _)| q == p)),
    );
    files.extend(extra);
    write_files(db.path(), &files);
    let out = cutover_cmd(db.path())
        .args(["--env", "stage", "migrate", "--to", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn rehearse(db: &TestDb, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let out = cutover_cmd(db.path())
        .args(["--env", "stage", "rehearse", "--report", "r.json"])
        .args(args)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(db.path().join("r.json"))
        .unwrap_or_else(|_| panic!("no report: {}", stderr(&out)));
    (out, serde_json::from_str(&text).unwrap())
}

/// The project with `file` replaced by `sql`, rehearsed: it must fail (exit 1).
fn failing(db: &TestDb, file: &str, sql: &str) -> (std::process::Output, serde_json::Value) {
    project(db, &[(file, sql)]);
    let (out, r) = rehearse(db, &[]);
    assert_eq!(out.status.code(), Some(1), "{}\n{r}", stderr(&out));
    (out, r)
}

fn round_trip(kind: Kind) {
    let (db, server) = (TestDb::new(kind), TestDb::new(kind));
    project_on(&db, &[], &format!("url = \"{}\"\n", server.url));
    let (out, r) = rehearse(&db, &["--report", "r.md", "--report", "r.html"]);
    assert!(
        out.status.success(),
        "{}\n{}\n{r}",
        stdout(&out),
        stderr(&out)
    );
    let ids: Vec<&str> = r["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    assert_eq!(r["rolled_back"], serde_json::json!(["3", "2"]));
    assert_eq!(r["rollback_matches_copy"], true);
    assert_eq!(r["reapply_matches_first"], true);
    assert_eq!(r["differences"].as_array().unwrap().len(), 0, "{r}");
    let on = r["scratch_server"].as_str().unwrap();
    let name = match kind {
        Kind::Sqlite => "test.db",
        _ => server.name.as_str(),
    };
    assert!(on.contains(name), "rehearse.url is the server: {on}");
    let verify = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_str().unwrap().starts_with("verify"))
        .expect("the verify check ran");
    assert_eq!(verify["status"], "pass", "{verify}");
    assert!(
        stdout(&out).contains("rehearsal passed"),
        "{}",
        stdout(&out)
    );
    let html = std::fs::read_to_string(db.path().join("r.html")).unwrap();
    assert!(
        html.contains("PASSED") && html.contains("<code>3</code>"),
        "{html}"
    );
    let md = std::fs::read_to_string(db.path().join("r.md")).unwrap();
    assert!(md.starts_with("# Rehearsal: PASSED"), "{md}");
    // The environment is as it was.
    assert_eq!(db.history(), [("1".to_string(), "applied".to_string())]);
    assert!(!db.has_table("b"));
}

/// A migration without a down script stops the round trip there, and the report says so.
fn stops_without_down(kind: Kind) {
    let db = TestDb::new(kind);
    project(&db, &[]);
    std::fs::remove_file(db.path().join("migrations/2_b.down.sql")).unwrap();
    let (out, r) = rehearse(&db, &[]);
    assert!(out.status.success(), "{}\n{r}", stderr(&out));
    assert_eq!(r["rolled_back"], serde_json::json!(["3"]));
    assert_eq!(r["stopped"]["id"], "2");
    assert!(
        r["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("no down script"),
        "{r}"
    );
    assert_eq!(r["rollback_matches_copy"], serde_json::Value::Null);
    assert_eq!(r["reapply_matches_first"], true);
    assert!(
        stdout(&out).contains("the round trip stopped at 2"),
        "{}",
        stdout(&out)
    );
}

/// A down script that leaves an index behind: the rollback does not come back to the copy.
fn a_leaky_down_script_fails(kind: Kind) {
    let db = TestDb::new(kind);
    let (out, r) = failing(
        &db,
        "migrations/2_b.up.sql",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\nCREATE INDEX a_name ON a (name);\n",
    );
    assert_eq!(r["rollback_matches_copy"], false, "{r}");
    let diffs = r["differences"].to_string();
    assert!(
        diffs.contains("after rolling back") && diffs.contains("a_name"),
        "{diffs}"
    );
    assert!(
        stdout(&out).contains("rehearsal FAILED"),
        "{}",
        stdout(&out)
    );
}

/// A sample: one row of each table, whatever they reference; the rehearsal passes.
fn a_sample_of_each_table(kind: Kind) {
    let db = TestDb::new(kind);
    project(&db, &[]);
    let mut e = db.connect();
    e.execute("INSERT INTO a VALUES (2, 'y')").unwrap();
    e.execute("INSERT INTO a VALUES (3, 'z')").unwrap();
    e.execute(
        "CREATE TABLE kids (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id))",
    )
    .unwrap();
    // The first row of kids references the last row of a: outside a one-row sample of a.
    e.execute("INSERT INTO kids VALUES (1, 3)").unwrap();
    e.execute("INSERT INTO kids VALUES (2, 1)").unwrap();
    drop(e);
    let (out, r) = rehearse(&db, &["--copy", "sample", "--sample-rows", "1"]);
    assert!(out.status.success(), "{}\n{r}", stderr(&out));
    assert_eq!(r["copy"], "sample");
    assert_eq!(r["reapply_matches_first"], true, "{r}");
    // The verify check counts the rows of a in the copy: one.
    let verify = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_str().unwrap().starts_with("verify"))
        .expect("the verify check ran");
    assert_eq!(verify["status"], "pass", "{verify}");
    assert_eq!(
        db.count("SELECT count(*) FROM a"),
        3,
        "the environment is as it was"
    );
}

/// A migration that fails: reported, exit 1, the environment unchanged, and the scratch
/// copy dropped all the same.
fn a_failing_migration(kind: Kind) {
    let db = TestDb::new(kind);
    let (_, r) = failing(
        &db,
        "migrations/3_note.up.sql",
        "ALTER TABLE nowhere ADD COLUMN note VARCHAR(20);\n",
    );
    assert!(
        r["apply_error"].as_str().unwrap().contains("nowhere"),
        "{r}"
    );
    assert_eq!(db.history().len(), 1, "the environment is as it was");
    let scratch = r["scratch"].as_str().unwrap();
    let gone = match kind {
        Kind::Sqlite => !std::path::Path::new(scratch.trim_start_matches("sqlite://")).exists(),
        _ => {
            let name = scratch
                .rsplit('/')
                .next()
                .unwrap()
                .split('?')
                .next()
                .unwrap();
            assert!(name.starts_with("cutover_scratch_"), "{name}");
            let sql = match kind {
                Kind::Postgres => {
                    format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")
                }
                _ => format!(
                    "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
                ),
            };
            db.count(&sql) == 0
        }
    };
    assert!(gone, "the scratch copy {scratch} was dropped");
}

per_engine!(
    a_failing_migration,
    round_trip,
    stops_without_down,
    a_leaky_down_script_fails,
    a_sample_of_each_table
);
