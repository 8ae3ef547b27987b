//! Liquibase formatted SQL read as Liquibase reads it.

use crate::migrations::tests::{names, write};
use crate::migrations::{Discovered, Error, Kind, Layout, discover};
use crate::sql::Dialect;

/// The example of Liquibase's formatted SQL documentation, with a rollback block.
const CHANGELOG: &str = "\
--liquibase formatted sql

--changeset nvoxland:1
create table test1 (
    id int primary key,
    name varchar(255)
);
--rollback drop table test1;

--changeset nvoxland:2 runOnChange:true context:\"dev, test\" labels:v1
-- cutover:no-transaction
insert into test1 (id, name) values (1, 'name 1');
insert into test1 (id, name) values (2, 'name 2');
/* liquibase rollback
delete from test1 where id = 1;
delete from test1 where id = 2;
*/

--changeset \"Jane Doe\":\"create view\" runInTransaction:false splitStatements:false
--comment: one statement, sent as is
create view v as select id from test1;
--rollback not required
";

fn read(text: &str, dialect: Dialect) -> Result<Discovered, Error> {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "001_changelog.sql", text);
    discover(tmp.path(), dialect)
}

#[test]
fn changesets_are_migrations_with_file_id_and_author() {
    let found = read(CHANGELOG, Dialect::Postgres).unwrap();
    assert_eq!(found.layout, Layout::Liquibase);
    assert_eq!(
        names(&found),
        [
            "001_changelog.sql::1::nvoxland",
            "001_changelog.sql::2::nvoxland",
            "001_changelog.sql::create view::Jane Doe",
        ]
    );
    let m = &found.migrations;
    assert_eq!(m[0].version.as_str(), "1");
    assert!(m[0].version < m[1].version && m[1].version < m[2].version);
    assert_eq!(m[0].up.line_offset, 3, "the body starts below --changeset");
    let stmts = m[0].up.statements(Dialect::Postgres).unwrap();
    assert_eq!(stmts.len(), 1);
    assert_eq!(stmts[0].line + m[0].up.line_offset, 4);
    let down = m[0].down.as_ref().unwrap();
    assert_eq!(
        down.statements(Dialect::Postgres).unwrap()[0].sql,
        "drop table test1"
    );
    assert_eq!(m[0].kind, Kind::Versioned);
    assert!(m[0].envs.is_none());

    assert_eq!(m[1].kind, Kind::RunOnChange);
    assert!(
        m[1].up.directives.no_transaction,
        "a cutover directive at the top of the body"
    );
    let envs = m[1].envs.as_ref().unwrap();
    assert_eq!(envs.context.as_deref(), Some("dev, test"));
    assert_eq!(envs.labels, Some(vec!["v1".to_string()]));
    let rollback: Vec<String> = m[1]
        .down
        .as_ref()
        .unwrap()
        .statements(Dialect::Postgres)
        .unwrap()
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(
        rollback,
        [
            "delete from test1 where id = 1",
            "delete from test1 where id = 2"
        ]
    );
    let lines: Vec<usize> = m[1]
        .down
        .as_ref()
        .unwrap()
        .statements(Dialect::Postgres)
        .unwrap()
        .iter()
        .map(|s| s.line + m[1].down.as_ref().unwrap().line_offset)
        .collect();
    assert_eq!(lines, [15, 16], "rollback block lines are file lines");

    assert!(m[2].up.directives.no_transaction);
    assert_eq!(m[2].name, "create view");
    let up = m[2].up.statements(Dialect::Postgres).unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].sql, "create view v as select id from test1;");
    assert_eq!(
        m[2].down.as_ref().unwrap().sql,
        "",
        "not required: a no-op rollback"
    );
}

#[test]
fn contexts_and_labels_pick_environments() {
    let found = read(CHANGELOG, Dialect::Sqlite).unwrap();
    let m = &found.migrations[1];
    assert!(!m.runs_in(Some("dev")), "labels v1 do not include dev");
    let text = CHANGELOG.replace(" labels:v1", "");
    let found = read(&text, Dialect::Sqlite).unwrap();
    let m = &found.migrations[1];
    assert!(m.runs_in(Some("dev")) && m.runs_in(Some("test")));
    assert!(!m.runs_in(Some("prod")) && !m.runs_in(None));
    assert!(found.migrations[0].runs_in(None));
}

#[test]
fn the_checksum_ignores_whitespace_and_the_rollback() {
    let a = read(CHANGELOG, Dialect::Sqlite).unwrap();
    let spaced = CHANGELOG
        .replace("    id int primary key,", "  id   int  primary key,")
        .replace(
            "--rollback drop table test1;",
            "--rollback drop table test1 cascade;",
        );
    let b = read(&spaced, Dialect::Sqlite).unwrap();
    assert_eq!(a.migrations[0].checksum, b.migrations[0].checksum);
    let edited = CHANGELOG.replace("name varchar(255)", "name varchar(100)");
    let c = read(&edited, Dialect::Sqlite).unwrap();
    assert_ne!(a.migrations[0].checksum, c.migrations[0].checksum);
}

