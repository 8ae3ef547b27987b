//! A formatted SQL changelog's lines into changesets, as Liquibase's parser reads them: its
//! patterns (case-insensitive, each matched against a whole line, as `matches()` does), the
//! `--changeset` line's attributes, rollback lines and blocks, and the lines it refuses.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::super::Error;
use super::super::tree::Entry;

/// A pattern of Liquibase's parser: case-insensitive, matched against the whole line.
fn pattern(re: &str) -> Regex {
    Regex::new(&format!("(?i)^(?:{re})$")).expect("a valid pattern")
}

macro_rules! patterns {
    ($($vis:vis $name:ident = $re:expr;)*) => {$(
        $vis static $name: LazyLock<Regex> = LazyLock::new(|| pattern($re));
    )*};
}

patterns! {
    pub(super) FIRST_LINE = r"\s*--\s*liquibase\s*formatted.*";
    PROPERTY = r"\s*--\s*property\s+(.*:.*)\s+(.*:.*).*";
    ALT_PROPERTY = r"\s*?-+\s*property\s.*";
    IGNORE_LINES = r"--\s*ignoreLines:(\w+)";
    ALT_IGNORE_LINES = r"-\s*?ignoreLines:(\w+).*";
    ALT_IGNORE = r"--\s*ignore:(\w+)";
    CHANGESET = r#"\s*--\s*changeset\s+("[^"]+"|[^:]+):\s*("[^"]+"|\S+).*"#;
    ALT_CHANGESET_ONE = r"-\s*changeset\s.*";
    ALT_CHANGESET_BARE = r"\s*--\s*changeset\s*.*";
    COMMENT = r"--\s*comment:? (.*)";
    ALT_COMMENT_ONE = r"-\s*comment:? (.*)";
    ALT_COMMENT_PLURAL = r"--\s*comments:? (.*)";
    VALID_CHECKSUM = r"--\s*validCheckSum:? (.*)";
    ALT_VALID_CHECKSUM = r"-\s*validCheckSum(.*)";
    ROLLBACK = r"\s*--\s*rollback (.*)";
    ALT_ROLLBACK = r"\s*-\s*rollback\s.*";
    ROLLBACK_START = r"\s*/\*\s*liquibase\s*rollback\s*";
    ROLLBACK_END = r".*\*/\s*";
    PRECONDITIONS = r"\s*--\s*preconditions(.*)";
    ALT_PRECONDITIONS = r"\s*-\s*preconditions\s.*";
    PRECONDITION = r"\s*--\s*precondition-([a-zA-Z0-9-]+)(?: (.*))?";
    ALT_PRECONDITION = r"\s*-\s*precondition(.*)";
}

/// A line of the file without its line break, and its 1-based number.
type Line<'a> = (usize, &'a str);

/// One `--changeset` and what follows it up to the next.
pub(super) struct Changeset {
    pub(super) author: String,
    pub(super) id: String,
    /// The line of `--changeset`.
    pub(super) line: usize,
    pub(super) attributes: Attributes,
    /// The SQL lines, by their line in the file.
    pub(super) sql: Vec<(usize, String)>,
    /// The rollback text, by line, and whether there was any rollback at all.
    pub(super) rollback: Vec<(usize, String)>,
    /// The file's `logicalFilePath`, if its header gave one.
    pub(super) logical_path: Option<String>,
    /// Its place in the file.
    pub(super) index: usize,
}

/// A changeset's attributes, as on its `--changeset` line.
#[derive(Default)]
pub(super) struct Attributes {
    pub(super) run_on_change: bool,
    pub(super) run_in_transaction: bool,
    pub(super) context: Option<String>,
    pub(super) labels: Option<String>,
    pub(super) dbms: Option<String>,
    pub(super) logical_path: Option<String>,
    pub(super) split: Option<bool>,
    pub(super) strip_comments: Option<bool>,
    pub(super) end_delimiter: Option<String>,
    pub(super) rollback_split: Option<bool>,
    pub(super) rollback_end_delimiter: Option<String>,
    pub(super) ignore: bool,
}

