//! Foreign migration formats through the real binary: goose files (sections, statement
//! blocks, `NO TRANSACTION`, `ENVSUB`, Go migrations), the markers of other tools (read
//! where cutover implements them, refused everywhere else), and entries of the migrations
//! folder that are not regular files.

use std::path::Path;
use std::time::Duration;

use cutover::migrations::{KNOWN_MARKERS, Layout, Support};

use crate::common::*;

/// Runs `cutover <args>` on `db` with its `migrations` folder, failing after 60 s so that a
/// hang is a failure rather than a stuck suite.
fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    db.cutover()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// Whether `column` exists in `table` (SQL that all three engines answer).
fn has_column(db: &TestDb, table: &str, column: &str) -> bool {
    db.connect()
        .query(&format!("SELECT {column} FROM {table} WHERE 1 = 0"))
        .is_ok()
}

const GOOSE_USERS: &str = "\
-- A goose migration, as `goose create users sql` writes it.
-- +goose Up
-- +goose StatementBegin
SELECT 'up SQL query';
-- +goose StatementEnd
CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50));

-- +goose Down
DROP TABLE users;
";

/// Annotations in lower case, as goose also accepts them.
const GOOSE_EMAIL: &str = "\
-- +goose up
ALTER TABLE users ADD COLUMN email VARCHAR(100);
INSERT INTO users (id, name, email) VALUES (1, 'ada', 'ada@example.com');

-- +goose down
ALTER TABLE users DROP COLUMN email;
";

