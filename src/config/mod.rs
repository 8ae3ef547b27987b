//! Configuration: `cutover.toml`, command-line flags and the process environment, resolved
//! into one `Settings` value. Knows nothing about databases.
//!
//! Precedence for the target URL: `--url`, then the selected environment's `url`, then
//! `DATABASE_URL`. When `--env` names an environment explicitly, a stray `DATABASE_URL` in
//! the shell does not override it: pointing a deploy at the wrong database is the costliest
//! mistake there is. `${VAR}` in any string setting is replaced from the process environment
//! (see `interpolate`): in the top-level settings and in the chosen environment's, never in
//! another environment's, and not in a setting a flag overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::target::DatabaseUrl;
use select::{Scope, Selected};

mod checks;
mod deploy;
mod fleet;
mod guard;
mod interpolate;
mod policy;
mod probe;
mod select;

pub use deploy::{
    Action, AfterTraffic, DeployPolicy, Hook, Maintenance, Notify, NotifyOn, RollbackStrategy,
    TimedAction, TransactionScope, TransferPhase, TransferSpec, Watch, When,
};

pub use guard::{Blockers, Guard, GuardSpec, LintPolicy};

pub use fleet::{Canary, FleetPolicy, Gate, OnCancel, Size, Source};
pub use interpolate::interpolate;
pub use probe::{Check, CheckSpec, HttpProbe, JsonMatch, NoData, Probe};

pub use policy::{
    BackupPolicy, BackupSection, Destination, Encrypt, EncryptSection, IdentitySource, Kind,
    VerifyLevel,
};

pub use checks::{
    Comparison, Expect, ExpectForeignKey, ExpectIndex, ExpectUnique, Expected, FailOn,
    ValidatePolicy,
};

/// The file looked for when `--config` is not given.
pub const DEFAULT_FILE: &str = "cutover.toml";

/// A bad configuration file or setting. Names the file and line, or the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{setting}: {message}")]
    Setting { setting: String, message: String },
    #[error("{0}")]
    Missing(String),
}

/// `cutover.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The environment used when neither `--env` nor `CUTOVER_ENV` is given.
    pub default_environment: Option<String>,
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// What every environment must look like (an environment's own `expect` replaces it).
    pub expect: Option<Expect>,
    /// Checks run by `validate` in every environment (before the environment's own).
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    #[serde(default)]
    pub validate: ValidatePolicy,
    /// `cutover lint`: rules off or on, severities, sizes and rates (see `lint::config`).
    #[serde(default)]
    pub lint: crate::lint::config::LintSpec,
}

/// `[environments.<name>]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// dev, test, staging or prod: sets safe defaults (from the name when not given).
    pub kind: Option<Kind>,
    pub url: Option<String>,
    /// The migrations folder, relative to the configuration file.
    pub migrations: Option<String>,
    /// SQL run on every connection before anything else.
    #[serde(default)]
    pub init_sql: InitSql,
    /// How long to wait for another run's lock (`30s`, `5m`).
    pub run_lock_timeout: Option<String>,
    /// The old name of `run_lock_timeout`, still read (with a warning saying what it means:
    /// it never bounded the migrations' own locks; `guard.lock_timeout` does).
    pub lock_timeout: Option<String>,
    /// Lock timeouts and retries for the migrations' statements, blockers, lint policy.
    pub guard: Option<GuardSpec>,
    /// Glob patterns: only migration files or folders whose names match are read (for a
    /// folder that holds several databases' histories side by side).
    #[serde(default)]
    pub include: Vec<String>,
    /// Create the database `url` names when it does not exist (a test database).
    pub create_database: Option<bool>,
    /// Whether `cutover clone --to <this environment>` may replace this database (default:
    /// true, except in prod, where a clone is always refused).
    pub clone_target: Option<bool>,
    /// Where and how `cutover rehearse` copies the environment.
    #[serde(default)]
    pub rehearse: RehearseSection,
    /// Where backups go, how they are verified, how long they are kept.
    #[serde(default)]
    pub backup: BackupSection,
    /// Replaces the top-level `[expect]` for this environment.
    pub expect: Option<Expect>,
    /// Checks for this environment only, run after the top-level ones.
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    /// Checks that must pass before a deploy changes anything.
    #[serde(default)]
    pub preflight: Vec<CheckSpec>,
    /// Checks that must pass before `deploy --phase contract` (e.g. the new application
    /// version is the one serving).
    #[serde(default)]
    pub contract_gate: Vec<CheckSpec>,
    /// Checks run after migrating, beside `[expect]` and `[[checks]]`.
    #[serde(default)]
    pub verify: Vec<CheckSpec>,
    /// Checks of the application once maintenance mode is off.
    #[serde(default)]
    pub smoke: Vec<CheckSpec>,
    /// Ask a person before deploying (default: prod).
    pub approval: Option<bool>,
    /// Allow `deploy --skip-backup` (default: not in prod or staging).
    pub allow_skip_backup: Option<bool>,
    /// auto | down | restore | none.
    pub rollback: Option<deploy::RollbackStrategy>,
    /// restore | down-only | refuse: what an undo may do after the application served
    /// traffic (default: down-only in prod and staging, restore elsewhere).
    pub rollback_after_traffic: Option<deploy::AfterTraffic>,
    /// migration (default) | deploy: one transaction for the whole deploy.
    pub transaction: Option<deploy::TransactionScope>,
    /// Longest any statement may run during a deploy (`10m`).
    pub statement_timeout: Option<String>,
    /// Folder of repeatable seed scripts, relative to this file.
    pub seeds: Option<String>,
    /// Data loaded by a mapping after migrate: `{ from = "sqlite://legacy.db", mapping = "…" }`.
    pub transfer: Option<deploy::TransferSpec>,
    pub maintenance: Option<deploy::MaintenanceSpec>,
    #[serde(default)]
    pub hooks: Vec<deploy::HookSpec>,
    pub watch: Option<deploy::WatchSpec>,
    #[serde(default)]
    pub notify: Vec<deploy::NotifySpec>,
    /// Many targets instead of one `url`: see `config::fleet`.
    pub fleet: Option<fleet::FleetSpec>,
}

