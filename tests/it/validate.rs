//! `cutover schema`, `diff` and `validate` on every engine: the LMS example's
//! expectations holding and failing, orphans planted with constraint checks switched off,
//! duplicates, drift added by hand, and the report files.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

/// `cutover.toml` for `db` with environment `t` on the LMS migrations and the example's
/// own `[expect]` and `[[checks]]`; `extra` is appended (it must start with a table).
fn lms_project(db: &TestDb, extra: &str) {
    let lms = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms");
    let example = std::fs::read_to_string(lms.join("cutover.toml")).unwrap();
    let checks = &example[example
        .find("\n[expect]")
        .expect("the example has [expect]")..];
    let config = format!(
        "[environments.t]\nurl = \"{}\"\nmigrations = \"{}\"\n\n{checks}\n{extra}",
        db.url,
        lms.join("migrations").display()
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
}

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .args(["--env", "t"])
        .args(args)
        .output()
        .unwrap()
}

/// Migrate the LMS and add two students with an enrollment each.
fn lms_with_data(db: &TestDb, extra: &str) {
    lms_project(db, extra);
    let out = run(db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = db.connect();
    c.execute(
        "INSERT INTO students (id, email, full_name, enrolled_on) VALUES \
         (1, 'ann@lms.example', 'Ann', '2024-01-01'), (2, 'bob@lms.example', 'Bob', '2024-01-02')",
    )
    .unwrap();
    c.execute("INSERT INTO enrollments (id, student_id, course_id) VALUES (1, 1, 1), (2, 2, 2)")
        .unwrap();
}

fn validate_json(db: &TestDb, args: &[&str]) -> (Option<i32>, Value) {
    let out = run(db, &[&["validate", "--json"], args].concat());
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), json)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["status"].as_str().unwrap()
}

/// The example's expectations hold on a freshly migrated LMS, at every level.
fn lms_expectations_hold(kind: Kind) {
    let db = TestDb::new(kind);
    lms_with_data(&db, "");
    let (code, r) = validate_json(&db, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["summary"]["fail"], 0, "{r:#}");
    for id in [
        "connectivity.connect",
        "migrations.pending",
        "schema.min_tables",
        "schema.table.enrollments",
        "schema.foreign_key.enrollments.students",
        "schema.index.enrollments.student_id",
        "integrity.orphans.enrollments.student_id",
        "integrity.unique.students.email",
        "custom.no_orphaned_enrollments",
        "custom.reference_courses_are_present",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {:#}", check(&r, id));
    }
    let (code, basic) = validate_json(&db, &["--level", "basic"]);
    assert_eq!(code, Some(0));
    assert!(basic["checks"].as_array().unwrap().iter().all(|c| {
        let cat = c["category"].as_str().unwrap();
        cat == "connectivity" || cat == "migrations"
    }));
    let (code, full) = validate_json(&db, &["--level", "comprehensive"]);
    assert_eq!(status(&full, "schema.drift"), "pass", "{full:#}");
    assert_eq!(status(&full, "performance.primary_keys"), "pass");
    let largest = &check(&full, "performance.largest_tables")["evidence"]["rows"];
    assert!(
        largest
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r[0] != "cutover_migrations")
    );
    // Superuser / no TLS are warnings on this machine's servers, never failures.
    assert_eq!(code, Some(0), "{full:#}");
}

