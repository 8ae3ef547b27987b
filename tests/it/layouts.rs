//! Foreign migration folders read as their own tools read them, through the real binary on
//! every engine: Laravel-style timestamps, Liquibase formatted SQL changelogs, sqitch
//! projects (with verify scripts), Atlas directories (checked against `atlas.sum`), Flyway
//! repeatable `R__` scripts, and the words rollbacks use for single-file layouts. Every
//! file is written by the test, modelled on the tool's documentation.

use std::time::Duration;

use crate::common::*;

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    db.cutover()
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn ok(db: &TestDb, args: &[&str]) -> std::process::Output {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?} on {:?}: {}{}",
        db.kind,
        stdout(&out),
        stderr(&out)
    );
    out
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// `status --json`: the layout, and each migration's (id, state).
fn status(db: &TestDb) -> (String, Vec<(String, String)>) {
    let report = json(&ok(db, &["--json", "status"]));
    let rows = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (report["layout"].as_str().unwrap().to_string(), rows)
}

/// The ids a `migrate --json` run applied.
fn applied(out: &std::process::Output) -> Vec<String> {
    json(out)["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn count(db: &TestDb, table: &str) -> i64 {
    db.count(&format!("SELECT count(*) FROM {table}"))
}

fn exists(db: &TestDb, relation: &str) -> bool {
    db.connect()
        .query(&format!("SELECT 1 FROM {relation} WHERE 1 = 0"))
        .is_ok()
}

/// Laravel-style names are one version each (before, the four files clashed as version
/// 2025): they apply in order, `status` shows the whole timestamp, and they roll back.
fn laravel_names(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            (
                "migrations/2025_10_01_060100_create_users.up.sql",
                "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n",
            ),
            (
                "migrations/2025_10_01_060100_create_users.down.sql",
                "DROP TABLE users;\n",
            ),
            (
                "migrations/2025_10_01_060200_add_email.up.sql",
                "ALTER TABLE users ADD email VARCHAR(100);\n",
            ),
            (
                "migrations/2025_10_01_060200_add_email.down.sql",
                "ALTER TABLE users DROP COLUMN email;\n",
            ),
            (
                "migrations/2025_10_02_000000_create_posts.up.sql",
                "CREATE TABLE posts (id INT PRIMARY KEY);\n",
            ),
            (
                "migrations/2025_10_02_000000_create_posts.down.sql",
                "DROP TABLE posts;\n",
            ),
        ],
    );
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(
        applied(&out),
        ["20251001060100", "20251001060200", "20251002000000"]
    );
    assert!(exists(&db, "posts") && db.connect().query("SELECT email FROM users").is_ok());
    let (layout, rows) = status(&db);
    assert_eq!(layout, "native");
    assert!(rows.iter().all(|(_, s)| s == "applied"), "{rows:?}");
    ok(&db, &["rollback", "--steps", "3"]);
    assert!(!exists(&db, "users") && !exists(&db, "posts"));
}

/// Two Liquibase formatted SQL changelogs, as Liquibase's documentation writes them.
const LIQUIBASE_USERS: &str = "\
--liquibase formatted sql

--changeset alice:1
--comment: the users table
create table users (
    id int primary key,
    name varchar(255)
);
--rollback drop table users;

--changeset alice:2
insert into users (id, name) values (1, 'ada');
insert into users (id, name) values (2, 'bob');
/* liquibase rollback
delete from users where id = 2;
delete from users where id = 1;
*/

--changeset alice:pg dbms:postgresql
create table pg_only (id int);
--rollback drop table pg_only;

--changeset alice:maria dbms:mariadb
create table maria_only (id int);
--rollback drop table maria_only;

--changeset alice:mysql dbms:mysql
create table mysql_only (id int);
--rollback drop table mysql_only;

--changeset alice:lite dbms:sqlite
create table lite_only (id int);
--rollback drop table lite_only;
";

const LIQUIBASE_MORE: &str = "\
--liquibase formatted sql

--changeset bob:1 endDelimiter:/
insert into users (id, name) values (3, 'c;d')
/
insert into users (id, name) values (4, 'e')
/
--rollback delete from users where id in (3, 4);

--changeset bob:2 splitStatements:false
create view user_names as select name from users
--rollback drop view user_names;

