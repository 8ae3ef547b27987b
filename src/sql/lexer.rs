//! The lexical layer of the statement splitter: where each engine's quotes, comments,
//! dollar quotes and words start and end, and which words matter for block nesting.
//!
//! It works on bytes: every construct opens and closes on an ASCII byte, and bytes of
//! non-ASCII characters only ever sit inside words, quotes or comments, so every offset
//! the splitter stops at is a `char` boundary of the script.

use super::Dialect;

/// A quoted run: its closing byte and how the engine escapes that byte inside it.
#[derive(Clone, Copy)]
pub(super) struct Quote {
    close: u8,
    backslash: bool,
    doubled: bool,
    /// Names the construct in an "unterminated …" error.
    pub(super) what: &'static str,
}

/// Every quote but SQLite's `[…]` escapes its closing byte by doubling it (`'it''s'`).
const fn quote(close: u8, backslash: bool, what: &'static str) -> Quote {
    let doubled = close != b']';
    Quote {
        close,
        backslash,
        doubled,
        what,
    }
}

/// PostgreSQL's `E'…'`, the only PostgreSQL string where a backslash escapes.
pub(super) const E_STRING: Quote = quote(b'\'', true, "string E'");

/// The quote that `b` opens in `dialect`, if any. MySQL escapes with backslashes in both
/// its string quotes (the server's default `sql_mode`).
pub(super) fn quote_at(dialect: Dialect, b: u8) -> Option<Quote> {
    Some(match (dialect, b) {
        (Dialect::MySql, b'\'') => quote(b'\'', true, "string '"),
        (Dialect::MySql, b'"') => quote(b'"', true, "string \""),
        (_, b'\'') => quote(b'\'', false, "string '"),
        (_, b'"') => quote(b'"', false, "quoted identifier \""),
        (Dialect::MySql | Dialect::Sqlite, b'`') => quote(b'`', false, "quoted identifier `"),
        (Dialect::Sqlite, b'[') => quote(b']', false, "quoted identifier ["),
        _ => return None,
    })
}

/// Where the quoted run whose body starts at `i` ends (just past the closing byte).
pub(super) fn quoted_end(bytes: &[u8], mut i: usize, q: Quote) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if q.backslash => i += 2,
            c if c == q.close && q.doubled && bytes.get(i + 1) == Some(&q.close) => i += 2,
            c if c == q.close => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

pub(super) enum Comment {
    /// To the end of the line (`--`, MySQL's `#`).
    Line,
    Block {
        nested: bool,
    },
    /// MySQL's `/*! … */` or MariaDB's `/*M! … */`: SQL the server runs, so statement text.
    Executable {
        marker: usize,
    },
}

/// The comment that starts at `pos`, if any.
pub(super) fn comment_at(dialect: Dialect, bytes: &[u8], pos: usize) -> Option<Comment> {
    let rest = &bytes[pos..];
    let mysql = dialect == Dialect::MySql;
    if rest.starts_with(b"/*") {
        return Some(if mysql && rest[2..].starts_with(b"!") {
            Comment::Executable { marker: 3 }
        } else if mysql && rest[2..].starts_with(b"M!") {
            Comment::Executable { marker: 4 }
        } else {
            Comment::Block {
                nested: dialect == Dialect::Postgres,
            }
        });
    }
    // MySQL needs whitespace or a control character after `--`, so `1--1` is arithmetic.
    let dashes = rest.starts_with(b"--") && (!mysql || rest.get(2).is_none_or(|&c| c <= b' '));
    (dashes || (mysql && rest[0] == b'#')).then_some(Comment::Line)
}

/// Where the block comment whose body starts at `i` ends; PostgreSQL comments nest.
pub(super) fn block_comment_end(bytes: &[u8], mut i: usize, nested: bool) -> Option<usize> {
    let mut depth = 1;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"*/" if depth == 1 => return Some(i + 2),
            b"*/" => (depth, i) = (depth - 1, i + 2),
            b"/*" if nested => (depth, i) = (depth + 1, i + 2),
            _ => i += 1,
        }
    }
    None
}

/// The end of a PostgreSQL dollar-quote opener `$tag$` at `pos`, if there is one.
/// `$1` is a parameter, not a quote: a tag cannot start with a digit.
pub(super) fn dollar_tag_end(bytes: &[u8], pos: usize) -> Option<usize> {
    let tag_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut i = pos + 1;
    if bytes
        .get(i)
        .is_some_and(|&c| tag_byte(c) && !c.is_ascii_digit())
    {
        i += bytes[i..].iter().take_while(|&&c| tag_byte(c)).count();
    }
    (bytes.get(i) == Some(&b'$')).then_some(i + 1)
}

/// Where the line holding `pos` ends: its `\n`, or the end of the script.
pub(super) fn line_end(bytes: &[u8], pos: usize) -> usize {
    bytes[pos..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(bytes.len(), |n| pos + n)
}

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Whether `b` starts a word (identifier, keyword or number); words go on over `$` too.
pub(super) fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The keywords that open or close compound bodies, by role.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    Begin,
    Case,
    End,
    Create,
    Not,
    Atomic,
    /// Closes an `IF`, `LOOP`, … that was never counted (`END IF`).
    Closer,
    /// What a `CREATE` makes: a routine may have a `BEGIN … END` body, so `BEGIN` opens a
    /// block in it; in a table or view a column named `begin` opens nothing. The first of
    /// these words after `CREATE` decides (`CREATE TABLE event` makes a table).
    Routine,
    Plain,
    Other,
}

/// The role of `word`, compared case-insensitively.
pub(super) fn keyword(word: &[u8]) -> Kw {
    const KEYWORDS: &[(&str, Kw)] = &[
        ("BEGIN", Kw::Begin),
        ("CASE", Kw::Case),
        ("END", Kw::End),
        ("CREATE", Kw::Create),
        ("NOT", Kw::Not),
        ("ATOMIC", Kw::Atomic),
        ("IF", Kw::Closer),
        ("LOOP", Kw::Closer),
        ("WHILE", Kw::Closer),
        ("REPEAT", Kw::Closer),
        ("FOR", Kw::Closer),
        ("TRIGGER", Kw::Routine),
        ("PROCEDURE", Kw::Routine),
        ("FUNCTION", Kw::Routine),
        ("EVENT", Kw::Routine),
        ("TABLE", Kw::Plain),
        ("VIEW", Kw::Plain),
        ("INDEX", Kw::Plain),
        ("TYPE", Kw::Plain),
        ("SCHEMA", Kw::Plain),
        ("DATABASE", Kw::Plain),
        ("SEQUENCE", Kw::Plain),
    ];
    if word.len() > 9 || word[0].is_ascii_digit() {
        return Kw::Other;
    }
    let found = KEYWORDS
        .iter()
        .find(|(k, _)| word.eq_ignore_ascii_case(k.as_bytes()));
    found.map_or(Kw::Other, |&(_, kw)| kw)
}
