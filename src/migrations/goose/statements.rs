//! The statements of a goose section, as they reach the database.
//!
//! A `StatementBegin`/`StatementEnd` block is one statement, whatever semicolons it holds,
//! without the block's leading comments and blank lines (as goose skips them) and without
//! a final `;`. Everything else is split as the engine's client splits it (`sql::split`),
//! which finds the statements goose finds, and also the ones goose's line-by-line split
//! would cut inside a quoted string. Lines run through `${VAR}` substitution while
//! `ENVSUB` is on; comment lines are left alone.
//!
//! Every line keeps its number: annotation and block lines are blanked in the text handed
//! to the splitter, and blocks are put back in order by line.

use std::borrow::Cow;

use crate::sql::{Dialect, SplitError, Statement, split};

use super::annotation::{self, Annotation};
use super::envsub::{Env, Process, substitute};

/// The statements of a goose section's text `sql`, with `envsub` the substitution state
/// where it starts; lines are 1-based in `sql`.
pub(in crate::migrations) fn statements(
    sql: &str,
    envsub: bool,
    dialect: Dialect,
) -> Result<Vec<Statement>, SplitError> {
    statements_in(sql, envsub, dialect, &Process)
}

/// [`statements`] with variables looked up in `env`.
fn statements_in(
    sql: &str,
    envsub: bool,
    dialect: Dialect,
    env: &dyn Env,
) -> Result<Vec<Statement>, SplitError> {
    let mut envsub = envsub;
    let mut outside = String::with_capacity(sql.len());
    let mut blocks = Vec::new();
    let mut block: Option<Block> = None;
    for (index, raw) in sql.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_break = &raw[line.len()..];
        match annotation::parse(line) {
            Some(Ok(found)) => {
                match found {
                    Annotation::StatementBegin => block = Some(Block::default()),
                    Annotation::StatementEnd => blocks.extend(block.take().and_then(Block::end)),
                    Annotation::EnvsubOn => envsub = true,
                    Annotation::EnvsubOff => envsub = false,
                    _ => {}
                }
                outside.push_str(line_break);
                continue;
            }
            Some(Err(message)) => {
                return Err(SplitError {
                    line: number,
                    message,
                });
            }
            None => {}
        }
        let text = if envsub && !line.trim_start().starts_with("--") {
            Cow::Owned(substitute(line, env).map_err(|message| SplitError {
                line: number,
                message: format!("variable substitution failed: {message}"),
            })?)
        } else {
            Cow::Borrowed(line)
        };
        match &mut block {
            Some(block) => {
                block.push(number, &text, line_break);
                outside.push_str(line_break);
            }
            None => {
                outside.push_str(&text);
                outside.push_str(line_break);
            }
        }
    }
    let mut all = split(&outside, dialect)?;
    if !blocks.is_empty() {
        all.extend(blocks);
        all.sort_by_key(|s| s.line);
    }
    Ok(all)
}

/// A statement block being read.
#[derive(Default)]
struct Block {
    /// The line of its first kept line.
    line: usize,
    text: String,
}

impl Block {
    fn push(&mut self, number: usize, line: &str, line_break: &str) {
        if self.text.is_empty() {
            let content = line.trim();
            if content.is_empty() || content.starts_with("--") {
                return;
            }
            self.line = number;
        }
        self.text.push_str(line);
        self.text.push_str(line_break);
    }

    fn end(self) -> Option<Statement> {
        let text = self.text.trim_end();
        let text = text.strip_suffix(';').unwrap_or(text).trim_end();
        (!text.is_empty()).then(|| Statement {
            sql: text.to_string(),
            line: self.line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_sql(sql: &str, dialect: Dialect) -> Vec<(usize, String)> {
        statements(sql, false, dialect)
            .unwrap()
            .into_iter()
            .map(|s| (s.line, s.sql))
            .collect()
    }

    #[test]
    fn a_block_is_one_statement_in_order_with_its_line() {
        let sql = "\
CREATE TABLE t (id int);
-- +goose StatementBegin
-- leading comment, dropped as goose drops it

CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
  INSERT INTO log VALUES (1);
  INSERT INTO log VALUES (2);
END;
-- +goose StatementEnd
INSERT INTO t VALUES (1);
";
        assert_eq!(
            lines_and_sql(sql, Dialect::Sqlite),
            [
                (1, "CREATE TABLE t (id int)".to_string()),
                (
                    5,
                    "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (1);\n  INSERT INTO log VALUES (2);\nEND"
                        .to_string()
                ),
                (10, "INSERT INTO t VALUES (1)".to_string()),
            ]
        );
    }

    #[test]
    fn a_block_keeps_what_the_client_would_split() {
        // The MariaDB client would end this `IF` at its first `;`.
        let sql = "-- +goose StatementBegin\nIF 1 = 1 THEN\n  SELECT 1;\n  SELECT 2;\nEND IF;\n-- +goose StatementEnd\n";
        let got = lines_and_sql(sql, Dialect::MySql);
        assert_eq!(
            got,
            [(
                2,
                "IF 1 = 1 THEN\n  SELECT 1;\n  SELECT 2;\nEND IF".to_string()
            )]
        );
        let without = split(
            "IF 1 = 1 THEN\n  SELECT 1;\n  SELECT 2;\nEND IF;\n",
            Dialect::MySql,
        )
        .unwrap();
        assert!(without.len() > 1, "the splitter alone cuts it");
    }

    #[test]
    fn crlf_and_empty_blocks() {
        let sql =
            "SELECT 1;\r\n-- +goose StatementBegin\r\n-- +goose StatementEnd\r\nSELECT 2;\r\n";
        assert_eq!(
            lines_and_sql(sql, Dialect::Postgres),
            [(1, "SELECT 1".to_string()), (4, "SELECT 2".to_string())]
        );
    }

    struct One;

    impl Env for One {
        fn get(&self, name: &str) -> Option<String> {
            (name == "CUTOVER_UNIT_GOOSE_T").then(|| "kv".to_string())
        }
    }

    #[test]
    fn substitution_follows_envsub_and_skips_comments() {
        let sql = "\
INSERT INTO ${CUTOVER_UNIT_GOOSE_T} VALUES (1);
-- +goose ENVSUB OFF
-- ${CUTOVER_UNIT_GOOSE_UNSET?not checked in a comment}
INSERT INTO x VALUES ('${CUTOVER_UNIT_GOOSE_T}');
-- +goose ENVSUB ON
-- +goose StatementBegin
INSERT INTO ${CUTOVER_UNIT_GOOSE_T} VALUES ('$$');
-- +goose StatementEnd
";
        let got: Vec<String> = statements_in(sql, true, Dialect::Postgres, &One)
            .unwrap()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            got,
            [
                "INSERT INTO kv VALUES (1)",
                "INSERT INTO x VALUES ('${CUTOVER_UNIT_GOOSE_T}')",
                "INSERT INTO kv VALUES ('$$')",
            ]
        );
        let err = statements_in(
            "SELECT 1;\nSELECT '${CUTOVER_UNIT_GOOSE_UNSET?needed}';\n",
            true,
            Dialect::Postgres,
            &One,
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("$CUTOVER_UNIT_GOOSE_UNSET: needed"),
            "{}",
            err.message
        );
    }
}
