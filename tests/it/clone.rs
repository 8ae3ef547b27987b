//! `cutover clone` (issue 15) on every engine: a full clone equals its source; a schema-only
//! clone has the tables, keys, indexes and views and no rows; a sample is bounded and closed
//! under its foreign keys; each mask rule does what it says (fixed, fake e-mail and name,
//! a hash that keeps joins across tables and keeps unique columns unique, NULL); a prod
//! target, a target whose policy forbids clones and a bad mask file are refused with nothing
//! changed; the source's run records stay behind, the clone records itself, and no password
//! reaches any output.

use std::fmt::Write as _;

use crate::common::*;

const USERS: i64 = 50;
const ORDERS: i64 = 200;

/// The source's migrations: two tables joined by a foreign key (and by `ssn`, which has no
/// key), a unique e-mail, an index, a view; then the rows.
fn migrations() -> Vec<(String, String)> {
    let schema = "CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, \
                  name VARCHAR(100), ssn VARCHAR(40), phone VARCHAR(20), notes VARCHAR(100));\n\
                  CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL, \
                  user_ssn VARCHAR(40), total INTEGER NOT NULL, \
                  CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id));\n\
                  CREATE INDEX orders_user ON orders (user_id);\n\
                  CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;\n";
    let mut data = String::from("INSERT INTO users (id, email, name, ssn, phone, notes) VALUES\n");
    let users: Vec<String> = (1..=USERS)
        .map(|i| {
            format!(
                "({i}, 'person{i}@school.org', 'Person {i}', 'ssn-{i}', '555-{i:04}', 'note {i}')"
            )
        })
        .collect();
    data.push_str(&users.join(",\n"));
    data.push_str(";\nINSERT INTO orders (id, user_id, user_ssn, total) VALUES\n");
    let orders: Vec<String> = (1..=ORDERS)
        .map(|i| {
            let u = 1 + i % USERS;
            format!("({i}, {u}, 'ssn-{u}', {i})")
        })
        .collect();
    data.push_str(&orders.join(",\n"));
    data.push_str(";\n");
    vec![
        ("migrations/1_schema.up.sql".into(), schema.into()),
        (
            "migrations/1_schema.down.sql".into(),
            "DROP VIEW big_orders;\nDROP TABLE orders;\nDROP TABLE users;\n".into(),
        ),
        ("migrations/2_rows.up.sql".into(), data),
        (
            "migrations/2_rows.down.sql".into(),
            "DELETE FROM orders;\nDELETE FROM users;\n".into(),
        ),
    ]
}

/// The source's URL with a password where the engine takes one without asking for it
/// (PostgreSQL trusts the test user), so that the tests can look for it in every output.
const PASSWORD: &str = "Sup3rSecretPw";

fn source_url(src: &TestDb) -> String {
    match src.kind {
        Kind::Postgres => src.url.replacen(
            "postgres://postgres@",
            &format!("postgres://postgres:{PASSWORD}@"),
            1,
        ),
        _ => src.url.clone(),
    }
}

/// A source deployed (so it holds a run record of its own) and a target holding a table of
/// its own, with the environments `src`, `test`, `prod` (a second target database) and
/// `frozen` (`clone_target = false`).
struct Pair {
    src: TestDb,
    dst: TestDb,
    other: TestDb,
}

