//! Liquibase's statement splitting for formatted SQL (`StringUtil.processMultiLineSQL` over
//! its `SimpleSqlGrammar` tokens), so that a changeset reaches the database in the pieces
//! Liquibase sends.
//!
//! It differs from the engines' clients on purpose: Liquibase knows no dollar quotes and no
//! `DELIMITER` command; it keeps `BEGIN` … `END` together whatever the statement (so a MySQL
//! procedure body needs no delimiter); it also ends a statement at `go` or `/` alone at the
//! start of a line; and it strips comments unless `stripComments:false`. `endDelimiter`
//! replaces `;`: one character is compared as it is (`/` only at the start of a line), a
//! longer one is also a regular expression after optional whitespace, as in Liquibase.
//! Hand-written because it must follow Liquibase's grammar, not an engine's.

use regex::Regex;

use crate::sql::{SplitError, Statement};

/// How a changeset's SQL (or its rollback) is split, from its `--changeset` attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splitting {
    /// `splitStatements` (default true): split at all, or send the text as one statement.
    pub split: bool,
    /// `stripComments`: drop comments from what is sent (default true for a changeset,
    /// false for its rollback).
    pub strip_comments: bool,
    /// `endDelimiter` / `rollbackEndDelimiter`, in place of `;`.
    pub end_delimiter: Option<String>,
}

/// One token of Liquibase's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Space,
    Comment,
    Word,
    Other,
}

struct Token<'a> {
    text: &'a str,
    at: usize,
    kind: Kind,
}

/// The statements of `sql` as Liquibase sends them, each with its line in `sql`.
pub fn statements(sql: &str, how: &Splitting) -> Result<Vec<Statement>, SplitError> {
    let tokens = tokens(sql)?;
    let tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !(how.strip_comments && t.kind == Kind::Comment))
        .collect();
    let pieces = merge(tokens, how.end_delimiter.as_deref());
    let delimiter = Delimiter::new(how.end_delimiter.as_deref())?;
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start: Option<usize> = None;
    let mut previous: Option<&str> = None;
    let mut after_delimiter = false;
    let mut depth = 0usize;
    for (i, piece) in pieces.iter().enumerate() {
        let next = pieces[i + 1..]
            .iter()
            .find(|p| !p.text.trim().is_empty())
            .map(|p| p.text.as_ref());
        let next_is =
            |words: &[&str]| next.is_some_and(|n| words.iter().any(|w| n.eq_ignore_ascii_case(w)));
        let transaction = ["transaction", "trans", "tran"];
        if piece.text.eq_ignore_ascii_case("BEGIN")
            && !next_is(&transaction)
            && !next_is(&["dialog", "conversation", "distributed"])
        {
            depth += 1;
        }
        if piece.text.eq_ignore_ascii_case("END") && depth > 0 && !next_is(&transaction) {
            depth -= 1;
        }
        if depth == 0 && how.split && delimiter.is(&piece.text, previous) {
            push(&mut out, &current, start, sql);
            current.clear();
            start = None;
            after_delimiter = true;
        } else {
            let blank = piece.text.trim().is_empty();
            // Whitespace right after a delimiter, or before a statement starts, is dropped.
            if !blank || (!after_delimiter && !current.is_empty()) {
                start.get_or_insert(piece.at);
                current.push_str(&piece.text);
            }
            after_delimiter = false;
        }
        previous = Some(&piece.text);
    }
    push(&mut out, &current, start, sql);
    Ok(out)
}

fn push(out: &mut Vec<Statement>, text: &str, start: Option<usize>, sql: &str) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    let at = start.unwrap_or(0) + (text.len() - text.trim_start().len());
    let line = sql[..at.min(sql.len())].matches('\n').count() + 1;
    out.push(Statement {
        sql: trimmed.to_string(),
        line,
    });
}

/// What ends a statement.
enum Delimiter {
    /// `;`, or `go` or `/` alone after a line break.
    Default,
    /// One character, compared without case; `/` only at the start of a line.
    Char(String),
    /// Longer: the token itself, or the previous token and this one matching
    /// `[\s\n\r]*<delimiter>` as a regular expression (Liquibase's test).
    Pattern(String, Regex),
}