/// A parsed changelog file.
pub(super) struct Changelog {
    pub(super) changesets: Vec<Changeset>,
}

/// Builds errors naming the file and a line.
pub(super) struct At<'a> {
    pub(super) path: &'a Path,
}

impl At<'_> {
    pub(super) fn bad(&self, line: usize, reason: impl Into<String>) -> Error {
        Error::BadSections {
            path: self.path.to_path_buf(),
            line,
            reason: reason.into(),
        }
    }

    pub(super) fn refused(&self, line: usize, text: &str, hint: &str) -> Error {
        Error::ForeignMarker {
            path: self.path.to_path_buf(),
            line,
            text: text.trim().to_string(),
            tool: "Liquibase",
            hint: hint.to_string(),
        }
    }

    pub(super) fn malformed(&self, line: usize, expected: &str) -> Error {
        self.bad(
            line,
            format!("unexpected formatting: Liquibase expects `{expected}` here (docs.liquibase.com/concepts/changelogs/sql-format.html)"),
        )
    }
}

impl Changelog {
    pub(super) fn parse(entry: &Entry, text: &str) -> Result<Changelog, Error> {
        let at = At { path: &entry.path };
        let lines: Vec<Line> = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .collect();
        let mut changesets: Vec<Changeset> = Vec::new();
        let mut logical_path = None;
        let mut i = 0;
        while i < lines.len() {
            let (number, line) = lines[i];
            i += 1;
            // Every pattern starts with `-` or `/*` after blanks: SQL lines skip them all.
            if !line.trim_start().starts_with(['-', '/']) {
                match changesets.last_mut() {
                    Some(current) => current.sql.push((number, line.to_string())),
                    None if line.trim().is_empty() => {}
                    None => return Err(before_first(&at, number)),
                }
                continue;
            }
            if PROPERTY.is_match(line) {
                return Err(at.refused(number, line, "cutover does not substitute Liquibase changelog properties: write the value itself"));
            }
            if ALT_PROPERTY.is_match(line) {
                return Err(at.malformed(number, "--property name:<name> value:<value>"));
            }
            if FIRST_LINE.is_match(line) {
                logical_path = LOGICAL_PATH.captures(line).map(|c| c[1].to_string());
            }
            if let Some(c) = IGNORE_LINES.captures(line) {
                i = ignore_lines(&at, &lines, i, number, &c[1])?;
                continue;
            }
            if ALT_IGNORE_LINES.is_match(line) || ALT_IGNORE.is_match(line) {
                return Err(at.malformed(number, "--ignoreLines:<count|start|end>"));
            }
            if let Some(c) = CHANGESET.captures(line) {
                changesets.push(Changeset::start(
                    &at,
                    number,
                    line,
                    &c,
                    logical_path.clone(),
                    changesets.len(),
                )?);
                continue;
            }
            if ALT_CHANGESET_ONE.is_match(line) || ALT_CHANGESET_BARE.is_match(line) {
                return Err(at.malformed(number, "--changeset <author>:<id>"));
            }
            match changesets.last_mut() {
                Some(current) => i = current.line_of(&at, &lines, i, number, line)?,
                None if COMMENT.is_match(line) => {
                    return Err(at.bad(number, "a `--comment` line outside a changeset, which Liquibase refuses: move it below a `--changeset` line"));
                }
                None if line.trim().is_empty() || line.trim_start().starts_with("--") => {}
                None => return Err(before_first(&at, number)),
            }
        }
        let mut seen = std::collections::HashMap::new();
        for c in &changesets {
            if let Some(first) = seen.insert((c.id.clone(), c.author.clone()), c.line) {
                return Err(at.bad(c.line, format!("changeset {}:{} is declared twice (first at line {first}); Liquibase refuses duplicate changesets", c.author, c.id)));
            }
            if c.sql.iter().all(|(_, l)| l.trim().is_empty()) {
                return Err(at.bad(
                    c.line,
                    format!(
                        "changeset {}:{} has no SQL, which Liquibase refuses",
                        c.author, c.id
                    ),
                ));
            }
        }
        Ok(Changelog { changesets })
    }
}

