//! `[expect]` and the expectations of SQL checks: what `cutover validate` must find in a
//! target, as the configuration file states it. Values are checked here, when the file is read, so a
//! typo in a rule or a comparison is an error naming the setting before anything runs.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::schema::Rule;
use crate::verdict::Level;

/// `[expect]`: the schema and data a target must have.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub min_tables: Option<usize>,
    pub min_foreign_keys: Option<usize>,
    /// Tables that must exist.
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub foreign_keys: Vec<ExpectForeignKey>,
    #[serde(default)]
    pub indexes: Vec<ExpectIndex>,
    /// Column sets that must be unique in the data (and should be enforced by a key).
    #[serde(default)]
    pub unique: Vec<ExpectUnique>,
}

/// `[[expect.foreign_keys]]`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectForeignKey {
    pub table: String,
    pub references: String,
    /// The referencing columns; any key to `references` matches when empty.
    #[serde(default)]
    pub columns: Vec<String>,
    /// `cascade`, `restrict`, `set null`, `set default`, `no action`.
    pub on_delete: Option<Rule>,
}

/// `[[expect.indexes]]`: an index (or key) whose leading columns are these.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectIndex {
    pub table: String,
    pub columns: Vec<String>,
}

/// `[[expect.unique]]`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectUnique {
    pub table: String,
    pub columns: Vec<String>,
}

/// `[validate]`: how `cutover validate` judges.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatePolicy {
    /// `fail` (default) or `warn`: which status makes `validate` exit non-zero.
    pub fail_on: Option<FailOn>,
    /// `basic`, `standard` (default) or `comprehensive`.
    pub level: Option<Level>,
}

impl ValidatePolicy {
    /// The level to check at: the flag's, else the file's, else standard.
    pub fn level_or(&self, flag: Option<Level>) -> Level {
        flag.or(self.level).unwrap_or(Level::Standard)
    }

