//! The deploy policy of an environment: approval, rollback strategy, maintenance mode,
//! hooks, the watch window, notifications, seeds and timeouts. Read and checked with the
//! file; defaults follow the environment's kind (production is the strictest). Every action
//! and webhook is checked here (URLs, methods, headers, commands), and shown by `config check`
//! with its secrets masked: a webhook URL is a secret as a whole.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::probe::{self, Check, CheckSpec, shown_headers, shown_text, shown_url};
use super::{ConfigError, Kind, parse_duration};
use crate::redact;

/// How a failed deploy is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RollbackStrategy {
    /// Down scripts when every migration of the run has one, else the pre-deploy backup.
    Auto,
    Down,
    Restore,
    None,
}

/// What an undo may do once the application has served traffic on the new schema (after
/// maintenance went off, or all along when there is no maintenance mode): a restore would
/// throw away every write made since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterTraffic {
    /// Restore anyway, and say from what time writes were discarded.
    Restore,
    /// Only down scripts; a restore is refused.
    DownOnly,
    /// Undo nothing; say what was left.
    Refuse,
}

/// How many transactions a deploy's migrations take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionScope {
    /// One per migration (the default).
    Migration,
    /// One for all the deploy's migrations and seeds, through verify: a failure anywhere
    /// is a plain ROLLBACK (PostgreSQL and SQLite only).
    Deploy,
}

/// Something done to the world outside the database: a command, an HTTP request, a file
/// created (on) or removed (off), or a SQL statement.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub command: Option<String>,
    pub http: Option<String>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Option<String>,
    pub file: Option<String>,
    pub sql: Option<String>,
    pub timeout: Option<String>,
}

/// An action, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Command {
        #[serde(serialize_with = "shown_command")]
        command: String,
    },
    Http {
        method: String,
        #[serde(serialize_with = "shown_url")]
        url: String,
        #[serde(serialize_with = "shown_headers")]
        headers: std::collections::BTreeMap<String, String>,
        #[serde(serialize_with = "shown_text")]
        body: Option<String>,
    },
    File {
        path: PathBuf,
    },
    Sql {
        sql: String,
    },
}

impl Action {
    /// The secrets this action was configured with (URL passwords and keys, headers).
    pub fn secrets(&self) -> crate::redact::Secrets {
        use crate::redact::Secrets;
        match self {
            Action::Http { url, headers, .. } => Secrets::new().url(url).headers(headers),
            Action::Command { .. } | Action::File { .. } | Action::Sql { .. } => Secrets::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedAction {
    pub action: Action,
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
}

fn shown_command<S: serde::Serializer>(c: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact::text(c))
}

/// A webhook URL as `config check` shows it: scheme and host only.
fn shown_webhook<S: serde::Serializer>(w: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    w.as_deref().map(redact::webhook).serialize(s)
}

pub(super) fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}s", d.as_secs_f64()))
}

/// `[environments.<n>.maintenance]`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSpec {
    pub on: Option<ActionSpec>,
    pub off: Option<ActionSpec>,
    /// A check that proves maintenance mode took effect (e.g. the health URL answers 503).
    pub expect: Option<CheckSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    pub on: TimedAction,
    pub off: TimedAction,
    pub expect: Option<Check>,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    BeforeMigrate,
    BeforeRollback,
    AfterMigrate,
    AfterDeploy,
    AfterRollback,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    pub when: When,
    #[serde(flatten)]
    pub action: ActionSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hook {
    pub when: When,
    #[serde(flatten)]
    pub action: TimedAction,
}

/// `[environments.<n>.watch]`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSpec {
    pub duration: Option<String>,
    pub interval: Option<String>,
    /// Consecutive failed rounds that trigger a rollback (default 3).
    pub breaches: Option<u32>,
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Watch {
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    pub breaches: u32,
    pub checks: Vec<Check>,
}

/// Events a notification can be sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    Start,
    Success,
    Failure,
    Rollback,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// A URL that receives JSON (with a Slack-compatible `text`).
    pub webhook: Option<String>,
    /// A command that receives the JSON on stdin and the text in `CUTOVER_MESSAGE`.
    pub command: Option<String>,
    pub on: Option<Vec<NotifyOn>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notify {
    #[serde(serialize_with = "shown_webhook")]
    pub webhook: Option<String>,
    #[serde(serialize_with = "shown_text")]
    pub command: Option<String>,
    pub on: Vec<NotifyOn>,
}

