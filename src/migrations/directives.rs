//! Directives: instructions in a script's leading comment block (`-- cutover:…`) and the
//! equivalent markers of foreign tools (`markers`).
//!
//! The leading comment block is the run of blank and `--` comment lines at the start of a
//! script. Only directives there count. A `-- cutover:` line further down is an error
//! rather than silently ignored, because whoever wrote it expected it to take effect.

use std::path::Path;

use super::markers::{self, Effect};
use super::{Error, Layout};

/// The directives cutover knows, for error messages.
const KNOWN: &str = "`-- cutover:no-transaction`, `-- cutover:env <names>`, \
     `-- cutover:phase expand|contract` and `-- cutover:backfill batch=N pause=DURATION batch_time=DURATION`";

/// Which step of an expand-and-contract change a migration is (`-- cutover:phase …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Adds what the new application version needs, and the old one does not mind.
    Expand,
    /// Removes what only the old application version used: waits for `deploy --phase
    /// contract`, once the new version is the one serving.
    Contract,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Expand => "expand",
            Stage::Contract => "contract",
        }
    }
}

/// What a script asks of the runner.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Directives {
    /// Run outside a transaction, statement by statement (`-- cutover:no-transaction`,
    /// dbmate `transaction:false`, goose `NO TRANSACTION`, sqlx `-- no-transaction`, morph
    /// `-- morph:nontransactional`, popx `.autocommit.`).
    pub no_transaction: bool,
    /// Only run in these environments (`-- cutover:env dev,test`); `None` means every one.
    pub envs: Option<Vec<String>>,
    /// `-- cutover:phase expand|contract`; `None`: untagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Stage>,
    /// `-- cutover:backfill batch=N pause=D`: the script's one UPDATE or DELETE runs in
    /// batches outside a transaction (implies `no-transaction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<Backfill>,
}

/// How a backfill runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Backfill {
    /// Rows per batch (each batch one short transaction).
    pub batch: u64,
    /// The pause between batches, so the application's queries get their turn.
    #[serde(serialize_with = "millis")]
    pub pause: std::time::Duration,
    /// `batch_time=D`: about how long a batch should take. The batch size starts at
    /// `batch` and is adjusted after each batch (at most halved or doubled), so that a
    /// batch holds its rows' locks, and takes its share of the server's writes, for about
    /// that long whatever a row costs (triggers, indexes, a busy server). `None`: every
    /// batch is `batch` rows.
    #[serde(serialize_with = "opt_millis", skip_serializing_if = "Option::is_none")]
    pub batch_time: Option<std::time::Duration>,
}

fn millis<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn opt_millis<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

impl Backfill {
    /// `batch=1000 pause=100ms batch_time=200ms`, any of them, in any order.
    fn parse(args: &str) -> Result<Backfill, String> {
        let mut b = Backfill {
            batch: 1000,
            pause: std::time::Duration::from_millis(100),
            batch_time: None,
        };
        for word in args.split_whitespace() {
            match word.split_once('=') {
                Some(("batch", n)) => {
                    b.batch = n
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("`batch={n}` is not a number of rows above 0"))?
                }
                Some(("pause", d)) => b.pause = crate::config::parse_duration(d)?,
                Some(("batch_time", d)) => {
                    b.batch_time = Some(crate::config::parse_duration(d)?).filter(|d| !d.is_zero());
                    if b.batch_time.is_none() {
                        return Err(format!("`batch_time={d}` is not a duration above 0"));
                    }
                }
                _ => {
                    return Err(format!(
                        "`{word}` is not `batch=N`, `pause=DURATION` or `batch_time=DURATION` (e.g. `-- cutover:backfill batch=1000 pause=100ms batch_time=200ms`)"
                    ));
                }
            }
        }
        Ok(b)
    }
}

impl Directives {
    /// Reads the directives of one plain SQL script (a seed, say). `line_offset` is the
    /// number of lines of `path` before `sql` starts, so that errors give the line in the
    /// file.
    pub fn parse(path: &Path, sql: &str, line_offset: usize) -> Result<Directives, Error> {
        Directives::parse_in(path, sql, line_offset, None)
    }