/// A goose history applies its up sections only (before the fix, the down section ran
/// right after the up section and the migration was recorded as applied), `status` names
/// the layout, and `rollback` runs the down sections.
fn goose_up_and_down(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/00001_create_users.sql", GOOSE_USERS),
            ("migrations/00002_add_email.sql", GOOSE_EMAIL),
        ],
    );
    let out = run(&db, &["--json", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        has_column(&db, "users", "email"),
        "the down section ran during migrate on {kind:?}"
    );
    assert_eq!(
        db.scalar("SELECT email FROM users WHERE id = 1").as_deref(),
        Some("ada@example.com")
    );
    let report = json(&out);
    let counts: Vec<u64> = report["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["statements"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [2, 2], "up sections only: {report}");
    assert_eq!(
        db.history(),
        [
            ("00001".to_string(), "applied".to_string()),
            ("00002".to_string(), "applied".to_string())
        ]
    );

    let status = json(&run(&db, &["status", "--json"]));
    assert_eq!(status["layout"], "goose", "{status}");

    let out = run(&db, &["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.has_table("users") && !has_column(&db, "users", "email"));
    let out = run(&db, &["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!db.has_table("users"));
    assert!(db.history().iter().all(|(_, s)| s != "applied"));
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(has_column(&db, "users", "email"));
}

/// A `StatementBegin`/`StatementEnd` block reaches the database as one statement, with its
/// semicolons inside: a PL/pgSQL function on PostgreSQL, a top-level compound `IF` on
/// MariaDB (its client would split it at every `;`), a trigger on SQLite.
fn goose_statement_block(kind: Kind) {
    let db = TestDb::new(kind);
    let (block, check) = match kind {
        Kind::Postgres => (
            "CREATE FUNCTION add_two(x integer) RETURNS integer AS $$\n\
             DECLARE y integer;\n\
             BEGIN\n  y := x + 1;\n  RETURN y + 1;\nEND;\n$$ LANGUAGE plpgsql;",
            "SELECT add_two(40)",
        ),
        Kind::MySql => (
            "IF (SELECT COUNT(*) FROM t) = 0 THEN\n  INSERT INTO t VALUES (20);\n  \
             INSERT INTO t VALUES (22);\nEND IF;",
            "SELECT SUM(id) FROM t",
        ),
        Kind::Sqlite => (
            "CREATE TRIGGER t_twice AFTER INSERT ON t BEGIN\n  \
             INSERT INTO log VALUES (new.id);\n  INSERT INTO log VALUES (new.id);\nEND;",
            "SELECT SUM(v) FROM log",
        ),
    };
    let mut text =
        String::from("-- +goose Up\nCREATE TABLE t (id INTEGER);\nCREATE TABLE log (v INTEGER);\n");
    text.push_str("-- +goose StatementBegin\n-- the block\n");
    text.push_str(block);
    text.push_str("\n-- +goose StatementEnd\n");
    if kind == Kind::Sqlite {
        text.push_str("INSERT INTO t VALUES (21);\n");
    }
    text.push_str("-- +goose Down\nDROP TABLE log;\nDROP TABLE t;\n");
    write_files(db.path(), &[("migrations/1_block.sql", &text)]);

    let plan = json(&run(&db, &["--json", "migrate", "--dry-run"]));
    let sql = plan["scripts"][0]["sql"].as_array().unwrap();
    let statements: Vec<(u64, &str)> = sql
        .iter()
        .map(|s| (s["line"].as_u64().unwrap(), s["sql"].as_str().unwrap()))
        .collect();
    let whole = block.trim_end_matches(';');
    assert!(
        statements.contains(&(6, whole)),
        "the block is one statement at line 6 of the file: {statements:#?}"
    );
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(db.scalar(check).as_deref(), Some("42"));
}

per_engine!(goose_up_and_down, goose_statement_block);

/// `-- +goose NO TRANSACTION` anywhere in the file runs it outside a transaction, which
/// `CREATE INDEX CONCURRENTLY` needs.
#[test]
fn goose_no_transaction_on_postgres() {
    let db = TestDb::new(Kind::Postgres);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_t.sql",
                "-- +goose Up\nCREATE TABLE t (id INT, v TEXT);\n-- +goose Down\nDROP TABLE t;\n",
            ),
            (
                "migrations/2_idx.sql",
                "-- +goose Up\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n\n\
                 -- +goose Down\nDROP INDEX CONCURRENTLY t_v;\n\n-- +goose NO TRANSACTION\n",
            ),
        ],
    );
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 't_v'"),
        1
    );
    let out = run(&db, &["rollback"]);
    assert!(
        out.status.success(),
        "the down section too: {}",
        stderr(&out)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 't_v'"),
        0
    );
}

/// `-- +goose ENVSUB ON` substitutes `${VAR}` from the environment until `ENVSUB OFF`, as
/// goose does: an unset variable becomes empty, `${VAR:-default}` and `${VAR-default}`
/// give defaults, `$$` dollar quotes stay, and `${VAR?message}` stops the run when `VAR`
/// is unset, naming the file and line, before anything runs.
#[test]
fn goose_envsub() {
    let db = TestDb::new(Kind::Sqlite);
    let text = "\
-- +goose ENVSUB ON
-- +goose Up
CREATE TABLE ${CUTOVER_T_TABLE} (v TEXT);
INSERT INTO ${CUTOVER_T_TABLE} VALUES ('[${CUTOVER_T_UNSET_X}]');
INSERT INTO $CUTOVER_T_TABLE VALUES ('${CUTOVER_T_UNSET_X:-fallback}');
INSERT INTO ${CUTOVER_T_TABLE} VALUES ('${CUTOVER_T_EMPTY-kept empty}');
-- +goose ENVSUB OFF
INSERT INTO kv VALUES ('${CUTOVER_T_TABLE}');
-- +goose Down
DROP TABLE kv;
";
    write_files(db.path(), &[("migrations/1_kv.sql", text)]);
    let out = db
        .cutover()
        .arg("migrate")
        .env("CUTOVER_T_TABLE", "kv")
        .env("CUTOVER_T_EMPTY", "")
        .env_remove("CUTOVER_T_UNSET_X")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<String> = db
        .connect()
        .query("SELECT v FROM kv ORDER BY rowid")
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(
        rows,
        ["[]", "fallback", "", "${CUTOVER_T_TABLE}"],
        "after ENVSUB OFF the text is kept"
    );

    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[(
            "migrations/1_req.sql",
            "-- +goose Up\nCREATE TABLE a (v TEXT);\n-- +goose ENVSUB ON\n\
             CREATE TABLE ${CUTOVER_T_REQUIRED?set it to the table name} (v TEXT);\n",
        )],
    );
    let out = run(&db, &["migrate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1_req.sql:4") && err.contains("CUTOVER_T_REQUIRED: set it to the table name"),
        "{err}"
    );
    assert!(!db.has_table("a"), "nothing ran");
}