fn before_first(at: &At, line: usize) -> Error {
    at.bad(
        line,
        "SQL before the first `--changeset`, which Liquibase does not run: move it into a changeset, or delete it",
    )
}

/// `--ignoreLines:start` … `--ignoreLines:end`, or `--ignoreLines:<count>`: the index of
/// the line to read next.
fn ignore_lines(
    at: &At,
    lines: &[Line],
    mut i: usize,
    number: usize,
    how: &str,
) -> Result<usize, Error> {
    if how == "start" {
        while i < lines.len() {
            let (n, l) = lines[i];
            i += 1;
            if let Some(c) = IGNORE_LINES.captures(l) {
                if &c[1] == "end" {
                    return Ok(i);
                }
            } else if ALT_IGNORE_LINES.is_match(l) {
                return Err(at.malformed(n, "--ignoreLines:end"));
            }
        }
        return Ok(i);
    }
    let count: usize = how.parse().map_err(|_| {
        at.bad(
            number,
            format!("unknown ignoreLines syntax `{how}`: write a count, `start` or `end`"),
        )
    })?;
    Ok((i + count).min(lines.len()))
}

/// `logicalFilePath:` on the header line.
static LOGICAL_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)logicalFilePath:(\S*)").expect("a valid pattern"));

/// `key:value` words; a value may be `"quoted with spaces"`.
fn tokens(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some((key, after)) = rest
            .split_once(':')
            .filter(|(k, _)| !k.contains(char::is_whitespace))
        else {
            let word = rest.split_whitespace().next().unwrap_or(rest);
            return Err(format!("`{word}` is not an attribute (`name:value`)"));
        };
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, r)) => (v.to_string(), r),
                None => return Err(format!("the value of `{key}` has no closing `\"`")),
            },
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        out.push((key.to_string(), value));
        rest = remaining.trim_start();
    }
    Ok(out)
}