    /// Like [`Directives::parse`], for a script of a file of `layout`: other tools' markers
    /// are accepted or refused as `markers` says for that layout.
    pub(super) fn parse_in(
        path: &Path,
        sql: &str,
        line_offset: usize,
        layout: Option<Layout>,
    ) -> Result<Directives, Error> {
        let mut directives = Directives::default();
        let mut in_header = true;
        for (index, line) in sql.lines().enumerate() {
            let text = line.trim();
            let file_line = line_offset + index + 1;
            in_header = in_header && (text.is_empty() || text.starts_with("--"));
            if let Some(marker) = markers::find(line, file_line == 1, layout) {
                let effect = markers::accept(marker, layout, path, file_line, line)?;
                directives.no_transaction |= effect == Effect::NoTransaction;
            }
            let Some((word, args)) = split_directive(text) else {
                continue;
            };
            if is_lint_allow(word) {
                continue;
            }
            let at = Location {
                path,
                line: file_line,
                word,
            };
            if !in_header {
                return Err(at.misplaced());
            }
            directives.apply(&at, args)?;
        }
        Ok(directives)
    }

    fn apply(&mut self, at: &Location<'_>, args: &str) -> Result<(), Error> {
        match at.word {
            "no-transaction" if args.is_empty() => self.no_transaction = true,
            "no-transaction" => {
                return Err(at.invalid("takes no argument; remove the text after it"));
            }
            "env" if self.envs.is_some() => {
                return Err(at.invalid("is given twice; list every environment in one directive"));
            }
            "env" => {
                self.envs = Some(parse_envs(args).ok_or_else(|| {
                    at.invalid(
                        "needs at least one environment name, e.g. `-- cutover:env dev,test`",
                    )
                })?)
            }
            "backfill" if self.backfill.is_some() => {
                return Err(at.invalid("is given twice"));
            }
            "backfill" => {
                self.backfill = Some(Backfill::parse(args).map_err(|m| at.invalid(&m))?);
                self.no_transaction = true;
            }
            "phase" if self.phase.is_some() => {
                return Err(at.invalid("is given twice; a migration is one phase"));
            }
            "phase" => {
                self.phase = Some(match args {
                    "expand" => Stage::Expand,
                    "contract" => Stage::Contract,
                    _ => {
                        return Err(at.invalid(
                            "is `-- cutover:phase expand` or `-- cutover:phase contract`",
                        ));
                    }
                })
            }
            _ => return Err(at.unknown()),
        }
        Ok(())
    }
}

/// Errors on any `-- cutover:` line in `text`, and on any foreign marker that `layout` does
/// not accept there: for text outside every script, such as the lines above a dbmate
/// file's `-- migrate:up`.
pub(super) fn forbid(
    path: &Path,
    text: &str,
    line_offset: usize,
    layout: Layout,
) -> Result<(), Error> {
    markers::check(path, text, line_offset, Some(layout))?;
    for (index, line) in text.lines().enumerate() {
        if let Some((word, _)) = split_directive(line.trim())
            && !is_lint_allow(word)
        {
            let at = Location {
                path,
                line: line_offset + index + 1,
                word,
            };
            return Err(at.misplaced());
        }
    }
    Ok(())
}

/// Where a directive was found, to build errors.
struct Location<'a> {
    path: &'a Path,
    line: usize,
    word: &'a str,
}

impl Location<'_> {
    fn unknown(&self) -> Error {
        Error::UnknownDirective {
            path: self.path.to_path_buf(),
            line: self.line,
            directive: self.word.to_string(),
            known: KNOWN,
        }
    }

    fn invalid(&self, reason: &str) -> Error {
        Error::InvalidDirective {
            path: self.path.to_path_buf(),
            line: self.line,
            directive: self.word.to_string(),
            reason: reason.to_string(),
        }
    }

    fn misplaced(&self) -> Error {
        Error::MisplacedDirective {
            path: self.path.to_path_buf(),
            line: self.line,
            directive: self.word.to_string(),
        }
    }
}

