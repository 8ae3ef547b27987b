//! Online index builds (`guard.online_indexes`, on by default): the index builds the linter
//! flags are run the way it asks, so a deploy does not block the application's writes
//! while an index is built.
//!
//! - **PostgreSQL.** A migration made only of plain `CREATE [UNIQUE] INDEX name ON …`
//!   statements (what `require-concurrent-index-creation` flags) runs as
//!   `CREATE INDEX CONCURRENTLY`, outside a transaction, statement by statement, journaled;
//!   a build that fails leaves no INVALID index (`invalid.rs`). A migration that does
//!   anything else as well keeps its transaction, and its statements as written: the
//!   linter's finding stands.
//! - **MySQL/MariaDB.** `CREATE [UNIQUE] INDEX` and a lone `ALTER TABLE … ADD INDEX|KEY|
//!   UNIQUE` get `ALGORITHM=INPLACE, LOCK=NONE`: the server builds the index while writes go
//!   on, or refuses instead of copying the table under a lock.
//!
//! Only tables that were there before the run are built online: a table an earlier
//! migration of the same run created is empty, and building its index plainly, in the
//! migration's transaction, blocks nobody (as the linter knows too).
//!
//! The statements are recognised by their leading words, written by hand: a statement this
//! reader is unsure of (a comment between the words, a nameless index, an explicit
//! algorithm or lock) is left as written.

use std::collections::HashSet;

use crate::sql::{Dialect, Statement};

/// The statements rewritten to build online, when there is anything to rewrite; `true`
/// when the migration must then run outside a transaction (PostgreSQL). `existing`: the
/// tables there before the run, lowercased, without schema or quotes.
pub fn rewrite(
    statements: &[Statement],
    dialect: Dialect,
    existing: &HashSet<String>,
) -> Option<(Vec<Statement>, bool)> {
    match dialect {
        Dialect::Postgres => postgres(statements, existing).map(|s| (s, true)),
        Dialect::MySql => mysql(statements, existing).map(|s| (s, false)),
        Dialect::Sqlite => None,
    }
}

/// Whether any of `statements` is an index build this module would make online if its
/// table existed (the caller reads the existing tables only then).
pub fn candidate(statements: &[Statement], dialect: Dialect) -> bool {
    statements.iter().any(|s| match dialect {
        Dialect::Postgres => concurrently_at(&s.sql).is_some(),
        Dialect::MySql => mysql_online(&s.sql).is_some(),
        Dialect::Sqlite => false,
    })
}

/// The query listing the tables that exist, as `rewrite` wants them.
pub fn existing_tables_sql(dialect: Dialect) -> Option<&'static str> {
    match dialect {
        Dialect::Postgres => {
            Some("SELECT lower(relname) FROM pg_class WHERE relkind IN ('r', 'p', 'm')")
        }
        Dialect::MySql => Some(
            "SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = DATABASE()",
        ),
        Dialect::Sqlite => None,
    }
}

/// A table as `existing` holds it: lowercased, the last part of a qualified name,
/// without quotes.
pub fn bare(name: &str) -> String {
    let name = name.split('(').next().unwrap_or(name);
    let last = name.rsplit('.').next().unwrap_or(name);
    last.trim_matches(|c| c == '"' || c == '`').to_lowercase()
}

fn postgres(statements: &[Statement], existing: &HashSet<String>) -> Option<Vec<Statement>> {
    if statements.is_empty() {
        return None;
    }
    statements
        .iter()
        .map(|s| {
            let (at, table) = concurrently_at(&s.sql)?;
            if !existing.contains(&bare(table)) {
                return None;
            }
            let mut sql = s.sql.clone();
            sql.insert_str(at, " CONCURRENTLY");
            Some(Statement { sql, ..s.clone() })
        })
        .collect()
}

/// Where ` CONCURRENTLY` goes in a plain, named `CREATE [UNIQUE] INDEX … ON [ONLY] table`
/// (right after `INDEX`), and the table.
fn concurrently_at(sql: &str) -> Option<(usize, &str)> {
    let mut words = Words::new(sql);
    words.keyword("CREATE")?;
    let _ = words.keyword("UNIQUE");
    let at = words.keyword("INDEX")?.pos;
    if words.clone().keyword("CONCURRENTLY").is_some() {
        return None;
    }
    if words.keyword("IF").is_some() {
        words.keyword("NOT")?;
        words.keyword("EXISTS")?;
    }
    let name = words.word()?;
    if name.eq_ignore_ascii_case("ON") {
        return None; // nameless: a failed build's INVALID index could not be found by name
    }
    words.keyword("ON")?;
    let _ = words.keyword("ONLY");
    Some((at, words.word()?))
}

fn mysql(statements: &[Statement], existing: &HashSet<String>) -> Option<Vec<Statement>> {
    let mut changed = false;
    let out = statements
        .iter()
        .map(|s| match mysql_online(&s.sql) {
            Some((sql, table)) if existing.contains(&bare(table)) => {
                changed = true;
                Statement { sql, ..s.clone() }
            }
            _ => s.clone(),
        })
        .collect();
    changed.then_some(out)
}

