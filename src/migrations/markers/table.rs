//! The rows of the table of other tools' in-file markers, with the line patterns that
//! recognise each one (from each tool's own parser; see the parent module).

use super::super::Layout;
use super::{KnownMarker, Support};

const NOT_YET: &str = "cutover does not implement it, and running the file with this line read as a comment would not do what the tool does: convert the file to a layout cutover reads (README, \"Migration files\"), or keep running it with its own tool";

/// Every known marker. The first row that matches a line decides.
pub static KNOWN_MARKERS: &[KnownMarker] = &[
    KnownMarker {
        tool: "sqlx",
        marker: "-- no-transaction (first line)",
        example: "-- no-transaction",
        support: Support::NoTransaction,
        scope: None,
        matches: |line, first| first && line.trim() == "-- no-transaction",
    },
    KnownMarker {
        tool: "sqlx",
        marker: "-- no-transaction (below the first line)",
        example: "-- no-transaction",
        support: Support::Refused(
            "sqlx honours it only as the first line of the file, and would run this file in a transaction: move it to line 1",
        ),
        scope: None,
        matches: |line, first| !first && line.trim() == "-- no-transaction",
    },
    KnownMarker {
        tool: "Mattermost morph",
        marker: "-- morph:nontransactional (first line)",
        example: "-- morph:nontransactional",
        support: Support::NoTransaction,
        scope: None,
        matches: |line, first| first && line.trim_end() == "-- morph:nontransactional",
    },
    KnownMarker {
        tool: "Mattermost morph",
        marker: "-- morph:… (anywhere else)",
        example: "-- morph:transactional",
        support: Support::Refused(
            "morph knows only `-- morph:nontransactional`, and only as the first line of the file: move it to line 1",
        ),
        scope: None,
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "morph:")),
    },
    KnownMarker {
        tool: "dbmate",
        marker: "-- migrate:up / -- migrate:down",
        example: "-- migrate:up",
        support: Support::Layout(Layout::Dbmate),
        scope: None,
        matches: |line, _| super::super::dbmate::is_marker(line),
    },
    KnownMarker {
        tool: "goose",
        marker: "-- +goose Up / Down / StatementBegin / StatementEnd / NO TRANSACTION / ENVSUB ON|OFF",
        example: "-- +goose Up",
        support: Support::Layout(Layout::Goose),
        scope: None,
        matches: |line, _| super::super::goose::is_annotation(line),
    },
    KnownMarker {
        tool: "sql-migrate",
        marker: "-- +migrate Up / Down / StatementBegin / StatementEnd",
        example: "-- +migrate Up",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "+migrate")),
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--liquibase formatted sql (first line)",
        example: "--liquibase formatted sql",
        support: Support::Layout(Layout::Liquibase),
        scope: None,
        matches: |line, _| super::super::liquibase::is_changelog(line),
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--changeset author:id attribute:value …",
        example: "--changeset alice:create-users runOnChange:true",
        support: Support::Layout(Layout::Liquibase),
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                let mut words = w.split_whitespace();
                words
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("changeset"))
                    && words.next().is_some_and(|id| {
                        id.split_once(':')
                            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                    })
            })
        },
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--rollback <sql>, /* liquibase rollback … */, --ignoreLines:…",
        example: "--rollback drop table users;",
        support: Support::Layout(Layout::Liquibase),
        scope: Some(Layout::Liquibase),
        matches: |line, _| {
            comment_word(line)
                .is_some_and(|w| starts_ci(w, "rollback ") || starts_ci(w, "ignoreLines:"))
                || line
                    .trim_start()
                    .strip_prefix("/*")
                    .is_some_and(|r| starts_ci(r.trim_start(), "liquibase"))
        },
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--comment: …, --validCheckSum: …",
        example: "--comment: creates the users table",
        support: Support::Comment,
        scope: Some(Layout::Liquibase),
        matches: |line, _| {
            comment_word(line)
                .is_some_and(|w| starts_ci(w, "comment") || starts_ci(w, "validCheckSum"))
        },
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--preconditions …, --precondition-<type> …",
        example: "--precondition-sql-check expectedResult:0 SELECT COUNT(*) FROM users",
        support: Support::Refused(
            "cutover does not evaluate Liquibase preconditions: check the condition in a `[[checks]]` entry or in the SQL itself",
        ),
        scope: Some(Layout::Liquibase),
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "precondition")),
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "--property name:… value:…",
        example: "--property name:schema value:app",
        support: Support::Refused(
            "cutover does not substitute Liquibase changelog properties: write the value itself",
        ),
        scope: Some(Layout::Liquibase),
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "property ")),
    },
    KnownMarker {
        tool: "Liquibase",
        marker: "${property} in a changeset",
        example: "INSERT INTO settings VALUES ('${schema}');",
        support: Support::Refused(
            "Liquibase replaces `${…}` with changelog parameters before it runs a changeset, and cutover does not: write the value itself",
        ),
        scope: Some(Layout::Liquibase),
        matches: |line, _| has_placeholder(line),
    },
    KnownMarker {
        tool: "tern",
        marker: "---- create above / drop below ----",
        example: "---- create above / drop below ----",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| line.trim_end() == "---- create above / drop below ----",
    },
    KnownMarker {
        tool: "tern",
        marker: "---- tern: disable-tx ----",
        example: "---- tern: disable-tx ----",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| {
            line.strip_prefix("----")
                .is_some_and(|rest| starts_ci(rest.trim_start(), "tern:"))
        },
    },
    KnownMarker {
        tool: "node-pg-migrate",
        marker: "-- Up Migration / -- Down Migration",
        example: "-- Up Migration",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| {
            let Some(rest) = line.trim_start().strip_prefix("--") else {
                return false;
            };
            let words: Vec<&str> = rest
                .trim_start_matches(|c: char| c == '-' || c.is_whitespace())
                .split_whitespace()
                .collect();
            words.len() == 2
                && (words[0].eq_ignore_ascii_case("up") || words[0].eq_ignore_ascii_case("down"))
                && words[1].eq_ignore_ascii_case("migration")
        },
    },
    KnownMarker {
        tool: "rambler",
        marker: "-- rambler up / -- rambler down",
        example: "-- rambler up",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                let mut words = w.split_whitespace();
                words
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("rambler"))
                    && words.next().is_some_and(|d| {
                        d.eq_ignore_ascii_case("up") || d.eq_ignore_ascii_case("down")
                    })
            })
        },
    },
    KnownMarker {
        tool: "shmig",
        marker: "-- ==== UP ==== / -- ==== DOWN ====",
        example: "-- ==== UP ====",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                let inner = w.trim_matches(|c: char| c == '=' || c.is_whitespace());
                w.starts_with('=')
                    && w.ends_with('=')
                    && (inner.eq_ignore_ascii_case("up") || inner.eq_ignore_ascii_case("down"))
            })
        },
    },
    KnownMarker {
        tool: "bun",
        marker: "--bun:split",
        example: "--bun:split",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| line.starts_with("--bun:"),
    },
    KnownMarker {
        tool: "Atlas",
        marker: "-- atlas:nolint",
        example: "-- atlas:nolint destructive",
        support: Support::Comment,
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                w.split_whitespace()
                    .next()
                    .is_some_and(|d| d.eq_ignore_ascii_case("atlas:nolint"))
            })
        },
    },
    KnownMarker {
        tool: "Atlas",
        marker: "-- atlas:txmode none|file, -- atlas:delimiter <d>, -- atlas:sum ignore",
        example: "-- atlas:txmode none",
        support: Support::Layout(Layout::Atlas),
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                ["atlas:txmode", "atlas:delimiter", "atlas:sum"]
                    .iter()
                    .any(|d| {
                        w.split_whitespace()
                            .next()
                            .is_some_and(|x| x.eq_ignore_ascii_case(d))
                    })
            })
        },
    },
    KnownMarker {
        tool: "Atlas",
        marker: "-- atlas:checkpoint / txtar / execorder / … (other directives)",
        example: "-- atlas:checkpoint",
        support: Support::Refused(
            "cutover does not do what Atlas does with this directive (checkpoints, txtar files and execution orders are Atlas Pro features): run this directory with Atlas, or remove the directive",
        ),
        scope: None,
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "atlas:")),
    },
    KnownMarker {
        tool: "refinery",
        marker: "-- refinery:noTransaction",
        example: "-- refinery:noTransaction",
        support: Support::Refused(
            "cutover does not read refinery's marker: write `-- cutover:no-transaction` as the first line instead",
        ),
        scope: None,
        matches: |line, _| comment_word(line).is_some_and(|w| starts_ci(w, "refinery:")),
    },
    KnownMarker {
        tool: "yoyo",
        marker: "-- depends: … / -- transactional: false",
        example: "-- depends: 0001_create_users",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| {
            comment_word(line)
                .is_some_and(|w| starts_ci(w, "depends:") || starts_ci(w, "transactional:"))
        },
    },
    KnownMarker {
        tool: "graphile-migrate",
        marker: "--! Previous: / --! Hash: / --! no-transaction",
        example: "--! no-transaction",
        support: Support::Refused(NOT_YET),
        scope: None,
        matches: |line, _| line.trim_start().starts_with("--!"),
    },
    KnownMarker {
        tool: "sqitch",
        marker: "-- Deploy project:change to engine (Revert … from, Verify … on)",
        example: "-- Deploy flipr:users to pg",
        support: Support::Layout(Layout::Sqitch),
        scope: None,
        matches: |line, _| {
            comment_word(line).is_some_and(|w| {
                let words: Vec<&str> = w.split_whitespace().collect();
                matches!(
                    words.as_slice(),
                    ["Deploy", change, "to", _] | ["Revert", change, "from", _] | ["Verify", change, "on", _]
                        if change.contains(':')
                )
            })
        },
    },
    KnownMarker {
        tool: "Drizzle",
        marker: "--> statement-breakpoint",
        example: "--> statement-breakpoint",
        support: Support::Comment,
        scope: None,
        matches: |line, _| {
            line.trim_start()
                .strip_prefix("-->")
                .is_some_and(|rest| rest.trim() == "statement-breakpoint")
        },
    },
    KnownMarker {
        tool: "Flyway",
        marker: "${placeholder} in a Flyway migration",
        example: "INSERT INTO settings VALUES ('${flyway:defaultSchema}');",
        support: Support::Refused(
            "Flyway replaces `${…}` placeholders before it runs a script, and cutover does not: write the value itself",
        ),
        scope: Some(Layout::Flyway),
        matches: |line, _| has_placeholder(line),
    },
];

/// The text after `--` and spaces, for a line that is a `--` comment.
pub(super) fn comment_word(line: &str) -> Option<&str> {
    Some(line.trim_start().strip_prefix("--")?.trim_start())
}

fn starts_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// `${name}` with a name of letters, digits and `_ : . -` (Flyway's placeholder syntax).
fn has_placeholder(line: &str) -> bool {
    line.match_indices("${").any(|(at, _)| {
        let rest = &line[at + 2..];
        rest.find('}').is_some_and(|end| {
            end > 0
                && rest[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
        })
    })
}
