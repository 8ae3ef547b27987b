//! The outline of one statement: which bytes are code (not inside quotes or comments), at
//! what parenthesis depth, and the parts a catalog does not hand over on its own. SQLite
//! keeps check constraints, index expressions and partial-index predicates only in the
//! `CREATE` text it stores, so schema introspection reads them from here.

use super::Dialect;
use super::lexer::{Comment, block_comment_end, comment_at, line_end, quote_at, quoted_end};

/// Per byte of `sql`: `Some(depth)` when it is code, `None` inside quotes and comments.
fn code_depths(sql: &str, dialect: Dialect) -> Vec<Option<u32>> {
    let bytes = sql.as_bytes();
    let mut out = vec![None; bytes.len()];
    let (mut i, mut depth) = (0, 0u32);
    while i < bytes.len() {
        if let Some(q) = quote_at(dialect, bytes[i]) {
            i = quoted_end(bytes, i + 1, q).unwrap_or(bytes.len());
            continue;
        }
        match comment_at(dialect, bytes, i) {
            Some(Comment::Line) => {
                i = line_end(bytes, i);
                continue;
            }
            Some(Comment::Block { nested }) => {
                i = block_comment_end(bytes, i + 2, nested).unwrap_or(bytes.len());
                continue;
            }
            // MySQL's `/*! … */` holds code: step over the marker and read on.
            Some(Comment::Executable { marker }) => {
                i += marker;
                continue;
            }
            None => {}
        }
        match bytes[i] {
            b'(' => {
                out[i] = Some(depth);
                depth += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                out[i] = Some(depth);
            }
            _ => out[i] = Some(depth),
        }
        i += 1;
    }
    out
}

/// Byte offsets where the keyword `word` starts as code (case-insensitive, whole word).
fn keyword_at(sql: &str, depths: &[Option<u32>], word: &str) -> Vec<usize> {
    let b = sql.as_bytes();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    (0..b.len().saturating_sub(word.len() - 1))
        .filter(|&i| depths[i].is_some())
        .filter(|&i| b[i..i + word.len()].eq_ignore_ascii_case(word.as_bytes()))
        .filter(|&i| i == 0 || !is_word(b[i - 1]))
        .filter(|&i| b.get(i + word.len()).is_none_or(|&c| !is_word(c)))
        .collect()
}

/// Byte offsets where the keyword `word` starts as code outside every parenthesis.
pub fn top_level_keyword(sql: &str, dialect: Dialect, word: &str) -> Vec<usize> {
    let depths = code_depths(sql, dialect);
    keyword_at(sql, &depths, word)
        .into_iter()
        .filter(|&i| depths[i] == Some(0))
        .collect()
}

/// The byte just past the `)` that closes the `(` at `open`.
fn closing(sql: &str, depths: &[Option<u32>], open: usize) -> Option<usize> {
    let d = depths[open]?;
    (open + 1..sql.len())
        .find(|&i| sql.as_bytes()[i] == b')' && depths[i] == Some(d))
        .map(|i| i + 1)
}

/// The first `(` that is code at or after `from`, skipping only whitespace.
fn paren_after(sql: &str, depths: &[Option<u32>], from: usize) -> Option<usize> {
    let b = sql.as_bytes();
    let i = (from..b.len()).find(|&i| !b[i].is_ascii_whitespace())?;
    (b[i] == b'(' && depths[i].is_some()).then_some(i)
}

/// Split the inside of a parenthesised list at its top-level commas.
fn list(sql: &str, depths: &[Option<u32>], open: usize, close: usize) -> Vec<String> {
    let d = depths[open].map(|d| d + 1);
    let mut parts = Vec::new();
    let mut start = open + 1;
    for i in open + 1..close - 1 {
        if sql.as_bytes()[i] == b',' && depths[i] == d {
            parts.push(sql[start..i].trim().to_string());
            start = i + 1;
        }
    }
    parts.push(sql[start..close - 1].trim().to_string());
    parts
}

/// The expressions of every `CHECK (…)` in a `CREATE TABLE` statement.
pub fn checks(sql: &str, dialect: Dialect) -> Vec<String> {
    let depths = code_depths(sql, dialect);
    keyword_at(sql, &depths, "CHECK")
        .into_iter()
        .filter_map(|at| {
            let open = paren_after(sql, &depths, at + 5)?;
            let close = closing(sql, &depths, open)?;
            Some(sql[open + 1..close - 1].trim().to_string())
        })
        .collect()
}

/// The indexed columns or expressions of a `CREATE INDEX … ON t (…) [WHERE …]` statement,
/// and its predicate.
pub fn index_parts(sql: &str, dialect: Dialect) -> Option<(Vec<String>, Option<String>)> {
    let depths = code_depths(sql, dialect);
    let on = *keyword_at(sql, &depths, "ON").first()?;
    let open = (on..sql.len()).find(|&i| sql.as_bytes()[i] == b'(' && depths[i] == Some(0))?;
    let close = closing(sql, &depths, open)?;
    let columns = list(sql, &depths, open, close);
    let predicate = keyword_at(sql, &depths, "WHERE")
        .into_iter()
        .find(|&w| w >= close)
        .map(|w| sql[w + 5..].trim().trim_end_matches(';').trim().to_string());
    Some((columns, predicate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_outside_quotes_and_comments() {
        let sql = "CREATE TABLE t (a int CHECK (a > 0), -- CHECK (x)\n b text, \
                   note text DEFAULT 'CHECK (no)', CONSTRAINT c check(b IN ('x', ')')))";
        assert_eq!(
            checks(sql, Dialect::Sqlite),
            vec!["a > 0".to_string(), "b IN ('x', ')')".to_string()]
        );
    }

    #[test]
    fn index_columns_expressions_and_predicate() {
        let sql =
            "CREATE UNIQUE INDEX ix ON \"t\" (lower(email), \"b\" DESC) WHERE deleted_at IS NULL";
        let (cols, pred) = index_parts(sql, Dialect::Sqlite).unwrap();
        assert_eq!(cols, vec!["lower(email)", "\"b\" DESC"]);
        assert_eq!(pred.as_deref(), Some("deleted_at IS NULL"));
        let (cols, pred) = index_parts("CREATE INDEX i ON t(a,b)", Dialect::Sqlite).unwrap();
        assert_eq!(cols, vec!["a", "b"]);
        assert_eq!(pred, None);
    }
}
