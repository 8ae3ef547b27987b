//! The target's side of a clone: everything in it dropped (its run records are read
//! first and put back by the caller), then the source's schema loaded in two parts around
//! the rows (`SchemaDump::sections`), and the source's migration history copied row by row.
//!
//! On PostgreSQL the emptying and the first part run in one transaction, so a source whose
//! schema does not load leaves the target as it was.

use crate::engine::{DbError, Engine};
use crate::error::Error;
use crate::sql::Dialect;

fn empty_err() -> impl FnOnce(DbError) -> Error {
    Error::db("cannot empty the target for the clone")
}

/// Statements that drop everything in the target's database (cutover's tables too).
fn drops(e: &mut dyn Engine) -> Result<Vec<String>, Error> {
    let listed = |e: &mut dyn Engine, sql: &str| -> Result<Vec<(String, String)>, Error> {
        Ok(e.query(sql)
            .map_err(empty_err())?
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default(),
                    r[1].clone().unwrap_or_default(),
                )
            })
            .collect())
    };
    Ok(match e.dialect() {
        Dialect::Postgres => crate::backup::postgres::replace_preamble(e)?
            .lines()
            .map(str::to_string)
            .filter(|l| !l.trim().is_empty())
            .collect(),
        Dialect::MySql => {
            let mut out = vec!["SET SESSION foreign_key_checks = 0".to_string()];
            for sql in [
                "SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
                "SELECT IF(TABLE_TYPE = 'SEQUENCE', 'SEQUENCE', 'TABLE'), TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW'",
                "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
                "SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
            ] {
                for (kind, name) in listed(e, sql)? {
                    out.push(format!(
                        "DROP {kind} IF EXISTS `{}`",
                        name.replace('`', "``")
                    ));
                }
            }
            out.push("SET SESSION foreign_key_checks = 1".to_string());
            out
        }
        Dialect::Sqlite => {
            let mut out = vec!["PRAGMA foreign_keys = OFF".to_string()];
            let objects = listed(
                e,
                "SELECT type, name FROM sqlite_schema WHERE type IN ('view', 'trigger', 'table') \
                 AND name NOT LIKE 'sqlite!_%' ESCAPE '!' \
                 ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END",
            )?;
            for (kind, name) in objects {
                out.push(format!(
                    "DROP {} IF EXISTS \"{}\"",
                    kind.to_ascii_uppercase(),
                    name.replace('"', "\"\"")
                ));
            }
            out.push("DELETE FROM sqlite_sequence WHERE 1 = 1".to_string());
            out
        }
    })
}

/// Empty the target and load the first part of the source's schema into it.
pub fn replace(e: &mut dyn Engine, pre: &str) -> Result<(), Error> {
    let drops = drops(e)?;
    let statements = crate::sql::split(pre, e.dialect())
        .map_err(|err| Error::Usage(format!("cannot split the source's schema dump: {err}")))?;
    let transactional = e.dialect() == Dialect::Postgres;
    if transactional {
        e.begin().map_err(empty_err())?;
    }
    for sql in &drops {
        // SQLite has no sqlite_sequence until a table uses AUTOINCREMENT.
        if sql.contains("sqlite_sequence") {
            let _ = e.execute(sql);
            continue;
        }
        e.execute(sql).map_err(empty_err())?;
    }
    for s in &statements {
        e.execute(&s.sql).map_err(|err| {
            Error::db(format!(
                "cannot load the source's schema into the target (statement at line {} of the dump)",
                s.line
            ))(err)
        })?;
    }
    if transactional {
        e.commit().map_err(empty_err())?;
    }
    if e.dialect() == Dialect::Sqlite {
        let _ = e.execute("PRAGMA foreign_keys = ON");
    }
    Ok(())
}

/// The second part of the schema: indexes, keys, triggers, sequence positions.
pub fn finish(e: &mut dyn Engine, post: &str) -> Result<(), Error> {
    let statements = crate::sql::split(post, e.dialect())
        .map_err(|err| Error::Usage(format!("cannot split the source's schema dump: {err}")))?;
    for s in &statements {
        e.execute(&s.sql).map_err(|err| {
            Error::db(format!(
                "the rows are loaded, but the source's keys, indexes or triggers did not load (statement at line {} of the dump)",
                s.line
            ))(err)
        })?;
    }
    Ok(())
}

/// The source's migration history, row by row, so the target knows its schema version.
pub fn history(e: &mut dyn Engine, rows: &[crate::history::HistoryRow]) -> Result<(), Error> {
    e.ensure_history()
        .map_err(Error::db("cannot create the history table in the target"))?;
    for row in rows {
        e.upsert_history(row).map_err(Error::db(
            "cannot copy the source's history into the target",
        ))?;
    }
    Ok(())
}