fn pair(kind: Kind) -> Pair {
    let (src, dst, other) = (TestDb::new(kind), TestDb::new(kind), TestDb::new(kind));
    let config = format!(
        "[environments.src]\nurl = \"{}\"\n\n[environments.test]\nurl = \"{}\"\n\n\
         [environments.prod]\nurl = \"{}\"\n\n\
         [environments.frozen]\nkind = \"test\"\nurl = \"{}\"\nclone_target = false\n",
        source_url(&src),
        dst.url,
        other.url,
        other.url
    );
    let mut files = migrations();
    files.push(("cutover.toml".into(), config));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_files(src.path(), &refs);
    let out = cutover_cmd(src.path())
        .args(["--env", "src", "deploy", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    for db in [&dst, &other] {
        let mut e = db.connect();
        e.execute("CREATE TABLE leftover (x INTEGER)").unwrap();
        e.execute("INSERT INTO leftover VALUES (7)").unwrap();
    }
    Pair { src, dst, other }
}

impl Pair {
    fn clone(&self, args: &[&str]) -> std::process::Output {
        cutover_cmd(self.src.path())
            .args(["clone", "--from", "src"])
            .args(args)
            .env("CLONE_TEST_KEY", "a key the tests share")
            .output()
            .unwrap()
    }

    /// Everything the clone wrote for people and machines: its output, journals, reports.
    fn everything_written(&self, out: &std::process::Output) -> String {
        let mut all = format!("{}{}", stdout(out), stderr(out));
        let runs = self.src.path().join(".cutover/runs");
        for dir in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = write!(
                    all,
                    "{}",
                    std::fs::read_to_string(f.path()).unwrap_or_default()
                );
            }
        }
        all
    }
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// (kind, source) of every run row in `db`.
fn runs(db: &TestDb) -> Vec<(String, Option<String>, String)> {
    db.connect()
        .query("SELECT kind, source, id FROM cutover_runs")
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone(),
                r[2].clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn full_clone_equals_source(kind: Kind) {
    let p = pair(kind);
    let out = p.clone(&["--to", "test"]);
    ok(&out);
    let (src, dst) = (&p.src, &p.dst);
    for sql in [
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM orders",
        "SELECT sum(total) FROM orders",
        "SELECT count(*) FROM big_orders",
        "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id",
    ] {
        assert_eq!(src.count(sql), dst.count(sql), "{sql}");
    }
    assert_eq!(dst.count("SELECT count(*) FROM users"), USERS);
    for sql in [
        "SELECT email FROM users WHERE id = 17",
        "SELECT phone FROM users WHERE id = 50",
        "SELECT user_ssn FROM orders WHERE id = 123",
    ] {
        assert_eq!(src.scalar(sql), dst.scalar(sql), "{sql}");
    }
    assert!(
        !dst.has_table("leftover"),
        "the target's own tables are replaced"
    );
    assert_eq!(
        dst.history(),
        src.history(),
        "the history travels with the schema"
    );
    // The source's deploy stays behind; the clone is the target's one run, naming its source.
    let source_runs = runs(src);
    assert_eq!(source_runs.len(), 1);
    let target_runs = runs(dst);
    assert_eq!(target_runs.len(), 1, "{target_runs:?}");
    assert_eq!(target_runs[0].0, "clone");
    assert_eq!(target_runs[0].1.as_deref(), Some("src"));
    assert_ne!(target_runs[0].2, source_runs[0].2);
    let written = p.everything_written(&out);
    assert!(!written.contains(PASSWORD), "{written}");
    let row = dst
        .scalar("SELECT source FROM cutover_runs")
        .unwrap_or_default();
    assert!(!row.contains(PASSWORD) && !row.contains("://"), "{row}");
    // The clone keeps the keys: a duplicate e-mail and an orphaned order are refused.
    let mut e = dst.connect();
    assert!(
        e.execute("INSERT INTO users (id, email) VALUES (999, 'person1@school.org')")
            .is_err()
    );
    if kind != Kind::Sqlite {
        assert!(
            e.execute("INSERT INTO orders (id, user_id, total) VALUES (999, 12345, 1)")
                .is_err()
        );
    }
}

fn schema_only_has_tables_and_no_rows(kind: Kind) {
    let p = pair(kind);
    ok(&p.clone(&["--to", "test", "--schema-only"]));
    let dst = &p.dst;
    for t in ["users", "orders"] {
        assert!(dst.has_table(t), "{t}");
        assert_eq!(dst.count(&format!("SELECT count(*) FROM {t}")), 0, "{t}");
    }
    assert_eq!(dst.count("SELECT count(*) FROM big_orders"), 0);
    let index = match kind {
        Kind::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'orders_user'"
        }
        Kind::Postgres => "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_user'",
        Kind::MySql => {
            "SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'orders_user'"
        }
    };
    assert_eq!(dst.count(index), 1, "the index came along");
    let mut e = dst.connect();
    e.execute("INSERT INTO users (id, email) VALUES (1, 'a@b.c')")
        .unwrap();
    assert!(
        e.execute("INSERT INTO users (id, email) VALUES (2, 'a@b.c')")
            .is_err(),
        "unique key"
    );
    assert_eq!(dst.history(), p.src.history());
}

fn sample_is_bounded_and_closed_under_foreign_keys(kind: Kind) {
    let p = pair(kind);
    ok(&p.clone(&["--to", "test", "--sample", "7"]));
    let dst = &p.dst;
    assert_eq!(dst.count("SELECT count(*) FROM users"), 7);
    // The first seven users in key order; orders only of theirs (there are plenty).
    assert_eq!(dst.count("SELECT max(id) FROM users"), 7);
    assert_eq!(dst.count("SELECT count(*) FROM orders"), 7);
    assert_eq!(
        dst.count("SELECT count(*) FROM orders WHERE user_id NOT IN (SELECT id FROM users)"),
        0
    );
    assert!(dst.count("SELECT min(id) FROM orders") > 0);
}

const MASK: &str = r#"# every rule once
key_env = "CLONE_TEST_KEY"

[columns]
"users.email" = "email"
"users.name" = "name"
"users.phone" = { fixed = "555-0100" }
"users.notes" = "null"
"users.ssn" = "hash"
"orders.user_ssn" = "hash"
"users.id" = "hash"
"orders.user_id" = "hash"
"#;

fn mask_rules_each_proved(kind: Kind) {
    let p = pair(kind);
    write_files(p.src.path(), &[("mask.toml", MASK)]);
    let out = p.clone(&["--to", "test", "--mask", "mask.toml"]);
    ok(&out);
    let dst = &p.dst;
    assert_eq!(dst.count("SELECT count(*) FROM users"), USERS);
    assert_eq!(dst.count("SELECT count(*) FROM orders"), ORDERS);
    // fixed
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE phone = '555-0100'"),
        USERS
    );
    // null
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE notes IS NULL"),
        USERS
    );
    // email: fake, and as distinct as the originals (the unique key held on load)
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE email LIKE 'u%@example.invalid'"),
        USERS
    );
    assert_eq!(dst.count("SELECT count(DISTINCT email) FROM users"), USERS);
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE email LIKE '%school.org'"),
        0
    );
    // name: no original left, a first and a last name
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE name LIKE 'Person%'"),
        0
    );
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE name LIKE '% %'"),
        USERS
    );
    // hash: no original left, distinct stays distinct, joins across tables intact
    assert_eq!(
        dst.count("SELECT count(*) FROM users WHERE ssn LIKE 'ssn-%'"),
        0
    );
    assert_eq!(dst.count("SELECT count(DISTINCT ssn) FROM users"), USERS);
    assert_eq!(
        dst.count("SELECT count(*) FROM orders o JOIN users u ON u.ssn = o.user_ssn"),
        ORDERS
    );
    // hash on the integer key and its foreign key: permuted, unique, the join intact
    assert_eq!(dst.count("SELECT count(DISTINCT id) FROM users"), USERS);
    assert!(dst.count("SELECT count(*) FROM users WHERE id BETWEEN 1 AND 50") < USERS);
    assert_eq!(
        dst.count("SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id"),
        ORDERS
    );
    assert_eq!(
        dst.count(
            "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id AND u.ssn = o.user_ssn"
        ),
        ORDERS,
        "each order still belongs to the same person"
    );
    // The same key gives the same values: a second clone agrees with the first.
    let first = dst.scalar("SELECT email FROM users ORDER BY email LIMIT 1");
    ok(&p.clone(&["--to", "test", "--mask", "mask.toml"]));
    assert_eq!(
        dst.scalar("SELECT email FROM users ORDER BY email LIMIT 1"),
        first
    );
    let written = p.everything_written(&out);
    assert!(!written.contains(PASSWORD) && !written.contains("a key the tests share"));
    // The source is untouched.
    assert_eq!(
        p.src
            .count("SELECT count(*) FROM users WHERE email LIKE '%school.org'"),
        USERS
    );
}