--changeset bob:3 runInTransaction:false dbms:postgresql
create index concurrently users_name on users (name);
--rollback drop index users_name;
";

/// A Liquibase changelog applies changeset by changeset: `dbms` picks the engine (MariaDB
/// is not `mysql`), `endDelimiter` and `splitStatements:false` split as Liquibase does,
/// `runInTransaction:false` allows `CREATE INDEX CONCURRENTLY`; `status` names the layout
/// and the ids are file + id + author; the rollbacks undo everything.
fn liquibase_changelog(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/001_users.sql", LIQUIBASE_USERS),
            ("migrations/002_more.sql", LIQUIBASE_MORE),
        ],
    );
    let out = ok(&db, &["--json", "migrate"]);
    let ids = applied(&out);
    assert_eq!(ids[0], "001_users.sql::1::alice");
    assert_eq!(count(&db, "users"), 4);
    assert_eq!(
        db.scalar("SELECT name FROM users WHERE id = 3").as_deref(),
        Some("c;d")
    );
    assert_eq!(count(&db, "user_names"), 4);
    let (own, others): (&str, &[&str]) = match kind {
        Kind::Postgres => ("pg_only", &["maria_only", "mysql_only", "lite_only"]),
        Kind::MySql => ("maria_only", &["pg_only", "mysql_only", "lite_only"]),
        Kind::Sqlite => ("lite_only", &["pg_only", "maria_only", "mysql_only"]),
    };
    assert!(exists(&db, own), "{own} on {kind:?}");
    for other in others {
        assert!(!exists(&db, other), "{other} on {kind:?}");
    }
    if kind == Kind::Postgres {
        assert_eq!(
            db.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_name'"),
            1
        );
    }
    let (layout, rows) = status(&db);
    assert_eq!(layout, "liquibase");
    assert!(
        rows.iter()
            .any(|(id, s)| id == "002_more.sql::2::bob" && s == "applied"),
        "{rows:?}"
    );
    ok(&db, &["rollback", "--steps", &ids.len().to_string()]);
    for relation in ["users", "user_names", own] {
        assert!(
            !exists(&db, relation),
            "{relation} is rolled back on {kind:?}"
        );
    }
    assert!(db.history().iter().all(|(_, s)| s != "applied"));
    ok(&db, &["migrate"]);
    assert_eq!(count(&db, "users"), 4);
}

/// `runOnChange:true` runs a changed changeset again (and only it); an edit to another
/// changeset is still refused as `changed`.
fn liquibase_run_on_change(kind: Kind) {
    let db = TestDb::new(kind);
    let changelog = |price: u32| {
        format!(
            "--liquibase formatted sql\n\n--changeset a:items\ncreate table items (id int primary key, price int);\ninsert into items values (1, 5);\ninsert into items values (2, 50);\n--rollback drop table items;\n\n--changeset a:view runOnChange:true\ndrop view if exists dear;\ncreate view dear as select id from items where price > {price};\n--rollback drop view dear;\n"
        )
    };
    write_files(db.path(), &[("migrations/changelog.sql", &changelog(10))]);
    ok(&db, &["migrate"]);
    assert_eq!(count(&db, "dear"), 1);
    write_files(db.path(), &[("migrations/changelog.sql", &changelog(1))]);
    let (_, rows) = status(&db);
    assert_eq!(rows[1].1, "pending", "{rows:?}");
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(applied(&out), ["changelog.sql::view::a"]);
    assert_eq!(count(&db, "dear"), 2);
    let out = ok(&db, &["--json", "migrate"]);
    assert!(applied(&out).is_empty(), "unchanged: nothing runs again");
    let edited = changelog(1).replace(
        "insert into items values (2, 50);",
        "insert into items values (2, 60);",
    );
    write_files(db.path(), &[("migrations/changelog.sql", &edited)]);
    let out = run(&db, &["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changelog.sql::items::a"),
        "{}",
        stderr(&out)
    );
}

