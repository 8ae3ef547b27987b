//! The command line as a user meets it: init, new, help, completions, configuration
//! errors, and snapshots of real output.

use crate::common::*;

/// `init` then `new` then `migrate`: the quick start, on the embedded SQLite default.
#[test]
fn init_new_migrate_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = cutover_cmd(dir.path()).arg("init").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("cutover.toml").is_file());
    assert!(dir.path().join("migrations").is_dir());

    let out = cutover_cmd(dir.path())
        .args(["new", "Create Students"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let up = names
        .iter()
        .find(|n| n.ends_with("_create_students.up.sql"))
        .expect("up file");
    assert_eq!(up.len(), "20261121000000_create_students.up.sql".len());
    std::fs::write(
        dir.path().join("migrations").join(up),
        "CREATE TABLE students (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    cutover_cmd(dir.path())
        .args(["new", "add_email", "--no-down"])
        .assert()
        .success();

    let out = cutover_cmd(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("applied 2 migration(s)"),
        "{}",
        stdout(&out)
    );
    assert!(dir.path().join("cutover-dev.db").is_file());

    let again = cutover_cmd(dir.path()).arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = cutover_cmd(std::path::Path::new("."))
        .arg("--help")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("Examples:") && text.contains("cutover migrate"),
        "{text}"
    );
    assert!(
        text.contains("Exit codes:") && text.contains("6  timed out"),
        "{text}"
    );
    let out = cutover_cmd(std::path::Path::new("."))
        .args(["rollback", "--help"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("--steps"), "{}", stdout(&out));
}

#[test]
fn global_flags_after_the_command() {
    let db = TestDb::new(Kind::Sqlite);
    let m = lms_migrations();
    cutover_cmd(db.path())
        .arg("migrate")
        .arg("--url")
        .arg(&db.url)
        .arg("--migrations")
        .arg(&m)
        .arg("-q")
        .assert()
        .success()
        .stdout("");
    assert_eq!(db.history().len(), 8);
}

#[test]
fn database_url_from_environment() {
    let db = TestDb::new(Kind::Sqlite);
    let m = lms_migrations();
    cutover_cmd(db.path())
        .env("DATABASE_URL", &db.url)
        .arg("--migrations")
        .arg(&m)
        .arg("migrate")
        .assert()
        .success();
    assert_eq!(db.history().len(), 8);
}

#[test]
fn completions_for_bash() {
    let out = cutover_cmd(std::path::Path::new("."))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("_cutover()"), "{}", stdout(&out));
}

#[test]
fn config_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "cutover.toml",
            "[environments.dev]\nurl = \"sqlite://x.db\"\nmigratons = \"m\"\n",
        )],
    );
    let out = cutover_cmd(dir.path()).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cutover.toml: line 3"), "{err}");
    assert!(err.contains("migratons"), "{err}");
    assert!(!dir.path().join("x.db").exists());

    write_files(
        dir.path(),
        &[(
            "cutover.toml",
            "[environments.prod]\nurl = \"${CUTOVER_TEST_NOT_SET}\"\n",
        )],
    );
    let out = cutover_cmd(dir.path())
        .args(["--env", "prod", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "environments.prod.url: environment variable CUTOVER_TEST_NOT_SET is not set"
        ),
        "{}",
        stderr(&out)
    );

    let out = cutover_cmd(dir.path())
        .args(["--env", "staging", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no environment `staging`"),
        "{}",
        stderr(&out)
    );

    let out = cutover_cmd(dir.path())
        .args(["--url", "oracle://x/y", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown scheme `oracle`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explicit_env_wins_over_stray_database_url() {
    let db = TestDb::new(Kind::Sqlite);
    let other = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            (
                "cutover.toml",
                &format!("[environments.prod]\nurl = \"{}\"\n", db.url),
            ),
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
        ],
    );
    cutover_cmd(db.path())
        .env("DATABASE_URL", &other.url)
        .args(["--env", "prod", "migrate"])
        .assert()
        .success();
    assert!(db.has_table("a"));
    assert!(!other.path().join("test.db").exists());
}

/// Real `status` output, with times and paths replaced.
#[test]
fn status_output_snapshot() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            ("migrations/1_create_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("migrations/1_create_a.down.sql", "DROP TABLE a;\n"),
            ("migrations/2_create_b.up.sql", "CREATE TABLE b (id INT);\n"),
            (
                "migrations/10_create_c.up.sql",
                "CREATE TABLE c (id INT);\n",
            ),
        ],
    );
    db.cutover()
        .args(["migrate", "--to", "2"])
        .assert()
        .success();
    let out = db.cutover().arg("status").output().unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    settings.add_filter(r"sqlite://\S+", "sqlite://[DB]");
    settings.add_filter(r"sqlite 3\.\d+\.\d+", "sqlite [VERSION]");
    settings.add_filter(r"\s+\d+ ms", " [MS]");
    settings.add_filter(r"· migrations", "· [DIR]");
    settings.bind(|| {
        insta::assert_snapshot!(stdout(&out), @r"
        sqlite://[DB] · sqlite [VERSION] · layout native · [DIR]
        VERSION  STATE      APPLIED AT                    DURATION  NAME
        1        applied    [TIME] [MS]  create_a
        2        applied    [TIME] [MS]  create_b
        10       pending    -                                    -  create_c

        2 applied, 1 pending
        ");
    });
}

/// Real output of a failing migration: stdout, stderr and the exit code, with the run id,
/// times and the temporary folder replaced.
#[test]
fn failing_migration_output_snapshot() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            ("migrations/1_create_a.up.sql", "CREATE TABLE a (id INT);\n"),
            (
                "migrations/2_fill_a.up.sql",
                "-- fill a\nINSERT INTO a VALUES (1);\nINSERT INTO missing_table VALUES (2);\n",
            ),
        ],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    let text = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\(\d+ ms\)", "([MS])");
    settings.bind(|| {
        insta::assert_snapshot!(text, @r"
        exit: Some(4)
        --- stdout
        --- stderr
          done 1 ([MS])
        error: migration 2 (fill_a) failed at migrations/2_fill_a.up.sql:3 (statement 2 of 2): no such table: missing_table

        hint: nothing of this migration was kept: fix the script and run the command again
        ");
    });
}
