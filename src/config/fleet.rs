//! `[environments.<n>.fleet]`: an environment that names many targets instead of one URL —
//! a list, a file with one per line, a query on a catalog database, or (PostgreSQL) a schema
//! per tenant in one database — and how a deploy goes over them: a canary, waves, a
//! concurrency bound, gates between waves, an error budget, what a cancelled wave does, and an
//! optional coordination database that several workers share.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::probe::{self, Check, CheckSpec};
use super::{ConfigError, parse_duration};
use crate::target::DatabaseUrl;

/// A target written in the file: a URL, or a name and a URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TargetSpec {
    Url(String),
    Named { name: String, url: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    /// The catalog database.
    pub url: String,
    /// Returns one row per target: a URL or a database name, and optionally a name.
    pub sql: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemasSpec {
    /// The one PostgreSQL database that holds a schema per tenant.
    pub url: String,
    /// The tenants' schemas; or
    pub list: Option<Vec<String>>,
    /// a query on that database returning one schema name per row.
    pub query: Option<String>,
}

/// A canary: how many targets, or which ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CanarySpec {
    Count(usize),
    Names(Vec<String>),
}

/// A wave's size: a count or a percentage, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeSpec {
    Count(usize),
    Text(String),
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// How long the checks must hold before the next wave (`5m`).
    pub hold: Option<String>,
    /// How often they are asked during that time (default 10s).
    pub interval: Option<String>,
    /// Checks of their own, besides the environment's watch checks.
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    /// A person approves each next wave (or `--yes`).
    #[serde(default)]
    pub approval: bool,
}

/// `[environments.<n>.fleet]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    pub targets: Option<Vec<TargetSpec>>,
    pub targets_file: Option<String>,
    pub targets_query: Option<QuerySpec>,
    pub schemas: Option<SchemasSpec>,
    pub canary: Option<CanarySpec>,
    #[serde(default)]
    pub waves: Vec<SizeSpec>,
    pub concurrency: Option<usize>,
    /// Failed targets tolerated before the fleet stops: a count or a percentage.
    pub error_budget: Option<SizeSpec>,
    pub gate: Option<GateSpec>,
    /// `keep` (default) or `rollback`: what happens to a cancelled wave's finished targets.
    pub on_cancel: Option<OnCancel>,
    pub coordination_url: Option<String>,
    /// How long a worker's claim on a target lasts without a heartbeat (default 30s).
    pub lease: Option<String>,
}

/// Where the targets come from, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    List(Vec<(Option<String>, DatabaseUrl)>),
    File(PathBuf),
    Query {
        url: DatabaseUrl,
        sql: String,
    },
    Schemas {
        url: DatabaseUrl,
        list: Option<Vec<String>>,
        query: Option<String>,
    },
}

/// A number of targets: a count, or a share of the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Count(usize),
    Percent(f64),
}