/// `[environments.<n>.transfer]` as written: a `transfer` phase after migrate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferSpec {
    /// The database rows are read from (a URL).
    pub from: String,
    /// The mapping file, relative to the configuration file.
    pub mapping: String,
}

/// The `transfer` phase of a deploy: the source and the mapping (see `transfer::mapping`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferPhase {
    /// Serialised with its password hidden.
    pub from: crate::target::DatabaseUrl,
    pub mapping: PathBuf,
}

/// The deploy policy in effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeployPolicy {
    pub approval: bool,
    pub backup_required: bool,
    pub allow_skip_backup: bool,
    pub rollback: RollbackStrategy,
    pub rollback_after_traffic: AfterTraffic,
    pub transaction: TransactionScope,
    #[serde(serialize_with = "opt_secs")]
    pub statement_timeout: Option<Duration>,
    pub seeds: Option<PathBuf>,
    /// Data loaded by a mapping after migrate (and the seeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferPhase>,
    pub maintenance: Option<Maintenance>,
    pub hooks: Vec<Hook>,
    pub watch: Option<Watch>,
    pub notify: Vec<Notify>,
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

/// The deploy settings of an environment as written.
#[derive(Debug, Default, Clone)]
pub struct DeploySpec<'a> {
    pub approval: Option<bool>,
    pub backup_required: Option<bool>,
    pub allow_skip_backup: Option<bool>,
    pub rollback: Option<RollbackStrategy>,
    pub rollback_after_traffic: Option<AfterTraffic>,
    pub transaction: Option<TransactionScope>,
    pub statement_timeout: Option<&'a str>,
    pub seeds: Option<&'a str>,
    pub transfer: Option<&'a TransferSpec>,
    pub maintenance: Option<&'a MaintenanceSpec>,
    pub hooks: &'a [HookSpec],
    pub watch: Option<&'a WatchSpec>,
    pub notify: &'a [NotifySpec],
}