impl Delimiter {
    fn new(end: Option<&str>) -> Result<Delimiter, SplitError> {
        Ok(match end {
            None => Delimiter::Default,
            Some(d) if d.chars().count() == 1 => Delimiter::Char(d.to_string()),
            Some(d) => {
                let re = Regex::new(&format!("(?is)^[\\s\\n\\r]*(?:{})$", d.to_lowercase()))
                    .map_err(|e| SplitError {
                        line: 1,
                        message: format!(
                            "endDelimiter `{d}` is not a valid regular expression: {e}"
                        ),
                    })?;
                Delimiter::Pattern(d.to_string(), re)
            }
        })
    }

    fn is(&self, piece: &str, previous: Option<&str>) -> bool {
        let line_start = previous.is_none_or(|p| p.ends_with('\n'));
        match self {
            Delimiter::Default => {
                piece == ";" || ((piece.eq_ignore_ascii_case("go") || piece == "/") && line_start)
            }
            Delimiter::Char(d) => {
                (d != "/" || previous.is_some_and(|p| p.ends_with('\n')))
                    && piece.eq_ignore_ascii_case(d)
            }
            Delimiter::Pattern(d, re) => {
                piece.eq_ignore_ascii_case(d)
                    || re.is_match(&format!("{}{piece}", previous.unwrap_or("null")).to_lowercase())
            }
        }
    }
}

/// Liquibase's `mergeTokens`: a delimiter that spans tokens (`//`, `\nGO`) becomes one.
fn merge<'a>(tokens: Vec<Token<'a>>, delimiter: Option<&str>) -> Vec<Piece<'a>> {
    let pieces = tokens.into_iter().map(|t| Piece {
        text: std::borrow::Cow::Borrowed(t.text),
        at: t.at,
    });
    let Some(d) = delimiter else {
        return pieces.collect();
    };
    let mut out: Vec<Piece> = Vec::new();
    let mut pending: Vec<Piece> = Vec::new();
    for piece in pieces {
        if pending.is_empty() {
            if d.starts_with(piece.text.as_ref()) {
                pending.push(piece);
            } else {
                out.push(piece);
            }
            continue;
        }
        let joined: String =
            pending.iter().map(|p| p.text.as_ref()).collect::<String>() + &piece.text;
        if joined == d {
            let at = pending[0].at;
            pending.clear();
            out.push(Piece {
                text: std::borrow::Cow::Owned(joined),
                at,
            });
        } else if d.starts_with(&joined) {
            pending.push(piece);
        } else {
            out.append(&mut pending);
            out.push(piece);
        }
    }
    out.append(&mut pending);
    out
}

/// A token, or tokens merged into one delimiter.
struct Piece<'a> {
    text: std::borrow::Cow<'a, str>,
    at: usize,
}

/// `sql` cut into Liquibase's tokens: whitespace runs, `--` and `/* */` comments, quoted
/// strings and identifiers, words (dotted names are one word), and single symbols.
fn tokens(sql: &str) -> Result<Vec<Token<'_>>, SplitError> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &sql[i..];
        let c = rest.chars().next().expect("not at the end");
        let (len, kind) = if c.is_whitespace() {
            (rest.len() - rest.trim_start().len(), Kind::Space)
        } else if rest.starts_with("--") {
            (rest.find(['\r', '\n']).unwrap_or(rest.len()), Kind::Comment)
        } else if rest.starts_with("/*") && rest[2..].contains("*/") {
            (rest[2..].find("*/").expect("checked") + 4, Kind::Comment)
        } else if c == '\'' || c == '"' {
            (quoted(sql, i, c)?, Kind::Other)
        } else if c == '`'
            || (c == '[' && rest[1..].starts_with(|n: char| n != ']' && !n.is_ascii_digit()))
        {
            let close = if c == '`' { '`' } else { ']' };
            match rest[1..].find([close, '\n', '\r']) {
                Some(n) if rest[1 + n..].starts_with(close) && n > 0 => (n + 2, Kind::Word),
                _ => (1, Kind::Other),
            }
        } else if is_letter(c) {
            (word(rest), Kind::Word)
        } else if c.is_ascii_digit() {
            (
                rest.find(|d: char| !(d.is_ascii_digit() || d == '.'))
                    .unwrap_or(rest.len()),
                Kind::Word,
            )
        } else {
            (c.len_utf8(), Kind::Other)
        };
        out.push(Token {
            text: &sql[i..i + len],
            at: i,
            kind,
        });
        i += len;
    }
    Ok(out)
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

