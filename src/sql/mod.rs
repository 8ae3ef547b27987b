//! SQL text handling that must agree with each engine's own client: splitting a script
//! into the statements a client would send one at a time.
//!
//! The splitter is hand-written (see `split.rs` for why no parser crate fits).
//!
//! ```
//! use cutover::sql::{Dialect, split};
//!
//! let script = "DELIMITER ??\nCREATE PROCEDURE p() BEGIN SELECT 1; END??\nDELIMITER ;\nCALL p();\n";
//! let statements = split(script, Dialect::MySql).unwrap();
//! assert_eq!(statements.len(), 2);
//! assert_eq!(statements[0].sql, "CREATE PROCEDURE p() BEGIN SELECT 1; END");
//! assert_eq!((statements[1].sql.as_str(), statements[1].line), ("CALL p()", 4));
//! ```

mod lexer;
pub mod outline;
mod split;

pub use split::{SplitError, split, split_with_delimiter};

/// The SQL dialect a script is read in. Chosen by the target engine, never guessed from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// `name` as a quoted identifier (backticks on MySQL, double quotes elsewhere).
    pub fn quote(self, name: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// The name used in file names and messages (`postgres`, `mysql`, `sqlite`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// One statement of a script, as the engine's client would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text without its terminating delimiter. Leading comments and
    /// whitespace are dropped, except MySQL's executable `/*! … */` comments.
    pub sql: String,
    /// 1-based line within the script where the statement's first token is.
    pub line: usize,
}
