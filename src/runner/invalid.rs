//! A failed `CREATE [UNIQUE] INDEX CONCURRENTLY` (PostgreSQL) leaves an INVALID index
//! behind: the statement is not transactional, so its failure cannot roll it back, and the
//! next attempt fails with "relation already exists". Before such a statement the invalid
//! indexes are listed; after its failure the new ones are dropped, and what could not be
//! dropped is named so that the migration is recorded as failed with it.

use crate::engine::{DbError, Engine};

/// Whether `sql` builds an index concurrently (a cheap textual test: a false positive only
/// costs one catalog query).
pub fn builds_index_concurrently(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(8)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let at = |i: usize, w: &str| words.get(i).is_some_and(|x| x == w);
    at(0, "CREATE")
        && ((at(1, "INDEX") && at(2, "CONCURRENTLY"))
            || (at(1, "UNIQUE") && at(2, "INDEX") && at(3, "CONCURRENTLY")))
}

/// What a failed concurrent index build left, once cleaned up.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// Invalid indexes cutover dropped.
    pub dropped: Vec<String>,
    /// Invalid indexes still there, with why they could not be dropped.
    pub left: Vec<String>,
}

/// Drop the invalid indexes that appeared since `before`. The drop waits for the same
/// transactions the build waited for, so it runs without the guard's lock timeout: a
/// concurrent drop blocks no query while it waits (a statement timeout still bounds it).
pub fn clear(engine: &mut dyn Engine, before: &[String]) -> Leftovers {
    let mut out = Leftovers::default();
    let Ok(now) = engine.invalid_indexes() else {
        return out;
    };
    let new: Vec<String> = now.into_iter().filter(|n| !before.contains(n)).collect();
    if new.is_empty() {
        return out;
    }
    let timeout = engine
        .query("SHOW lock_timeout")
        .ok()
        .and_then(|rows| rows.into_iter().next()?.into_iter().next()?);
    let _ = engine.execute("SET lock_timeout = 0");
    for name in new {
        match engine.execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")) {
            Ok(()) => out.dropped.push(name),
            Err(e) => out.left.push(format!("{name} ({})", e.message)),
        }
    }
    if let Some(t) = timeout {
        let _ = engine.execute(&format!("SET lock_timeout = '{}'", t.replace('\'', "")));
    }
    out
}

/// Say in the error what the failed build left and what cutover did about it.
pub fn explain(err: &mut DbError, leftovers: &Leftovers) {
    let mut lines: Vec<String> = err.detail.iter().cloned().collect();
    for name in &leftovers.dropped {
        lines.push(format!(
            "the failed build left the INVALID index {name}; cutover dropped it"
        ));
    }
    for what in &leftovers.left {
        lines.push(format!(
            "the failed build left the INVALID index {what}, which could not be dropped: drop it \
             with DROP INDEX CONCURRENTLY before running the migration again"
        ));
    }
    if !lines.is_empty() {
        err.detail = Some(lines.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_builds_are_recognised() {
        assert!(builds_index_concurrently(
            "CREATE INDEX CONCURRENTLY i ON t (a)"
        ));
        assert!(builds_index_concurrently(
            "create unique index\n  concurrently if not exists i on t (a)"
        ));
        assert!(!builds_index_concurrently("CREATE INDEX i ON t (a)"));
        assert!(!builds_index_concurrently("DROP INDEX CONCURRENTLY i"));
    }
}
