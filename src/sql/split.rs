//! Splits a SQL script into the statements the engine's own client (`psql`, `mysql` or
//! `mariadb`, `sqlite3`) would send one at a time.
//!
//! This is hand-written instead of built on the `sqlparser` crate because:
//! - it must never reject valid engine SQL that a general parser does not know (vendor
//!   extensions, new syntax), so it reads only the lexical layer: quotes, comments and
//!   delimiters;
//! - MySQL's `DELIMITER` is a command of the client, not SQL, so no SQL parser handles it;
//! - statements keep their original text and exact line numbers, so an engine's error can
//!   point into the user's file (a parser would print its own syntax tree back);
//! - it is one forward pass, linear in the script size, so megabyte data dumps split fast.
//!
//! The only grammar known here is the `BEGIN … END` nesting of compound bodies (triggers,
//! stored routines, `BEGIN ATOMIC`, `BEGIN NOT ATOMIC`), whose inner `;` do not end the
//! statement, and, for PostgreSQL, parentheses, which `psql` also tracks.

use super::lexer::{
    Comment, E_STRING, Kw, Quote, block_comment_end, comment_at, dollar_tag_end, is_space,
    is_word_start, keyword, line_end, quote_at, quoted_end,
};
use super::{Dialect, Statement};

/// A script that cannot be split: an unterminated quote or comment, or a bad `DELIMITER`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SplitError {
    /// 1-based line where the offending construct starts.
    pub line: usize,
    pub message: String,
}

/// Splits `script` into statements, in order, as `dialect`'s command-line client would.
pub fn split(script: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    let mut splitter = Splitter::new(script, dialect);
    while splitter.pos < splitter.bytes.len() {
        splitter.step()?;
    }
    splitter.finish(script.len());
    Ok(splitter.out)
}

/// Like [`split`], with statements ending at `delimiter` from the start, as if a MySQL
/// `DELIMITER` command stood above the script (Atlas's `-- atlas:delimiter`).
pub fn split_with_delimiter<'a>(
    script: &'a str,
    dialect: Dialect,
    delimiter: &'a str,
) -> Result<Vec<Statement>, SplitError> {
    let mut splitter = Splitter::new(script, dialect);
    splitter.delimiter = delimiter;
    while splitter.pos < splitter.bytes.len() {
        splitter.step()?;
    }
    splitter.finish(script.len());
    Ok(splitter.out)
}

/// A keyword whose effect depends on the token after it.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Pending {
    #[default]
    None,
    /// `END`: an `END IF` closes nothing counted.
    End,
    /// `BEGIN` inside a routine: `BEGIN;` opens nothing.
    Begin,
    /// `BEGIN` as first word: a transaction unless `NOT ATOMIC` follows (MariaDB).
    StartBegin,
    StartBeginNot,
}

/// What a statement that starts with `CREATE` makes, known at its first kind keyword.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Create {
    #[default]
    No,
    Undecided,
    Routine,
    Plain,
}

/// Nesting of the current statement, within which a `;` does not end it.
#[derive(Default)]
struct Blocks {
    /// Open `BEGIN` and `CASE`, each closed by an `END`.
    depth: usize,
    /// Open parentheses, counted for PostgreSQL only, as `psql` does.
    parens: usize,
    /// Words seen so far in the statement (what it starts with matters).
    words: usize,
    create: Create,
    pending: Pending,
}

