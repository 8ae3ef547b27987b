//! `cutover transfer` through the binary: chinook from each engine into each other engine
//! (loaded from the corpus's own scripts), proved by the reconciliation and by rows compared
//! value by value; types with no equal refused by name or carried as text; bad input
//! changing nothing; a load SIGKILLed at random points and resumed equals one that never
//! stopped.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::common::*;

fn chinook() -> PathBuf {
    corpora().join("sample-databases/chinook")
}

/// Run a client with `input` on stdin; panic with its output when it fails.
fn client(mut cmd: Command, input: &str) {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("client ran");
    assert!(out.status.success(), "{cmd:?} failed: {}", stderr(&out));
}

/// A script from the line after `marker` on (the corpus scripts create and enter their own
/// database first; the test database stands in for it).
fn script_after(file: &str, marker: &str) -> String {
    let text = std::fs::read_to_string(chinook().join(file)).expect("chinook script");
    let at = text.find(marker).expect("marker in script") + marker.len();
    text[at..].to_string()
}

/// Chinook loaded into `db` from the corpus, the engine's own way.
fn load_chinook(db: &TestDb) {
    match db.kind {
        Kind::Sqlite => {
            let file = db.url.strip_prefix("sqlite://").expect("sqlite url");
            std::fs::copy(chinook().join("Chinook_Sqlite.sqlite"), file).expect("copy chinook");
        }
        Kind::Postgres => {
            let mut cmd = Command::new("psql");
            cmd.args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url]);
            client(cmd, &script_after("Chinook_PostgreSql.sql", "\\c chinook;"));
        }
        Kind::MySql => {
            let mut cmd = Command::new("mariadb");
            cmd.args(["-h", "127.0.0.1", "-u", "root", &db.name]);
            client(cmd, &script_after("Chinook_MySql.sql", "USE `Chinook`;"));
        }
    }
}

/// The names chinook's scripts use on each engine: the PostgreSQL script is snake_case.
fn track_names(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Postgres => (
            "track",
            "track_id",
            "name, composer, milliseconds, unit_price",
        ),
        _ => (
            "Track",
            "TrackId",
            "Name, Composer, Milliseconds, UnitPrice",
        ),
    }
}

fn invoice_names(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Postgres => (
            "invoice",
            "invoice_id",
            "invoice_date, billing_state, total",
        ),
        _ => ("Invoice", "InvoiceId", "InvoiceDate, BillingState, Total"),
    }
}

fn quote(kind: Kind, list: &str) -> String {
    let q = |s: &str| match kind {
        Kind::MySql => format!("`{}`", s.trim()),
        _ => format!("\"{}\"", s.trim()),
    };
    list.split(',').map(q).collect::<Vec<_>>().join(", ")
}

/// A value as every engine's text agrees: numbers as numbers, time stamps without a
/// fraction of zeros.
fn norm(v: &Option<String>) -> String {
    let Some(v) = v else { return "NULL".into() };
    if let Ok(f) = v.parse::<f64>() {
        return format!("{f}");
    }
    v.trim_end_matches(".000000").replacen('T', " ", 1)
}