/// A goose Go migration cannot be run by cutover: it is an error naming the file, not a
/// migration silently skipped.
#[test]
fn goose_go_migration_is_an_error() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            (
                "migrations/00001_users.sql",
                "-- +goose Up\nCREATE TABLE users (id INT);\n",
            ),
            (
                "migrations/00002_backfill.go",
                "package migrations\n\nfunc init() { goose.AddMigrationContext(up, down) }\n",
            ),
        ],
    );
    let out = run(&db, &["migrate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("00002_backfill.go"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("users"), "nothing ran");
}

/// Mattermost's morph: `-- morph:nontransactional` as the first line of a file means it
/// runs outside a transaction (before the fix, PostgreSQL answered "CREATE INDEX
/// CONCURRENTLY cannot run inside a transaction block").
#[test]
fn morph_nontransactional_on_postgres() {
    let db = TestDb::new(Kind::Postgres);
    write_files(
        db.path(),
        &[
            (
                "migrations/000001_create_posts.up.sql",
                "CREATE TABLE posts (id INT, userid TEXT);\n",
            ),
            (
                "migrations/000002_create_index_posts.up.sql",
                "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_posts_userid ON posts(userid);\n",
            ),
            (
                "migrations/000002_create_index_posts.down.sql",
                "-- morph:nontransactional\nDROP INDEX CONCURRENTLY IF EXISTS idx_posts_userid;\n",
            ),
        ],
    );
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_posts_userid'"),
        1
    );
    let out = run(&db, &["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_posts_userid'"),
        0
    );
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A FIFO named like a migration is named in an error instead of hanging the run (before
/// the fix, opening it waited for a writer forever); so is a socket. A symbolic link to a
/// regular file is read as that file.
#[test]
fn only_regular_files_are_read() {
    let db = TestDb::new(Kind::Sqlite);
    let elsewhere = db.path().join("elsewhere");
    write_files(
        db.path(),
        &[
            ("migrations/1_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("elsewhere/b.sql", "CREATE TABLE b (id INT);\n"),
        ],
    );
    let migrations = db.path().join("migrations");
    std::os::unix::fs::symlink(elsewhere.join("b.sql"), migrations.join("2_b.up.sql")).unwrap();
    mkfifo(&migrations.join("3_c.up.sql"));
    for args in [&["status"][..], &["migrate"][..]] {
        let out = run(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("3_c.up.sql") && err.contains("FIFO"), "{err}");
    }
    assert!(!db.has_table("a"), "nothing ran");

    std::fs::remove_file(migrations.join("3_c.up.sql")).unwrap();
    let socket = std::os::unix::net::UnixListener::bind(migrations.join("3_c.up.sql")).unwrap();
    let out = run(&db, &["migrate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("socket"), "{}", stderr(&out));
    drop(socket);

    std::fs::remove_file(migrations.join("3_c.up.sql")).unwrap();
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.has_table("a") && db.has_table("b"));
}

/// Every row of the table of foreign markers, through the binary: a marker cutover does not
/// implement is refused with the file, the line and the tool, and nothing runs; a marker of
/// a layout cutover reads is refused in a file of another layout; a statement separator or
/// lint hint is read as a comment and the file runs. Rows that only their own layout's
/// files give a meaning to (a Liquibase `--rollback`, a Flyway placeholder) are tried in a
/// file of that layout, where the layout's own lines are accepted and the others refused.
#[test]
fn every_foreign_marker_row() {
    for row in KNOWN_MARKERS {
        let db = TestDb::new(Kind::Sqlite);
        let plain = format!(
            "CREATE TABLE before_marker (id INT);\n{}\nCREATE TABLE after_marker (id INT);\n",
            row.example
        );
        let (file, text, line) = match (row.support, row.scope) {
            (Support::NoTransaction, _) => continue, // on PostgreSQL, below
            (_, Some(Layout::Flyway)) => ("migrations/V1__a.sql", plain, 2),
            (_, Some(Layout::Liquibase)) => (
                "migrations/001.sql",
                format!("--liquibase formatted sql\n--changeset a:1\n{plain}"),
                4,
            ),
            (_, Some(other)) => panic!("{}: no test file for rows scoped to {other}", row.marker),
            (Support::Layout(_), None) => ("migrations/1_a.up.sql", plain, 2),
            _ => ("migrations/1_a.sql", plain, 2),
        };
        write_files(db.path(), &[(file, &text)]);
        let out = run(&db, &["migrate"]);
        let err = stderr(&out);
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        match row.support {
            Support::Layout(layout) if row.scope == Some(layout) => {
                assert!(out.status.success(), "{}: {err}", row.marker);
                assert!(db.has_table("before_marker") && db.has_table("after_marker"));
            }
            Support::Comment => {
                assert!(out.status.success(), "{}: {err}", row.marker);
                assert!(db.has_table("before_marker") && db.has_table("after_marker"));
            }
            Support::Layout(layout) => {
                assert_eq!(out.status.code(), Some(2), "{}: {err}", row.marker);
                assert!(
                    err.contains(&format!("{name}:{line}"))
                        && err.contains(row.tool)
                        && err.contains(layout.name())
                        && err.contains("native"),
                    "{}: {err}",
                    row.marker
                );
                assert!(
                    !db.has_table("before_marker"),
                    "{}: nothing runs",
                    row.marker
                );
            }
            Support::Refused(_) => {
                assert_eq!(out.status.code(), Some(2), "{}: {err}", row.marker);
                assert!(
                    err.contains(&format!("{name}:{line}: `"))
                        && err.contains(&format!("marker of {}", row.tool)),
                    "{}: {err}",
                    row.marker
                );
                assert!(
                    !db.has_table("before_marker"),
                    "{}: nothing runs",
                    row.marker
                );
            }
            Support::NoTransaction => unreachable!(),
        }
    }
}

/// The rows that mean "outside a transaction" (sqlx's and morph's first lines) let
/// `CREATE INDEX CONCURRENTLY` run on PostgreSQL, in each layout of whole-file scripts that
/// those tools use.
#[test]
fn no_transaction_marker_rows_on_postgres() {
    let rows: Vec<_> = KNOWN_MARKERS
        .iter()
        .filter(|r| r.support == Support::NoTransaction)
        .collect();
    assert_eq!(rows.len(), 2, "sqlx and morph");
    for row in rows {
        for (table, index) in [("1_t.up.sql", "2_idx.up.sql"), ("1_t.sql", "2_idx.sql")] {
            let db = TestDb::new(Kind::Postgres);
            write_files(
                db.path(),
                &[
                    (
                        &format!("migrations/{table}"),
                        "CREATE TABLE t (id INT, v TEXT);\n",
                    ),
                    (
                        &format!("migrations/{index}"),
                        &format!("{}\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n", row.example),
                    ),
                ],
            );
            let out = run(&db, &["migrate"]);
            assert!(
                out.status.success(),
                "{} in {index}: {}",
                row.marker,
                stderr(&out)
            );
            assert_eq!(
                db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 't_v'"),
                1
            );
        }
    }
}

/// `cutover new` in a goose folder writes a goose file (before, it wrote `.up.sql` and
/// `.down.sql` files that the goose folder then refused), which applies and rolls back.
#[test]
fn new_in_a_goose_folder_writes_a_goose_file() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(db.path(), &[("migrations/00001_users.sql", GOOSE_USERS)]);
    let out = run(&db, &["new", "add_email"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(db.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].ends_with("_add_email.sql"), "{names:?}");
    let path = db.path().join("migrations").join(&names[1]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("-- +goose Up\n") && text.contains("\n-- +goose Down\n"),
        "{text}"
    );
    std::fs::write(&path, GOOSE_EMAIL).unwrap();
    let out = run(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(has_column(&db, "users", "email"));
    let out = run(&db, &["rollback"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!has_column(&db, "users", "email"));
}