/// Contexts and labels pick environments: an environment runs a changeset as `liquibase
/// update --contexts <env> --labels <env>` would; with no environment, changesets that name
/// one are skipped.
#[test]
fn liquibase_contexts_and_labels_pick_environments() {
    let db = TestDb::new(Kind::Sqlite);
    let text = "--liquibase formatted sql\n\n--changeset a:1\ncreate table t (what varchar(20));\n\n--changeset a:2 context:dev\ninsert into t values ('dev data');\n\n--changeset a:3 context:!dev\ninsert into t values ('not dev');\n\n--changeset a:4 labels:live,staging\ninsert into t values ('live label');\n";
    write_files(
        db.path(),
        &[
            ("migrations/changelog.sql", text),
            (
                "cutover.toml",
                &format!(
                    "[environments.dev]\nurl = \"{0}\"\n[environments.live]\nurl = \"{0}\"\n",
                    db.url
                ),
            ),
        ],
    );
    ok(&db, &["migrate"]);
    assert_eq!(count(&db, "t"), 0, "no environment: only a:1 runs");
    let live = cutover_cmd(db.path())
        .args(["--env", "live", "--json", "migrate"])
        .output()
        .unwrap();
    assert!(live.status.success(), "{}", stderr(&live));
    assert_eq!(
        applied(&live),
        ["changelog.sql::3::a", "changelog.sql::4::a"]
    );
    let dev = cutover_cmd(db.path())
        .args(["--env", "dev", "--json", "migrate"])
        .output()
        .unwrap();
    assert!(dev.status.success(), "{}", stderr(&dev));
    assert_eq!(applied(&dev), ["changelog.sql::2::a"]);
    let status = cutover_cmd(db.path())
        .args(["--env", "dev", "--json", "status"])
        .output()
        .unwrap();
    let report = json(&status);
    let states: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "applied", "applied", "applied"]);
}

/// sqitch's tutorial project: changes with dependencies, a tag and a rework; scripts
/// wrapped in `BEGIN;` … `COMMIT;` as sqitch's templates write them.
fn sqitch_files(dir: &std::path::Path, verify_users: &str) {
    write_files(
        dir,
        &[
            (
                "migrations/sqitch.plan",
                "%syntax-version=1.0.0\n%project=flipr\n%uri=https://github.com/sqitchers/sqitch-intro/\n\nusers 2012-07-03T20:53:06Z Marge N. O'Vera <marge@example.com> # Creates table to track our users.\nflips [users] 2012-07-03T21:18:31Z Marge N. O'Vera <marge@example.com> # Adds table for storing flips.\n@v1.0.0-dev1 2012-07-03T21:43:11Z Marge N. O'Vera <marge@example.com> # Tag v1.0.0-dev1.\n\nusers [users@v1.0.0-dev1] 2012-07-04T12:00:00Z Marge N. O'Vera <marge@example.com> # Adds the twitter column.\n",
            ),
            ("migrations/sqitch.conf", "[core]\n\tengine = pg\n"),
            (
                "migrations/deploy/users@v1.0.0-dev1.sql",
                "-- Deploy flipr:users to pg\n\nBEGIN;\n\nCREATE TABLE users (\n    nickname  VARCHAR(50) PRIMARY KEY,\n    password  VARCHAR(50) NOT NULL\n);\n\nCOMMIT;\n",
            ),
            (
                "migrations/revert/users@v1.0.0-dev1.sql",
                "-- Revert flipr:users from pg\n\nBEGIN;\n\nDROP TABLE users;\n\nCOMMIT;\n",
            ),
            ("migrations/verify/users@v1.0.0-dev1.sql", verify_users),
            (
                "migrations/deploy/flips.sql",
                "-- Deploy flipr:flips to pg\n-- requires: users\n\nCREATE TABLE flips (\n    id        INT PRIMARY KEY,\n    nickname  VARCHAR(50) NOT NULL REFERENCES users(nickname),\n    body      VARCHAR(180) NOT NULL\n);\n",
            ),
            ("migrations/revert/flips.sql", "DROP TABLE flips;\n"),
            (
                "migrations/verify/flips.sql",
                "BEGIN;\nSELECT id, nickname, body FROM flips WHERE 1 = 0;\nROLLBACK;\n",
            ),
            (
                "migrations/deploy/users.sql",
                "-- Deploy flipr:users to pg\n\nBEGIN;\n\nALTER TABLE users ADD twitter VARCHAR(50);\n\nCOMMIT;\n",
            ),
            (
                "migrations/revert/users.sql",
                "BEGIN;\nALTER TABLE users DROP COLUMN twitter;\nCOMMIT;\n",
            ),
            (
                "migrations/verify/users.sql",
                "BEGIN;\nSELECT nickname, password, twitter FROM users WHERE 1 = 0;\nROLLBACK;\n",
            ),
        ],
    );
}

