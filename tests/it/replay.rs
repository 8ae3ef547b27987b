//! `cutover plan --sql DIR`: each pending up script written for the engine's own client, and
//! replayed through that client (`psql`, `mariadb`, `sqlite3`) to the schema `cutover
//! migrate` builds. `bench/replay.sh` does the same for every history in the corpora; what
//! it found is pinned here.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// goose files whose statement blocks hold semicolons the client would split at.
fn goose_files(kind: Kind) -> Vec<(&'static str, &'static str)> {
    let block = match kind {
        // Two statements in one block: psql would send them apart, goose sends them together.
        Kind::Postgres => {
            "-- +goose StatementBegin\nCREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.title := lower(NEW.title);\n  RETURN NEW;\nEND;\n$$;\n-- +goose StatementEnd\n\
             -- +goose StatementBegin\nCREATE TABLE audit (id int PRIMARY KEY); COMMENT ON TABLE audit IS 'one; block';\n-- +goose StatementEnd\n"
        }
        Kind::MySql => {
            "-- +goose StatementBegin\nCREATE PROCEDURE post_count(IN uid int, OUT n int)\nBEGIN\n  SELECT count(*) INTO n FROM posts WHERE user_id = uid;\nEND;\n-- +goose StatementEnd\n\
             -- +goose StatementBegin\nCREATE TABLE audit (id int PRIMARY KEY);\n-- +goose StatementEnd\n"
        }
        Kind::Sqlite => {
            "-- +goose StatementBegin\nCREATE TRIGGER posts_lower AFTER INSERT ON posts BEGIN\n  UPDATE posts SET title = lower(title) WHERE id = NEW.id;\nEND;\n-- +goose StatementEnd\n\
             -- +goose StatementBegin\nCREATE TABLE audit (id int PRIMARY KEY);\n-- +goose StatementEnd\n"
        }
    };
    vec![
        (
            "migrations/001_create_users.sql",
            "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL);\nINSERT INTO users VALUES (1, 'a;b@example.com');\n\n-- +goose Down\nDROP TABLE users;\n",
        ),
        (
            "migrations/002_create_posts.sql",
            "-- +goose Up\nCREATE TABLE posts (id int PRIMARY KEY, user_id int NOT NULL, title varchar(100));\n\n-- +goose Down\nDROP TABLE posts;\n",
        ),
        (
            "migrations/003_routines.sql",
            Box::leak(
                format!("-- +goose Up\n{block}\n-- +goose Down\nDROP TABLE audit;\n")
                    .into_boxed_str(),
            ),
        ),
    ]
}

/// The routine the third migration creates, counted in `db`.
fn routines(db: &TestDb) -> i64 {
    db.count(match db.kind {
        Kind::Postgres => "SELECT count(*) FROM pg_proc WHERE proname = 'touch'",
        Kind::MySql => {
            "SELECT count(*) FROM information_schema.routines WHERE routine_schema = DATABASE() AND routine_name = 'post_count'"
        }
        Kind::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'",
    })
}

/// Run each file of `dir`, in name order, through the engine's own client, as a DBA would.
fn replay_natively(db: &TestDb, dir: &Path) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let out = match db.kind {
            Kind::Postgres => Command::new("psql")
                .args([
                    "-X",
                    "-q",
                    "-1",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    &db.url,
                    "-f",
                ])
                .arg(&file)
                .output(),
            Kind::MySql => {
                let (server, name) = db.url["mysql://".len()..].split_once('/').unwrap();
                let (user, host) = server.split_once('@').unwrap();
                let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
                Command::new("mariadb")
                    .args(["-h", host, "-P", port, "-u", user, name])
                    .stdin(std::fs::File::open(&file).unwrap())
                    .output()
            }
            Kind::Sqlite => Command::new("sqlite3")
                .arg("-bail")
                .arg(db.path().join("test.db"))
                .stdin(std::fs::File::open(&file).unwrap())
                .output(),
        }
        .expect("the engine's client (psql, mariadb, sqlite3) is installed");
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
    }
}