    /// Whether warnings make `validate` fail: the flag's say, else the file's.
    pub fn warnings_fail(&self, flag: Option<FailOn>) -> bool {
        flag.or(self.fail_on) == Some(FailOn::Warn)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Fail,
    Warn,
}

/// What a check's result is compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "String")]
pub enum Expected {
    /// The first value equals this number.
    Number(Comparison, f64),
    /// The first value equals this text.
    Text(String),
    /// The number of rows compares so with this.
    Rows(Comparison, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub fn holds(self, got: f64, want: f64) -> bool {
        match self {
            Comparison::Eq => got == want,
            Comparison::Ne => got != want,
            Comparison::Lt => got < want,
            Comparison::Le => got <= want,
            Comparison::Gt => got > want,
            Comparison::Ge => got >= want,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "!=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

impl From<Expected> for String {
    fn from(e: Expected) -> String {
        e.to_string()
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Number(c, n) => write!(f, "{} {n}", c.as_str()),
            Expected::Text(t) => write!(f, "= '{t}'"),
            Expected::Rows(c, n) => write!(f, "rows {} {n}", c.as_str()),
        }
    }
}

/// `>= 50`, `= 0`, `!= 3`, or a bare number.
fn comparison(text: &str) -> Option<(Comparison, f64)> {
    let t = text.trim();
    let ops = [
        (">=", Comparison::Ge),
        ("<=", Comparison::Le),
        ("!=", Comparison::Ne),
        ("<>", Comparison::Ne),
        ("==", Comparison::Eq),
        (">", Comparison::Gt),
        ("<", Comparison::Lt),
        ("=", Comparison::Eq),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(s, op)| t.strip_prefix(s).map(|r| (*op, r)))
        .unwrap_or((Comparison::Eq, t));
    rest.trim().parse().ok().map(|n| (op, n))
}

/// `= 'text'` (or `== 'text'`): the first value equals this text. The quotes say it is text,
/// so `= '42'` compares the text `42`.
fn text_equality(text: &str) -> Option<String> {
    let t = text.trim();
    let rest = t.strip_prefix("==").or_else(|| t.strip_prefix('='))?.trim();
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.to_string())
}

fn starts_with_operator(text: &str) -> bool {
    text.trim_start().starts_with(['<', '>', '=', '!'])
}

/// Read `expect = …` of a check; `setting` names it in errors.
pub fn expected(value: &toml::Value, setting: &str) -> Result<Expected, ConfigError> {
    let bad = |message: String| ConfigError::Setting {
        setting: setting.to_string(),
        message,
    };
    let number = |v: &toml::Value| -> Option<(Comparison, f64)> {
        match v {
            toml::Value::Integer(i) => Some((Comparison::Eq, *i as f64)),
            toml::Value::Float(f) => Some((Comparison::Eq, *f)),
            toml::Value::String(s) => comparison(s),
            _ => None,
        }
    };
    match value {
        toml::Value::Integer(_) | toml::Value::Float(_) => {
            let (c, n) = number(value).expect("a number");
            Ok(Expected::Number(c, n))
        }
        toml::Value::String(s) if starts_with_operator(s) => match text_equality(s) {
            Some(text) => Ok(Expected::Text(text)),
            None => comparison(s)
                .map(|(c, n)| Expected::Number(c, n))
                .ok_or_else(|| {
                    bad(format!(
                        "`{s}` is not a comparison like \">= 50\" or \"= 'text'\""
                    ))
                }),
        },
        toml::Value::String(s) => Ok(Expected::Text(s.clone())),
        toml::Value::Boolean(b) => Ok(Expected::Text(b.to_string())),
        toml::Value::Table(t) if t.len() == 1 && t.contains_key("rows") => number(&t["rows"])
            .map(|(c, n)| Expected::Rows(c, n))
            .ok_or_else(|| bad("`rows` must be a number or a comparison like \">= 1\"".into())),
        other => Err(bad(format!(
            "expected a value, a comparison like \">= 50\" or {{ rows = N }}, found {}",
            other.type_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Expected, ConfigError> {
        let v: toml::Table = toml::from_str(&format!("expect = {text}")).unwrap();
        expected(&v["expect"], "checks[0].expect")
    }

    #[test]
    fn values_comparisons_and_row_counts() {
        assert_eq!(read("0").unwrap(), Expected::Number(Comparison::Eq, 0.0));
        assert_eq!(
            read("\">= 50\"").unwrap(),
            Expected::Number(Comparison::Ge, 50.0)
        );
        assert_eq!(read("\"ok\"").unwrap(), Expected::Text("ok".into()));
        // As the README shows it, and as a check's expectation is printed.
        assert_eq!(
            read("\"= 'published'\"").unwrap(),
            Expected::Text("published".into())
        );
        assert_eq!(read("\"=='42'\"").unwrap(), Expected::Text("42".into()));
        assert_eq!(read("\"= ''\"").unwrap(), Expected::Text(String::new()));
        let shown = Expected::Text("a b".into()).to_string();
        assert_eq!(
            read(&format!("{shown:?}")).unwrap(),
            Expected::Text("a b".into())
        );
        assert!(read("\"!= 'x'\"").is_err());
        assert_eq!(
            read("{ rows = 0 }").unwrap(),
            Expected::Rows(Comparison::Eq, 0.0)
        );
        assert_eq!(
            read("{ rows = \"> 2\" }").unwrap(),
            Expected::Rows(Comparison::Gt, 2.0)
        );
    }

    #[test]
    fn bad_comparison_names_the_setting() {
        let e = read("\">= lots\"").unwrap_err().to_string();
        assert!(e.starts_with("checks[0].expect: "), "{e}");
        assert!(read("[1, 2]").is_err());
        assert!(read("{ count = 1 }").is_err());
    }

    #[test]
    fn comparisons_hold() {
        assert!(Comparison::Ge.holds(50.0, 50.0));
        assert!(!Comparison::Lt.holds(3.0, 2.0));
    }
}
