//! pressly/goose SQL migrations: one `<version>_<name>.sql` file per migration, with
//! `-- +goose Up` and an optional `-- +goose Down` splitting it into an up and a down
//! section.
//!
//! The rules are goose's own (`internal/sqlparser`): annotations are case-insensitive and
//! stand alone on their line with no leading whitespace; only comments and blank lines may
//! precede `-- +goose Up`; `-- +goose NO TRANSACTION` anywhere applies to the whole file;
//! a statement outside a `StatementBegin`/`StatementEnd` block must end on a line ending in
//! `;`. `statements` turns a section into what reaches the database, and `envsub` does
//! goose's `${VAR}` substitution. A Go migration (`<version>_<name>.go`) cannot be run by
//! cutover and is an error naming it.

mod annotation;
mod envsub;
mod statements;

use std::path::Path;

use super::directives::forbid;
use super::flat::{Named, pair, unexpected};
use super::tree::{Entry, Found, Texts, Tree, is_digits, numbered, split_version, sql_only};
use super::{Error, Layout, Migration, Script, Splitting, Version};

use annotation::Annotation;
pub(super) use annotation::{is_annotation, is_up};
pub(super) use statements::statements;

const EXPECTED: &str = "<version>_<name>.sql with a `-- +goose Up` line, where <version> is digits";

/// Whether a file name is a goose Go migration (`00002_backfill.go`; test files are not).
pub(super) fn is_go_migration(name: &str) -> bool {
    name.strip_suffix(".go")
        .filter(|stem| !stem.ends_with("_test"))
        .and_then(split_version)
        .is_some_and(|(version, _)| is_digits(version))
}

/// Reads every file of a goose folder.
pub(super) fn read(tree: &Tree, texts: &mut Texts, found: &mut Found) -> Result<(), Error> {
    if let Some(go) = tree.files.iter().find(|f| is_go_migration(&f.name)) {
        return Err(Error::Unsupported {
            path: go.path.clone(),
            what: "goose Go migrations",
            hint: "cutover runs SQL only: rewrite it as <version>_<name>.sql with `-- +goose Up`, or run this folder with goose",
        });
    }
    let mut files = Vec::new();
    for entry in sql_only(&tree.files, found) {
        files.push(
            file_name(entry).ok_or_else(|| unexpected(tree, entry, Layout::Goose, EXPECTED))?,
        );
    }
    for file in pair(files)? {
        let Named {
            version,
            name,
            entry,
            ..
        } = file.up;
        let text = texts.take(&entry.path)?;
        found
            .migrations
            .push(migration(&entry.path, version, name, &text)?);
    }
    Ok(())
}

fn file_name(entry: &Entry) -> Option<Named<'_>> {
    let (version, name) = numbered(entry.name.strip_suffix(".sql")?)?;
    Some(Named {
        version: Version::parse(&version)?,
        name: name.to_string(),
        up: true,
        entry,
        no_transaction: false,
    })
}

fn migration(path: &Path, version: Version, name: String, text: &str) -> Result<Migration, Error> {
    let sections = Sections::read(path, text)?;
    forbid(path, &text[..sections.up.marker_start], 0, Layout::Goose)?;
    let up_end = sections
        .down
        .as_ref()
        .map_or(text.len(), |d| d.marker_start);
    let section = |s: &Section, end: usize| {
        let mut script = Script::new(
            path,
            text[s.body_start..end].to_string(),
            s.line,
            sections.no_transaction,
            Layout::Goose,
        )?;
        script.splitting = Splitting::Goose { envsub: s.envsub };
        Ok::<_, Error>(script)
    };
    let up = section(&sections.up, up_end)?;
    let down = sections
        .down
        .as_ref()
        .map(|d| section(d, text.len()))
        .transpose()?;
    Ok(Migration::new(version.to_string(), version, name, up, down))
}

/// Where an `Up` or `Down` annotation is, and the substitution state below it.
struct Section {
    /// 1-based line of the annotation: the number of lines before the section's text.
    line: usize,
    marker_start: usize,
    body_start: usize,
    envsub: bool,
}

/// A goose file's sections, checked the way goose checks them.
struct Sections {
    up: Section,
    down: Option<Section>,
    no_transaction: bool,
}

/// The state of the walk through a file.
#[derive(Default)]
struct Walk {
    up: Option<Section>,
    down: Option<Section>,
    no_transaction: bool,
    envsub: bool,
    /// The line of the open `StatementBegin`.
    block: Option<usize>,
    /// The first line of a statement not yet ended by a line ending in `;`.
    pending: Option<usize>,
}