#[test]
fn dbms_filters_by_engine() {
    let text = "--liquibase formatted sql\n--changeset a:pg dbms:postgresql\nselect 1;\n--changeset a:my dbms:mysql\nselect 2;\n--changeset a:maria dbms:mariadb,mysql\nselect 3;\n--changeset a:notlite dbms:!sqlite\nselect 4;\n";
    let ids = |d| {
        read(text, d)
            .unwrap()
            .migrations
            .iter()
            .map(|m| m.version.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(Dialect::Postgres), ["pg", "notlite"]);
    assert_eq!(ids(Dialect::Sqlite), Vec::<String>::new());
    assert_eq!(ids(Dialect::MySql), ["my", "maria", "notlite"]);
    let mut found = read(text, Dialect::MySql).unwrap();
    found.for_server("10.11.6-MariaDB-0+deb12u1");
    let kept: Vec<String> = found
        .migrations
        .iter()
        .map(|m| m.version.to_string())
        .collect();
    assert_eq!(kept, ["maria", "notlite"], "dbms:mysql is not MariaDB");
    let mut found = read(text, Dialect::MySql).unwrap();
    found.for_server("8.0.36");
    assert_eq!(found.migrations.len(), 3);
    let found = read(text, Dialect::Postgres).unwrap();
    assert!(
        found
            .ignored
            .iter()
            .any(|i| i.reason.contains("a:my is for dbms mysql")),
        "{:?}",
        found.ignored
    );
}

#[test]
fn end_delimiter_and_strip_comments() {
    let text = "--liquibase formatted sql\n--changeset a:1 endDelimiter:/ stripComments:false\ninsert into t values (1); -- one\n/\ninsert into t values (2);\n/\n";
    let found = read(text, Dialect::Postgres).unwrap();
    let sqls: Vec<String> = found.migrations[0]
        .up
        .statements(Dialect::Postgres)
        .unwrap()
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(
        sqls,
        [
            "insert into t values (1); -- one",
            "insert into t values (2);"
        ]
    );
}

#[test]
fn ignore_and_ignore_lines() {
    let text = "--liquibase formatted sql\n--changeset a:1 ignore:true\nselect 1;\n--changeset a:2\n--ignoreLines:start\nthis is not sql;\n--ignoreLines:end\nselect 2;\n--ignoreLines:1\nnot this either;\n";
    let found = read(text, Dialect::Postgres).unwrap();
    assert_eq!(names(&found), ["001_changelog.sql::2::a"]);
    let sqls: Vec<String> = found.migrations[0]
        .up
        .statements(Dialect::Postgres)
        .unwrap()
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(sqls, ["select 2"]);
}

#[test]
fn logical_file_path_replaces_the_file_in_the_id() {
    let text = "--liquibase formatted sql logicalFilePath:db/users.sql\n--changeset a:1\nselect 1;\n--changeset a:2 logicalFilePath:other.sql\nselect 2;\n";
    let found = read(text, Dialect::Postgres).unwrap();
    assert_eq!(names(&found), ["db/users.sql::1::a", "other.sql::2::a"]);
}

/// Each refused or malformed line is an error naming the file and its line.
#[test]
fn errors_name_the_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "--liquibase formatted sql\ncreate table a (id int);\n--changeset a:1\nselect 1;\n",
            2,
            "before the first `--changeset`",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\nselect 1;\n--changeset a:1\nselect 2;\n",
            4,
            "declared twice",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\n\n--changeset a:2\nselect 2;\n",
            2,
            "no SQL",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\n--preconditions onFail:MARK_RAN\nselect 1;\n",
            3,
            "preconditions",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\n--precondition-sql-check expectedResult:0 select 1\nselect 1;\n",
            3,
            "preconditions",
        ),
        (
            "--liquibase formatted sql\n--property name:x value:y\n--changeset a:1\nselect 1;\n",
            2,
            "properties",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 runInTransation:false\nselect 1;\n",
            2,
            "runInTransation",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 runOnChange:yes\nselect 1;\n",
            2,
            "true or false",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 runAlways:true\nselect 1;\n",
            2,
            "seed",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 failOnError:false\nselect 1;\n",
            2,
            "first error",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 runWith:psql\nselect 1;\n",
            2,
            "psql",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 dbms:postgres\nselect 1;\n",
            2,
            "`postgres`",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1 context:(dev\nselect 1;\n",
            2,
            "cannot parse",
        ),
        (
            "--liquibase formatted sql\n--changeset nocolon\nselect 1;\n",
            2,
            "--changeset <author>:<id>",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\nselect '${schema}';\n",
            3,
            "changelog parameters",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\nselect 1;\n/* liquibase rollback\nselect 2;\n",
            4,
            "no closing",
        ),
        (
            "--liquibase formatted sql\n--changeset a:1\nselect 1;\n--rollback changesetId:2 changesetAuthor:a\n",
            4,
            "another changeset",
        ),
    ];
    for (text, line, word) in cases {
        let err = read(text, Dialect::Postgres).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("001_changelog.sql:{line}:")) && msg.contains(word),
            "{text:?}: {msg}"
        );
    }
}

#[test]
fn a_plain_sql_file_beside_changelogs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "001.sql", CHANGELOG);
    write(tmp.path(), "002.sql", "create table b (id int);\n");
    write(tmp.path(), "003.sql", "\n");
    let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnexpectedFile {
                layout: Layout::Liquibase,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("002.sql"), "{err}");
}

#[test]
fn files_are_read_in_name_order() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "b.sql",
        "--liquibase formatted sql\n--changeset a:1\nselect 2;\n",
    );
    write(
        tmp.path(),
        "a.sql",
        "--liquibase formatted sql\n--changeset a:1\nselect 1;\n",
    );
    let found = discover(tmp.path(), Dialect::Postgres).unwrap();
    assert_eq!(names(&found), ["a.sql::1::a", "b.sql::1::a"]);
}