impl Size {
    /// How many of `total` targets this is (a percentage rounds up: 10% of 5 is 1).
    pub fn of(self, total: usize) -> usize {
        match self {
            Size::Count(n) => n.min(total),
            Size::Percent(p) => ((total as f64 * p / 100.0).ceil() as usize).min(total),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Canary {
    Count(usize),
    Names(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnCancel {
    /// The finished targets of a cancelled wave stay deployed.
    Keep,
    /// They are rolled back too, each by its own policy.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    #[serde(serialize_with = "super::deploy::secs")]
    pub hold: Duration,
    #[serde(serialize_with = "super::deploy::secs")]
    pub interval: Duration,
    pub checks: Vec<Check>,
    pub approval: bool,
}

/// The fleet policy in effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetPolicy {
    pub source: Source,
    pub canary: Option<Canary>,
    /// Cumulative: each wave brings the fleet up to this many targets.
    pub waves: Vec<Size>,
    pub concurrency: usize,
    pub error_budget: Size,
    pub gate: Option<Gate>,
    pub on_cancel: OnCancel,
    pub coordination_url: Option<DatabaseUrl>,
    #[serde(serialize_with = "super::deploy::secs")]
    pub lease: Duration,
}

/// Read the fleet section; `at(key)` names a setting of the environment for errors.
pub fn resolve(
    spec: &FleetSpec,
    base: &Path,
    at: &dyn Fn(&str) -> String,
) -> Result<FleetPolicy, ConfigError> {
    let bad = |key: &str, message: String| ConfigError::Setting {
        setting: at(&format!("fleet.{key}")),
        message,
    };
    let url = |key: &str, text: &str| DatabaseUrl::parse(text).map_err(|e| bad(key, e.to_string()));
    let given = [
        spec.targets.is_some(),
        spec.targets_file.is_some(),
        spec.targets_query.is_some(),
        spec.schemas.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(bad(
            "targets",
            "a fleet needs exactly one of targets, targets_file, targets_query or schemas".into(),
        ));
    }
    let source = if let Some(list) = &spec.targets {
        let mut out = Vec::new();
        for (i, t) in list.iter().enumerate() {
            let key = format!("targets[{i}]");
            out.push(match t {
                TargetSpec::Url(u) => (None, url(&key, u)?),
                TargetSpec::Named { name, url: u } => (Some(name.clone()), url(&key, u)?),
            });
        }
        Source::List(out)
    } else if let Some(file) = &spec.targets_file {
        Source::File(base.join(file))
    } else if let Some(q) = &spec.targets_query {
        Source::Query {
            url: url("targets_query.url", &q.url)?,
            sql: q.sql.clone(),
        }
    } else {
        let s = spec.schemas.as_ref().expect("one source is given");
        let u = url("schemas.url", &s.url)?;
        if u.kind() != crate::target::EngineKind::Postgres {
            return Err(bad(
                "schemas.url",
                "a schema per tenant needs PostgreSQL".into(),
            ));
        }
        if s.list.is_some() == s.query.is_some() {
            return Err(bad(
                "schemas",
                "give the tenants' schemas as `list` or as a `query`, one of the two".into(),
            ));
        }
        Source::Schemas {
            url: u,
            list: s.list.clone(),
            query: s.query.clone(),
        }
    };
    let size = |key: &str, s: &SizeSpec| -> Result<Size, ConfigError> {
        match s {
            SizeSpec::Count(n) => Ok(Size::Count(*n)),
            SizeSpec::Text(t) => parse_size(t).map_err(|m| bad(key, m)),
        }
    };
    let mut waves = spec
        .waves
        .iter()
        .enumerate()
        .map(|(i, w)| size(&format!("waves[{i}]"), w))
        .collect::<Result<Vec<_>, _>>()?;
    // The last wave always takes the whole fleet.
    if waves.last() != Some(&Size::Percent(100.0)) {
        waves.push(Size::Percent(100.0));
    }
    let gate = spec
        .gate
        .as_ref()
        .map(|g| -> Result<Gate, ConfigError> {
            let duration = |key: &str, text: &str| {
                parse_duration(text).map_err(|m| bad(&format!("gate.{key}"), m))
            };
            Ok(Gate {
                hold: duration("hold", g.hold.as_deref().unwrap_or("0s"))?,
                interval: duration("interval", g.interval.as_deref().unwrap_or("10s"))?,
                checks: g
                    .checks
                    .iter()
                    .enumerate()
                    .map(|(i, c)| probe::check(c, &at(&format!("fleet.gate.checks[{i}]"))))
                    .collect::<Result<_, _>>()?,
                approval: g.approval,
            })
        })
        .transpose()?;
    let concurrency = spec.concurrency.unwrap_or(1);
    if concurrency == 0 {
        return Err(bad("concurrency", "must be at least 1".into()));
    }
    Ok(FleetPolicy {
        source,
        canary: spec.canary.clone().map(|c| match c {
            CanarySpec::Count(n) => Canary::Count(n),
            CanarySpec::Names(v) => Canary::Names(v),
        }),
        waves,
        concurrency,
        error_budget: match &spec.error_budget {
            Some(s) => size("error_budget", s)?,
            None => Size::Count(0),
        },
        gate,
        on_cancel: spec.on_cancel.unwrap_or(OnCancel::Keep),
        coordination_url: spec
            .coordination_url
            .as_deref()
            .map(|u| url("coordination_url", u))
            .transpose()?,
        lease: parse_duration(spec.lease.as_deref().unwrap_or("30s"))
            .map_err(|m| bad("lease", m))?,
    })
}

/// `10%`, `2.5%` or `7`.
fn parse_size(text: &str) -> Result<Size, String> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a percentage like 10%"))?;
        if !(0.0..=100.0).contains(&v) {
            return Err(format!("`{text}` is not between 0% and 100%"));
        }
        return Ok(Size::Percent(v));
    }
    t.parse()
        .map(Size::Count)
        .map_err(|_| format!("`{text}` is neither a count nor a percentage like 10%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10%").unwrap(), Size::Percent(10.0));
        assert_eq!(parse_size("3").unwrap(), Size::Count(3));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("150%").is_err());
        assert_eq!(Size::Percent(10.0).of(5), 1);
        assert_eq!(Size::Percent(50.0).of(5), 3);
        assert_eq!(Size::Count(9).of(5), 5);
    }
}
