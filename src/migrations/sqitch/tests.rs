//! sqitch projects read as sqitch reads them.
use super::*;
use crate::migrations::tests::{names, write};
use crate::migrations::{Layout, discover};

const PLAN_TEXT: &str = "%syntax-version=1.0.0
%project=flipr
%uri=https://github.com/sqitchers/sqitch-intro/

users 2012-07-03T20:53:06Z Marge N. O'Vera <marge@example.com> # Creates table to track our users.
flips [users] 2012-07-03T21:18:31Z Marge N. O'Vera <marge@example.com> # Adds table for storing flips.
@v1.0.0-dev1 2012-07-03T21:43:11Z Marge N. O'Vera <marge@example.com> # Tag v1.0.0-dev1.

users [users@v1.0.0-dev1] 2012-07-04T12:00:00Z Marge N. O'Vera <marge@example.com> # Adds twitter column.
";

fn project(dir: &Path) {
    write(dir, "sqitch.plan", PLAN_TEXT);
    write(dir, "sqitch.conf", "[core]\n\tengine = pg\n");
    write(
        dir,
        "deploy/users@v1.0.0-dev1.sql",
        "-- Deploy flipr:users to pg\n\nBEGIN;\n\nCREATE TABLE users (nickname TEXT PRIMARY KEY);\n\nCOMMIT;\n",
    );
    write(
        dir,
        "revert/users@v1.0.0-dev1.sql",
        "-- Revert flipr:users from pg\n\nBEGIN;\nDROP TABLE users;\nCOMMIT;\n",
    );
    write(
        dir,
        "verify/users@v1.0.0-dev1.sql",
        "-- Verify flipr:users on pg\n\nBEGIN;\nSELECT nickname FROM users WHERE FALSE;\nROLLBACK;\n",
    );
    write(
        dir,
        "deploy/flips.sql",
        "CREATE TABLE flips (id INT);\nCREATE INDEX flips_id ON flips (id);\n",
    );
    write(
        dir,
        "deploy/users.sql",
        "BEGIN;\nALTER TABLE users ADD twitter TEXT;\nCOMMIT;\n",
    );
    write(
        dir,
        "revert/users.sql",
        "BEGIN;\nALTER TABLE users DROP twitter;\nCOMMIT;\n",
    );
    write(dir, "deploy/unplanned.sql", "SELECT 1;\n");
}

#[test]
fn plan_order_reworks_and_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let found = discover(tmp.path(), Dialect::Postgres).unwrap();
    assert_eq!(found.layout, Layout::Sqitch);
    assert_eq!(names(&found), ["users", "flips", "users#2"]);
    let m = &found.migrations;
    assert!(m[0].up.path.ends_with("deploy/users@v1.0.0-dev1.sql"));
    assert!(m[2].up.path.ends_with("deploy/users.sql"));
    assert!(
        !m[0].up.directives.no_transaction,
        "BEGIN … COMMIT: one transaction"
    );
    let up: Vec<String> = m[0]
        .up
        .statements(Dialect::Postgres)
        .unwrap()
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(up, ["CREATE TABLE users (nickname TEXT PRIMARY KEY)"]);
    let verify = m[0].verify.as_ref().unwrap();
    let v: Vec<String> = verify
        .statements(Dialect::Postgres)
        .unwrap()
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(v, ["SELECT nickname FROM users WHERE FALSE"]);
    assert!(
        m[1].up.directives.no_transaction,
        "no BEGIN: statement by statement, as sqitch runs it"
    );
    assert!(m[1].down.is_none() && m[1].verify.is_none());
    assert!(
        m[1].missing_down().ends_with("revert/flips.sql"),
        "{}",
        m[1].missing_down()
    );
    assert!(
        found
            .ignored
            .iter()
            .any(|i| i.path.ends_with("deploy/unplanned.sql"))
    );
}

#[test]
fn plan_errors_name_the_line() {
    let cases = [
        (
            "%project=p\n\nb [a] 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "earlier change",
        ),
        (
            "%project=p\n\na 2012-07-03T20:53:06Z M <m@x>\na 2012-07-03T20:53:07Z M <m@x>\n",
            4,
            "duplicates",
        ),
        ("%project=p\n\na\n", 3, "missing timestamp"),
        ("%project=p\n\na 2012-07-03T20:53:06Z\n", 3, "planner"),
        (
            "%project=p\n\n@t 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "without a preceding change",
        ),
        (
            "%project=p\n\na: 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "invalid name",
        ),
        (
            "%project=p\n\nHEAD 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "reserved",
        ),
        (
            "%project=p\n\na [!b] 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "conflict",
        ),
        (
            "%project=p\n\na [other:b] 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "another sqitch project",
        ),
        (
            "%project=p\n\n-a 2012-07-03T20:53:06Z M <m@x>\n",
            3,
            "revert in the plan",
        ),
        (
            "%syntax-version=1.0.0\n\na 2012-07-03T20:53:06Z M <m@x>\n",
            1,
            "%project",
        ),
        (
            "%project=p\nusers 2012-07-03T20:53:06Z M <m@x>\n",
            2,
            "blank line",
        ),
    ];
    for (plan, line, word) in cases {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "sqitch.plan", plan);
        write(tmp.path(), "deploy/a.sql", "SELECT 1;\n");
        let msg = discover(tmp.path(), Dialect::Postgres)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(&format!("sqitch.plan:{line}:")) && msg.contains(word),
            "{plan:?}: {msg}"
        );
    }
}

#[test]
fn a_missing_deploy_script_and_inner_transactions_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "sqitch.plan",
        "%project=p\n\na 2012-07-03T20:53:06Z M <m@x>\n",
    );
    let msg = discover(tmp.path(), Dialect::Postgres)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("sqitch.plan:3") && msg.contains("deploy/a.sql"),
        "{msg}"
    );
    write(
        tmp.path(),
        "deploy/a.sql",
        "BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n",
    );
    let msg = discover(tmp.path(), Dialect::Postgres)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("deploy/a.sql:1") && msg.contains("BEGIN"),
        "{msg}"
    );
    write(tmp.path(), "deploy/a.sql", "SELECT 1;\n");
    write(tmp.path(), "sqitch.conf", "[core]\n\ttop_dir = db\n");
    let msg = discover(tmp.path(), Dialect::Postgres)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("sqitch.conf"), "{msg}");
}
