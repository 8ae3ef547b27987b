//! The in-file markers of other migration tools: one table of every known one, saying
//! whether cutover does what the tool does with it, and the check that refuses the others.
//!
//! A foreign tool's marker is an SQL comment to the database, so a file that carries one
//! runs without error when the marker is read as a comment, and does the wrong thing: both
//! sections of a two-section file run one after the other, a script meant to run outside a
//! transaction fails or holds locks, placeholders reach the database unreplaced. So every
//! line of every file is matched against [`KNOWN_MARKERS`], and a marker is accepted only
//! where cutover implements it: anywhere else the file is refused with its line and the
//! tool's name.
//!
//! Sources for each pattern are the tools' own parsers (goose `internal/sqlparser`,
//! dbmate, sqlx, morph's driver, sql-migrate, Liquibase's formatted-SQL parser, tern,
//! node-pg-migrate `sqlMigration`, bun `migrate`, Atlas directives, refinery, yoyo,
//! graphile-migrate, shmig, rambler, sqitch templates, Drizzle, Flyway placeholders).
//! Rows with a `scope` are lines only that layout's files give a meaning to (a Liquibase
//! `--rollback`), so they are looked for only there.

use std::path::Path;

use super::{Error, Layout};

/// What cutover does with a tool's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// The script runs outside a transaction, as the tool runs it. Honoured in every layout
    /// whose scripts are whole files; refused in dbmate and goose files, which have their
    /// own way to say it.
    NoTransaction,
    /// Read by cutover's reader for this layout only (sections, statement blocks,
    /// substitution); refused in a file of any other layout.
    Layout(Layout),
    /// It only separates statements or silences a linter: read as a comment, the file runs
    /// as the tool runs it, because cutover finds the same statements.
    Comment,
    /// cutover does not do what the tool does with it: the file is refused, with this hint.
    Refused(&'static str),
}

/// One known marker of a foreign tool.
#[derive(Debug, Clone, Copy)]
pub struct KnownMarker {
    /// The tool, as messages name it.
    pub tool: &'static str,
    /// The marker as its documentation writes it.
    pub marker: &'static str,
    /// A line that carries it, for documentation and tests.
    pub example: &'static str,
    pub support: Support,
    /// The layout whose files alone can carry it (Liquibase's lines inside a changelog,
    /// Flyway's placeholders), or `None` when it is recognised in every file.
    pub scope: Option<Layout>,
    /// Whether `line` (without its line break) is this marker, `first` when it is the first
    /// line of the file.
    matches: fn(line: &str, first: bool) -> bool,
}

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
        matches: |line, _| super::dbmate::is_marker(line),
    },
    KnownMarker {
        tool: "goose",
        marker: "-- +goose Up / Down / StatementBegin / StatementEnd / NO TRANSACTION / ENVSUB ON|OFF",
        example: "-- +goose Up",
        support: Support::Layout(Layout::Goose),
        scope: None,
        matches: |line, _| super::goose::is_annotation(line),
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
        matches: |line, _| super::liquibase::is_changelog(line),
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
fn comment_word(line: &str) -> Option<&str> {
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

/// The known marker `line` carries, if any. Most lines are not comments, so those that
/// cannot match are passed over with one look at their first bytes.
pub fn find(line: &str, first: bool, layout: Option<Layout>) -> Option<&'static KnownMarker> {
    let trimmed = line.trim_start();
    let placeholders = matches!(layout, Some(Layout::Flyway | Layout::Liquibase));
    if !trimmed.starts_with("--") && !trimmed.starts_with("/*") && !placeholders {
        return None;
    }
    KNOWN_MARKERS
        .iter()
        .filter(|m| m.scope.is_none_or(|scope| layout == Some(scope)))
        .find(|m| (m.matches)(line, first))
}

/// What a marker does to the script that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Nothing,
    NoTransaction,
}

/// Whether `marker` is accepted in a file of `layout` (`None`: a plain SQL file), and what
/// it does there; an error naming the file, line and tool otherwise.
pub(super) fn accept(
    marker: &KnownMarker,
    layout: Option<Layout>,
    path: &Path,
    line: usize,
    text: &str,
) -> Result<Effect, Error> {
    let refuse = |hint: String| Error::ForeignMarker {
        path: path.to_path_buf(),
        line,
        text: text.trim().to_string(),
        tool: marker.tool,
        hint,
    };
    match marker.support {
        Support::Comment => Ok(Effect::Nothing),
        Support::NoTransaction => match layout.and_then(own_no_transaction) {
            Some((own, instead)) => Err(refuse(format!(
                "a {own} file has no effect from it: {instead}"
            ))),
            None => Ok(Effect::NoTransaction),
        },
        Support::Layout(own) if layout == Some(own) => Ok(Effect::Nothing),
        Support::Layout(own) => Err(refuse(format!(
            "this file is read {}, where it would be a plain comment: {own} files belong in a folder of {own} files (`cutover status` names the layout it finds)",
            match layout {
                Some(layout) => format!("as part of a {layout} folder"),
                None => "as plain SQL".to_string(),
            }
        ))),
        Support::Refused(hint) => Err(refuse(hint.to_string())),
    }
}

/// The layouts that say "outside a transaction" their own way, and that way.
fn own_no_transaction(layout: Layout) -> Option<(Layout, &'static str)> {
    Some(match layout {
        Layout::Dbmate => (layout, "write `-- migrate:up transaction:false` instead"),
        Layout::Goose => (layout, "write `-- +goose NO TRANSACTION` instead"),
        Layout::Liquibase => (
            layout,
            "write `runInTransaction:false` on the `--changeset` line instead",
        ),
        Layout::Sqitch => (
            layout,
            "leave out the script's `BEGIN;` and `COMMIT;` instead, as sqitch runs such a script statement by statement",
        ),
        Layout::Atlas => (
            layout,
            "write `-- atlas:txmode none` and a blank line at the top instead",
        ),
        _ => return None,
    })
}

/// Checks every line of `text` (lines of `path` from `line_offset + 1` on) that is not a
/// script of its own, such as the lines above a dbmate or goose file's first section.
pub(super) fn check(
    path: &Path,
    text: &str,
    line_offset: usize,
    layout: Option<Layout>,
) -> Result<(), Error> {
    for (index, line) in text.lines().enumerate() {
        let number = line_offset + index + 1;
        if let Some(marker) = find(line, number == 1, layout) {
            accept(marker, layout, path, number, line)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