/// `-- cutover:allow …` and `-- cutover:allow-file …` are the linter's suppressions: they sit
/// on any line (above the statement they cover) and mean nothing to the runner.
fn is_lint_allow(word: &str) -> bool {
    word == "allow" || word == "allow-file"
}

/// `-- cutover:word args` -> `(word, args)`; `None` for any other line.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("cutover:")?;
    let rest = rest.trim();
    Some(match rest.split_once(char::is_whitespace) {
        Some((word, args)) => (word, args.trim()),
        None => (rest, ""),
    })
}

/// Environment names separated by commas and/or spaces, without repeats; `None` if empty.
fn parse_envs(args: &str) -> Option<Vec<String>> {
    let mut envs: Vec<String> = Vec::new();
    for name in args.split(|c: char| c == ',' || c.is_whitespace()) {
        if !name.is_empty() && !envs.iter().any(|e| e == name) {
            envs.push(name.to_string());
        }
    }
    (!envs.is_empty()).then_some(envs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<Directives, Error> {
        Directives::parse(Path::new("m/1_x.up.sql"), sql, 0)
    }

    #[test]
    fn no_directives_means_defaults() {
        let d = parse("CREATE TABLE t (id int);\n").unwrap();
        assert_eq!(d, Directives::default());
    }

    #[test]
    fn reads_directives_from_the_leading_comment_block() {
        let sql = "\n-- a comment\n--cutover:no-transaction\n   -- cutover:env dev, test staging,dev\n\nCREATE INDEX CONCURRENTLY i ON t (c);\n";
        let d = parse(sql).unwrap();
        assert!(d.no_transaction);
        assert_eq!(
            d.envs,
            Some(vec!["dev".into(), "test".into(), "staging".into()])
        );
    }

    #[test]
    fn lint_suppressions_are_accepted_on_any_line() {
        let sql = "-- cutover:allow-file ban-drop-column old data\nCREATE TABLE t (id int);\n-- cutover:allow renaming-column the app reads both\nALTER TABLE t RENAME COLUMN a TO b;\n";
        assert_eq!(parse(sql).unwrap(), Directives::default());
    }

    #[test]
    fn a_plain_comment_mentioning_cutover_is_not_a_directive() {
        let d = parse("-- cutover will run this\nSELECT 1;\n-- see cutover docs\n").unwrap();
        assert_eq!(d, Directives::default());
    }

    #[test]
    fn sqlx_marker_counts_only_on_the_first_line() {
        assert!(
            parse("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);")
                .unwrap()
                .no_transaction
        );
        assert!(
            parse("-- no-transaction\r\nSELECT 1;")
                .unwrap()
                .no_transaction
        );
        // sqlx would read it as a comment and run the script in a transaction.
        let err = parse("-- x\n-- no-transaction\nSELECT 1;").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ForeignMarker {
                    line: 2,
                    tool: "sqlx",
                    ..
                }
            ),
            "{err}"
        );
        // The first line of a section is not the first line of its file.
        let err =
            Directives::parse(Path::new("m/1_x.up.sql"), "-- no-transaction\n", 4).unwrap_err();
        assert!(matches!(err, Error::ForeignMarker { line: 5, .. }), "{err}");
    }

    #[test]
    fn morph_marker_on_the_first_line_means_no_transaction() {
        let d =
            parse("-- morph:nontransactional\nCREATE INDEX CONCURRENTLY i ON t (c);\n").unwrap();
        assert!(d.no_transaction);
        let err = parse("SELECT 1;\n-- morph:nontransactional\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ForeignMarker {
                    line: 2,
                    tool: "Mattermost morph",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn foreign_markers_are_refused_with_file_line_and_tool() {
        let err =
            parse("-- +migrate Up\nCREATE TABLE t (id int);\n-- +migrate Down\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("m/1_x.up.sql:1: `-- +migrate Up` is a marker of sql-migrate"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_directive_names_file_line_and_known_ones() {
        let err = Directives::parse(
            Path::new("m/1_x.up.sql"),
            "\n-- cutover:no-transction\n",
            10,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::UnknownDirective { line: 12, directive, .. } if directive == "no-transction")
        );
        let msg = err.to_string();
        assert!(msg.starts_with("m/1_x.up.sql:12: "), "{msg}");
        assert!(
            msg.contains("-- cutover:no-transaction") && msg.contains("-- cutover:env"),
            "{msg}"
        );
    }

    #[test]
    fn empty_env_list_is_an_error() {
        let err = parse("-- cutover:env , \nSELECT 1;").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("m/1_x.up.sql:1"), "{err}");
    }

    #[test]
    fn repeated_env_and_arguments_to_no_transaction_are_errors() {
        let err = parse("-- cutover:env dev\n-- cutover:env prod\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 2, .. }),
            "{err}"
        );
        let err = parse("-- cutover:no-transaction yes\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn backfills_are_read_and_checked() {
        let d = parse(
            "-- cutover:backfill batch=500 pause=20ms\nUPDATE t SET a = 1 WHERE a IS NULL;\n",
        )
        .unwrap();
        let b = d.backfill.unwrap();
        assert_eq!((b.batch, b.pause.as_millis()), (500, 20));
        assert!(d.no_transaction, "a backfill runs outside a transaction");
        assert_eq!(
            parse("-- cutover:backfill\n")
                .unwrap()
                .backfill
                .unwrap()
                .batch,
            1000
        );
        let err = parse("-- cutover:backfill batch=0\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 1, .. }),
            "{err}"
        );
        let err = parse("-- cutover:backfill size=5\n").unwrap_err();
        assert!(err.to_string().contains("batch=N"), "{err}");
        assert!(err.to_string().contains("batch_time=DURATION"), "{err}");
    }

    #[test]
    fn a_batch_time_is_read_and_checked() {
        let b = parse("-- cutover:backfill batch_time=250ms batch=50\n")
            .unwrap()
            .backfill
            .unwrap();
        assert_eq!(b.batch, 50);
        assert_eq!(b.batch_time, Some(std::time::Duration::from_millis(250)));
        let fixed = parse("-- cutover:backfill batch=50\n")
            .unwrap()
            .backfill
            .unwrap();
        assert_eq!(
            fixed.batch_time, None,
            "without it, every batch is `batch` rows"
        );
        for bad in ["batch_time=0ms", "batch_time=soon"] {
            let err = parse(&format!("-- cutover:backfill {bad}\n")).unwrap_err();
            assert!(
                matches!(err, Error::InvalidDirective { line: 1, .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn phases_are_read_and_checked() {
        let d = parse("-- cutover:phase contract\nALTER TABLE t DROP COLUMN a;\n").unwrap();
        assert_eq!(d.phase, Some(Stage::Contract));
        assert_eq!(
            parse("-- cutover:phase expand\n").unwrap().phase,
            Some(Stage::Expand)
        );
        let err = parse("-- cutover:phase later\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 1, .. }),
            "{err}"
        );
        let err = parse("-- cutover:phase expand\n-- cutover:phase contract\n").unwrap_err();
        assert!(
            matches!(err, Error::InvalidDirective { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn forbid_rejects_any_directive() {
        assert!(forbid(Path::new("f.sql"), "-- header\n", 0, Layout::Dbmate).is_ok());
        let err = forbid(
            Path::new("f.sql"),
            "-- header\n-- cutover:env dev\n",
            0,
            Layout::Dbmate,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::MisplacedDirective { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_directive_below_the_first_statement_is_an_error() {
        let err = parse("SELECT 1;\n-- cutover:no-transaction\n").unwrap_err();
        assert!(
            matches!(err, Error::MisplacedDirective { line: 2, .. }),
            "{err}"
        );
        let err = parse("/* header */\n-- cutover:env dev\n").unwrap_err();
        assert!(
            matches!(err, Error::MisplacedDirective { line: 2, .. }),
            "{err}"
        );
    }
}