/// goose statement blocks reach the native client as one statement each (`\gexec` for psql,
/// `DELIMITER` for mariadb), and the client builds the schema `cutover migrate` builds.
fn plan_sql_replays_through_the_native_client(kind: Kind) {
    let cutover_side = TestDb::new(kind);
    let native_side = TestDb::new(kind);
    write_files(native_side.path(), &goose_files(kind));
    write_files(cutover_side.path(), &goose_files(kind));

    let dir = native_side.path().join("release-sql");
    let out = native_side
        .cutover()
        .args(["plan", "--sql", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["sql_files"].as_array().unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            Path::new(f["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "0001_001_create_users.sql",
            "0002_002_create_posts.sql",
            "0003_003_routines.sql"
        ]
    );
    assert_eq!(files[2]["statements"], 2);
    assert_eq!(files[0]["transaction"], kind != Kind::MySql);
    assert!(
        !dir.join("plan.json").exists(),
        "no plan file without --out"
    );

    let routines_file = std::fs::read_to_string(dir.join(&names[2])).unwrap();
    assert!(
        routines_file.starts_with("-- migration 003 (routines) from "),
        "{routines_file}"
    );
    assert!(!routines_file.contains("+goose"), "{routines_file}");
    match kind {
        Kind::Postgres => assert!(
            routines_file.contains(
                "SELECT $cutover0$CREATE TABLE audit (id int PRIMARY KEY); COMMENT ON TABLE audit IS 'one; block'$cutover0$ \\gexec"
            ),
            "{routines_file}"
        ),
        Kind::MySql => assert!(
            routines_file.contains("DELIMITER $$\nCREATE PROCEDURE post_count")
                && routines_file.contains("END\n$$\nDELIMITER ;\n"),
            "{routines_file}"
        ),
        Kind::Sqlite => assert!(
            routines_file.contains("WHERE id = NEW.id;\nEND;\n"),
            "{routines_file}"
        ),
    }
    // The plan reads; it changes nothing in the target.
    assert!(!native_side.has_table("users"));

    replay_natively(&native_side, &dir);
    let out = cutover_side.cutover().arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    assert_eq!(routines(&native_side), 1);
    assert_eq!(routines(&cutover_side), 1);
    let diff = native_side
        .cutover()
        .args(["diff", "--from", &cutover_side.url, "--to", "target"])
        .output()
        .unwrap();
    assert!(diff.status.success(), "{}{}", stdout(&diff), stderr(&diff));
    assert_eq!(
        native_side.scalar("SELECT email FROM users").as_deref(),
        Some("a;b@example.com")
    );
}

per_engine!(plan_sql_replays_through_the_native_client);

/// A Liquibase changeset with `endDelimiter` reaches `mariadb` with its delimiter turned
/// into `DELIMITER` lines, and its rollback is left out.
#[test]
fn plan_sql_liquibase_end_delimiter_on_mariadb() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[(
            "migrations/001.sql",
            "--liquibase formatted sql\n\n--changeset ann:1\nCREATE TABLE t (id int PRIMARY KEY, n int);\n--rollback DROP TABLE t;\n\n\
             --changeset ann:2 endDelimiter://\nCREATE TRIGGER t_n BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.n = 1;\nEND//\n--rollback DROP TRIGGER t_n;\n",
        )],
    );
    let dir = db.path().join("out");
    let out = db
        .cutover()
        .args(["plan", "--sql", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("wrote 2 SQL file(s) to"),
        "{}",
        stdout(&out)
    );
    let second = std::fs::read_to_string(dir.join("0002_001.sql__2__ann.sql")).unwrap();
    assert!(
        second.contains("DELIMITER $$\nCREATE TRIGGER t_n BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.n = 1;\nEND\n$$\nDELIMITER ;\n"),
        "{second}"
    );
    assert!(
        !second.contains("rollback") && !second.contains("changeset"),
        "{second}"
    );
    replay_natively(&db, &dir);
    db.connect()
        .execute("INSERT INTO t (id) VALUES (1)")
        .unwrap();
    assert_eq!(db.scalar("SELECT n FROM t").as_deref(), Some("1"));
}

/// A folder that already holds SQL files is refused (a replay of `*.sql` would run them),
/// and `plan` needs `--out` or `--sql`.
#[test]
fn plan_sql_refuses_a_folder_with_sql_files() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            ("migrations/001_a.sql", "CREATE TABLE a (id int);\n"),
            ("out/0001_old.sql", "DROP TABLE a;\n"),
        ],
    );
    let out = db
        .cutover()
        .args(["plan", "--sql", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("out already holds .sql files"),
        "{}",
        stderr(&out)
    );
    let out = db.cutover().arg("plan").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--out"), "{}", stderr(&out));
}

/// Found by bench/replay.sh: sqlx's handshake asks for `CLIENT_IGNORE_SPACE`, which put
/// `IGNORE_SPACE` in the session's sql_mode. Function names became reserved words, so
/// `CREATE TABLE count (…)`, which the mariadb client and the other tools' drivers run,
/// failed; and every trigger recorded the mode. The session now has the server's mode.
#[test]
fn mariadb_session_sql_mode_is_the_clients() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[(
            "migrations/001_counts.sql",
            "CREATE TABLE count (id int PRIMARY KEY, n int);\n\
             CREATE TRIGGER count_n BEFORE INSERT ON count FOR EACH ROW SET NEW.n = 0;\n",
        )],
    );
    let out = db.cutover().arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = db
        .scalar(
            "SELECT sql_mode FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
        )
        .unwrap();
    let global = db.scalar("SELECT @@GLOBAL.sql_mode").unwrap();
    assert_eq!(mode, global);
    assert!(!mode.contains("IGNORE_SPACE"), "{mode}");
}

/// A MySQL script written for the client, with its own `DELIMITER` lines (vmangos writes
/// `delimiter ??` in lower case and `END??`), is written as it was read: the client runs
/// its text as its own tool does.
#[test]
fn plan_sql_keeps_a_scripts_own_delimiter_lines_on_mariadb() {
    let db = TestDb::new(Kind::MySql);
    let script = "DROP PROCEDURE IF EXISTS add_migration;\ndelimiter ??\nCREATE PROCEDURE `add_migration`()\nBEGIN\n  CREATE TABLE IF NOT EXISTS t (id int);\nEND??\ndelimiter ;\nCALL add_migration();\nDROP PROCEDURE IF EXISTS add_migration;\n";
    write_files(db.path(), &[("migrations/20240101000000_t.sql", script)]);
    let dir = db.path().join("out");
    let out = db
        .cutover()
        .args(["plan", "--sql", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(dir.join("0001_20240101000000_t.sql")).unwrap();
    assert!(written.ends_with(script), "{written}");
    assert!(
        written.contains("; 4 statement(s) for mariadb/mysql\n"),
        "{written}"
    );
    replay_natively(&db, &dir);
    assert!(db.has_table("t"));
}