const VERIFY_USERS: &str = "-- Verify flipr:users on pg\n\nBEGIN;\n\nSELECT nickname, password FROM users WHERE 1 = 0;\n\nROLLBACK;\n";

/// A sqitch project deploys in plan order with its verify scripts, `status` names the
/// layout, the rework has its own id, and the revert scripts undo everything.
fn sqitch_project(kind: Kind) {
    let db = TestDb::new(kind);
    sqitch_files(db.path(), VERIFY_USERS);
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(applied(&out), ["users", "flips", "users#2"]);
    assert!(db.connect().query("SELECT twitter FROM users").is_ok());
    let (layout, rows) = status(&db);
    assert_eq!(layout, "sqitch");
    assert_eq!(rows.len(), 3);
    ok(&db, &["rollback", "--steps", "3"]);
    assert!(!exists(&db, "users") && !exists(&db, "flips"));
    ok(&db, &["migrate"]);
    assert!(exists(&db, "flips"));
}

/// A verify script that raises fails its migration: the error names the verify script and
/// its line; where the engine has transactional DDL nothing of the change is kept, and on
/// MariaDB the history says where it stopped. The changes after it do not run.
fn sqitch_verify_fails_the_migration(kind: Kind) {
    let db = TestDb::new(kind);
    let wrong = VERIFY_USERS.replace("nickname, password", "nickname, email");
    sqitch_files(db.path(), &wrong);
    let out = run(&db, &["migrate"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("verify/users@v1.0.0-dev1.sql:5") && err.contains("verify script failed"),
        "{err}"
    );
    assert!(!exists(&db, "flips"), "nothing after it runs");
    match kind {
        Kind::MySql => {
            assert!(exists(&db, "users"), "MariaDB commits DDL at once");
            assert_eq!(db.history(), [("users".to_string(), "failed".to_string())]);
        }
        _ => {
            assert!(
                !exists(&db, "users"),
                "the deploy is rolled back with its verify"
            );
            assert!(db.history().is_empty());
        }
    }
}

const ATLAS_FILES: [(&str, &str); 3] = [
    (
        "migrations/20240101000000_users.sql",
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n",
    ),
    (
        "migrations/20240102000000_posts.sql",
        "-- atlas:txmode none\n\nCREATE TABLE posts (id INT PRIMARY KEY, user_id INT);\n",
    ),
    (
        "migrations/20240103000000_seed.sql",
        "INSERT INTO users (id, name) VALUES (1, 'ada');\nINSERT INTO users (id, name) VALUES (2, 'bob');\n",
    ),
];

/// atlas.sum for `ATLAS_FILES`, computed outside cutover (Python's hashlib and base64,
/// with the algorithm of Atlas's `sql/migrate/dir.go`).
const ATLAS_SUM: &str = "h1:yze76sF46IMzAlIjsd93z+l1UAArG5lLYROa5auC1Ss=
20240101000000_users.sql h1:sYAQIKQyMVMAl5pfej7kxTmx0yyeklqrnIHk9FTOJCw=
20240102000000_posts.sql h1:5ftUQVwGOTet+EkbtEJ0OMwKU5YWGIkz2+HbJPA37MM=
20240103000000_seed.sql h1:RUDlW0yQ13kOCh7qw/DmXn5Gft0MwPVLetI3xK+wJrM=
";

fn atlas_dir(db: &TestDb) {
    write_files(db.path(), &ATLAS_FILES);
    write_files(db.path(), &[("migrations/atlas.sum", ATLAS_SUM)]);
}

/// An Atlas directory applies in order once its atlas.sum matches; `status` names the
/// layout; a rollback is refused because Atlas keeps no down files, and changes nothing.
fn atlas_directory(kind: Kind) {
    let db = TestDb::new(kind);
    atlas_dir(&db);
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(
        applied(&out),
        ["20240101000000", "20240102000000", "20240103000000"]
    );
    assert_eq!(count(&db, "users"), 2);
    let (layout, _) = status(&db);
    assert_eq!(layout, "atlas");
    let out = run(&db, &["rollback"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Atlas directories have no down scripts"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&db, "users"), 2);
}

/// A file edited, added or removed since atlas.sum was written is refused before anything
/// runs, naming the file; a hand-edited atlas.sum is refused too.
#[test]
fn atlas_sum_tampering_is_refused() {
    /// What is done to the directory, how, and what the error must say.
    type Case = (&'static str, fn(&std::path::Path), &'static str);
    let cases: [Case; 4] = [
        (
            "edited",
            |d| {
                std::fs::write(
                    d.join("20240103000000_seed.sql"),
                    "INSERT INTO users (id, name) VALUES (3, 'eve');\n",
                )
                .unwrap()
            },
            "20240103000000_seed.sql: does not match its hash in atlas.sum",
        ),
        (
            "added",
            |d| std::fs::write(d.join("20240104000000_more.sql"), "SELECT 1;\n").unwrap(),
            "20240104000000_more.sql: is not in atlas.sum",
        ),
        (
            "removed",
            |d| std::fs::remove_file(d.join("20240102000000_posts.sql")).unwrap(),
            "atlas.sum:3: lists 20240102000000_posts.sql",
        ),
        (
            "sum edited",
            |d| {
                let sum = d.join("atlas.sum");
                let text = std::fs::read_to_string(&sum).unwrap();
                std::fs::write(sum, text.replace("sYAQ", "sYAR")).unwrap()
            },
            "atlas.sum:1: its total does not match",
        ),
    ];
    for (what, change, expected) in cases {
        let db = TestDb::new(Kind::Sqlite);
        atlas_dir(&db);
        change(&db.path().join("migrations"));
        let out = run(&db, &["migrate"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(expected), "{what}: {err}");
        assert!(!db.path().join("test.db").exists(), "{what}: nothing ran");
    }
}

/// Flyway repeatable scripts run after the versioned ones, again when their checksum
/// changes (and only then), and a rollback passes over them.
fn flyway_repeatable(kind: Kind) {
    let db = TestDb::new(kind);
    let view = |price: u32| {
        format!(
            "DROP VIEW IF EXISTS dear;\nCREATE VIEW dear AS SELECT id FROM items WHERE price > {price};\n"
        )
    };
    write_files(
        db.path(),
        &[
            (
                "migrations/V1__items.sql",
                "CREATE TABLE items (id INT PRIMARY KEY, price INT);\n",
            ),
            (
                "migrations/V2__seed.sql",
                "INSERT INTO items VALUES (1, 5);\nINSERT INTO items VALUES (2, 50);\n",
            ),
            ("migrations/U2__seed.sql", "DELETE FROM items;\n"),
            ("migrations/R__dear_items.sql", &view(10)),
        ],
    );
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(applied(&out), ["1", "2", "R__dear_items"]);
    assert_eq!(count(&db, "dear"), 1);
    let out = ok(&db, &["--json", "migrate"]);
    assert!(applied(&out).is_empty(), "unchanged: nothing runs");
    write_files(db.path(), &[("migrations/R__dear_items.sql", &view(1))]);
    let out = ok(&db, &["--json", "migrate"]);
    assert_eq!(applied(&out), ["R__dear_items"], "changed: it runs again");
    assert_eq!(count(&db, "dear"), 2);
    let (layout, rows) = status(&db);
    assert_eq!(layout, "flyway");
    assert_eq!(
        rows.last().unwrap(),
        &("R__dear_items".to_string(), "applied".to_string())
    );
    ok(&db, &["rollback"]);
    assert_eq!(count(&db, "items"), 0, "V2 rolled back, R__ passed over");
    assert_eq!(count(&db, "dear"), 0);
}

per_engine!(
    laravel_names,
    liquibase_changelog,
    liquibase_run_on_change,
    sqitch_project,
    sqitch_verify_fails_the_migration,
    atlas_directory,
    flyway_repeatable,
);

/// In single-file layouts a missing down part is a section (or a rollback), not a file
/// beside: the refusal says so, and nothing runs.
#[test]
fn missing_down_sections_are_named_as_sections() {
    let cases = [
        (
            "migrations/1_a.sql",
            "-- migrate:up\nCREATE TABLE a (id INT);\n",
            "no down section (`-- migrate:down`) in",
        ),
        (
            "migrations/1_a.sql",
            "-- +goose Up\nCREATE TABLE a (id INT);\n",
            "no down section (`-- +goose Down`) in",
        ),
        (
            "migrations/1_a.sql",
            "--liquibase formatted sql\n--changeset x:1\nCREATE TABLE a (id INT);\n",
            "no rollback (`--rollback` lines",
        ),
    ];
    for (file, text, expected) in cases {
        let db = TestDb::new(Kind::Sqlite);
        write_files(db.path(), &[(file, text)]);
        ok(&db, &["migrate"]);
        let out = run(&db, &["rollback"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(5), "{err}");
        assert!(err.contains(expected) && !err.contains("beside"), "{err}");
        assert!(exists(&db, "a"), "nothing was rolled back");
    }
}

/// `cutover new` does not write its own files into a Liquibase, sqitch or Atlas folder
/// (they would break the plan or atlas.sum): it says which tool's command to use.
#[test]
fn new_refuses_folders_their_tools_maintain() {
    let db = TestDb::new(Kind::Sqlite);
    sqitch_files(db.path(), VERIFY_USERS);
    let out = run(&db, &["new", "add_flags"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sqitch add"), "{}", stderr(&out));
    let db = TestDb::new(Kind::Sqlite);
    atlas_dir(&db);
    let out = run(&db, &["new", "add_flags"]);
    assert!(
        stderr(&out).contains("atlas migrate new"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_dir(db.path().join("migrations"))
            .unwrap()
            .count(),
        4,
        "nothing was written"
    );
}

/// Atlas applies a directory linearly: a file added before the newest applied one is
/// refused (Atlas's default `--exec-order linear`) instead of applied out of order.
#[test]
fn atlas_refuses_a_file_added_out_of_order() {
    let db = TestDb::new(Kind::Sqlite);
    atlas_dir(&db);
    ok(&db, &["migrate"]);
    write_files(
        db.path(),
        &[
            (
                "migrations/20240101500000_hotfix.sql",
                "ALTER TABLE users ADD email VARCHAR(100);\n",
            ),
            (
                "migrations/atlas.sum",
                "h1:8QQXOmiWIvTiXKvBLJ3uGiTCE7A7BMWXy5AjiZ4brrY=
20240101000000_users.sql h1:sYAQIKQyMVMAl5pfej7kxTmx0yyeklqrnIHk9FTOJCw=
20240101500000_hotfix.sql h1:vwvK1KmN+eW4Cne40VGtyohTNCq220jVvxiG5dQw9S8=
20240102000000_posts.sql h1:QnPi02133YKTHMTJ9wSp/pABKCLVCU3aP9F/XqiQYog=
20240103000000_seed.sql h1:6l4olSDYhVtiioo0DwSzK0OWmy1J4oR4Ug4Pnces/hc=
",
            ),
        ],
    );
    let out = run(&db, &["migrate"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("20240101500000") && err.contains("20240103000000") && err.contains("linear"),
        "{err}"
    );
    assert!(
        db.connect().query("SELECT email FROM users").is_err(),
        "nothing ran"
    );
}

/// sqitch deploys a plan in order: a change inserted above the last deployed one is refused,
/// not deployed out of order.
#[test]
fn sqitch_refuses_a_change_inserted_above_deployed_ones() {
    let db = TestDb::new(Kind::Sqlite);
    sqitch_files(db.path(), VERIFY_USERS);
    ok(&db, &["migrate"]);
    let plan = db.path().join("migrations/sqitch.plan");
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "flips [users]",
        "likes [users] 2012-07-03T21:00:00Z Marge N. O'Vera <marge@example.com> # Likes.\nflips [users]",
    );
    std::fs::write(&plan, text).unwrap();
    write_files(
        db.path(),
        &[(
            "migrations/deploy/likes.sql",
            "CREATE TABLE likes (id INT);\n",
        )],
    );
    let out = run(&db, &["migrate"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("likes") && err.contains("sqitch deploys a plan in order"),
        "{err}"
    );
    assert!(!exists(&db, "likes"));
}