impl Blocks {
    fn open(&self) -> bool {
        self.depth > 0 || self.parens > 0
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn word(&mut self, kw: Kw) {
        // First settle what a keyword just before meant, now that its follower is known.
        match std::mem::take(&mut self.pending) {
            Pending::End if kw == Kw::Closer => return,
            Pending::End if kw == Kw::Case => return self.close(),
            Pending::End => self.close(),
            Pending::Begin => self.depth += 1,
            Pending::StartBegin if kw == Kw::Not => return self.pending = Pending::StartBeginNot,
            Pending::StartBeginNot if kw == Kw::Atomic => return self.depth += 1,
            _ => {}
        }
        self.words += 1;
        match kw {
            Kw::Create if self.words == 1 => self.create = Create::Undecided,
            Kw::Begin if self.words == 1 => self.pending = Pending::StartBegin,
            Kw::Routine if self.create == Create::Undecided => self.create = Create::Routine,
            Kw::Plain if self.create == Create::Undecided => self.create = Create::Plain,
            Kw::Begin if self.create == Create::Routine || self.depth > 0 => {
                self.pending = Pending::Begin;
            }
            Kw::Case => self.depth += 1,
            Kw::End => self.pending = Pending::End,
            _ => {}
        }
    }

    /// Any token but a word; `semicolon` for the `;` delimiter.
    fn token(&mut self, semicolon: bool) {
        match std::mem::take(&mut self.pending) {
            Pending::End => self.close(),
            Pending::Begin if !semicolon => self.depth += 1,
            _ => {}
        }
    }

    fn paren(&mut self, open: bool) {
        self.token(false);
        if open {
            self.parens += 1;
        } else {
            self.parens = self.parens.saturating_sub(1);
        }
    }
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    dialect: Dialect,
    pos: usize,
    line: usize,
    delimiter: &'a str,
    /// Byte offset and line of the current statement's first kept character.
    start: Option<(usize, usize)>,
    blocks: Blocks,
    out: Vec<Statement>,
}

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: Dialect) -> Self {
        Splitter {
            src,
            bytes: src.as_bytes(),
            dialect,
            // A byte order mark is not text: clients skip it.
            pos: if src.starts_with('\u{feff}') { 3 } else { 0 },
            line: 1,
            delimiter: ";",
            start: None,
            blocks: Blocks::default(),
            out: Vec::new(),
        }
    }

    fn step(&mut self) -> Result<(), SplitError> {
        let b = self.bytes[self.pos];
        let end = if self.bytes[self.pos..].starts_with(self.delimiter.as_bytes()) {
            self.delimiter_reached()
        } else if is_space(b) {
            self.pos + 1
        } else if let Some(comment) = comment_at(self.dialect, self.bytes, self.pos) {
            self.comment(comment)?
        } else if is_word_start(b) {
            self.word()?
        } else {
            self.open_statement();
            self.punctuation(b)?
        };
        self.advance_to(end);
        Ok(())
    }

    /// Moves to `end`, counting the newlines passed (each byte is counted once: linear).
    fn advance_to(&mut self, end: usize) {
        let passed = &self.bytes[self.pos..end];
        self.line += passed.iter().filter(|&&c| c == b'\n').count();
        self.pos = end;
    }

    fn error(&self, message: String) -> SplitError {
        SplitError {
            line: self.line,
            message,
        }
    }

    fn open_statement(&mut self) {
        self.start.get_or_insert((self.pos, self.line));
    }

    fn finish(&mut self, end: usize) {
        if let Some((start, line)) = self.start.take() {
            let sql = self.src[start..end].trim_end().to_owned();
            self.out.push(Statement { sql, line });
        }
        self.blocks = Blocks::default();
    }

    /// Ends the statement, unless the delimiter is `;` inside a block; returns where to go on.
    fn delimiter_reached(&mut self) -> usize {
        let custom = self.delimiter != ";";
        if self.start.is_some() {
            self.blocks.token(!custom);
            if !custom && self.blocks.open() {
                return self.pos + 1;
            }
            self.finish(self.pos);
        }
        self.pos + self.delimiter.len()
    }

    fn comment(&mut self, comment: Comment) -> Result<usize, SplitError> {
        match comment {
            Comment::Line => Ok(line_end(self.bytes, self.pos)),
            Comment::Block { nested } => block_comment_end(self.bytes, self.pos + 2, nested)
                .ok_or_else(|| self.error("unterminated block comment /* opened here".into())),
            Comment::Executable { marker } => {
                // Its text is SQL: open the statement and skip only `/*!` and the version.
                self.open_statement();
                let version = self.bytes[self.pos + marker..].iter();
                Ok(self.pos + marker + version.take_while(|c| c.is_ascii_digit()).count())
            }
        }
    }

    /// The end of the quoted run that opens at `at`, on the current line.
    fn quoted(&mut self, at: usize, q: Quote) -> Result<usize, SplitError> {
        self.blocks.token(false);
        quoted_end(self.bytes, at + 1, q)
            .ok_or_else(|| self.error(format!("unterminated {} opened here", q.what)))
    }

    fn word(&mut self) -> Result<usize, SplitError> {
        let bytes = self.bytes;
        let end = self.word_end();
        let word = &bytes[self.pos..end];
        // `DELIMITER` is a client command only where no statement has started (as in the
        // `mariadb` client); elsewhere it is an ordinary word.
        let spaced = bytes.get(end).is_none_or(|&c| is_space(c));
        let command = self.dialect == Dialect::MySql && self.start.is_none() && spaced;
        if command && word.eq_ignore_ascii_case(b"delimiter") {
            return self.delimiter_command(end);
        }
        self.open_statement();
        let quote_next = bytes.get(end) == Some(&b'\'');
        if self.dialect == Dialect::Postgres && quote_next && word.eq_ignore_ascii_case(b"e") {
            return self.quoted(end, E_STRING);
        }
        // After a dot it is a qualified name (`subquery.case`), never a keyword.
        let qualified = self.pos > 0 && bytes[self.pos - 1] == b'.';
        let kw = if qualified { Kw::Other } else { keyword(word) };
        self.blocks.word(kw);
        Ok(end)
    }

    /// Words hold letters, digits, `_`, `$` and non-ASCII; a custom delimiter may be glued
    /// to a word (`END$$`), so it ends one.
    fn word_end(&self) -> usize {
        let custom = self.delimiter != ";";
        let mut i = self.pos + 1;
        while i < self.bytes.len() && (is_word_start(self.bytes[i]) || self.bytes[i] == b'$') {
            if custom && self.bytes[i..].starts_with(self.delimiter.as_bytes()) {
                break;
            }
            i += 1;
        }
        i
    }

    /// The MySQL client's `DELIMITER <d>`: the first token after it is the new delimiter,
    /// the rest of the line is ignored.
    fn delimiter_command(&mut self, after_keyword: usize) -> Result<usize, SplitError> {
        let end = line_end(self.bytes, after_keyword);
        let src = self.src;
        match src[after_keyword..end].split_whitespace().next() {
            None => Err(self.error("DELIMITER must be followed by a delimiter string".into())),
            Some(d) if d.contains('\\') => {
                Err(self.error(format!("DELIMITER {d} cannot contain a backslash")))
            }
            Some(d) => {
                self.delimiter = d;
                Ok(end)
            }
        }
    }

    fn punctuation(&mut self, b: u8) -> Result<usize, SplitError> {
        if let Some(q) = quote_at(self.dialect, b) {
            return self.quoted(self.pos, q);
        }
        match (self.dialect, b) {
            (Dialect::Postgres, b'$') => return self.dollar_quoted(),
            (Dialect::Postgres, b'(' | b')') => self.blocks.paren(b == b'('),
            _ => self.blocks.token(false),
        }
        Ok(self.pos + 1)
    }

    /// A PostgreSQL `$tag$ … $tag$` string, or a parameter such as `$1` (which a `$` may
    /// follow: `$1$$;$$` is `$1` and then the string `$$;$$`).
    fn dollar_quoted(&mut self) -> Result<usize, SplitError> {
        self.blocks.token(false);
        let Some(body) = dollar_tag_end(self.bytes, self.pos) else {
            let digits = self.bytes[self.pos + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit());
            return Ok(self.pos + 1 + digits.count());
        };
        let tag = &self.src[self.pos..body];
        match self.src[body..].find(tag) {
            Some(n) => Ok(body + n + tag.len()),
            None => Err(self.error(format!(
                "unterminated dollar-quoted string {tag} opened here"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dialect::{MySql, Postgres, Sqlite};

    fn sqls(script: &str, dialect: Dialect) -> Vec<String> {
        let statements = split(script, dialect).unwrap();
        statements.into_iter().map(|s| s.sql).collect()
    }

    fn lines(script: &str, dialect: Dialect) -> Vec<usize> {
        let statements = split(script, dialect).unwrap();
        statements.into_iter().map(|s| s.line).collect()
    }

    #[test]
    fn quotes_hide_semicolons_in_every_dialect() {
        let pg = "SELECT 'a;b', \"c;\"\"d\" FROM t; SELECT 'it''s;'";
        let want = ["SELECT 'a;b', \"c;\"\"d\" FROM t", "SELECT 'it''s;'"];
        assert_eq!(sqls(pg, Postgres), want);
        let my = "SELECT 'a\\';b', \"c\"\";d\\\"\", `e``;f`; SELECT 2;";
        let want = ["SELECT 'a\\';b', \"c\"\";d\\\"\", `e``;f`", "SELECT 2"];
        assert_eq!(sqls(my, MySql), want);
        let lite = "SELECT [a;b]], `c;d`, \"e;f\", 'g\\'; SELECT 2";
        let want = ["SELECT [a;b]], `c;d`, \"e;f\", 'g\\'", "SELECT 2"];
        assert_eq!(sqls(lite, Sqlite), want);
    }

    #[test]
    fn postgres_backslash_escapes_only_in_e_strings() {
        let script = "SELECT E'a\\';b', e'\\\\', E'c''\\';d'; SELECT 'c\\'; SELECT 1";
        let want = [
            "SELECT E'a\\';b', e'\\\\', E'c''\\';d'",
            "SELECT 'c\\'",
            "SELECT 1",
        ];
        assert_eq!(sqls(script, Postgres), want);
        // `xe` is an identifier, so its `'` opens a plain string where `\` escapes nothing.
        assert_eq!(sqls("SELECT xe'\\'; SELECT 2", Postgres).len(), 2);
    }

    #[test]
    fn postgres_block_comments_nest() {
        let script = "/* a /* b; */ c; */ SELECT 1 /* x; /* y */ z; */; SELECT 2;";
        assert_eq!(
            sqls(script, Postgres),
            ["SELECT 1 /* x; /* y */ z; */", "SELECT 2"]
        );
        // SQLite and MySQL comments do not nest: the first `*/` closes.
        assert_eq!(
            sqls("/* a /* b */ SELECT 1; */", Sqlite),
            ["SELECT 1", "*/"]
        );
        assert_eq!(sqls("/* a /* b */ SELECT 1; */", MySql), ["SELECT 1", "*/"]);
    }

    #[test]
    fn postgres_dollar_quotes() {
        let script = "CREATE FUNCTION f(int) RETURNS int AS $body$ BEGIN RETURN $1; END; $body$ \
                      LANGUAGE plpgsql;\nSELECT $1, a$b, $$;$$, $x$ $$; $x$;\nSELECT $_1$;$_1$, $2$$;$$";
        let got = sqls(script, Postgres);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].ends_with("END; $body$ LANGUAGE plpgsql"));
        assert_eq!(
            got[1..],
            [
                "SELECT $1, a$b, $$;$$, $x$ $$; $x$",
                "SELECT $_1$;$_1$, $2$$;$$"
            ]
        );
    }

    #[test]
    fn postgres_begin_atomic_body_is_one_statement() {
        let script = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  \
                      SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\nSELECT f();";
        let got = sqls(script, Postgres);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("SELECT 2;\nEND"));
    }

    #[test]
    fn top_level_begin_and_end_are_transaction_statements() {
        let script = "BEGIN;\nUPDATE t SET a = 1;\nEND;\nBEGIN TRANSACTION; COMMIT;";
        let want = [
            "BEGIN",
            "UPDATE t SET a = 1",
            "END",
            "BEGIN TRANSACTION",
            "COMMIT",
        ];
        assert_eq!(sqls(script, Postgres), want);
        let script = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN WORK;\nROLLBACK;";
        let want = [
            "BEGIN",
            "INSERT INTO t VALUES (1)",
            "COMMIT",
            "BEGIN WORK",
            "ROLLBACK",
        ];
        assert_eq!(sqls(script, MySql), want);
        // Even where a body could start, `BEGIN;` opens nothing (invalid, but it must end).
        let want = ["CREATE TRIGGER t AFTER INSERT ON u BEGIN", "SELECT 1"];
        assert_eq!(
            sqls(
                "CREATE TRIGGER t AFTER INSERT ON u BEGIN; SELECT 1;",
                Sqlite
            ),
            want
        );
    }

    #[test]
    fn postgres_semicolons_inside_parentheses_do_not_split() {
        let script = "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b); SELECT 1;";
        assert_eq!(sqls(script, Postgres).len(), 2);
    }

    #[test]
    fn keywords_are_whole_unquoted_unqualified_words() {
        let script = "CREATE TABLE event (begin_at int, ended int, \"end\" int, begin int);\n\
                      SELECT subquery.case FROM s; SELECT 1";
        assert_eq!(lines(script, Postgres), [1, 2, 2]);
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET \"end\" = 1, \
                       ended = 2, case_id = [case];\nEND;\nSELECT 1;";
        assert_eq!(lines(trigger, Sqlite), [1, 4]);
    }

    #[test]
    fn sqlite_trigger_with_case_is_one_statement() {
        let script = "CREATE TEMP TRIGGER IF NOT EXISTS tr AFTER UPDATE ON t FOR EACH ROW BEGIN\n  \
                      UPDATE t SET x = CASE WHEN new.a THEN 1 ELSE 2 END WHERE rowid = old.rowid;\n  \
                      DELETE FROM u;\nEND;\nBEGIN IMMEDIATE;\nCOMMIT;";
        let got = sqls(script, Sqlite);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].ends_with("DELETE FROM u;\nEND"));
        assert_eq!(got[1..], ["BEGIN IMMEDIATE", "COMMIT"]);
    }

    #[test]
    fn mysql_routines_and_triggers_with_the_default_delimiter() {
        let script = "CREATE DEFINER=`root`@`%` PROCEDURE p()\nBEGIN\n  DECLARE i INT DEFAULT 0;\n  \
            lbl: WHILE i < 3 DO SET i = i + 1; END WHILE lbl;\n  \
            IF i = 3 THEN SELECT 1; ELSEIF i = 2 THEN SELECT 2; END IF;\n  \
            CASE i WHEN 1 THEN SELECT 'one'; ELSE BEGIN END; END CASE;\n  \
            blk: BEGIN SELECT CASE WHEN i > 0 THEN 1 END; END blk;\n  \
            REPEAT SET i = i - 1; UNTIL i = 0 END REPEAT;\n  l2: LOOP LEAVE l2; END LOOP l2;\n  \
            FOR j IN 1..3 DO SELECT j; END FOR;\n\
            END;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END;\n\
            CREATE OR REPLACE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; END;\n\
            CALL p();";
        let got = split(script, MySql).unwrap();
        assert_eq!(
            got.iter().map(|s| s.line).collect::<Vec<_>>(),
            [1, 12, 13, 14]
        );
        assert!(got[0].sql.ends_with("END FOR;\nEND"));
        assert_eq!(got[3].sql, "CALL p()");
    }

    #[test]
    fn mariadb_begin_not_atomic() {
        let script = "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  SET x = 1;\nEND;\nSELECT 1;";
        assert_eq!(lines(script, MySql), [1, 5]);
    }

    #[test]
    fn a_delimiter_given_from_the_start() {
        let got = split_with_delimiter(
            "-- atlas:delimiter \\n\\n\nCREATE TABLE a (x int);\n\nCREATE TABLE b (y int)\n",
            Postgres,
            "\n\n",
        )
        .unwrap();
        let sqls: Vec<&str> = got.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sqls, ["CREATE TABLE a (x int);", "CREATE TABLE b (y int)"]);
        assert_eq!(got[1].line, 4);
    }

    #[test]
    fn mysql_delimiter_command() {
        for d in ["??", "$$", ";;", "//"] {
            for kw in ["DELIMITER", "delimiter"] {
                let script = format!(
                    "{kw} {d}\nCREATE PROCEDURE p() BEGIN SELECT ';{d}'; END{d}\n\n\
                     SELECT 2 {d}\n{kw} ;\nCALL p();"
                );
                let first = format!("CREATE PROCEDURE p() BEGIN SELECT ';{d}'; END");
                assert_eq!(
                    sqls(&script, MySql),
                    [&first, "SELECT 2", "CALL p()"],
                    "{d}"
                );
                assert_eq!(lines(&script, MySql), [2, 4, 6], "{d}");
            }
        }
        // A custom delimiter ends the statement even where the block count is off (here
        // a column named `begin`): it is the way out when the heuristics are wrong.
        let script =
            "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT begin FROM t; END //\nSELECT 2//";
        assert_eq!(lines(script, MySql), [2, 3]);
    }

    #[test]
    fn delimiter_is_a_command_only_before_a_mysql_statement() {
        // As in the `mariadb` client: once a statement has started, it is just a word.
        let script = "SELECT 1 AS delimiter ;\nSELECT 2\nDELIMITER $$\nSELECT 3$$;";
        let want = [
            "SELECT 1 AS delimiter",
            "SELECT 2\nDELIMITER $$\nSELECT 3$$",
        ];
        assert_eq!(sqls(script, MySql), want);
        assert_eq!(
            sqls("DELIMITER $$\nSELECT 1$$", Sqlite),
            ["DELIMITER $$\nSELECT 1$$"]
        );
        let err = split("SELECT 1;\ndelimiter   \nSELECT 2", MySql).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("DELIMITER must be followed"), "{err}");
        let err = split("\nDELIMITER \\\\\nSELECT 2", MySql).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "DELIMITER \\\\ cannot contain a backslash")
        );
    }

    #[test]
    fn vmangos_style_migration() {
        let script = "DROP PROCEDURE IF EXISTS add_migration;\r\ndelimiter ??\r\n\
            CREATE PROCEDURE `add_migration`()\r\nBEGIN\r\nIF v=0 THEN\r\n\
            -- Add your query below.\r\nDROP TABLE IF EXISTS `x`;\r\nEND IF;\r\nEND??\r\n\
            delimiter ; \r\nCALL add_migration();\r\nDROP PROCEDURE IF EXISTS add_migration;\r\n";
        let got = split(script, MySql).unwrap();
        assert_eq!(
            got.iter().map(|s| s.line).collect::<Vec<_>>(),
            [1, 3, 11, 12]
        );
        assert!(got[1].sql.starts_with("CREATE PROCEDURE"));
        assert!(got[1].sql.ends_with("END IF;\r\nEND"));
        assert_eq!(got[2].sql, "CALL add_migration()");
    }

    #[test]
    fn mysql_comments_and_executable_comments() {
        let script = "# one; two\n/*!40101 SET NAMES utf8 */;\n/*M!100100 SET x=1 */;\n\
                      /* plain; */ SELECT 2--1;\nSELECT 3 -- four;\n;SELECT 5 #six;\n--\t7;";
        let want = [
            "/*!40101 SET NAMES utf8 */",
            "/*M!100100 SET x=1 */",
            "SELECT 2--1",
        ];
        assert_eq!(sqls(script, MySql)[..3], want);
        assert_eq!(
            sqls(script, MySql)[3..],
            ["SELECT 3 -- four;", "SELECT 5 #six;\n--\t7;"]
        );
        // In PostgreSQL `--1` is a comment, and `/*!` an ordinary comment.
        let script = "/*! x */ SELECT 2--1;\nSELECT 3;";
        assert_eq!(sqls(script, Postgres), ["SELECT 2--1;\nSELECT 3"]);
    }

    #[test]
    fn line_numbers_skip_leading_comments_and_count_crlf() {
        let script = "-- a\r\n/* two\r\n lines */\r\n\r\nSELECT 1;  SELECT\r\n2;\r\n\r\n  SELECT 3";
        assert_eq!(lines(script, Sqlite), [5, 5, 8]);
        assert_eq!(
            sqls(script, Sqlite),
            ["SELECT 1", "SELECT\r\n2", "SELECT 3"]
        );
    }

    #[test]
    fn bom_empty_and_comment_only_scripts() {
        let want = Statement {
            sql: "SELECT 1".into(),
            line: 1,
        };
        assert_eq!(split("\u{feff}SELECT 1;", Postgres).unwrap(), [want]);
        assert_eq!(sqls(";; ;\n;SELECT 1;;", MySql), ["SELECT 1"]);
        for dialect in [Postgres, MySql, Sqlite] {
            assert_eq!(split("-- only\n/* comments */\n;\n", dialect).unwrap(), []);
            assert_eq!(split("", dialect).unwrap(), []);
        }
    }

    #[test]
    fn unterminated_constructs_report_their_first_line() {
        let cases = [
            (
                Postgres,
                "SELECT 1;\nSELECT $body$ x;\n",
                2,
                "dollar-quoted string $body$",
            ),
            (Postgres, "SELECT 1;\n\nSELECT E'\\';", 3, "string E'"),
            (Postgres, "/* a /* b */\nSELECT 1;", 1, "block comment /*"),
            (MySql, "SELECT 1;\nSELECT 'a\\';", 2, "string '"),
            (MySql, "SELECT `a;\n", 1, "quoted identifier `"),
            (Sqlite, "\n\nSELECT [a;", 3, "quoted identifier ["),
            (Sqlite, "SELECT \"a\n;", 1, "quoted identifier \""),
        ];
        for (dialect, script, line, what) in cases {
            let err = split(script, dialect).unwrap_err();
            assert_eq!(err.line, line, "{script:?}");
            assert_eq!(err.message, format!("unterminated {what} opened here"));
        }
    }
}
