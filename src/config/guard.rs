//! `[environments.<n>.guard]`: how a migration's statements run while the application keeps
//! serving. Each statement runs under a lock timeout (PostgreSQL `lock_timeout`, default
//! 500 ms as pgroll's; MariaDB/MySQL `lock_wait_timeout`, whose own default is a year), so a
//! DDL statement stuck behind a long transaction gives up instead of queueing every query
//! behind it; it is then tried again with exponential backoff and jitter, up to `tries` or
//! `retry_for`. Before any DDL the preflight looks for the sessions that would block it
//! (`blockers`), and the lint findings of the pending migrations are reported or, by the
//! `lint` policy, block the deploy.
//!
//! ```toml
//! [environments.prod.guard]
//! lock_timeout = "500ms"   # "off": statements wait as long as the server lets them
//! tries = 8                # first try included
//! retry_for = "2m"         # no new try after this long
//! backoff = "250ms"        # first pause; doubled each time, up to max_backoff, with jitter
//! max_backoff = "15s"
//! blockers = "wait"        # wait | refuse | terminate
//! blocker_age = "2s"       # a transaction open this long counts as a blocker
//! blockers_wait = "30s"    # how long `wait` waits before refusing
//! lint = "block"           # block | warn | off (default: block in prod, warn elsewhere)
//! online_indexes = true    # build indexes online (CONCURRENTLY; ALGORITHM=INPLACE, LOCK=NONE)
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::deploy::secs;
use super::{ConfigError, Kind, parse_duration};

/// `[environments.<n>.guard]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    pub lock_timeout: Option<String>,
    pub tries: Option<u32>,
    pub retry_for: Option<String>,
    pub backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub blockers: Option<Blockers>,
    pub blocker_age: Option<String>,
    pub blockers_wait: Option<String>,
    pub lint: Option<LintPolicy>,
    pub online_indexes: Option<bool>,
}

/// What the preflight does about sessions that would block the migrations' DDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Blockers {
    /// Wait up to `blockers_wait` for them to finish, then refuse.
    Wait,
    /// Refuse at once, naming them.
    Refuse,
    /// End their sessions (`pg_terminate_backend`, `KILL`): only when written explicitly.
    Terminate,
}

/// What the lint findings of the pending migrations do to a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LintPolicy {
    /// Findings at `[lint] fail_on` or above stop the deploy in its preflight.
    Block,
    /// Findings are journaled and reported; the deploy goes on.
    Warn,
    /// The preflight does not lint.
    Off,
}

/// The guard in effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guard {
    /// `None`: off (statements wait as long as the server lets them, and are not retried).
    #[serde(serialize_with = "opt_secs")]
    pub lock_timeout: Option<Duration>,
    pub tries: u32,
    #[serde(serialize_with = "secs")]
    pub retry_for: Duration,
    #[serde(serialize_with = "secs")]
    pub backoff: Duration,
    #[serde(serialize_with = "secs")]
    pub max_backoff: Duration,
    pub blockers: Blockers,
    #[serde(serialize_with = "secs")]
    pub blocker_age: Duration,
    #[serde(serialize_with = "secs")]
    pub blockers_wait: Duration,
    pub lint: LintPolicy,
    /// Index builds the linter flags run online (`runner::online`).
    pub online_indexes: bool,
}

pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_millis(500);

impl Guard {
    /// The defaults for an environment of `kind`.
    pub fn default_for(kind: Kind) -> Guard {
        Guard {
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            tries: 8,
            retry_for: Duration::from_secs(120),
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(15),
            blockers: Blockers::Wait,
            blocker_age: Duration::from_secs(2),
            blockers_wait: Duration::from_secs(30),
            lint: if kind == Kind::Prod {
                LintPolicy::Block
            } else {
                LintPolicy::Warn
            },
            online_indexes: true,
        }
    }

    /// The pause before try `attempt + 1` (after `attempt` failed tries): `backoff`
    /// doubled per try, capped at `max_backoff`, then drawn uniformly from its upper half
    /// (jitter, so that several deploys waiting on one lock do not retry in step).
    pub fn pause(&self, attempt: u32, random: u64) -> Duration {
        let doubled = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = doubled.min(self.max_backoff).as_millis() as u64;
        let half = cap / 2;
        Duration::from_millis(half + random % (cap - half + 1))
    }
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_str("off"),
    }
}

