//! The table of markers: every row found by its example, scopes, and what `accept` does.
use super::*;

/// The rows of a tool, in table order.
fn rows(tool: &str) -> Vec<&'static KnownMarker> {
    KNOWN_MARKERS.iter().filter(|m| m.tool == tool).collect()
}

#[test]
fn every_example_is_found_as_its_own_row() {
    for (index, row) in KNOWN_MARKERS.iter().enumerate() {
        let first = !row.marker.contains("below the first line");
        let layout = Some(row.scope.unwrap_or(Layout::Native));
        let found = find(row.example, first, layout)
            .unwrap_or_else(|| panic!("row {index} ({}): example not found", row.marker));
        assert!(
            std::ptr::eq(found, row),
            "row {index} ({}): example found as {:?}",
            row.marker,
            found.marker
        );
    }
}

#[test]
fn plain_comments_and_sql_are_not_markers() {
    for line in [
        "-- create the users table",
        "-- rollback: drop the table by hand",
        "-- this used to be a goose migration",
        "-- up migration for users, see #12",
        "-- Deploy the new index",
        "-- morph is the name of our migration tool",
        "SELECT '${not a placeholder outside Flyway}';",
        "SELECT '--bun:split';",
        "INSERT INTO t VALUES ('-- +goose Up');",
        "   -- migrate:up",
        "",
    ] {
        assert!(
            find(line, true, Some(Layout::SqlxSimple)).is_none(),
            "{line:?} is read as a marker"
        );
    }
    assert!(find("SELECT '$1', '${}';", false, Some(Layout::Flyway)).is_none());
}

#[test]
fn case_and_spacing_follow_each_tool() {
    for line in ["-- +goose up", "--+goose DOWN", "-- +GOOSE StatementBegin"] {
        assert_eq!(find(line, false, None).unwrap().tool, "goose", "{line}");
    }
    for line in ["-- +migrate up", "--+migrate Down notransaction"] {
        assert_eq!(
            find(line, false, None).unwrap().tool,
            "sql-migrate",
            "{line}"
        );
    }
    for line in ["-- liquibase formatted sql", "--Liquibase Formatted SQL"] {
        assert_eq!(find(line, true, None).unwrap().tool, "Liquibase", "{line}");
    }
    for line in [
        "-- Up Migration",
        "-- down migration",
        "---- Down migration",
    ] {
        assert_eq!(
            find(line, false, None).unwrap().tool,
            "node-pg-migrate",
            "{line}"
        );
    }
    assert_eq!(
        find("-- ===== DOWN =====", false, None).unwrap().tool,
        "shmig"
    );
    assert_eq!(
        find("-- Revert flipr:users from pg", false, None)
            .unwrap()
            .tool,
        "sqitch"
    );
}

#[test]
fn first_line_markers_depend_on_the_position() {
    let sqlx = rows("sqlx");
    assert!(std::ptr::eq(
        find("-- no-transaction", true, None).unwrap(),
        sqlx[0]
    ));
    assert!(std::ptr::eq(
        find("-- no-transaction", false, None).unwrap(),
        sqlx[1]
    ));
    let morph = rows("Mattermost morph");
    assert!(std::ptr::eq(
        find("-- morph:nontransactional", true, None).unwrap(),
        morph[0]
    ));
    assert!(std::ptr::eq(
        find("-- morph:nontransactional", false, None).unwrap(),
        morph[1]
    ));
}

#[test]
fn scoped_rows_are_looked_for_only_in_their_layout() {
    let rollback = "--rollback drop table users;";
    assert!(find(rollback, false, Some(Layout::Native)).is_none());
    assert_eq!(
        find(rollback, false, Some(Layout::Liquibase))
            .unwrap()
            .support,
        Support::Layout(Layout::Liquibase)
    );
    let param = "SELECT '${schema}';";
    assert!(find(param, false, Some(Layout::Native)).is_none());
    assert_eq!(
        find(param, false, Some(Layout::Liquibase)).unwrap().tool,
        "Liquibase"
    );
    assert_eq!(
        find(param, false, Some(Layout::Flyway)).unwrap().tool,
        "Flyway"
    );
    assert!(find("/* liquibase rollback", false, Some(Layout::Goose)).is_none());
}

#[test]
fn layouts_with_their_own_way_refuse_first_line_no_transaction() {
    for (layout, word) in [
        (Layout::Liquibase, "runInTransaction:false"),
        (Layout::Sqitch, "BEGIN"),
        (Layout::Atlas, "atlas:txmode none"),
    ] {
        let marker = find("-- no-transaction", true, Some(layout)).unwrap();
        let err = accept(
            marker,
            Some(layout),
            Path::new("f.sql"),
            1,
            "-- no-transaction",
        )
        .unwrap_err();
        assert!(err.to_string().contains(word), "{layout}: {err}");
    }
    let txmode = find("-- atlas:txmode none", false, Some(Layout::Atlas)).unwrap();
    assert_eq!(
        accept(txmode, Some(Layout::Atlas), Path::new("f.sql"), 1, "").unwrap(),
        Effect::Nothing,
        "the Atlas reader itself honours it"
    );
    let checkpoint = find("-- atlas:checkpoint", false, Some(Layout::Atlas)).unwrap();
    assert!(matches!(checkpoint.support, Support::Refused(_)));
}

#[test]
fn accept_follows_the_support_of_each_row() {
    let path = Path::new("m/1_a.sql");
    let at = |line: &str, first: bool, layout: Option<Layout>| {
        let marker = find(line, first, layout).unwrap();
        accept(marker, layout, path, 3, line)
    };
    assert_eq!(
        at("-- no-transaction", true, Some(Layout::SqlxSimple)).unwrap(),
        Effect::NoTransaction
    );
    assert_eq!(
        at("-- morph:nontransactional", true, Some(Layout::Native)).unwrap(),
        Effect::NoTransaction
    );
    assert!(at("-- no-transaction", true, Some(Layout::Dbmate)).is_err());
    assert_eq!(
        at("-- +goose Up", false, Some(Layout::Goose)).unwrap(),
        Effect::Nothing
    );
    assert_eq!(
        at("--> statement-breakpoint", false, Some(Layout::SqlxSimple)).unwrap(),
        Effect::Nothing
    );
    let err = at("-- +goose Up", false, Some(Layout::Native)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("m/1_a.sql:3: ") && msg.contains("goose") && msg.contains("native"),
        "{msg}"
    );
    let err = at("-- +migrate Up", false, Some(Layout::SqlxSimple)).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::ForeignMarker {
                line: 3,
                tool: "sql-migrate",
                ..
            }
        ),
        "{err}"
    );
}