/// `init_sql = "…"` or `init_sql = ["…", "…"]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(untagged)]
pub enum InitSql {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl InitSql {
    fn into_vec(self) -> Vec<String> {
        match self {
            InitSql::None => Vec::new(),
            InitSql::One(s) => vec![s],
            InitSql::Many(v) => v,
        }
    }
}

/// What the command line says (already parsed by the CLI).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub url: Option<String>,
    pub database_url_env: Option<String>,
    pub migrations: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub env: Option<String>,
    pub init_sql: Vec<String>,
    pub run_lock_timeout: Option<Duration>,
}

/// `[environments.<name>.rehearse]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RehearseSection {
    /// A database on the server the scratch copy is made on (default: the target's).
    pub url: Option<String>,
    pub copy: Option<CopyMode>,
    /// With `copy = "sample"`: rows per table (default 1000).
    pub sample_rows: Option<u64>,
}

/// What a rehearsal copies from the environment into its scratch database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyMode {
    /// The schema (and the history), no rows.
    #[default]
    Schema,
    /// The schema and every table's rows.
    Data,
    /// The schema and up to `sample_rows` rows of each table (foreign keys not checked
    /// against them: a sample is not closed under its references).
    Sample,
}

/// Rows per table a rehearsal's sample copies unless `sample_rows` says.
pub const DEFAULT_SAMPLE_ROWS: u64 = 1000;

/// `cutover rehearse`'s settings.
#[derive(Debug, Clone, Default)]
pub struct RehearsePolicy {
    pub url: Option<DatabaseUrl>,
    pub copy: CopyMode,
    pub sample_rows: u64,
}

/// Everything a command needs to know about where and how to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: DatabaseUrl,
    pub migrations: PathBuf,
    pub env: Option<String>,
    pub init_sql: Vec<String>,
    /// How long to wait for another run's lock.
    pub run_lock_timeout: Duration,
    /// How the migrations' statements run while the application serves.
    pub guard: Guard,
    /// What the configuration says that the operator should know (old setting names).
    pub warnings: Vec<String>,
    /// `[lint]` as written: the deploy's preflight lints the pending migrations with it.
    pub lint: crate::lint::config::LintSpec,
    pub config_path: Option<PathBuf>,
    /// Only migrations whose file or folder name matches one of these are read.
    pub include: Vec<glob::Pattern>,
    /// A command that changes the target creates its database when it is missing.
    pub create_database: bool,
    /// `cutover clone` may replace this environment's database (`clone_target`; never in
    /// prod, whatever it says).
    pub clone_target: bool,
    /// `cutover rehearse`: the server its scratch copy goes on, and what it copies.
    pub rehearse: RehearsePolicy,
    /// What `validate` expects of the schema and data.
    pub expect: Expect,
    /// `validate`'s custom checks.
    pub checks: Vec<Check>,
    pub validate: ValidatePolicy,
    pub kind: Kind,
    pub backup: BackupPolicy,
    /// The backup encryption's passphrase or identity keys, read once when the settings are
    /// resolved (scrubbing, which runs for every journal line, used to read the file again).
    encryption_secrets: EncryptionSecrets,
    pub preflight: Vec<Check>,
    /// Checks `deploy --phase contract` runs in its preflight.
    pub contract_gate: Vec<Check>,
    pub verify: Vec<Check>,
    pub smoke: Vec<Check>,
    pub deploy: DeployPolicy,
    /// The environment is a fleet: `url` is then a placeholder, and each target's settings
    /// come from `fleet::targets` (see `crate::fleet`).
    pub fleet: Option<FleetPolicy>,
}

