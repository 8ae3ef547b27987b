//! Which changesets run where: Liquibase's `context`, `labels` and `dbms`, evaluated as
//! Liquibase evaluates them (`ContextExpression`, `LabelExpression`, `ExpressionMatcher`,
//! `DatabaseList`).
//!
//! cutover maps them onto its environments: an environment runs a changeset as
//! `liquibase update --contexts=<env> --labels=<env>` would, so `context:dev` runs in `dev`,
//! `context:!prod` everywhere but `prod`, and `labels:dev,test` in `dev` and `test`. With
//! no environment selected, a changeset that has a context or labels is skipped, as a
//! `-- cutover:env` migration is (plain `liquibase update` would run it everywhere).

/// A changeset's `context` and `labels`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvFilter {
    /// The context expression as written (`dev`, `!prod`, `dev and !eu`, `(a or b) and c`).
    pub context: Option<String>,
    /// The labels, lower case.
    pub labels: Option<Vec<String>>,
}

impl EnvFilter {
    /// Reads the attributes, refusing an expression Liquibase cannot parse.
    pub(super) fn new(
        context: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Option<EnvFilter>, String> {
        let context = context.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = context {
            matches_context(c, "x")?;
        }
        let labels: Option<Vec<String>> = labels
            .map(|l| {
                l.split(',')
                    .map(|x| x.trim().to_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty());
        Ok((context.is_some() || labels.is_some()).then(|| EnvFilter {
            context: context.map(str::to_string),
            labels,
        }))
    }

    /// Whether environment `env` runs the changeset (see the module's documentation).
    pub fn admits(&self, env: Option<&str>) -> bool {
        let Some(env) = env else {
            return false;
        };
        let context = self
            .context
            .as_deref()
            .is_none_or(|c| matches_context(c, env).unwrap_or(false));
        let labels = self.labels.as_ref().is_none_or(|labels| {
            let items: Vec<&str> = labels.iter().map(String::as_str).collect();
            expression(env, &items).unwrap_or(false)
        });
        context && labels
    }
}

/// A changeset's context string against the one runtime context `env`: any of its
/// comma-separated expressions holds (`ContextExpression.matches`).
fn matches_context(context: &str, env: &str) -> Result<bool, String> {
    let mut any = false;
    for part in context.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        any |= expression(&part.to_lowercase(), &[env])?;
    }
    Ok(any)
}

/// Liquibase's `ExpressionMatcher.matches`: `!`/`not`, `and`, `or`, `,` and parentheses,
/// over `items`, case-insensitive; an empty `items` matches everything.
fn expression(expr: &str, items: &[&str]) -> Result<bool, String> {
    let mut expr = expr.trim().to_string();
    if expr == ":TRUE" {
        return Ok(true);
    }
    if expr == ":FALSE" {
        return Ok(false);
    }
    while expr.contains('(') {
        let Some((open, close)) = innermost(&expr) else {
            return Err(format!("cannot parse the expression `{expr}`"));
        };
        let inner = expression(&expr[open + 1..close], items)?;
        expr = format!(
            "{} :{} {}",
            &expr[..open],
            if inner { "TRUE" } else { "FALSE" },
            &expr[close + 1..]
        );
    }
    let expr = comma_to_or(&expr);
    let ors = split_word(&expr, "or");
    if ors.len() > 1 {
        for part in ors {
            if expression(part, items)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let ands = split_word(&expr, "and");
    if ands.len() > 1 {
        for part in ands {
            if !expression(part, items)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    let mut term = expr.trim();
    let mut negated = false;
    if let Some(rest) = term.strip_prefix('!') {
        (negated, term) = (true, rest.trim());
    } else if term.len() >= 4 && term[..4].eq_ignore_ascii_case("not ") {
        (negated, term) = (true, term[4..].trim());
    } else if let Some(rest) = term.strip_prefix('@') {
        let rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('!') {
            (negated, term) = (true, r.trim());
        } else if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("not ") {
            (negated, term) = (true, rest[4..].trim());
        }
    }
    if items.is_empty() {
        return Ok(true);
    }
    match term {
        ":TRUE" => return Ok(!negated),
        ":FALSE" => return Ok(negated),
        _ => {}
    }
    let found = items.iter().any(|i| i.eq_ignore_ascii_case(term));
    Ok(found != negated)
}

/// The innermost `( … )` with something inside, as `\([^()]+\)` finds it.
fn innermost(expr: &str) -> Option<(usize, usize)> {
    let bytes = expr.as_bytes();
    let mut open = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => open = Some(i),
            b')' => match open {
                Some(o) if i > o + 1 => return Some((o, i)),
                _ => open = None,
            },
            _ => {}
        }
    }
    None
}

/// `\s*,\s*` becomes ` or `.
fn comma_to_or(expr: &str) -> String {
    expr.split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Splits at `\s+<word>\s+` (lower-case `or`/`and` only, as Liquibase's regex).
fn split_word<'a>(expr: &'a str, word: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let bytes = expr.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            let ws_end = i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let after = &expr[ws_end..];
            if let Some(rest) = after.strip_prefix(word)
                && rest.starts_with(|c: char| c.is_ascii_whitespace())
            {
                parts.push(&expr[start..i]);
                let next = rest.len() - rest.trim_start().len();
                start = ws_end + word.len() + next;
                i = start;
                continue;
            }
            i = ws_end;
        } else {
            i += 1;
        }
    }
    parts.push(&expr[start..]);
    parts
}

/// The database short names Liquibase knows (`DatabaseFactory`), for `dbms` checks.
const DATABASES: &[&str] = &[
    "asany",
    "cockroachdb",
    "db2",
    "db2i",
    "db2z",
    "derby",
    "edb",
    "firebird",
    "h2",
    "hsqldb",
    "informix",
    "ingres",
    "mariadb",
    "mssql",
    "mysql",
    "oracle",
    "postgresql",
    "redshift",
    "snowflake",
    "sqlite",
    "sybase",
    "bigquery",
    "databricks",
    "spanner",
    "vertica",
    "yugabytedb",
    "clickhouse",
    "mongodb",
    "neo4j",
    "cassandra",
    "hana",
    "teradata",
    "exasol",
    "dynamodb",
    "cosmosdb",
    "unsupported",
];

/// A changeset's `dbms` list (`DatabaseList.definitionMatches`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dbms(Vec<String>);

impl Dbms {
    /// Reads a `dbms` value, refusing a name Liquibase does not know (`postgres` for
    /// `postgresql` would otherwise skip the changeset everywhere).
    pub(super) fn new(value: &str) -> Result<Dbms, String> {
        let names: Vec<String> = value
            .split(',')
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        for name in &names {
            let bare = name.strip_prefix('!').unwrap_or(name);
            if !(name == "all" || name == "none" || DATABASES.contains(&bare)) {
                return Err(format!(
                    "`{bare}` is not a database Liquibase knows; cutover runs on postgresql, mysql, mariadb and sqlite"
                ));
            }
        }
        Ok(Dbms(names))
    }

    /// Whether the changeset is for the database Liquibase calls `short`.
    pub fn admits(&self, short: &str) -> bool {
        let names = &self.0;
        if names.is_empty() || names.iter().any(|n| n == "all") {
            return true;
        }
        if names.iter().any(|n| n == "none")
            || names.iter().any(|n| n.strip_prefix('!') == Some(short))
        {
            return false;
        }
        let wanted: Vec<&String> = names.iter().filter(|n| !n.starts_with('!')).collect();
        wanted.is_empty() || wanted.iter().any(|n| *n == short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(context: Option<&str>, labels: Option<&str>) -> EnvFilter {
        EnvFilter::new(context, labels).unwrap().unwrap()
    }

    #[test]
    fn contexts_as_liquibase_evaluates_them() {
        let dev = filter(Some("dev"), None);
        assert!(dev.admits(Some("dev")) && dev.admits(Some("DEV")));
        assert!(!dev.admits(Some("prod")) && !dev.admits(None));
        let not_prod = filter(Some("!prod"), None);
        assert!(not_prod.admits(Some("dev")) && !not_prod.admits(Some("prod")));
        let either = filter(Some("dev, test"), None);
        assert!(either.admits(Some("test")) && !either.admits(Some("prod")));
        let both = filter(Some("dev and !eu"), None);
        assert!(both.admits(Some("dev")) && !both.admits(Some("eu")));
        let nested = filter(Some("(dev or test) and not prod"), None);
        assert!(nested.admits(Some("test")) && !nested.admits(Some("prod")));
        assert!(filter(Some("not prod"), None).admits(Some("dev")));
        assert!(EnvFilter::new(Some("(dev"), None).is_err());
        assert!(EnvFilter::new(Some("  "), Some(" , ")).unwrap().is_none());
    }

    #[test]
    fn labels_are_matched_by_the_environment_name() {
        let labels = filter(None, Some("dev, Test"));
        assert!(labels.admits(Some("test")) && labels.admits(Some("dev")));
        assert!(!labels.admits(Some("prod")) && !labels.admits(None));
        let both = filter(Some("!prod"), Some("v1"));
        assert!(!both.admits(Some("dev")), "labels v1 do not match dev");
    }

    #[test]
    fn dbms_lists() {
        let pg = Dbms::new("postgresql").unwrap();
        assert!(pg.admits("postgresql") && !pg.admits("mysql"));
        let not_h2 = Dbms::new("!h2").unwrap();
        assert!(not_h2.admits("sqlite") && !not_h2.admits("h2"));
        let my = Dbms::new("mysql, mariadb").unwrap();
        assert!(my.admits("mariadb") && my.admits("mysql") && !my.admits("sqlite"));
        assert!(Dbms::new("all").unwrap().admits("sqlite"));
        assert!(!Dbms::new("none,postgresql").unwrap().admits("postgresql"));
        let err = Dbms::new("postgres").unwrap_err();
        assert!(err.contains("`postgres`"), "{err}");
    }
}
