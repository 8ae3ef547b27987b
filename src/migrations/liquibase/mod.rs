//! Liquibase formatted SQL changelogs: `.sql` files whose first line is `--liquibase
//! formatted sql`, each holding `--changeset author:id` sections, read in file-name order as
//! Liquibase's `includeAll` reads a folder.
//!
//! The rules are Liquibase's own (`AbstractFormattedChangeLogParser`,
//! `FormattedSqlChangeLogParser`): a changeset is identified by file + id + author (cutover's
//! id is `<file>::<id>::<author>`, Liquibase's own notation; `logicalFilePath` replaces the
//! file); its SQL runs as Liquibase splits it (`split`); `--rollback` lines and a
//! `/* liquibase rollback … */` block make its rollback, `--rollback not required` or
//! `empty` an empty one, `--rollback changesetId:… changesetAuthor:…` another changeset's
//! SQL. `runOnChange:true` runs it again when it changes, `runInTransaction:false` outside a
//! transaction, `context`/`labels` pick environments and `dbms` engines (`filter`), and
//! `ignore:true` leaves it out. What cutover does not do (preconditions, `--property` and
//! `${…}` parameters, `runAlways`, `failOnError:false`, `runWith` other than `jdbc`) is
//! refused with its line.

mod changelog;
mod filter;
mod split;

use crate::sql::Dialect;

use changelog::{At, Changelog, Changeset, FIRST_LINE};

use super::tree::{Entry, Found, Texts, Tree};
use super::{Error, Kind, Layout, Migration, Script, Splitting as ScriptSplitting, Version};

pub(super) use filter::Dbms;
pub use filter::EnvFilter;
pub(crate) use split::Splitting;
pub(super) use split::statements;

const EXPECTED: &str =
    "a Liquibase formatted SQL changelog whose first line is `--liquibase formatted sql`";

/// Whether `text` is a Liquibase formatted SQL changelog: its first non-blank line says so.
pub(super) fn is_changelog(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| FIRST_LINE.is_match(l.trim_end_matches('\r')))
}

/// Reads every changelog of a Liquibase folder, for `dialect`'s engine.
pub(super) fn read(
    tree: &Tree,
    texts: &mut Texts,
    dialect: Dialect,
    found: &mut Found,
) -> Result<(), Error> {
    for (index, entry) in super::tree::sql_only(&tree.files, found)
        .into_iter()
        .enumerate()
    {
        let text = texts.take(&entry.path)?;
        if text.trim().is_empty() {
            found.ignore(&entry.path, "empty file (Liquibase skips it)");
            continue;
        }
        if !is_changelog(&text) {
            return Err(super::flat::unexpected(
                tree,
                entry,
                Layout::Liquibase,
                EXPECTED,
            ));
        }
        for changeset in Changelog::parse(entry, &text)?.changesets {
            if let Some(m) = changeset.into_migration(entry, index, dialect, found)? {
                found.migrations.push(m);
            }
        }
    }
    Ok(())
}

impl Changeset {
    /// The migration, or `None` when the changeset is not for this engine or ignored.
    fn into_migration(
        self,
        entry: &Entry,
        file_index: usize,
        dialect: Dialect,
        found: &mut Found,
    ) -> Result<Option<Migration>, Error> {
        let at = At { path: &entry.path };
        let a = &self.attributes;
        let key = format!("{}:{}", self.author, self.id);
        if a.ignore {
            found.ignore(&entry.path, format!("changeset {key} has ignore:true"));
            return Ok(None);
        }
        let dbms = a
            .dbms
            .as_deref()
            .map(Dbms::new)
            .transpose()
            .map_err(|e| at.bad(self.line, format!("dbms: {e}")))?;
        let mut pending_dbms = None;
        if let Some(d) = dbms {
            let fits = match dialect {
                Dialect::Postgres => d.admits("postgresql"),
                Dialect::Sqlite => d.admits("sqlite"),
                Dialect::MySql => {
                    let (my, maria) = (d.admits("mysql"), d.admits("mariadb"));
                    if my != maria {
                        pending_dbms = Some(d.clone());
                    }
                    my || maria
                }
            };
            if !fits {
                found.ignore(
                    &entry.path,
                    format!(
                        "changeset {key} is for dbms {}",
                        a.dbms.as_deref().unwrap_or_default()
                    ),
                );
                return Ok(None);
            }
        }
        let envs = EnvFilter::new(a.context.as_deref(), a.labels.as_deref())
            .map_err(|e| at.bad(self.line, format!("context: {e}")))?;
        let no_transaction = !a.run_in_transaction;
        let up_sql = padded(&self.sql, self.line);
        let mut up = Script::new(
            &entry.path,
            up_sql,
            self.line,
            no_transaction,
            Layout::Liquibase,
        )?;
        up.splitting = ScriptSplitting::Liquibase(Splitting {
            split: a.split.unwrap_or(true),
            strip_comments: a.strip_comments.unwrap_or(true),
            end_delimiter: a.end_delimiter.clone(),
        });
        let down = self.rollback_script(&at, entry, no_transaction)?;
        let file = self
            .attributes
            .logical_path
            .clone()
            .or(self.logical_path.clone())
            .unwrap_or_else(|| entry.name.clone());
        let id = format!("{file}::{}::{}", self.id, self.author);
        let version = Version::ordinal(self.id.clone(), &[file_index, self.index]);
        let mut m = Migration::new(id, version, self.id.clone(), up, down);
        m.checksum = super::checksum(&m.up.sql.split_whitespace().collect::<String>());
        m.kind = if a.run_on_change {
            Kind::RunOnChange
        } else {
            Kind::Versioned
        };
        m.envs = envs;
        m.dbms = pending_dbms;
        Ok(Some(m))
    }

    fn rollback_script(
        &self,
        at: &At,
        entry: &Entry,
        no_transaction: bool,
    ) -> Result<Option<Script>, Error> {
        let Some(&(first, _)) = self.rollback.first() else {
            return Ok(None);
        };
        let joined: String = self
            .rollback
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let lower = joined.trim().to_lowercase();
        if lower.starts_with("not required") || lower.starts_with("empty") {
            return Ok(Some(Script::new(
                &entry.path,
                String::new(),
                first - 1,
                no_transaction,
                Layout::Liquibase,
            )?));
        }
        if lower.contains("changesetid") {
            return Err(at.refused(first, &self.rollback[0].1, "cutover does not yet roll back by another changeset's SQL: copy its SQL into this changeset's `--rollback`"));
        }
        let sql = padded(&self.rollback, first - 1);
        let mut down = Script::new(
            &entry.path,
            sql,
            first - 1,
            no_transaction,
            Layout::Liquibase,
        )?;
        down.splitting = ScriptSplitting::Liquibase(Splitting {
            split: self.attributes.rollback_split.unwrap_or(true),
            strip_comments: false,
            end_delimiter: self.attributes.rollback_end_delimiter.clone(),
        });
        Ok(Some(down))
    }
}

/// Text whose line `n` is file line `offset + n`: the given lines in place, blank lines
/// where the file holds something else (`--rollback` lines among the SQL, comments), so
/// that statement lines point into the file.
fn padded(lines: &[(usize, String)], offset: usize) -> String {
    let mut out = String::new();
    let mut next = offset + 1;
    for (number, text) in lines {
        while next < *number {
            out.push('\n');
            next += 1;
        }
        out.push_str(text);
        out.push('\n');
        next = number + 1;
    }
    out
}

#[cfg(test)]
mod tests;