pub const DEFAULT_RUN_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The `url` of a fleet environment's settings, which stand for every target and none.
pub const FLEET_PLACEHOLDER: &str = "sqlite::memory:";

/// Secret values kept beside the settings; `Debug` says how many, never what.
#[derive(Clone, Default)]
struct EncryptionSecrets(Vec<String>);

impl std::fmt::Debug for EncryptionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} secret(s)", self.0.len())
    }
}

impl Settings {
    /// Every secret this environment is configured with: the URLs and headers of its
    /// checks and actions, and its webhooks.
    pub fn secrets(&self) -> crate::redact::Secrets {
        let mut all = crate::redact::Secrets::new();
        let checks = self
            .checks
            .iter()
            .chain(&self.preflight)
            .chain(&self.contract_gate)
            .chain(&self.verify)
            .chain(&self.smoke)
            .chain(self.deploy.watch.iter().flat_map(|w| &w.checks))
            .chain(self.deploy.maintenance.iter().flat_map(|m| &m.expect));
        for c in checks {
            all = all.with(c.probe.secrets());
        }
        let actions = self
            .deploy
            .maintenance
            .iter()
            .flat_map(|m| [&m.on, &m.off])
            .chain(self.deploy.hooks.iter().map(|h| &h.action));
        for a in actions {
            all = all.with(a.action.secrets());
        }
        for n in &self.deploy.notify {
            if let Some(w) = &n.webhook {
                all = all.webhook(w);
            }
        }
        for secret in &self.encryption_secrets.0 {
            all = all.value(secret);
        }
        all
    }

    /// `text` as cutover may write it anywhere: the target's password, every configured
    /// secret and anything shaped like a secret masked.
    pub fn scrub(&self, text: &str) -> String {
        let text = self.url.scrub(text);
        let text = match &self.deploy.transfer {
            Some(t) => t.from.scrub(&text),
            None => text,
        };
        self.secrets().scrub(&text)
    }

