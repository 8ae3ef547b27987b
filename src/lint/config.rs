//! `[lint]` in cutover.toml: which rules are off or on, severities, when the exit code says
//! "failed", what counts as a large table, and the rates time estimates use.
//!
//! ```toml
//! [lint]
//! disable = ["prefer-robust-stmts"]       # rules that never report
//! enable = ["require-table-schema"]       # squawk's opt-in rules
//! fail_on = "error"                       # or "warning"
//! large_table = "100MB"                   # smaller tables: errors become warnings
//! rewrite_rate = "25MB/s"                 # copy speed for "about N min" [default: measured]
//! scan_rate = "100MB/s"                   # read speed for scans and index builds
//! [lint.severity]
//! ban-drop-column = "warning"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rules::{self, Severity};
use crate::config::ConfigError;

/// `[lint]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSpec {
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub enable: Vec<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    pub fail_on: Option<FailOn>,
    pub large_table: Option<String>,
    pub rewrite_rate: Option<String>,
    pub scan_rate: Option<String>,
}

/// Which findings make `cutover lint` exit 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
}

impl FailOn {
    pub fn threshold(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

/// `[lint]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct LintConfig {
    pub disable: Vec<String>,
    pub enable: Vec<String>,
    pub severity: BTreeMap<String, Severity>,
    pub fail_on: FailOn,
    /// Bytes: a non-empty table smaller than this is "small" (errors become warnings).
    pub large_table: u64,
    /// Bytes per second a table is copied at (rewrites), for time estimates; `None`: the
    /// engine's measured default.
    pub rewrite_rate: Option<u64>,
    /// Bytes per second a table is read at (scans, index builds); `None`: measured default.
    pub scan_rate: Option<u64>,
}

/// Default rates, measured by `bench/lint_rates.sh` on a 2M-row table (228 MB with its
/// indexes) on the development machine (2 cores, PostgreSQL 15, MariaDB 10.11): PostgreSQL
/// rewrote it (ALTER COLUMN TYPE) at 46 MB/s and built an index at 116 MB/s; MariaDB copied
/// it (ALGORITHM=COPY) at 24 MB/s and built an index in place at 32 MB/s. A production
/// server is usually faster, so the estimates err long; `[lint]` sets your own.
pub fn default_rates(dialect: crate::sql::Dialect) -> (u64, u64) {
    match dialect {
        crate::sql::Dialect::MySql => (24_000_000, 32_000_000),
        _ => (46_000_000, 116_000_000),
    }
}

pub const DEFAULT_LARGE_TABLE: u64 = 100_000_000;

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            disable: Vec::new(),
            enable: Vec::new(),
            severity: BTreeMap::new(),
            fail_on: FailOn::Error,
            large_table: DEFAULT_LARGE_TABLE,
            rewrite_rate: None,
            scan_rate: None,
        }
    }
}

impl LintConfig {
    /// Check `[lint]`: every rule id known, sizes and rates readable.
    pub fn from_spec(spec: &LintSpec) -> Result<LintConfig, ConfigError> {
        let ids = |key: &str, list: &[String]| -> Result<Vec<String>, ConfigError> {
            for id in list {
                check_rule(&format!("lint.{key}"), id)?;
            }
            Ok(list.to_vec())
        };
        for id in spec.severity.keys() {
            check_rule("lint.severity", id)?;
        }
        let size = |key: &str, text: &Option<String>, rate: bool| match text {
            None => Ok(None),
            Some(t) => parse_bytes(t, rate)
                .map(Some)
                .ok_or_else(|| ConfigError::Setting {
                    setting: format!("lint.{key}"),
                    message: format!(
                        "`{t}` is not {} like {}",
                        if rate { "a rate" } else { "a size" },
                        if rate { "25MB/s" } else { "100MB" }
                    ),
                }),
        };
        Ok(LintConfig {
            disable: ids("disable", &spec.disable)?,
            enable: ids("enable", &spec.enable)?,
            severity: spec.severity.clone(),
            fail_on: spec.fail_on.unwrap_or_default(),
            large_table: size("large_table", &spec.large_table, false)?
                .unwrap_or(DEFAULT_LARGE_TABLE),
            rewrite_rate: size("rewrite_rate", &spec.rewrite_rate, true)?,
            scan_rate: size("scan_rate", &spec.scan_rate, true)?,
        })
    }

    /// The copy and read rates for `dialect`: `[lint]`'s, or the measured defaults.
    pub fn rates(&self, dialect: crate::sql::Dialect) -> (u64, u64) {
        let (rewrite, scan) = default_rates(dialect);
        (
            self.rewrite_rate.unwrap_or(rewrite),
            self.scan_rate.unwrap_or(scan),
        )
    }

    pub fn disabled(&self, id: &str) -> bool {
        self.disable.iter().any(|d| d == id)
    }
}

fn check_rule(setting: &str, id: &str) -> Result<(), ConfigError> {
    if rules::known(id) {
        return Ok(());
    }
    Err(ConfigError::Setting {
        setting: setting.into(),
        message: format!("unknown rule `{id}`; `cutover lint --rules` lists them"),
    })
}

/// `100MB`, `2.5 GB`, `512kB`, `25MB/s` (with `rate`) → bytes (decimal units, as the sizes
/// shown). Written by hand: four units do not justify a dependency.
pub fn parse_bytes(text: &str, rate: bool) -> Option<u64> {
    let mut t = text.trim();
    if rate {
        t = t.strip_suffix("/s")?.trim_end();
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let bytes = n * scale;
    (bytes.is_finite() && bytes > 0.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rates() {
        assert_eq!(parse_bytes("100MB", false), Some(100_000_000));
        assert_eq!(parse_bytes("2.5 GB", false), Some(2_500_000_000));
        assert_eq!(parse_bytes("25MB/s", true), Some(25_000_000));
        assert_eq!(parse_bytes("25MB", true), None);
        assert_eq!(parse_bytes("fast", false), None);
        assert_eq!(parse_bytes("0MB", false), None);
    }

    #[test]
    fn unknown_rules_and_bad_sizes_name_the_setting() {
        let spec = LintSpec {
            disable: vec!["no-such-rule".into()],
            ..Default::default()
        };
        let e = LintConfig::from_spec(&spec).unwrap_err().to_string();
        assert!(
            e.contains("lint.disable") && e.contains("no-such-rule"),
            "{e}"
        );
        let spec = LintSpec {
            large_table: Some("huge".into()),
            ..Default::default()
        };
        let e = LintConfig::from_spec(&spec).unwrap_err().to_string();
        assert!(e.contains("lint.large_table"), "{e}");
        let spec = LintSpec {
            disable: vec!["ban-drop-column".into(), "mysql-several-ddl".into()],
            ..Default::default()
        };
        assert!(
            LintConfig::from_spec(&spec)
                .unwrap()
                .disabled("mysql-several-ddl")
        );
    }
}