/// Orphans planted with the engine's checks off, a duplicate where `[expect.unique]`
/// says none may be, and expectations that do not hold: each found, with evidence.
fn violations_are_found(kind: Kind) {
    let db = TestDb::new(kind);
    let extra = "[[expect.unique]]\ntable = \"students\"\ncolumns = [\"full_name\"]\n";
    lms_with_data(&db, extra);
    let mut c = db.connect();
    c.execute("UPDATE students SET full_name = 'Ann' WHERE id = 2")
        .unwrap();
    match kind {
        Kind::Sqlite => c.execute("PRAGMA foreign_keys = OFF").unwrap(),
        Kind::MySql => c.execute("SET FOREIGN_KEY_CHECKS = 0").unwrap(),
        Kind::Postgres => c
            .execute("ALTER TABLE enrollments DROP CONSTRAINT enrollments_student_fk")
            .unwrap(),
    }
    c.execute("INSERT INTO enrollments (id, student_id, course_id) VALUES (3, 99, 1)")
        .unwrap();
    if kind == Kind::Postgres {
        c.execute(
            "ALTER TABLE enrollments ADD CONSTRAINT enrollments_student_fk FOREIGN KEY (student_id) \
             REFERENCES students (id) ON DELETE CASCADE NOT VALID",
        )
        .unwrap();
    }
    drop(c);

    let (code, r) = validate_json(&db, &[]);
    assert_eq!(code, Some(1), "{r:#}");
    let orphans = check(&r, "integrity.orphans.enrollments.student_id");
    assert_eq!(orphans["status"], "fail", "{orphans:#}");
    assert!(
        orphans["message"]
            .as_str()
            .unwrap()
            .contains("1 orphaned row")
    );
    assert_eq!(
        orphans["evidence"]["columns"],
        serde_json::json!(["id", "student_id"])
    );
    assert_eq!(
        orphans["evidence"]["rows"],
        serde_json::json!([["3", "99"]])
    );
    let custom = check(&r, "custom.no_orphaned_enrollments");
    assert_eq!(custom["status"], "fail");
    assert!(
        custom["message"]
            .as_str()
            .unwrap()
            .contains("got 1, expected = 0"),
        "{custom:#}"
    );
    let dup = check(&r, "integrity.unique.students.full_name");
    assert_eq!(dup["status"], "fail", "{dup:#}");
    assert_eq!(dup["evidence"]["rows"], serde_json::json!([["Ann", "2"]]));
    assert_eq!(status(&r, "integrity.unique.students.email"), "pass");
    let fk = status(&r, "schema.foreign_key.enrollments.students");
    let expected = if kind == Kind::Postgres {
        "warn"
    } else {
        "pass"
    };
    assert_eq!(fk, expected, "NOT VALID is a warning");
    // Failures come first.
    assert_eq!(r["checks"][0]["status"], "fail");
}

