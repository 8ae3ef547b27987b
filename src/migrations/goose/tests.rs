//! Reading goose files: sections and their lines, the whole-file annotations, and goose's
//! refusals, each naming the file and line.

use crate::migrations::tests::{names, write};
use crate::migrations::{Error, Layout, Migration, checksum, detect, discover};
use crate::sql::Dialect;

const USERS: &str = "\
-- +goose NO TRANSACTION
-- A header comment

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TABLE users (id int);

-- +goose Down
DROP TABLE users;
DROP FUNCTION f();
";

fn read_one(text: &str) -> Result<Migration, Error> {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "20230201093158_users.sql", text);
    let found = discover(tmp.path(), Dialect::Postgres)?;
    assert_eq!(found.layout, Layout::Goose);
    Ok(found.migrations.into_iter().next().unwrap())
}

fn line_of(err: &Error) -> usize {
    match err {
        Error::BadSections { line, .. } => *line,
        other => panic!("not a section error: {other}"),
    }
}

#[test]
fn sections_with_lines_and_the_whole_file_annotations() {
    let m = read_one(USERS).unwrap();
    assert_eq!(
        (m.id.as_str(), m.name.as_str()),
        ("20230201093158", "users")
    );
    assert!(
        m.up.sql
            .starts_with("-- +goose StatementBegin\nCREATE FUNCTION")
    );
    assert!(m.up.sql.ends_with("CREATE TABLE users (id int);\n\n"));
    assert_eq!(
        m.up.line_offset, 4,
        "line 1 of the up section is line 5 of the file"
    );
    let down = m.down.as_ref().unwrap();
    assert_eq!(down.sql, "DROP TABLE users;\nDROP FUNCTION f();\n");
    assert_eq!(down.line_offset, 10);
    assert!(m.up.directives.no_transaction && down.directives.no_transaction);
    assert_eq!(m.checksum, checksum(&m.up.sql), "the up section only");

    let up: Vec<(usize, String)> =
        m.up.statements(Dialect::Postgres)
            .unwrap()
            .into_iter()
            .map(|s| (s.line + m.up.line_offset, s.sql))
            .collect();
    assert_eq!(
        up,
        [
            (
                6,
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql"
                    .to_string()
            ),
            (8, "CREATE TABLE users (id int)".to_string()),
        ]
    );
}

#[test]
fn no_down_annotation_means_no_down_script() {
    let m = read_one("-- +goose Up\nCREATE TABLE t (id int);\n").unwrap();
    assert!(m.down.is_none());
    assert!(!m.up.directives.no_transaction);
    let m = read_one("-- +goose Up\nSELECT 1;\n-- +goose Down\n").unwrap();
    assert_eq!(m.down.unwrap().sql, "", "an empty down section is a no-op");
}

#[test]
fn envsub_state_carries_into_each_section() {
    let m = read_one(
        "-- +goose ENVSUB ON\n-- +goose Up\nSELECT 1;\n-- +goose ENVSUB OFF\n-- +goose Down\nSELECT 2;\n",
    )
    .unwrap();
    assert_eq!(
        m.up.splitting,
        crate::migrations::Splitting::Goose { envsub: true }
    );
    assert_eq!(
        m.down.unwrap().splitting,
        crate::migrations::Splitting::Goose { envsub: false }
    );
}

#[test]
fn crlf_files_keep_lines_and_checksum() {
    let lf = read_one("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n").unwrap();
    let crlf = read_one("-- +goose Up\r\nSELECT 1;\r\n-- +goose Down\r\nSELECT 2;\r\n").unwrap();
    assert_eq!(crlf.down.as_ref().unwrap().line_offset, 3);
    assert_eq!(lf.checksum, crlf.checksum);
}

#[test]
fn malformed_files_are_refused_as_goose_refuses_them() {
    let cases = [
        (
            "SELECT 0;\n-- +goose Up\nSELECT 1;\n",
            1,
            "before `-- +goose Up`",
        ),
        (
            "-- +goose Up\nSELECT 1;\n-- +goose Up\n",
            3,
            "second `-- +goose Up`",
        ),
        (
            "-- +goose Up\n-- +goose Down\nSELECT 1;\n-- +goose Down\n",
            4,
            "second `-- +goose Down`",
        ),
        (
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
            2,
            "without a `-- +goose StatementEnd`",
        ),
        (
            "-- +goose Up\n-- +goose StatementEnd\n",
            2,
            "without a `-- +goose StatementBegin`",
        ),
        (
            "-- +goose Up\n-- +goose StatementBegin\n-- +goose Down\n",
            3,
            "inside the statement block opened at line 2",
        ),
        (
            "-- +goose Up\nSELECT 1\n-- +goose Down\nSELECT 2;\n",
            3,
            "statement starting at line 2",
        ),
        (
            "-- +goose Up\nSELECT 1;\nSELECT 2 -- no semicolon\n",
            3,
            "missing semicolon",
        ),
        (
            "-- +goose Up\n  -- +goose StatementBegin\n",
            2,
            "whitespace",
        ),
        ("-- +goose Up\n-- +goose Upp\n", 2, "not a goose annotation"),
        (
            "-- +goose Up\nSELECT 1;\n-- see +goose docs\n",
            3,
            "not a goose annotation",
        ),
    ];
    for (text, line, words) in cases {
        let err = read_one(text).unwrap_err();
        assert_eq!(line_of(&err), line, "{text:?}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains("20230201093158_users.sql") && msg.contains(words),
            "{text:?}: {msg}"
        );
    }
}

#[test]
fn a_file_without_up_in_a_goose_folder_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "1_a.sql", "-- +goose Up\nSELECT 1;\n");
    write(tmp.path(), "2_b.sql", "CREATE TABLE b (id int);\n");
    let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
    assert!(
        err.to_string().contains("2_b.sql") && err.to_string().contains("-- +goose Up"),
        "{err}"
    );
}

#[test]
fn go_migrations_are_errors_and_make_the_folder_goose() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "00001_a.sql", "-- +goose Up\nSELECT 1;\n");
    write(tmp.path(), "migrations.go", "package migrations\n");
    write(tmp.path(), "00001_a_test.go", "package migrations\n");
    let found = discover(tmp.path(), Dialect::Postgres).unwrap();
    assert_eq!(
        names(&found),
        ["00001"],
        "helper and test files are not migrations"
    );
    write(tmp.path(), "00002_b.go", "package migrations\n");
    let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("00002_b.go"), "{err}");

    let only_go = tempfile::tempdir().unwrap();
    write(only_go.path(), "00001_a.go", "package migrations\n");
    assert_eq!(detect(only_go.path()).unwrap(), Layout::Goose);
}

#[test]
fn goose_and_dbmate_files_in_one_folder_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "1_a.sql", "-- migrate:up\nSELECT 1;\n");
    write(tmp.path(), "2_b.sql", "-- +goose Up\nSELECT 2;\n");
    let err = discover(tmp.path(), Dialect::Postgres).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MixedLayouts {
                first_layout: Layout::Dbmate,
                second_layout: Layout::Goose,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn markers_of_other_tools_are_refused_in_goose_files() {
    let err = read_one("-- +goose Up\n-- migrate:up\nSELECT 1;\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::ForeignMarker {
                line: 2,
                tool: "dbmate",
                ..
            }
        ),
        "{err}"
    );
    let err = read_one("-- no-transaction\n-- +goose Up\nSELECT 1;\n").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(":1:") && msg.contains("+goose NO TRANSACTION"),
        "{msg}"
    );
}