/// An identifier, with dotted parts (`schema . table`) joined as Liquibase's grammar does.
fn word(rest: &str) -> usize {
    let part = |s: &str| {
        s.find(|c: char| !(is_letter(c) || c.is_ascii_digit() || c == '#' || c == '@'))
            .unwrap_or(s.len())
    };
    let mut end = part(rest);
    loop {
        let after = &rest[end..];
        let gap = after.len() - after.trim_start_matches([' ', '\r', '\n']).len();
        let Some(dotted) = after[gap..].strip_prefix('.') else {
            break;
        };
        let gap2 = dotted.len() - dotted.trim_start_matches([' ', '\r', '\n']).len();
        let next = &dotted[gap2..];
        if !next.starts_with(is_letter) {
            break;
        }
        end += gap + 1 + gap2 + part(next);
    }
    end
}

/// The length of the quoted string at `at`: `''` (or `""`) and a backslash escape the
/// quote, as Liquibase's hybrid literals allow.
fn quoted(sql: &str, at: usize, quote: char) -> Result<usize, SplitError> {
    let bytes = sql.as_bytes();
    let q = quote as u8;
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == q && bytes.get(i + 1) == Some(&q) => i += 2,
            b if b == q => return Ok(i + 1 - at),
            _ => i += 1,
        }
    }
    Err(SplitError {
        line: sql[..at].matches('\n').count() + 1,
        message: format!("unterminated string {quote} opened here"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str, how: &Splitting) -> Vec<(String, usize)> {
        statements(sql, how)
            .unwrap()
            .into_iter()
            .map(|s| (s.sql, s.line))
            .collect()
    }

    fn default() -> Splitting {
        Splitting {
            split: true,
            strip_comments: true,
            end_delimiter: None,
        }
    }

    fn sqls(sql: &str, how: &Splitting) -> Vec<String> {
        split(sql, how).into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn semicolons_split_and_comments_are_stripped() {
        let got = split(
            "-- first\ncreate table a (id int);\n\ninsert into a values (1); -- one\ninsert into a values ('x;y');\n",
            &default(),
        );
        assert_eq!(
            got,
            [
                ("create table a (id int)".to_string(), 2),
                ("insert into a values (1)".to_string(), 4),
                ("insert into a values ('x;y')".to_string(), 5),
            ]
        );
        let kept = Splitting {
            strip_comments: false,
            ..default()
        };
        assert_eq!(sqls("select 1; -- c\n", &kept), ["select 1", "-- c"]);
    }

    #[test]
    fn begin_end_bodies_stay_whole_unless_a_transaction() {
        let body = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;\nCALL p();";
        assert_eq!(
            sqls(body, &default()),
            [
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
                "CALL p()"
            ]
        );
        assert_eq!(
            sqls("BEGIN TRANSACTION; select 1; COMMIT;", &default()),
            ["BEGIN TRANSACTION", "select 1", "COMMIT"]
        );
        // Liquibase knows no dollar quotes: a PL/pgSQL body splits after its END;.
        assert_eq!(
            sqls(
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;",
                &default()
            )
            .len(),
            2
        );
    }

    #[test]
    fn go_and_slash_alone_on_a_line_end_statements() {
        assert_eq!(
            sqls("select 1\ngo\nselect 2\n/\nselect 3 / 4", &default()),
            ["select 1", "select 2", "select 3 / 4"]
        );
        assert_eq!(sqls("select 1\n  go\n", &default()), ["select 1\n  go"]);
    }

    #[test]
    fn end_delimiters() {
        let slash = Splitting {
            end_delimiter: Some("/".into()),
            ..default()
        };
        assert_eq!(
            sqls(
                "insert into a values (1);\n/\ninsert into a values (4 / 2);\n/\n",
                &slash
            ),
            ["insert into a values (1);", "insert into a values (4 / 2);"]
        );
        let double = Splitting {
            end_delimiter: Some("//".into()),
            ..default()
        };
        assert_eq!(
            sqls("select 1; select 2//select 3", &double),
            ["select 1; select 2", "select 3"]
        );
        let newline_go = Splitting {
            end_delimiter: Some("\\nGO".into()),
            ..default()
        };
        assert_eq!(
            sqls("select 1;\nGO\nselect 2;\ngo", &newline_go),
            ["select 1;", "select 2;"]
        );
    }

    #[test]
    fn no_split_sends_one_statement() {
        let whole = Splitting {
            split: false,
            ..default()
        };
        assert_eq!(
            split("\n-- c\nselect 1;\nselect 2;\n", &whole),
            [("select 1;\nselect 2;".to_string(), 3)]
        );
    }

    #[test]
    fn unterminated_string_is_an_error_with_its_line() {
        let err = statements("select 1;\nselect 'x", &default()).unwrap_err();
        assert_eq!(err.line, 2);
    }
}