impl Sections {
    fn read(path: &Path, text: &str) -> Result<Sections, Error> {
        let bad = |line: usize, reason: String| Error::BadSections {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut walk = Walk::default();
        let mut pos = 0;
        for (index, raw) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            let start = pos;
            pos += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            match annotation::parse(line) {
                Some(Ok(found)) => walk
                    .annotation(found, number, start, pos)
                    .map_err(|reason| bad(number, reason))?,
                Some(Err(reason)) => return Err(bad(number, reason)),
                None => walk
                    .sql(line, number)
                    .map_err(|reason| bad(number, reason))?,
            }
        }
        let end = text.lines().count().max(1);
        walk.finish(end).map_err(|(line, reason)| bad(line, reason))
    }
}

impl Walk {
    fn annotation(
        &mut self,
        found: Annotation,
        number: usize,
        start: usize,
        end: usize,
    ) -> Result<(), String> {
        let section = |envsub| Section {
            line: number,
            marker_start: start,
            body_start: end,
            envsub,
        };
        match found {
            Annotation::Up => {
                if let Some(first) = &self.up {
                    return Err(format!(
                        "a second `-- +goose Up` (the first is at line {}): keep one per file",
                        first.line
                    ));
                }
                self.up = Some(section(self.envsub));
            }
            Annotation::Down => {
                if self.up.is_none() {
                    return Err(
                        "`-- +goose Down` before `-- +goose Up`: put the up section first".into(),
                    );
                }
                if let Some(first) = &self.down {
                    return Err(format!(
                        "a second `-- +goose Down` (the first is at line {}): keep one per file",
                        first.line
                    ));
                }
                self.outside_block(number, "-- +goose Down")?;
                self.down = Some(section(self.envsub));
            }
            Annotation::StatementBegin => {
                if self.up.is_none() {
                    return Err("`-- +goose StatementBegin` before `-- +goose Up`: goose reads statements only below `-- +goose Up` or `-- +goose Down`".into());
                }
                self.outside_block(number, "-- +goose StatementBegin")?;
                self.block = Some(number);
            }
            Annotation::StatementEnd => {
                if self.block.take().is_none() {
                    return Err(
                        "`-- +goose StatementEnd` without a `-- +goose StatementBegin` above it"
                            .into(),
                    );
                }
            }
            Annotation::NoTransaction => self.no_transaction = true,
            Annotation::EnvsubOn => self.envsub = true,
            Annotation::EnvsubOff => self.envsub = false,
        }
        Ok(())
    }

    /// Refuses `what` inside a block or after a statement that has not ended.
    fn outside_block(&self, number: usize, what: &str) -> Result<(), String> {
        if let Some(open) = self.block {
            return Err(format!(
                "`{what}` inside the statement block opened at line {open}: close the block with `-- +goose StatementEnd` first"
            ));
        }
        if let Some(first) = self.pending {
            return Err(unfinished(first, number));
        }
        Ok(())
    }

    /// A line that is not an annotation.
    fn sql(&mut self, line: &str, number: usize) -> Result<(), String> {
        let content = line.trim();
        let comment_or_blank = content.is_empty() || content.starts_with("--");
        if self.up.is_none() {
            if !comment_or_blank {
                return Err("SQL before `-- +goose Up`, which goose refuses: move it below the `-- +goose Up` line".into());
            }
            return Ok(());
        }
        if self.block.is_some() || (self.pending.is_none() && comment_or_blank) {
            return Ok(());
        }
        self.pending.get_or_insert(number);
        if ends_with_semicolon(line) {
            self.pending = None;
        }
        Ok(())
    }

    fn finish(self, end: usize) -> Result<Sections, (usize, String)> {
        let Some(up) = self.up else {
            return Err((
                1,
                "no `-- +goose Up` line, which every goose file needs: add it above the migration's SQL".into(),
            ));
        };
        if let Some(open) = self.block {
            return Err((
                open,
                "`-- +goose StatementBegin` without a `-- +goose StatementEnd` below it".into(),
            ));
        }
        if let Some(first) = self.pending {
            return Err((first, unfinished(first, end + 1)));
        }
        Ok(Sections {
            up,
            down: self.down,
            no_transaction: self.no_transaction,
        })
    }
}

fn unfinished(first: usize, before: usize) -> String {
    format!(
        "the statement starting at line {first} has no line ending in `;` before line {before}, which goose refuses (\"missing semicolon?\"): end it with `;`, or wrap it in `-- +goose StatementBegin` / `-- +goose StatementEnd`"
    )
}

/// goose's test for the end of a statement: the last word before any `--` comment on the
/// line ends with `;`.
fn ends_with_semicolon(line: &str) -> bool {
    line.split_whitespace()
        .take_while(|word| !word.starts_with("--"))
        .last()
        .is_some_and(|word| word.ends_with(';'))
}

#[cfg(test)]
mod tests;