    /// Resolve flags, the configuration file and the environment.
    pub fn resolve(o: Overrides) -> Result<Settings, crate::Error> {
        let sel = Selected::new(&o, Scope::All)?;
        let fleet = sel
            .env
            .fleet
            .as_ref()
            .map(|f| fleet::resolve(f, &sel.base, &|key| sel.setting(key)))
            .transpose()?
            // An explicit URL picks one target out of the fleet.
            .filter(|_| o.url.is_none() && sel.env.url.is_none());
        let url_text = match (&o.url, &sel.env.url, &o.database_url_env) {
            (Some(u), _, _) => u.clone(),
            (None, Some(u), _) => u.clone(),
            // A fleet's targets each get their own settings; this one stands for none.
            (None, None, _) if fleet.is_some() => FLEET_PLACEHOLDER.to_string(),
            (None, None, Some(u)) if o.env.is_none() => u.clone(),
            _ => return Err(ConfigError::Missing(no_url_message(&sel.env_name)).into()),
        };
        let mut url = DatabaseUrl::parse(&url_text)?;
        if o.url.is_none() && sel.env.url.is_some() {
            url = relative_sqlite(url, &sel.base)?;
        }
        let migrations = sel.migrations(&o)?;
        let mut init_sql = sel.env.init_sql.clone().into_vec();
        init_sql.extend(o.init_sql);
        let (run_lock_timeout, warnings) = run_lock_timeout(o.run_lock_timeout, &sel)?;
        let include = sel
            .env
            .include
            .iter()
            .map(|p| {
                glob::Pattern::new(p).map_err(|e| ConfigError::Setting {
                    setting: sel.setting("include"),
                    message: format!("`{p}` is not a glob pattern: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checks = sel.checks()?;
        let kind = sel.kind();
        let backup =
            BackupPolicy::resolve(kind, &sel.env.backup, &sel.base, &sel.setting("backup"))?;
        let preflight = sel.list("preflight", &sel.env.preflight)?;
        let contract_gate = sel.list("contract_gate", &sel.env.contract_gate)?;
        let verify = sel.list("verify", &sel.env.verify)?;
        let smoke = sel.list("smoke", &sel.env.smoke)?;
        let deploy = sel.deploy(kind)?;
        let guard = guard::resolve(kind, sel.env.guard.as_ref(), &|k| sel.setting(k))?;
        let encryption_secrets =
            EncryptionSecrets(backup.encrypt.iter().flat_map(|e| e.secrets()).collect());
        Ok(Settings {
            encryption_secrets,
            guard,
            warnings,
            lint: sel.file.lint.clone(),
            fleet,
            deploy,
            kind,
            backup,
            preflight,
            contract_gate,
            verify,
            smoke,
            url,
            migrations,
            env: sel.env_name,
            init_sql,
            run_lock_timeout,
            expect: sel
                .env
                .expect
                .clone()
                .or(sel.file.expect.clone())
                .unwrap_or_default(),
            checks,
            validate: sel.file.validate.clone(),
            config_path: sel.config_path,
            include,
            create_database: sel.env.create_database.unwrap_or(false),
            clone_target: sel.env.clone_target.unwrap_or(kind != Kind::Prod),
            rehearse: RehearsePolicy {
                url: sel
                    .env
                    .rehearse
                    .url
                    .as_deref()
                    .map(DatabaseUrl::parse)
                    .transpose()?,
                copy: sel.env.rehearse.copy.unwrap_or_default(),
                sample_rows: sel.env.rehearse.sample_rows.unwrap_or(DEFAULT_SAMPLE_ROWS),
            },
        })
    }

    /// The effective settings of the environment, as `config check` shows them (the URL
    /// with its password hidden).
    pub fn effective(&self) -> serde_json::Value {
        serde_json::json!({
            "environment": self.env,
            "kind": self.kind,
            "url": self.url.to_string(),
            "engine": self.url.kind().name(),
            "migrations": self.migrations,
            "config": self.config_path,
            "init_sql": self.init_sql.iter().map(|s| self.url.scrub(s)).collect::<Vec<_>>(),
            "run_lock_timeout": format!("{}s", self.run_lock_timeout.as_secs_f64()),
            "guard": self.guard,
            "warnings": self.warnings,
            "include": self.include.iter().map(|p| p.as_str().to_string()).collect::<Vec<_>>(),
            "create_database": self.create_database,
            "clone_target": self.clone_target,
            "backup": self.backup,
            "validate": self.validate,
            "expect": self.expect,
            "checks": self.checks,
            "preflight": self.preflight,
            "contract_gate": self.contract_gate,
            "verify": self.verify,
            "smoke": self.smoke,
            "deploy": self.deploy,
            "fleet": self.fleet,
        })
    }

    /// Only the backup policy (for `backup list` and `prune`, which need no database).
    pub fn backup_policy(o: &Overrides) -> Result<(BackupPolicy, Option<String>), ConfigError> {
        let sel = Selected::new(o, Scope::Only(&["kind", "backup"]))?;
        let kind = sel.kind();
        let setting = sel.setting("backup");
        let policy = BackupPolicy::resolve(kind, &sel.env.backup, &sel.base, &setting)?;
        Ok((policy, sel.env_name))
    }

    /// What `cutover lint` reads, which needs no database: `[lint]`, the migrations folder
    /// and `include`; and the whole settings when they resolve (a URL to read live sizes
    /// from), or why not, since lint works offline.
    pub fn for_lint(o: &Overrides) -> Result<LintSettings, crate::Error> {
        let sel = Selected::new(o, Scope::Only(&["migrations", "include"]))?;
        let include = sel
            .env
            .include
            .iter()
            .map(|p| {
                glob::Pattern::new(p).map_err(|e| ConfigError::Setting {
                    setting: sel.setting("include"),
                    message: format!("`{p}` is not a glob pattern: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LintSettings {
            lint: sel.file.lint.clone(),
            migrations: sel.migrations(o)?,
            include,
            settings: Settings::resolve(o.clone()).map_err(|e| e.to_string()),
        })
    }

    /// Only the migrations folder (for commands that need no database, like `new`).
    pub fn migrations_dir(o: &Overrides) -> Result<PathBuf, ConfigError> {
        Selected::new(o, Scope::Only(&["migrations"]))?.migrations(o)
    }
}

/// What `cutover lint` reads (`Settings::for_lint`).
#[derive(Debug)]
pub struct LintSettings {
    pub lint: crate::lint::config::LintSpec,
    pub migrations: PathBuf,
    pub include: Vec<glob::Pattern>,
    /// The whole settings, or why they do not resolve (no URL, an unset variable, …).
    pub settings: Result<Settings, String>,
}

/// Parse the text of a configuration file; errors carry the line and column.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                let col = span.start - text[..span.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {col}: {message}")
            }
            None => message,
        }
    })
}

/// `--run-lock-timeout`, else `run_lock_timeout`, else the old `lock_timeout` (with a
/// warning: the name reads as the migrations' lock timeout, which it never was).
fn run_lock_timeout(
    flag: Option<Duration>,
    sel: &Selected,
) -> Result<(Duration, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let (text, key) = match (&sel.env.run_lock_timeout, &sel.env.lock_timeout) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Setting {
                setting: sel.setting("lock_timeout"),
                message: "is the old name of `run_lock_timeout`, which is set too; remove it"
                    .into(),
            });
        }
        (Some(t), None) => (Some(t), "run_lock_timeout"),
        (None, Some(t)) => {
            warnings.push(format!(
                "{} is read as `run_lock_timeout`: how long to wait for another cutover run's lock. \
                 It does not bound the locks the migrations take; `guard.lock_timeout` does \
                 (default 500ms). Rename it to `run_lock_timeout`.",
                sel.setting("lock_timeout")
            ));
            (Some(t), "lock_timeout")
        }
        (None, None) => (None, "run_lock_timeout"),
    };
    let d = match (flag, text) {
        (Some(d), _) => d,
        (None, Some(text)) => parse_duration(text).map_err(|message| ConfigError::Setting {
            setting: sel.setting(key),
            message,
        })?,
        (None, None) => DEFAULT_RUN_LOCK_TIMEOUT,
    };
    Ok((d, warnings))
}