/// Read the deploy policy; `at(key)` names a setting of the environment for errors.
pub fn resolve(
    kind: Kind,
    spec: &DeploySpec,
    base: &Path,
    at: &dyn Fn(&str) -> String,
) -> Result<DeployPolicy, ConfigError> {
    let strict = matches!(kind, Kind::Prod | Kind::Staging);
    let duration = |text: &str, key: &str| {
        parse_duration(text).map_err(|message| ConfigError::Setting {
            setting: at(key),
            message,
        })
    };
    let maintenance = spec
        .maintenance
        .map(|m| -> Result<Maintenance, ConfigError> {
            fn need<'s>(
                a: &'s Option<ActionSpec>,
                key: &str,
                setting: String,
            ) -> Result<&'s ActionSpec, ConfigError> {
                a.as_ref().ok_or_else(|| ConfigError::Setting {
                    setting,
                    message: format!("maintenance needs both `on` and `off`; `{key}` is missing"),
                })
            }
            Ok(Maintenance {
                on: action(
                    need(&m.on, "on", at("maintenance"))?,
                    base,
                    &at("maintenance.on"),
                )?,
                off: action(
                    need(&m.off, "off", at("maintenance"))?,
                    base,
                    &at("maintenance.off"),
                )?,
                expect: m
                    .expect
                    .as_ref()
                    .map(|c| probe::check(c, &at("maintenance.expect")))
                    .transpose()?,
            })
        })
        .transpose()?;
    let hooks = spec
        .hooks
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Ok(Hook {
                when: h.when,
                action: action(&h.action, base, &at(&format!("hooks[{i}]")))?,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let watch = spec
        .watch
        .map(|w| -> Result<Watch, ConfigError> {
            let checks = w
                .checks
                .iter()
                .enumerate()
                .map(|(i, c)| probe::check(c, &at(&format!("watch.checks[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Watch {
                duration: duration(w.duration.as_deref().unwrap_or("5m"), "watch.duration")?,
                interval: duration(w.interval.as_deref().unwrap_or("30s"), "watch.interval")?,
                breaches: w.breaches.unwrap_or(3).max(1),
                checks,
            })
        })
        .transpose()?;
    let notify = spec
        .notify
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let bad = |key: &str, message: String| ConfigError::Setting {
                setting: at(&format!("notify[{i}]{key}")),
                message,
            };
            if n.webhook.is_none() && n.command.is_none() {
                return Err(bad(
                    "",
                    "a notification needs `webhook` or `command`".into(),
                ));
            }
            if let Some(w) = &n.webhook {
                webhook(w).map_err(|m| bad(".webhook", m))?;
            }
            if let Some(c) = &n.command {
                probe::not_empty(c).map_err(|m| bad(".command", m))?;
            }
            Ok(Notify {
                webhook: n.webhook.as_deref().map(|w| w.trim().to_string()),
                command: n.command.clone(),
                on: n.on.clone().unwrap_or_else(|| {
                    vec![
                        NotifyOn::Start,
                        NotifyOn::Success,
                        NotifyOn::Failure,
                        NotifyOn::Rollback,
                    ]
                }),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DeployPolicy {
        approval: spec.approval.unwrap_or(kind == Kind::Prod),
        backup_required: spec.backup_required.unwrap_or(strict),
        allow_skip_backup: spec.allow_skip_backup.unwrap_or(!strict),
        rollback: spec.rollback.unwrap_or(RollbackStrategy::Auto),
        // Throwing away the application's writes is never a default where they matter.
        rollback_after_traffic: spec.rollback_after_traffic.unwrap_or(if strict {
            AfterTraffic::DownOnly
        } else {
            AfterTraffic::Restore
        }),
        transaction: spec.transaction.unwrap_or(TransactionScope::Migration),
        statement_timeout: spec
            .statement_timeout
            .map(|t| duration(t, "statement_timeout"))
            .transpose()?,
        seeds: spec.seeds.map(|s| base.join(s)),
        transfer: spec
            .transfer
            .map(|t| -> Result<TransferPhase, ConfigError> {
                let from = crate::target::DatabaseUrl::parse(&t.from).map_err(|e| {
                    ConfigError::Setting {
                        setting: at("transfer.from"),
                        message: e.to_string(),
                    }
                })?;
                Ok(TransferPhase {
                    from,
                    mapping: base.join(&t.mapping),
                })
            })
            .transpose()?,
        maintenance,
        hooks,
        watch,
        notify,
    })
}

/// Read an action: exactly one of command, http, file, sql.
fn action(spec: &ActionSpec, base: &Path, setting: &str) -> Result<TimedAction, ConfigError> {
    let bad = |message: String| ConfigError::Setting {
        setting: setting.to_string(),
        message,
    };
    let kinds: Vec<&str> = [
        ("command", spec.command.is_some()),
        ("http", spec.http.is_some()),
        ("file", spec.file.is_some()),
        ("sql", spec.sql.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let bad_at = |key: &str| {
        let setting = format!("{setting}.{key}");
        move |message: String| ConfigError::Setting { setting, message }
    };
    if kinds != ["http"] && (!spec.headers.is_empty() || spec.body.is_some()) {
        return Err(bad("`headers` and `body` go with `http`".into()));
    }
    let action = match kinds.as_slice() {
        ["command"] => Action::Command {
            command: probe::not_empty(spec.command.as_deref().expect("set"))
                .map_err(bad_at("command"))?,
        },
        ["http"] => {
            let (method, url) = probe::request(spec.http.as_deref().expect("set"), "POST")
                .map_err(bad_at("http"))?;
            probe::headers(&spec.headers).map_err(bad_at("headers"))?;
            Action::Http {
                method,
                url,
                headers: spec.headers.clone(),
                body: spec.body.clone(),
            }
        }
        ["file"] => Action::File {
            path: base.join(
                probe::not_empty(spec.file.as_deref().expect("set")).map_err(bad_at("file"))?,
            ),
        },
        ["sql"] => Action::Sql {
            sql: probe::not_empty(spec.sql.as_deref().expect("set")).map_err(bad_at("sql"))?,
        },
        [] => {
            return Err(bad(
                "an action needs one of command, http, file or sql".into()
            ));
        }
        many => {
            return Err(bad(format!(
                "an action has one kind; this one has {}",
                many.join(" and ")
            )));
        }
    };
    let timeout = match &spec.timeout {
        Some(t) => parse_duration(t).map_err(|m| ConfigError::Setting {
            setting: format!("{setting}.timeout"),
            message: m,
        })?,
        None => Duration::from_secs(60),
    };
    Ok(TimedAction { action, timeout })
}

/// A webhook URL: http(s) with a host. The URL is a secret as a whole, so a mistake in it
/// is described without repeating it.
fn webhook(text: &str) -> Result<(), String> {
    let parsed = url::Url::parse(text.trim()).map_err(|e| {
        format!("not an http:// or https:// URL ({e}; the value is not shown: a webhook URL is a secret)")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "not an http:// or https:// URL with a host (scheme {}://; the value is not shown: a webhook URL is a secret)",
            parsed.scheme()
        ));
    }
    Ok(())
}