/// Rows of `table` picked by key, as normalised text.
fn sample(
    db: &TestDb,
    source_kind: Kind,
    names: (&str, &str, &str),
    keys: &str,
) -> Vec<Vec<String>> {
    let (table, key, cols) = names;
    let sql = format!(
        "SELECT {}, {} FROM {} WHERE {} IN ({keys}) ORDER BY {}",
        quote(db.kind, key),
        quote(db.kind, cols),
        quote(db.kind, table),
        quote(db.kind, key),
        quote(db.kind, key)
    );
    let _ = source_kind;
    db.connect()
        .query(&sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

fn transfer_json(
    from: &TestDb,
    to: &TestDb,
    extra: &[&str],
) -> (std::process::Output, serde_json::Value) {
    let out = cutover_cmd(from.path())
        .args(["--json", "transfer", "--from", &from.url, "--to", &to.url])
        .args(extra)
        .output()
        .expect("cutover runs");
    let text = stdout(&out);
    // Progress events are JSON lines; the report is the last (pretty) document.
    let start = text.rfind("\n{\n").map_or(0, |i| i + 1);
    let report = serde_json::from_str(&text[start..]).unwrap_or(serde_json::Value::Null);
    (out, report)
}

fn chinook_into(from_kind: Kind, to_kind: Kind) {
    let from = TestDb::new(from_kind);
    load_chinook(&from);
    let to = TestDb::new(to_kind);
    let (out, report) = transfer_json(&from, &to, &["--create-tables", "--batch", "1000"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(report["reconciled"], true, "{report:#}");
    let tables = report["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 11, "{report:#}");
    for t in tables {
        assert_eq!(t["source_rows"], t["target_rows"], "{t}");
        assert_eq!(t["reconciled"], true, "{t}");
    }
    // Tables load after those they reference.
    let order: Vec<String> = tables
        .iter()
        .map(|t| {
            t["table"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .replace('_', "")
        })
        .collect();
    let at = |n: &str| order.iter().position(|t| t == n).unwrap();
    assert!(
        at("artist") < at("album") && at("album") < at("track"),
        "{order:?}"
    );
    assert!(
        at("invoice") < at("invoiceline") && at("track") < at("invoiceline"),
        "{order:?}"
    );
    let track = track_names(from_kind);
    assert_eq!(
        to.count(&format!("SELECT count(*) FROM {}", quote(to_kind, track.0))),
        3503
    );
    // Values compared one by one: names with accents and quotes, NULL composers, prices,
    // time stamps, NULL states.
    assert_eq!(
        sample(&from, from_kind, track, "1, 2, 1000, 2820, 3503"),
        sample(&to, from_kind, track, "1, 2, 1000, 2820, 3503")
    );
    let invoice = invoice_names(from_kind);
    assert_eq!(
        sample(&from, from_kind, invoice, "1, 98, 412"),
        sample(&to, from_kind, invoice, "1, 98, 412")
    );
    // Keys were added after the load: a row breaking one is refused.
    let fk_child = if from_kind == Kind::Postgres {
        ("album", "album_id, title, artist_id")
    } else {
        ("Album", "AlbumId, Title, ArtistId")
    };
    let bad = format!(
        "INSERT INTO {} ({}) VALUES (9999, 'x', 99999)",
        quote(to_kind, fk_child.0),
        quote(to_kind, fk_child.1)
    );
    if to_kind != Kind::Sqlite {
        assert!(
            to.connect().execute(&bad).is_err(),
            "foreign key missing on {to_kind:?}"
        );
    }
    // And primary keys (on PostgreSQL built after the load, beside the next table's).
    let again = format!(
        "INSERT INTO {} ({}) VALUES (1, 'again', 1)",
        quote(to_kind, fk_child.0),
        quote(to_kind, fk_child.1)
    );
    assert!(
        to.connect().execute(&again).is_err(),
        "primary key missing on {to_kind:?}"
    );
}

#[test]
fn chinook_sqlite_into_postgres() {
    chinook_into(Kind::Sqlite, Kind::Postgres)
}

#[test]
fn chinook_sqlite_into_mysql() {
    chinook_into(Kind::Sqlite, Kind::MySql)
}

#[test]
fn chinook_postgres_into_sqlite() {
    chinook_into(Kind::Postgres, Kind::Sqlite)
}

#[test]
fn chinook_postgres_into_mysql() {
    chinook_into(Kind::Postgres, Kind::MySql)
}

#[test]
fn chinook_mysql_into_postgres() {
    chinook_into(Kind::MySql, Kind::Postgres)
}

#[test]
fn chinook_mysql_into_sqlite() {
    chinook_into(Kind::MySql, Kind::Sqlite)
}

/// Tables in `db` besides none: what a refused transfer must leave.
fn table_count(db: &TestDb) -> i64 {
    db.count(&match db.kind {
        Kind::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'table'".to_string(),
        Kind::Postgres => {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'".into()
        }
        Kind::MySql => {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()".into()
        }
    })
}

#[test]
fn a_type_with_no_equal_is_refused_by_name_and_nothing_changes() {
    let from = TestDb::new(Kind::MySql);
    let e = from.connect();
    let mut e = e;
    e.execute("CREATE TABLE shapes (id INT PRIMARY KEY, outline GEOMETRY, flags BIT(3))")
        .unwrap();
    e.execute("CREATE TABLE plain (id INT PRIMARY KEY)")
        .unwrap();
    let to = TestDb::new(Kind::Postgres);
    let (out, _) = transfer_json(&from, &to, &["--create-tables"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("shapes.outline has type geometry"), "{err}");
    assert!(err.contains("shapes.flags has type bit(3)"), "{err}");
    assert_eq!(table_count(&to), 0, "a refused transfer creates nothing");
}

#[test]
fn postgres_types_carried_into_mysql_and_sqlite() {
    let from = TestDb::new(Kind::Postgres);
    let mut e = from.connect();
    e.execute(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE things (
           id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
           ok boolean, picture bytea, at timestamptz, born date, uid uuid, doc jsonb,
           price numeric(12,3), ratio double precision, feeling mood, tags text[], code char(5),
           note text);
         INSERT INTO things (ok, picture, at, born, uid, doc, price, ratio, feeling, tags, code, note) VALUES
           (true, '\\x00ff41', '2024-03-01 12:30:00+02', '1999-12-31', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '{\"a\": [1, 2]}', 12.345, 0.1, 'happy', '{x,\"y z\"}', 'ab', E'tab\\tnew\\nline back\\\\slash ''quote'''),
           (false, NULL, NULL, NULL, NULL, NULL, -0.001, NULL, NULL, NULL, NULL, NULL);",
    )
    .unwrap();
    for kind in [Kind::MySql, Kind::Sqlite] {
        let to = TestDb::new(kind);
        let (out, report) = transfer_json(&from, &to, &["--create-tables"]);
        assert!(
            out.status.success(),
            "{kind:?}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(report["reconciled"], true, "{report:#}");
        let notes = report["notes"].to_string();
        assert!(
            notes.contains("things.tags (text[]) is carried as its text form"),
            "{notes}"
        );
        let q = |sql: &str| to.connect().query(sql).unwrap();
        let row = &q("SELECT ok, at, feeling, tags, code, note, price FROM things WHERE id = 1")[0];
        assert_eq!(row[0].as_deref(), Some("1"), "{kind:?}");
        assert!(
            row[1]
                .as_deref()
                .unwrap()
                .starts_with("2024-03-01 10:30:00"),
            "{kind:?}: UTC {row:?}"
        );
        assert_eq!(row[2].as_deref(), Some("happy"));
        assert_eq!(row[3].as_deref(), Some("{x,\"y z\"}"));
        assert_eq!(row[4].as_deref().map(str::trim_end), Some("ab"));
        assert_eq!(
            row[5].as_deref(),
            Some("tab\tnew\nline back\\slash 'quote'")
        );
        assert_eq!(
            row[6].as_deref().map(|p| p.parse::<f64>().unwrap()),
            Some(12.345)
        );
        let hex = match kind {
            Kind::MySql => "SELECT hex(picture) FROM things WHERE id = 1",
            _ => "SELECT hex(picture) FROM things WHERE id = 1",
        };
        assert_eq!(q(hex)[0][0].as_deref(), Some("00FF41"));
    }
}

#[test]
fn dry_run_plans_and_changes_nothing() {
    let from = TestDb::new(Kind::Sqlite);
    load_chinook(&from);
    let to = TestDb::new(Kind::Postgres);
    let (out, report) = transfer_json(&from, &to, &["--create-tables", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["dry_run"], true);
    let track = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "Track")
        .expect("Track planned");
    assert_eq!(track["source_rows"], 3503);
    assert!(
        track["plan"]["create"]
            .as_str()
            .unwrap()
            .contains("CREATE TABLE"),
        "{track}"
    );
    assert_eq!(table_count(&to), 0);
}

#[test]
fn tables_that_hold_rows_are_refused() {
    let from = TestDb::new(Kind::Sqlite);
    load_chinook(&from);
    let to = TestDb::new(Kind::MySql);
    to.connect()
        .execute("CREATE TABLE `Genre` (`GenreId` INT PRIMARY KEY, `Name` VARCHAR(120))")
        .unwrap();
    to.connect()
        .execute("INSERT INTO `Genre` VALUES (1, 'Rock')")
        .unwrap();
    let (out, _) = transfer_json(&from, &to, &["--tables", "Genre"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Genre already hold rows"),
        "{}",
        stderr(&out)
    );
    assert_eq!(to.count("SELECT count(*) FROM `Genre`"), 1);
    assert_eq!(table_count(&to), 1, "no checkpoint table either");
    // An unknown table is named.
    let (out, _) = transfer_json(&from, &to, &["--tables", "Genre,Nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no table Nope"), "{}", stderr(&out));
}

/// A SQLite source of `n` parents and `2n` children, generated in SQL.
fn generated_source(n: u64) -> TestDb {
    let from = TestDb::new(Kind::Sqlite);
    let mut e = from.connect();
    let series = |n: u64| {
        format!("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})")
    };
    for sql in [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC(12,2), at DATETIME)".to_string(),
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id), note TEXT)".into(),
        format!(
            "{} INSERT INTO parent SELECT i, 'name ' || i || ' é''\\', (i % 1000) / 100.0, \
             CASE WHEN i % 7 = 0 THEN NULL ELSE datetime(1700000000 + i, 'unixepoch') END FROM s",
            series(n)
        ),
        format!(
            "{} INSERT INTO child SELECT i, (i + 1) / 2, CASE WHEN i % 3 = 0 THEN NULL ELSE 'c' || i END FROM s",
            series(2 * n)
        ),
    ] {
        e.execute(&sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
    from
}

/// Every row of both tables in key order, as text.
fn contents(db: &TestDb) -> Vec<Vec<Option<String>>> {
    let mut e = db.connect();
    let mut rows = e
        .query("SELECT id, name, amount, at FROM parent ORDER BY id")
        .unwrap();
    rows.extend(
        e.query("SELECT id, parent_id, note FROM child ORDER BY id")
            .unwrap(),
    );
    rows
}

/// Start a transfer, and SIGKILL it once it has loaded a little; returns the run id.
fn start_and_kill(
    from: &TestDb,
    to: &TestDb,
    resume: Option<&str>,
    after_ms: u64,
) -> Option<String> {
    use std::io::BufRead;
    let bin = assert_cmd::cargo::cargo_bin("cutover");
    let mut cmd = Command::new(bin);
    cmd.current_dir(from.path())
        .env("NO_COLOR", "1")
        .args([
            "--json",
            "transfer",
            "--from",
            &from.url,
            "--to",
            &to.url,
            "--create-tables",
            "--batch",
            "500",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(run) = resume {
        cmd.args(["--resume", run]);
    }
    let mut child = cmd.spawn().expect("cutover starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut run = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && v["event"] == "transfer_started"
        {
            run = v["data"]["run"].as_str().map(str::to_string);
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(after_ms));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // Drain what was printed, so the pipe does not hold the child.
    for _ in lines {}
    run
}

fn killed_and_resumed_equals_uninterrupted(kind: Kind) {
    let from = generated_source(20_000);
    let clean = TestDb::new(kind);
    let (out, report) = transfer_json(&from, &clean, &["--create-tables", "--batch", "500"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["reconciled"], true);

    let to = TestDb::new(kind);
    // Random points: a few kills spread over the load, from a seed the failure prints.
    let seed = uuid::Uuid::new_v4().as_u128() as u64;
    let mut run: Option<String> = None;
    for round in 0..3u64 {
        let after = 100 + (seed >> (round * 10)) % 900;
        let started = start_and_kill(&from, &to, run.as_deref(), after);
        run = run.or(started);
    }
    let run = run.expect("the run id was printed");
    let (out, report) = transfer_json(
        &from,
        &to,
        &["--create-tables", "--batch", "500", "--resume", &run],
    );
    assert!(
        out.status.success(),
        "seed {seed}: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(report["reconciled"], true, "seed {seed}: {report:#}");
    assert_eq!(report["run"], run.as_str());
    // The kills landed inside the load: the last attempt loaded only what was left.
    let loaded: u64 = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["loaded"].as_u64().unwrap())
        .sum();
    assert!(
        loaded < 60_000,
        "seed {seed}: the kills came after the load ({loaded} rows loaded at the end)"
    );
    eprintln!(
        "seed {seed}: {} rows were left for the last attempt",
        loaded
    );
    assert_eq!(
        to.count("SELECT count(*) FROM parent"),
        20_000,
        "seed {seed}"
    );
    assert_eq!(
        to.count("SELECT count(*) FROM child"),
        40_000,
        "seed {seed}"
    );
    assert!(
        contents(&to) == contents(&clean),
        "seed {seed}: the resumed load differs from the uninterrupted one"
    );
}

per_engine!(killed_and_resumed_equals_uninterrupted);

/// Rows whose parent is missing stop the load when the created table's foreign key is added
/// (MariaDB adds it unchecked and then counts the orphans itself; SQLite loads with its keys
/// off and checks after), naming the table.
fn a_child_without_its_parent_is_named(kind: Kind) {
    let from = generated_source(50);
    let mut e = from.connect();
    e.execute("PRAGMA foreign_keys = OFF").unwrap();
    e.execute("DELETE FROM parent WHERE id = 3").unwrap();
    let to = TestDb::new(kind);
    let (out, _) = transfer_json(&from, &to, &["--create-tables"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("foreign key") && err.contains("child"),
        "{err}"
    );
    if kind != Kind::Postgres {
        // The two children of parent 3 (ids 5 and 6), counted or listed.
        assert!(err.contains("2 row(s)") || err.contains("row 5 "), "{err}");
    }
}
per_engine!(a_child_without_its_parent_is_named);

/// The LMS example's legacy database, made by its script with the sqlite3 client.
fn legacy_source() -> TestDb {
    let from = TestDb::new(Kind::Sqlite);
    let script = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/legacy/legacy.sql"),
    )
    .expect("legacy.sql");
    let mut cmd = Command::new("sqlite3");
    cmd.arg(from.url.strip_prefix("sqlite://").unwrap());
    client(cmd, &script);
    from
}

/// The LMS schema on `kind`, by its migrations; the mapping copied beside the test.
fn lms_target(kind: Kind) -> (TestDb, PathBuf) {
    let to = TestDb::new(kind);
    let out = to
        .cutover()
        .arg("--migrations")
        .arg(lms_migrations())
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mapping = to.path().join("mapping.toml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/legacy/mapping.toml"),
        &mapping,
    )
    .unwrap();
    (to, mapping)
}

fn table_report<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

fn lms_legacy_mapping(kind: Kind) {
    let from = legacy_source();
    let (to, mapping) = lms_target(kind);
    let map = mapping.to_str().unwrap();
    let (out, report) = transfer_json(&from, &to, &["--mapping", map]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(report["reconciled"], true, "{report:#}");
    // Loaded in the order the lookups need.
    let order: Vec<&str> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["instructors", "students", "courses", "enrollments"]);
    let students = table_report(&report, "students");
    assert_eq!(
        (
            students["read"].as_u64(),
            students["loaded"].as_u64(),
            students["duplicates"].as_u64()
        ),
        (Some(6), Some(5), Some(1)),
        "{students}"
    );
    let enrollments = table_report(&report, "enrollments");
    assert_eq!(
        (
            enrollments["loaded"].as_u64(),
            enrollments["rejected"].as_u64()
        ),
        (Some(4), Some(1)),
        "{enrollments}"
    );
    let rejects =
        std::fs::read_to_string(to.path().join("enrollments.rejects.jsonl")).expect("reject file");
    assert!(
        rejects.contains("lookup students.email = 'gone@example.com' found nothing"),
        "{rejects}"
    );
    assert_eq!(rejects.lines().count(), 1);

    let one = |sql: &str| to.scalar(sql).unwrap_or_else(|| panic!("{sql}: no value"));
    assert_eq!(
        one("SELECT email FROM students WHERE id = 1"),
        "ann.lee@example.com"
    );
    assert_eq!(
        one("SELECT full_name FROM students WHERE id = 1"),
        "Ann Lee"
    );
    assert_eq!(one("SELECT phone FROM students WHERE id = 3"), "555-0103");
    assert_eq!(
        one("SELECT count(*) FROM students WHERE id = 4 OR id = 5"),
        "0"
    );
    assert_eq!(one("SELECT code FROM courses WHERE id = 1001"), "CS110");
    assert_eq!(
        one("SELECT fee FROM courses WHERE id = 1002")
            .parse::<f64>()
            .unwrap(),
        149.5
    );
    assert_eq!(one("SELECT credits FROM courses WHERE id = 1003"), "3");
    assert_eq!(
        one("SELECT instructor_id FROM courses WHERE code = 'MA201'"),
        "1002"
    );
    assert_eq!(
        one("SELECT department FROM instructors WHERE id = 1002"),
        "General"
    );
    assert_eq!(one("SELECT status FROM enrollments WHERE id = 2"), "active");
    assert_eq!(one("SELECT student_id FROM enrollments WHERE id = 1"), "1");
    assert_eq!(one("SELECT count(*) FROM enrollments"), "4");

    // Again: every row is found by its key and skipped; the target is unchanged.
    let (out, report) = transfer_json(&from, &to, &["--mapping", map]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["reconciled"], true, "{report:#}");
    for t in report["tables"].as_array().unwrap() {
        assert_eq!(t["loaded"], 0, "{t}");
    }
    // The duplicate e-mail is found by its key too.
    assert_eq!(table_report(&report, "students")["existing"], 6);
    assert_eq!(one("SELECT count(*) FROM students"), "5");
    assert_eq!(one("SELECT count(*) FROM enrollments"), "4");
}

per_engine!(lms_legacy_mapping);

#[test]
fn mapping_mistakes_name_their_line_and_change_nothing() {
    let from = legacy_source();
    let (to, mapping) = lms_target(Kind::Sqlite);
    let good = std::fs::read_to_string(&mapping).unwrap();
    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    for (from_text, to_text, says) in [
        (
            "lower(trim(StudEmail))",
            "lower(trim(StudEmai))",
            "Student_LegacyTable has no column `StudEmai`",
        ),
        (
            "full_name = \"trim(Name)\"",
            "fullname = \"trim(Name)\"",
            "instructors has no column `fullname`",
        ),
        (
            "coalesce(Credits, 3)",
            "cast(coalesce(Credits, 3) as date)",
            "cannot be written to SMALLINT",
        ),
        (
            "lookup(courses.title",
            "lookup(course.title",
            "the target has no table `course`",
        ),
        (
            "trim(CourseName))\"\nenrolled_at",
            "trimm(CourseName))\"\nenrolled_at",
            "unknown function `trimm`",
        ),
    ] {
        let bad = good.replacen(from_text, to_text, 1);
        assert_ne!(bad, good, "{from_text}");
        std::fs::write(&mapping, &bad).unwrap();
        let (out, _) = transfer_json(&from, &to, &["--mapping", mapping.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{says}: {err}");
        let line = line_of(&bad, to_text);
        assert!(
            err.contains(&format!("mapping.toml:{line}:")),
            "line {line}: {err}"
        );
    }
    assert_eq!(
        to.count("SELECT count(*) FROM students"),
        0,
        "nothing was loaded"
    );
    assert_eq!(
        to.count("SELECT count(*) FROM sqlite_master WHERE name = 'cutover_transfer'"),
        0
    );
}

#[test]
fn check_only_reports_the_duplicate_the_orphan_and_the_bad_email() {
    let from = legacy_source();
    let (to, mapping) = lms_target(Kind::Postgres);
    let map = mapping.to_str().unwrap();
    let html = to.path().join("checks.html");
    let (out, report) = transfer_json(
        &from,
        &to,
        &[
            "--mapping",
            map,
            "--check-only",
            "--report",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings only: {}",
        stderr(&out)
    );
    let checks = report["checks"].as_array().expect("checks");
    let check = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {report:#}"))
    };
    let dup = check("transfer.students.duplicates");
    assert_eq!(dup["status"], "warn");
    assert!(
        dup["evidence"]["rows"][0][0]
            .as_str()
            .unwrap()
            .contains("ann.lee@example.com"),
        "{dup}"
    );
    let orphan = check("transfer.enrollments.orphans");
    assert_eq!(orphan["status"], "warn");
    assert_eq!(
        orphan["evidence"]["rows"][0][1], "gone@example.com",
        "{orphan}"
    );
    assert_eq!(
        check("transfer.students.pattern")["evidence"]["rows"][0][1],
        "frank example.com"
    );
    assert_eq!(check("transfer.courses.orphans")["status"], "pass");
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("transfer.enrollments.orphans")
    );
    assert_eq!(
        to.count("SELECT count(*) FROM students"),
        0,
        "--check-only loads nothing"
    );

    // Without the thresholds the checks fail, and the load does not start.
    let strict = std::fs::read_to_string(&mapping)
        .unwrap()
        .replace("orphans = 1", "orphans = 0");
    std::fs::write(&mapping, strict).unwrap();
    let out = cutover_cmd(to.path())
        .args([
            "transfer",
            "--from",
            &from.url,
            "--to",
            &to.url,
            "--mapping",
            map,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL") && text.contains("transfer.enrollments.orphans"),
        "{text}"
    );
    assert_eq!(
        to.count("SELECT count(*) FROM students"),
        0,
        "a failing check stops the load"
    );
}

/// A `test` environment for the LMS with the legacy data as its transfer phase.
fn lms_deploy_env(to: &TestDb, from: &TestDb, mapping: &std::path::Path) {
    let config = format!(
        r#"
[environments.test]
url = "{url}"
migrations = "{migrations}"

[environments.test.backup]
required = true
verify = "checksum"
dir = "backups"

[environments.test.transfer]
from = "{from}"
mapping = "{mapping}"
"#,
        url = to.url,
        migrations = lms_migrations().display(),
        from = from.url,
        mapping = mapping.display()
    );
    write_files(to.path(), &[("cutover.toml", &config)]);
}

fn lms_transfer_as_a_deploy_phase(kind: Kind) {
    let from = legacy_source();
    let to = TestDb::new(kind);
    let mapping = to.path().join("mapping.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/legacy/mapping.toml"),
    )
    .unwrap();
    std::fs::write(&mapping, &text).unwrap();
    lms_deploy_env(&to, &from, &mapping);
    let out = cutover_cmd(to.path())
        .args(["--env", "test", "--json", "deploy", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let text_out = stdout(&out);
    assert!(text_out.contains("\"transfer\""), "{text_out}");
    assert_eq!(to.count("SELECT count(*) FROM students"), 5);
    assert_eq!(to.count("SELECT count(*) FROM enrollments"), 4);

    // A transfer that fails (its checks, strict now) is rolled back with the deploy.
    let to = TestDb::new(kind);
    std::fs::write(&mapping, text.replace("orphans = 1", "orphans = 0")).unwrap();
    lms_deploy_env(&to, &from, &mapping);
    let out = cutover_cmd(to.path())
        .args(["--env", "test", "deploy", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(11),
        "rolled back: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("quality check(s) failed"), "{all}");
    assert!(
        !to.has_table("students"),
        "the migrations were undone with the transfer"
    );
}

per_engine!(lms_transfer_as_a_deploy_phase);

/// sakila (MariaDB's, from the corpus) loaded into `db`.
fn load_sakila(db: &TestDb) {
    let dir = corpora().join("sample-databases/sakila-mysql");
    for file in ["sakila-mv-schema.sql", "sakila-mv-data.sql"] {
        // The scripts make and enter their own database; the test's stands in for it.
        let text = std::fs::read_to_string(dir.join(file))
            .expect("sakila script")
            .replace("DROP SCHEMA IF EXISTS sakila;", "")
            .replace("CREATE SCHEMA sakila;", "")
            .replace("USE sakila;", "")
            .replace("sakila.", "");
        let mut cmd = Command::new("mariadb");
        cmd.args(["-h", "127.0.0.1", "-u", "root", &db.name]);
        client(cmd, &text);
    }
}

fn sakila_into(kind: Kind) {
    let from = TestDb::new(Kind::MySql);
    load_sakila(&from);
    let to = TestDb::new(kind);
    // MariaDB leaves out sakila's MySQL-only GEOMETRY column (a versioned comment): every
    // table carries, with its enums, sets, years, blobs, unsigned integers and time stamps.
    let (out, report) = transfer_json(&from, &to, &["--create-tables"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(report["reconciled"], true, "{report:#}");
    assert_eq!(report["tables"].as_array().unwrap().len(), 16, "{report:#}");
    assert_eq!(to.count("SELECT count(*) FROM rental"), 16044);
    assert_eq!(to.count("SELECT count(*) FROM film"), 1000);
    assert_eq!(to.count("SELECT count(*) FROM film_actor"), 5462);
    let q = |sql: &str| to.scalar(sql).unwrap_or_default();
    assert_eq!(q("SELECT rating FROM film WHERE film_id = 1"), "PG");
    assert_eq!(
        q("SELECT special_features FROM film WHERE film_id = 1"),
        "Deleted Scenes,Behind the Scenes"
    );
    assert_eq!(q("SELECT release_year FROM film WHERE film_id = 1"), "2006");
}

#[test]
fn sakila_mysql_into_postgres() {
    sakila_into(Kind::Postgres)
}

#[test]
fn sakila_mysql_into_sqlite() {
    sakila_into(Kind::Sqlite)
}

#[test]
fn pagila_into_mysql() {
    let from = TestDb::new(Kind::Postgres);
    let dir = corpora().join("sample-databases/pagila");
    for file in ["pagila-schema.sql", "pagila-data.sql"] {
        let mut cmd = Command::new("psql");
        cmd.args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &from.url]);
        client(
            cmd,
            &std::fs::read_to_string(dir.join(file)).expect("pagila script"),
        );
    }
    let to = TestDb::new(Kind::MySql);
    let (out, report) = transfer_json(&from, &to, &["--create-tables"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(report["reconciled"], true, "{report:#}");
    let notes = report["notes"].to_string();
    // Partitions come with their parent; PostgreSQL's own types as their text.
    assert!(notes.contains("payment_p2022_01 is a partition"), "{notes}");
    assert!(
        notes.contains("film.fulltext (tsvector) is carried as its text form"),
        "{notes}"
    );
    assert!(!to.has_table("payment_p2022_01"));
    assert_eq!(to.count("SELECT count(*) FROM payment"), 16049);
    let q = |sql: &str| to.scalar(sql).unwrap_or_default();
    assert_eq!(q("SELECT rating FROM film WHERE film_id = 1"), "PG");
    assert_eq!(
        q("SELECT special_features FROM film WHERE film_id = 1"),
        "{\"Deleted Scenes\",\"Behind the Scenes\"}"
    );
    assert_eq!(
        q("SELECT activebool FROM customer WHERE customer_id = 1"),
        "1"
    );
}