fn no_url_message(env: &Option<String>) -> String {
    match env {
        Some(n) => format!(
            "no database URL: environment `{n}` has no `url`; add one, or pass --url / set DATABASE_URL"
        ),
        None => "no database URL: pass --url, set DATABASE_URL, or run `cutover init` for a cutover.toml".into(),
    }
}

/// A relative SQLite path in the configuration file (or a fleet's targets file) is relative
/// to that file.
pub fn relative_sqlite(
    url: DatabaseUrl,
    base: &Path,
) -> Result<DatabaseUrl, crate::target::UrlError> {
    let Some(path) = url.sqlite_path().filter(|_| !base.as_os_str().is_empty()) else {
        return Ok(url);
    };
    if path.starts_with('/') || path.starts_with(":memory:") {
        return Ok(url);
    }
    DatabaseUrl::parse(&format!("sqlite://{}", base.join(path).display()))
}

/// `30s`, `5m`, `1h 30m`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("`{text}` is not a duration like 30s or 5m ({e})"))?;
    Duration::try_from(d).map_err(|_| format!("`{text}` must not be negative"))
}

/// The `cutover.toml` that `cutover init` writes.
pub const INIT_TEMPLATE: &str = r#"# cutover configuration: one [environments.<name>] table per target.
# Settings: url (or ${ENV_VAR}), migrations (folder, relative to this file),
# init_sql (SQL run on every connection), run_lock_timeout (waiting for another run, e.g.
# "60s"), [environments.<name>.guard] (lock timeouts and retries for migrations).
default_environment = "dev"

[environments.dev]
url = "sqlite://cutover-dev.db"
migrations = "migrations"

# [environments.prod]
# url = "${DATABASE_URL}"
# migrations = "migrations"
# run_lock_timeout = "5m"
# [environments.prod.guard]
# lock_timeout = "500ms"
# tries = 8
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses() {
        let f = parse(INIT_TEMPLATE).unwrap();
        assert_eq!(f.default_environment.as_deref(), Some("dev"));
        assert_eq!(
            f.environments["dev"].url.as_deref(),
            Some("sqlite://cutover-dev.db")
        );
    }

    #[test]
    fn unknown_setting_names_line() {
        let e = parse("[environments.dev]\nurl = \"sqlite://x\"\nmigratons = \"m\"\n").unwrap_err();
        assert!(e.starts_with("line 3"), "{e}");
        assert!(e.contains("migratons"), "{e}");
    }

    #[test]
    fn init_sql_one_or_many() {
        let f = parse("[environments.a]\ninit_sql = \"SET x=1\"\n[environments.b]\ninit_sql = [\"A\", \"B\"]\n").unwrap();
        assert_eq!(
            f.environments["a"].init_sql.clone().into_vec(),
            vec!["SET x=1"]
        );
        assert_eq!(
            f.environments["b"].init_sql.clone().into_vec(),
            vec!["A", "B"]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert!(parse_duration("soon").is_err());
    }
}
