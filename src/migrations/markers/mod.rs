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

mod table;

pub use table::KNOWN_MARKERS;

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
mod tests;