/// Read the guard; `at(key)` names a setting of the environment for errors.
pub fn resolve(
    kind: Kind,
    spec: Option<&GuardSpec>,
    at: &dyn Fn(&str) -> String,
) -> Result<Guard, ConfigError> {
    let mut guard = Guard::default_for(kind);
    let Some(spec) = spec else {
        return Ok(guard);
    };
    let duration = |text: &Option<String>, key: &str, into: &mut Duration| {
        if let Some(t) = text {
            *into = parse_duration(t).map_err(|message| ConfigError::Setting {
                setting: at(&format!("guard.{key}")),
                message,
            })?;
        }
        Ok::<(), ConfigError>(())
    };
    match spec.lock_timeout.as_deref().map(str::trim) {
        Some("off") => guard.lock_timeout = None,
        Some(_) => {
            let mut d = DEFAULT_LOCK_TIMEOUT;
            duration(&spec.lock_timeout, "lock_timeout", &mut d)?;
            if d.is_zero() {
                return Err(ConfigError::Setting {
                    setting: at("guard.lock_timeout"),
                    message: "`0` would wait forever on PostgreSQL; write \"off\" for no lock timeout, or a duration like 500ms".into(),
                });
            }
            guard.lock_timeout = Some(d);
        }
        None => {}
    }
    if let Some(t) = spec.tries {
        if t == 0 {
            return Err(ConfigError::Setting {
                setting: at("guard.tries"),
                message: "at least 1 (the first try)".into(),
            });
        }
        guard.tries = t;
    }
    duration(&spec.retry_for, "retry_for", &mut guard.retry_for)?;
    duration(&spec.backoff, "backoff", &mut guard.backoff)?;
    duration(&spec.max_backoff, "max_backoff", &mut guard.max_backoff)?;
    duration(&spec.blocker_age, "blocker_age", &mut guard.blocker_age)?;
    duration(
        &spec.blockers_wait,
        "blockers_wait",
        &mut guard.blockers_wait,
    )?;
    guard.blockers = spec.blockers.unwrap_or(guard.blockers);
    guard.lint = spec.lint.unwrap_or(guard.lint);
    guard.online_indexes = spec.online_indexes.unwrap_or(guard.online_indexes);
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(key: &str) -> String {
        format!("environments.prod.{key}")
    }

    #[test]
    fn defaults_follow_the_kind() {
        let prod = resolve(Kind::Prod, None, &at).unwrap();
        assert_eq!(prod.lock_timeout, Some(Duration::from_millis(500)));
        assert_eq!(prod.lint, LintPolicy::Block);
        assert_eq!(
            resolve(Kind::Dev, None, &at).unwrap().lint,
            LintPolicy::Warn
        );
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let spec: GuardSpec = toml::from_str(
            "lock_timeout = \"off\"\ntries = 3\nblockers = \"terminate\"\nlint = \"off\"\n",
        )
        .unwrap();
        let g = resolve(Kind::Prod, Some(&spec), &at).unwrap();
        assert_eq!(g.lock_timeout, None);
        assert_eq!(
            (g.tries, g.blockers, g.lint),
            (3, Blockers::Terminate, LintPolicy::Off)
        );
        let zero: GuardSpec = toml::from_str("lock_timeout = \"0s\"").unwrap();
        let e = resolve(Kind::Prod, Some(&zero), &at)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("environments.prod.guard.lock_timeout"), "{e}");
        let bad: GuardSpec = toml::from_str("backoff = \"soon\"").unwrap();
        let e = resolve(Kind::Prod, Some(&bad), &at)
            .unwrap_err()
            .to_string();
        assert!(e.contains("guard.backoff"), "{e}");
    }

    #[test]
    fn pauses_double_up_to_the_cap_with_jitter() {
        let g = Guard::default_for(Kind::Prod);
        // After the first failed try: 250ms, drawn from [125, 250].
        assert_eq!(g.pause(1, 0), Duration::from_millis(125));
        assert_eq!(g.pause(1, 125), Duration::from_millis(250));
        // After the third: 1s, drawn from [500, 1000].
        assert!((500..=1000).contains(&(g.pause(3, 12345).as_millis() as u64)));
        // Capped at 15s.
        assert!(g.pause(30, u64::MAX) <= Duration::from_secs(15));
    }
}