/// Expectations that do not hold fail with what was found; reports are written in all
/// three formats, and an unknown report extension is refused before anything runs.
fn failing_expectations_and_reports(kind: Kind) {
    let db = TestDb::new(kind);
    let extra = "[environments.t.expect]\nmin_tables = 58\nmin_foreign_keys = 76\n\
                 tables = [\"students\", \"attendance\"]\n\
                 [[environments.t.expect.foreign_keys]]\ntable = \"payments\"\nreferences = \"students\"\non_delete = \"cascade\"\n\
                 [[environments.t.expect.indexes]]\ntable = \"students\"\ncolumns = [\"full_name\"]\n";
    lms_with_data(&db, extra);
    let out = run(&db, &["validate", "--report", "r.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".json, .md or .html"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &db,
        &[
            "validate", "--report", "r.json", "--report", "r.md", "--report", "r.html",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  schema.min_tables  6 tables (expected at least 58)"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  schema.table.attendance  table attendance does not exist"),
        "{text}"
    );
    assert!(
        text.contains("payments (student_id) → students: on delete restrict, expected cascade"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  schema.index.students.full_name"),
        "{text}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(db.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["fail"], 5, "{json:#}");
    let md = std::fs::read_to_string(db.path().join("r.md")).unwrap();
    assert!(md.contains("FAILED"), "{md}");
    let html = std::fs::read_to_string(db.path().join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert!(html.find("schema.min_tables") < html.find("connectivity.connect"));
    assert!(!html.contains("<link") && !html.contains("src="));
}

/// A column added by hand is drift: `diff` lists it and exits 1; `validate
/// --level comprehensive` fails on it.
fn drift_found_by_diff(kind: Kind) {
    let db = TestDb::new(kind);
    lms_with_data(&db, "");
    let out = run(&db, &["diff"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("no differences"));
    db.connect()
        .execute("ALTER TABLE students ADD COLUMN nickname VARCHAR(50)")
        .unwrap();
    let out = run(&db, &["diff"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+ column students.nickname"),
        "{}",
        stdout(&out)
    );
    let out = run(&db, &["diff", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["changes"],
        serde_json::json!([{"kind": "added", "object": "column", "name": "students.nickname"}])
    );
    assert_ne!(json["from_fingerprint"], json["to_fingerprint"]);
    let (code, r) = validate_json(&db, &["--level", "comprehensive"]);
    assert_eq!(code, Some(1));
    let drift = check(&r, "schema.drift");
    assert_eq!(drift["status"], "fail");
    assert_eq!(
        drift["evidence"]["notes"],
        serde_json::json!(["+ column students.nickname"])
    );
    assert_no_scratch_left(&db);
}

/// Scratch databases made for `diff` are gone afterwards.
fn assert_no_scratch_left(db: &TestDb) {
    let sql = match db.kind {
        Kind::Sqlite => return,
        Kind::Postgres => {
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'cutover\\_scratch\\_%'"
        }
        Kind::MySql => {
            "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'cutover\\_scratch\\_%'"
        }
    };
    // Other tests may hold a scratch database at this moment; ours are dropped, so the
    // count is bounded by the tests running concurrently, not growing with each diff.
    assert!(db.count(sql) < 8, "scratch databases are left behind");
}

/// `schema --json` describes the LMS and its fingerprint is stable.
fn schema_model(kind: Kind) {
    let db = TestDb::new(kind);
    lms_with_data(&db, "");
    let read = || -> Value {
        let out = run(&db, &["schema", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let s = read();
    let tables = s["tables"].as_array().unwrap();
    assert_eq!(
        tables.len(),
        6,
        "the history table is not part of the schema"
    );
    let enroll = tables.iter().find(|t| t["name"] == "enrollments").unwrap();
    let cols: Vec<&str> = enroll["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        ["id", "student_id", "course_id", "enrolled_at", "status"]
    );
    let fks = enroll["foreign_keys"].as_array().unwrap();
    assert_eq!(fks.len(), 2);
    assert!(fks.iter().all(|k| k["on_delete"] == "cascade"));
    assert_eq!(
        enroll["uniques"][0]["columns"],
        serde_json::json!(["student_id", "course_id"])
    );
    assert_eq!(enroll["checks"].as_array().unwrap().len(), 1);
    assert_eq!(read()["fingerprint"], s["fingerprint"]);
}

per_engine!(
    lms_expectations_hold,
    violations_are_found,
    failing_expectations_and_reports,
    drift_found_by_diff,
    schema_model
);

/// PostgreSQL: a table PUBLIC may write is a security failure.
#[test]
fn postgres_public_write_is_a_failure() {
    let db = TestDb::new(Kind::Postgres);
    lms_with_data(&db, "");
    db.connect()
        .execute("GRANT INSERT ON students TO PUBLIC")
        .unwrap();
    let (code, r) = validate_json(&db, &[]);
    assert_eq!(code, Some(1));
    let c = check(&r, "security.public_write");
    assert_eq!(c["status"], "fail");
    assert_eq!(
        c["evidence"]["notes"],
        serde_json::json!(["public.students"])
    );
}

/// A bad expectation in the file is one error naming the setting, exit 2, nothing run.
#[test]
fn bad_expectations_name_the_setting() {
    let db = TestDb::new(Kind::Sqlite);
    lms_project(
        &db,
        "[[checks]]\nname = \"x\"\nsql = \"SELECT 1\"\nexpect = \">= lots\"\n",
    );
    let out = run(&db, &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("checks[3].expect: `>= lots` is not a comparison"),
        "{}",
        stderr(&out)
    );
    assert!(!db.path().join("test.db").exists(), "nothing was created");

    lms_project(
        &db,
        "[[expect.foreign_keys]]\ntable = \"a\"\nreferences = \"b\"\non_delete = \"explode\"\n",
    );
    let out = run(&db, &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("line ") && err.contains("`explode` is not a rule"),
        "{err}"
    );
}

/// A failed connection is a failing check in the report, without the password.
#[test]
fn unreachable_target_is_reported_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = cutover_cmd(dir.path())
        .args([
            "--url",
            "postgres://app:hunter2@127.0.0.1:1/app?sslmode=disable",
            "validate",
            "--report",
            "r.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("FAIL  connectivity.connect"), "{text}");
    let report = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(
        !text.contains("hunter2") && !report.contains("hunter2"),
        "{text}\n{report}"
    );
    assert!(report.contains("app:***@127.0.0.1"), "{report}");
}

/// The real output of `validate` on the LMS example (SQLite), times and paths replaced.
#[test]
fn validate_output_snapshot() {
    let db = TestDb::new(Kind::Sqlite);
    lms_with_data(&db, "");
    let mut c = db.connect();
    c.execute("PRAGMA foreign_keys = OFF").unwrap();
    c.execute("INSERT INTO enrollments (id, student_id, course_id) VALUES (3, 99, 1)")
        .unwrap();
    drop(c);
    let out = run(&db, &["validate"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sqlite://\S+", "sqlite://[DB]");
    settings.add_filter(r"3\.\d+\.\d+", "[VERSION]");
    settings.add_filter(r"in \d+ ms", "in [MS]");
    settings.bind(|| {
        insta::assert_snapshot!(stdout(&out), @r"
        sqlite://[DB] · sqlite [VERSION] · level standard
        FAIL  integrity.orphans.enrollments.student_id  enrollments (student_id) → students (id): 1 orphaned row(s)
                id | student_id
                3 | 99
        FAIL  custom.no_orphaned_enrollments  no orphaned enrollments: got 1, expected = 0
                1
        pass  connectivity.connect  connected; server [VERSION]
        pass  migrations.failed  no migration stopped part-way
        pass  migrations.changed  no applied migration was edited
        pass  migrations.missing  every applied migration has its file
        pass  migrations.pending  nothing pending
        pass  schema.introspect  6 tables, 6 foreign keys, 0 views; fingerprint sha256:d7e19ac886b1de516e1b72310a06d6b5
        pass  schema.min_tables  6 tables (expected at least 6)
        pass  schema.min_foreign_keys  6 foreign keys (expected at least 6)
        pass  schema.table.students  table students exists
        pass  schema.table.instructors  table instructors exists
        pass  schema.table.courses  table courses exists
        pass  schema.table.enrollments  table enrollments exists
        pass  schema.table.grades  table grades exists
        pass  schema.table.payments  table payments exists
        pass  schema.foreign_key.enrollments.students  enrollments (student_id) → students on delete cascade
        pass  schema.foreign_key.enrollments.courses  enrollments (course_id) → courses on delete cascade
        pass  schema.foreign_key.grades.enrollments  grades (enrollment_id) → enrollments on delete cascade
        pass  schema.foreign_key.payments.students  payments (student_id) → students on delete restrict
        pass  schema.index.enrollments.student_id  index on enrollments (student_id): unique key
        pass  schema.index.enrollments.course_id  index on enrollments (course_id): enrollments_course_idx
        pass  integrity.orphans.courses.instructor_id  courses (instructor_id) → instructors (id): no orphaned rows
        pass  integrity.orphans.enrollments.course_id  enrollments (course_id) → courses (id): no orphaned rows
        pass  integrity.orphans.grades.enrollment_id  grades (enrollment_id) → enrollments (id): no orphaned rows
        pass  integrity.orphans.payments.course_id  payments (course_id) → courses (id): no orphaned rows
        pass  integrity.orphans.payments.student_id  payments (student_id) → students (id): no orphaned rows
        pass  integrity.unique.students.email  students (email): unique, enforced by a key
        pass  integrity.unique.instructors.email  instructors (email): unique, enforced by a key
        pass  custom.reference_courses_are_present  reference courses are present: got 2
        pass  custom.every_course_has_an_instructor  every course has an instructor: 0 row(s)
        pass  security.public_write  nothing is writable by everyone

        30 passed, 0 warning(s), 2 failed in [MS]
        ");
    });
}

fn schema_json(db: &TestDb) -> Value {
    let out = db.cutover().args(["schema", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// PostgreSQL: non-default schemas, enum types, sequences, identity columns, expression
/// and partial indexes and views are in the model; a change to any shows in `diff`.
#[test]
fn postgres_schemas_enums_sequences_partial_indexes() {
    let db = TestDb::new(Kind::Postgres);
    let mut c = db.connect();
    for sql in [
        "CREATE SCHEMA audit",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE TABLE audit.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, m mood, email text)",
        "CREATE UNIQUE INDEX events_email ON audit.events (lower(email)) WHERE email IS NOT NULL",
        "CREATE SEQUENCE audit.counter START 10 INCREMENT 5",
        "CREATE VIEW audit.recent AS SELECT id FROM audit.events",
    ] {
        c.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let s = schema_json(&db);
    let events = &s["tables"][0];
    assert_eq!(
        (&events["schema"], &events["name"]),
        (&Value::from("audit"), &Value::from("events"))
    );
    assert_eq!(events["columns"][0]["generated"], "identity always");
    assert_eq!(events["columns"][1]["type"], "mood");
    assert_eq!(
        events["indexes"],
        serde_json::json!([{"name": "events_email", "unique": true, "columns": ["lower(email)"],
                            "predicate": "email IS NOT NULL", "method": "btree"}])
    );
    assert_eq!(
        s["enums"],
        serde_json::json!([{"schema": "public", "name": "mood", "values": ["sad", "ok", "happy"]}])
    );
    let seqs: Vec<String> = s["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            format!(
                "{}.{} {} {}",
                q["schema"].as_str().unwrap(),
                q["name"].as_str().unwrap(),
                q["start"].as_str().unwrap(),
                q["increment"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(seqs, ["audit.counter 10 5", "audit.events_id_seq 1 1"]);
    assert_eq!(s["views"][0]["name"], "recent");

    c.execute("ALTER TYPE mood ADD VALUE 'elated'").unwrap();
    let out = db
        .cutover()
        .args(["diff", "--from", &db.url, "--to", "target"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a URL against itself: {}",
        stderr(&out)
    );
    let before = s["fingerprint"].clone();
    assert_ne!(
        schema_json(&db)["fingerprint"],
        before,
        "an enum value changes the fingerprint"
    );
}

/// SQLite: checks, expression and partial indexes and AUTOINCREMENT come from the stored
/// CREATE text.
#[test]
fn sqlite_checks_and_expression_indexes() {
    let db = TestDb::new(Kind::Sqlite);
    let mut c = db.connect();
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT, CHECK (length(email) > 3))")
        .unwrap();
    c.execute("CREATE UNIQUE INDEX t_email ON t (lower(email)) WHERE email IS NOT NULL")
        .unwrap();
    drop(c);
    let t = &schema_json(&db)["tables"][0];
    assert_eq!(t["columns"][0]["generated"], "autoincrement");
    assert_eq!(
        t["checks"],
        serde_json::json!([{"expression": "length(email) > 3"}])
    );
    assert_eq!(
        t["indexes"],
        serde_json::json!([{"name": "t_email", "unique": true, "columns": ["lower(email)"],
                            "predicate": "email IS NOT NULL"}])
    );
}

/// A Prisma-style schema (issue 9, defect 4): camelCase columns whose only indexes are
/// Prisma's `CREATE [UNIQUE] INDEX "Lesson_moduleId_idx" ON "Lesson"("moduleId")`. The
/// model holds the column names unquoted on every engine, so `[expect.indexes]`,
/// `[expect.unique]` and the "foreign key without index" check find those indexes.
fn camel_case_indexes_are_found(kind: Kind) {
    let db = TestDb::new(kind);
    let q = if kind == Kind::MySql { "`" } else { "\"" };
    let sql =
        "CREATE TABLE ^Module^ (^id^ INTEGER NOT NULL PRIMARY KEY, ^courseId^ INTEGER NOT NULL);
CREATE TABLE ^Lesson^ (^id^ INTEGER NOT NULL PRIMARY KEY, ^moduleId^ INTEGER NOT NULL,
  ^sortOrder^ INTEGER NOT NULL, ^slug^ VARCHAR(50) NOT NULL,
  CONSTRAINT ^Lesson_moduleId_fkey^ FOREIGN KEY (^moduleId^) REFERENCES ^Module^ (^id^));
CREATE UNIQUE INDEX ^Lesson_moduleId_sortOrder_key^ ON ^Lesson^ (^moduleId^, ^sortOrder^);
CREATE UNIQUE INDEX ^Lesson_slug_key^ ON ^Lesson^ (^slug^);
CREATE INDEX ^Module_courseId_idx^ ON ^Module^ (^courseId^);
"
        .replace('^', q);
    let config = format!(
        "[environments.t]\nurl = \"{}\"\nmigrations = \"migrations\"\n\n\
         [[expect.indexes]]\ntable = \"Module\"\ncolumns = [\"courseId\"]\n\
         [[expect.indexes]]\ntable = \"Lesson\"\ncolumns = [\"moduleId\"]\n\
         [[expect.unique]]\ntable = \"Lesson\"\ncolumns = [\"moduleId\", \"sortOrder\"]\n\
         [[expect.unique]]\ntable = \"Lesson\"\ncolumns = [\"slug\"]\n",
        db.url
    );
    write_files(
        db.path(),
        &[
            ("cutover.toml", &config),
            ("migrations/20240101000000_init/migration.sql", &sql),
        ],
    );
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let (_, r) = validate_json(&db, &["--level", "comprehensive"]);
    for id in [
        "schema.index.Module.courseId",
        "schema.index.Lesson.moduleId",
        "integrity.unique.Lesson.moduleId_sortOrder",
        "integrity.unique.Lesson.slug",
        "performance.foreign_key_indexes",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {:#}", check(&r, id));
    }
    let unique = check(&r, "integrity.unique.Lesson.slug");
    assert!(
        unique["message"]
            .as_str()
            .unwrap()
            .contains("enforced by a key"),
        "{unique:#}"
    );
    let s = schema_json(&db);
    let lesson = s["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Lesson")
        .unwrap();
    // Engines file unique indexes as indexes or as unique keys; both lists may be absent.
    let list = |key: &str| lesson[key].as_array().cloned().unwrap_or_default();
    let mut columns: Vec<Value> = list("indexes")
        .into_iter()
        .chain(list("uniques"))
        .map(|i| i["columns"].clone())
        .collect();
    columns.sort_by_key(|c| c.to_string());
    assert_eq!(
        columns,
        [
            serde_json::json!(["moduleId", "sortOrder"]),
            serde_json::json!(["slug"])
        ],
        "{lesson:#}"
    );
}

per_engine!(camel_case_indexes_are_found);

/// Issue 10, item 16: a target with no history gets nothing applied on the migrations
/// side, so `diff` shows what is in the target (made by hand), not every migration's
/// table as removed; `validate --level comprehensive` reads drift the same way.
fn diff_with_no_history_applies_nothing(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("migrations/2_b.up.sql", "CREATE TABLE b (id INT);\n"),
        ],
    );
    db.connect()
        .execute("CREATE TABLE legacy (id INT)")
        .unwrap();
    let out = db.cutover().args(["diff", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    assert_eq!(
        json["changes"],
        serde_json::json!([{"kind": "added", "object": "table", "name": "legacy"}]),
        "{json:#}"
    );
    assert!(
        json["from"].as_str().unwrap().contains("none applied"),
        "{json:#}"
    );
    let out = db.cutover().arg("diff").output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("+ table legacy"), "{text}");
    assert!(!text.contains("- table"), "{text}");

    let out = db
        .cutover()
        .args(["validate", "--json", "--level", "comprehensive"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        check(&r, "schema.drift")["evidence"]["notes"],
        serde_json::json!(["+ table legacy"]),
        "{r:#}"
    );
    assert!(!db.has_table("cutover_migrations"), "diff changes nothing");
    assert_no_scratch_left(&db);
}

per_engine!(diff_with_no_history_applies_nothing);