/// The statement with `ALGORITHM=INPLACE, LOCK=NONE`, when it builds an index and says
/// neither; and its table.
fn mysql_online(sql: &str) -> Option<(String, &str)> {
    let upper = sql.to_ascii_uppercase();
    if upper.contains("ALGORITHM") || upper.contains("LOCK") {
        return None;
    }
    let mut words = Words::new(sql);
    let first = words.word()?.to_ascii_uppercase();
    let body = sql.trim_end();
    match first.as_str() {
        "CREATE" => {
            let _ = words.keyword("UNIQUE");
            words.keyword("INDEX")?;
            words.word()?;
            words.keyword("ON")?;
            let table = words.word()?;
            Some((format!("{body} ALGORITHM=INPLACE LOCK=NONE"), table))
        }
        "ALTER" => {
            words.keyword("TABLE")?;
            let table = words.word()?;
            words.keyword("ADD")?;
            let what = words.word()?.to_ascii_uppercase();
            let index = matches!(what.as_str(), "INDEX" | "KEY" | "UNIQUE");
            (index && !top_level_comma(sql))
                .then(|| (format!("{body}, ALGORITHM=INPLACE, LOCK=NONE"), table))
        }
        _ => None,
    }
}

/// Whether `sql` has a comma outside parentheses and quotes (more than one ALTER clause).
fn top_level_comma(sql: &str) -> bool {
    let (mut depth, mut quote) = (0i32, None);
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The leading words of a statement: runs of characters between whitespace, a quoted
/// name as one word. A comment among them ends the reading.
#[derive(Clone)]
struct Words<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str) -> Self {
        Words { sql, pos: 0 }
    }

    fn word(&mut self) -> Option<&'a str> {
        let rest = &self.sql[self.pos..];
        let start = self.pos + (rest.len() - rest.trim_start().len());
        let text = &self.sql[start..];
        if text.starts_with("--") || text.starts_with("/*") || text.is_empty() {
            return None;
        }
        let len = match text.chars().next()? {
            q @ ('"' | '`') => text[1..].find(q)? + 2,
            _ => text.find(char::is_whitespace).unwrap_or(text.len()),
        };
        self.pos = start + len;
        Some(&self.sql[start..start + len])
    }

    /// The next word, when it is `keyword` (and then the reading moves past it): the words
    /// after it.
    fn keyword(&mut self, keyword: &str) -> Option<Words<'a>> {
        let mut next = self.clone();
        let w = next.word()?;
        if !w.eq_ignore_ascii_case(keyword) {
            return None;
        }
        *self = next.clone();
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmts(sql: &[&str]) -> Vec<Statement> {
        sql.iter()
            .enumerate()
            .map(|(i, s)| Statement {
                sql: s.to_string(),
                line: i + 1,
            })
            .collect()
    }

    fn existing() -> HashSet<String> {
        ["orders", "t", "my table"].map(String::from).into()
    }

    fn pg(sql: &[&str]) -> Option<Vec<String>> {
        postgres(&stmts(sql), &existing()).map(|v| v.into_iter().map(|s| s.sql).collect())
    }

    fn my(sql: &str) -> Option<String> {
        mysql(&stmts(&[sql]), &existing()).map(|mut v| v.remove(0).sql)
    }

    #[test]
    fn postgres_index_builds_become_concurrent() {
        assert_eq!(
            pg(&[
                "CREATE INDEX orders_c ON public.orders (c)",
                "create unique index if not exists \"u x\" on only t(a)",
                "CREATE INDEX m ON \"My Table\" (a)",
            ]),
            Some(vec![
                "CREATE INDEX CONCURRENTLY orders_c ON public.orders (c)".to_string(),
                "create unique index CONCURRENTLY if not exists \"u x\" on only t(a)".into(),
                "CREATE INDEX CONCURRENTLY m ON \"My Table\" (a)".into(),
            ])
        );
    }

    #[test]
    fn postgres_leaves_what_it_is_unsure_of() {
        assert_eq!(pg(&["CREATE INDEX CONCURRENTLY i ON t (a)"]), None);
        assert_eq!(pg(&["CREATE INDEX ON t (a)"]), None, "nameless");
        assert_eq!(
            pg(&["CREATE INDEX i ON t (a)", "ALTER TABLE t ADD b int"]),
            None
        );
        assert_eq!(pg(&["CREATE /* x */ INDEX i ON t (a)"]), None);
        assert_eq!(pg(&[]), None);
        assert_eq!(
            pg(&["CREATE INDEX i ON fresh (a)"]),
            None,
            "created in this run"
        );
    }

    #[test]
    fn mysql_index_builds_say_inplace_and_no_lock() {
        assert_eq!(
            my("CREATE INDEX i ON t (a, b)").as_deref(),
            Some("CREATE INDEX i ON t (a, b) ALGORITHM=INPLACE LOCK=NONE")
        );
        assert_eq!(
            my("ALTER TABLE `t` ADD UNIQUE KEY u (a, b)").as_deref(),
            Some("ALTER TABLE `t` ADD UNIQUE KEY u (a, b), ALGORITHM=INPLACE, LOCK=NONE")
        );
        assert_eq!(my("ALTER TABLE t ADD INDEX i (a), ADD COLUMN c int"), None);
        assert_eq!(my("ALTER TABLE t ADD COLUMN c int"), None);
        assert_eq!(my("CREATE FULLTEXT INDEX f ON t (a)"), None);
        assert_eq!(my("CREATE INDEX i ON t (a) LOCK=SHARED"), None);
        assert_eq!(
            my("CREATE INDEX i ON fresh (a)"),
            None,
            "created in this run"
        );
    }
}