fn strip_quotes(s: &str) -> String {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

impl Changeset {
    fn start(
        at: &At,
        number: usize,
        line: &str,
        c: &regex::Captures,
        logical_path: Option<String>,
        index: usize,
    ) -> Result<Changeset, Error> {
        let (author, id) = (&c[1], &c[2]);
        // Liquibase also requires `author:id` written together.
        let joined = format!("{author}:{id}");
        let Some(pos) = line.find(&joined) else {
            return Err(at.malformed(number, "--changeset <author>:<id>"));
        };
        let (author, id) = (strip_quotes(author.trim()), strip_quotes(id));
        if id.replace([':', ' '], "").is_empty() {
            return Err(at.bad(number, "the changeset id is empty"));
        }
        let attributes = Attributes::parse(at, number, &line[pos + joined.len()..])?;
        Ok(Changeset {
            author,
            id,
            line: number,
            attributes,
            sql: Vec::new(),
            rollback: Vec::new(),
            logical_path,
            index,
        })
    }

    /// A line inside the changeset: its SQL, rollback, comment, or a refused line. Returns
    /// the index of the next line to read (a rollback block reads several).
    fn line_of(
        &mut self,
        at: &At,
        lines: &[Line],
        mut i: usize,
        number: usize,
        line: &str,
    ) -> Result<usize, Error> {
        if COMMENT.is_match(line) || VALID_CHECKSUM.is_match(line) {
            return Ok(i);
        }
        if ALT_COMMENT_ONE.is_match(line) || ALT_COMMENT_PLURAL.is_match(line) {
            return Err(at.malformed(number, "--comment <comment>"));
        }
        if ALT_VALID_CHECKSUM.is_match(line) {
            return Err(at.malformed(number, "--validCheckSum <checksum>"));
        }
        if let Some(c) = ROLLBACK.captures(line) {
            self.rollback.push((number, c[1].to_string()));
            return Ok(i);
        }
        if ALT_ROLLBACK.is_match(line) {
            return Err(at.malformed(number, "--rollback <rollback SQL>"));
        }
        if ROLLBACK_START.is_match(line) {
            while i < lines.len() {
                let (n, l) = lines[i];
                i += 1;
                if ROLLBACK_END.is_match(l) {
                    let before = &l[..l.rfind("*/").expect("matched")];
                    if !before.trim().is_empty() {
                        self.rollback.push((n, before.to_string()));
                    }
                    return Ok(i);
                }
                self.rollback.push((n, l.to_string()));
            }
            return Err(at.bad(
                number,
                "the `/* liquibase rollback` block has no closing `*/`",
            ));
        }
        if PRECONDITIONS.is_match(line) || PRECONDITION.is_match(line) {
            return Err(at.refused(number, line, "cutover does not evaluate Liquibase preconditions: check the condition in a `[[checks]]` entry or in the SQL itself"));
        }
        if ALT_PRECONDITIONS.is_match(line) || ALT_PRECONDITION.is_match(line) {
            return Err(at.malformed(
                number,
                "--precondition-sql-check expectedResult:<value> <sql>",
            ));
        }
        self.sql.push((number, line.to_string()));
        Ok(i)
    }
}

impl Attributes {
    fn parse(at: &At, line: usize, text: &str) -> Result<Attributes, Error> {
        let mut a = Attributes {
            run_in_transaction: true,
            ..Attributes::default()
        };
        let pairs = tokens(text).map_err(|e| at.bad(line, e))?;
        for (key, value) in pairs {
            let flag = || match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(at.bad(
                    line,
                    format!("`{key}:{value}`: the value must be true or false"),
                )),
            };
            let refuse = |hint: &str| Err(at.refused(line, &format!("{key}:{value}"), hint));
            match key.to_ascii_lowercase().as_str() {
                "runonchange" => a.run_on_change = flag()?,
                "runintransaction" => a.run_in_transaction = flag()?,
                "context" => a.context = a.context.take().or(Some(value)),
                "contextfilter" => a.context = Some(value),
                "labels" => a.labels = Some(value),
                "dbms" => a.dbms = Some(value),
                "logicalfilepath" => a.logical_path = Some(value),
                "splitstatements" => a.split = Some(flag()?),
                "stripcomments" => a.strip_comments = Some(flag()?),
                "enddelimiter" | "rollbackenddelimiter" if value.is_empty() => {
                    return Err(at.bad(line, format!("`{key}:` needs a delimiter")));
                }
                "enddelimiter" => a.end_delimiter = Some(value),
                "rollbacksplitstatements" => a.rollback_split = Some(flag()?),
                "rollbackenddelimiter" => a.rollback_end_delimiter = Some(value),
                "ignore" => a.ignore = flag()?,
                "runalways" if flag()? => {
                    return refuse(
                        "cutover runs a changeset again only when it changes (`runOnChange:true`); for a script that runs on every deploy, use a seed",
                    );
                }
                "runalways" => {}
                "failonerror" if !flag()? => {
                    return refuse(
                        "cutover stops at the first error and does not record a failed changeset as run: remove it and make the SQL succeed",
                    );
                }
                "failonerror" => {}
                "runwith" if value.eq_ignore_ascii_case("jdbc") => {}
                "runwith" | "runwithspoolfile" => {
                    return refuse(
                        "cutover sends SQL itself and does not run psql, sqlplus or sqlcmd: remove it, or keep running this changeset with Liquibase",
                    );
                }
                _ => {
                    return Err(at.bad(
                        line,
                        format!("`{key}` is not a changeset attribute of Liquibase formatted SQL"),
                    ));
                }
            }
        }
        Ok(a)
    }
}