/// The target of a refused clone: its own table and row, no run records.
fn unchanged(db: &TestDb) {
    assert!(db.has_table("leftover"));
    assert_eq!(db.count("SELECT x FROM leftover"), 7);
    assert!(!db.has_table("users"));
    assert!(!db.has_table("cutover_runs"));
}

fn refusals_change_nothing(kind: Kind) {
    let p = pair(kind);
    let out = p.clone(&["--to", "prod"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("prod") && err.contains("kind") && err.contains("nothing was changed"),
        "{err}"
    );
    unchanged(&p.other);

    let out = p.clone(&["--to", "frozen"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("environments.frozen.clone_target = false"),
        "{err}"
    );
    unchanged(&p.other);

    // A mask file naming a column the source lacks, and one with an unknown rule: the file
    // and line named, nothing written.
    write_files(
        p.src.path(),
        &[
            (
                "bad.toml",
                "[columns]\n\"users.email\" = \"email\"\n\"users.shoe_size\" = \"hash\"\n",
            ),
            ("rule.toml", "[columns]\n\"users.email\" = \"scramble\"\n"),
            (
                "fixed.toml",
                "[columns]\n\"users.email\" = { fixed = \"x@y.z\" }\n",
            ),
        ],
    );
    for (file, line, what) in [
        ("bad.toml", 3, "shoe_size"),
        ("rule.toml", 2, "unknown rule `scramble`"),
        ("fixed.toml", 2, "unique key"),
    ] {
        let out = p.clone(&["--to", "test", "--mask", file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{file}:{line}:")) && err.contains(what),
            "{err}"
        );
        unchanged(&p.dst);
    }
    assert!(!p.everything_written(&out).contains(PASSWORD));
}

#[test]
fn help_shows_an_example_the_mask_format_and_exit_codes() {
    let out = cutover_cmd(std::path::Path::new("."))
        .args(["clone", "--help"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for want in [
        "cutover clone --from prod --to staging --mask mask.toml",
        "\"users.email\" = \"email\"",
        "clone_target = false",
        "Exit codes:",
        "--sample",
        "--schema-only",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
}

per_engine!(
    full_clone_equals_source,
    schema_only_has_tables_and_no_rows,
    sample_is_bounded_and_closed_under_foreign_keys,
    mask_rules_each_proved,
    refusals_change_nothing,
);
