//! The configuration file and the environment chosen in it: reading `cutover.toml` (checked
//! with line numbers), picking the environment (`--env`, `CUTOVER_ENV`,
//! `default_environment`, the only one), and reading it again with `${VAR}` replaced in the
//! settings the command reads.

use std::path::{Path, PathBuf};

use super::probe::{self, Check, CheckSpec};
use super::{
    ConfigError, ConfigFile, DEFAULT_FILE, DeployPolicy, Environment, Kind, Overrides, deploy,
    interpolate, parse,
};

/// The configuration file and the environment chosen in it.
pub(super) struct Selected {
    pub(super) file: ConfigFile,
    pub(super) env_name: Option<String>,
    pub(super) env: Environment,
    /// The folder relative paths in the file are relative to.
    pub(super) base: PathBuf,
    pub(super) config_path: Option<PathBuf>,
}

/// Which settings of the chosen environment a command reads, and so interpolates: a
/// command that needs only the backup policy does not fail on an unset webhook variable.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    All,
    Only(&'static [&'static str]),
}

impl Selected {
    pub(super) fn new(o: &Overrides, scope: Scope) -> Result<Selected, ConfigError> {
        let (mut file, raw, config_path) = load(o.config.as_deref())?;
        let base = config_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if let Some(name) = &file.default_environment {
            file.default_environment = Some(interpolate(name, "default_environment")?);
        }
        let env_name = pick_env(&file, o.env.as_deref(), config_path.as_deref())?;
        let (file, env) = read(raw, env_name.as_deref(), scope, o, config_path.as_deref())?;
        Ok(Selected {
            file,
            env_name,
            env,
            base,
            config_path,
        })
    }

    /// The environment's kind: as written, or as its name suggests.
    pub(super) fn kind(&self) -> Kind {
        self.env
            .kind
            .unwrap_or_else(|| Kind::from_name(self.env_name.as_deref()))
    }

    /// The full name of a setting of the chosen environment, for messages.
    pub(super) fn setting(&self, key: &str) -> String {
        match &self.env_name {
            Some(n) => format!("environments.{n}.{key}"),
            None => key.to_string(),
        }
    }

    /// The top-level checks, then the environment's, read.
    pub(super) fn checks(&self) -> Result<Vec<Check>, ConfigError> {
        let top = self
            .file
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("checks[{i}]"), c));
        let own = self
            .env
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| (self.setting(&format!("checks[{i}]")), c));
        top.chain(own).map(|(at, c)| probe::check(c, &at)).collect()
    }

    pub(super) fn deploy(&self, kind: Kind) -> Result<DeployPolicy, ConfigError> {
        let e = &self.env;
        let spec = deploy::DeploySpec {
            approval: e.approval,
            backup_required: e.backup.required,
            allow_skip_backup: e.allow_skip_backup,
            rollback: e.rollback,
            rollback_after_traffic: e.rollback_after_traffic,
            transaction: e.transaction,
            statement_timeout: e.statement_timeout.as_deref(),
            seeds: e.seeds.as_deref(),
            transfer: e.transfer.as_ref(),
            maintenance: e.maintenance.as_ref(),
            hooks: &e.hooks,
            watch: e.watch.as_ref(),
            notify: &e.notify,
        };
        deploy::resolve(kind, &spec, &self.base, &|key| self.setting(key))
    }

    /// One of the environment's check lists (`preflight`, `verify`, `smoke`), read.
    pub(super) fn list(&self, key: &str, specs: &[CheckSpec]) -> Result<Vec<Check>, ConfigError> {
        specs
            .iter()
            .enumerate()
            .map(|(i, c)| probe::check(c, &self.setting(&format!("{key}[{i}]"))))
            .collect()
    }

    pub(super) fn migrations(&self, o: &Overrides) -> Result<PathBuf, ConfigError> {
        Ok(match (&o.migrations, &self.env.migrations) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => self.base.join(dir),
            (None, None) => self.base.join("migrations"),
        })
    }
}

/// Read the configuration file: the one given, or `./cutover.toml` when it exists. Returns
/// it as checked (with line numbers for mistakes) and as a table to interpolate.
fn load(given: Option<&Path>) -> Result<(ConfigFile, toml::Table, Option<PathBuf>), ConfigError> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
        None => return Ok((ConfigFile::default(), toml::Table::new(), None)),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let bad = |message: String| ConfigError::Parse {
        path: path.clone(),
        message,
    };
    let file = parse(&text).map_err(bad)?;
    let raw = toml::from_str(&text).map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
    Ok((file, raw, Some(path)))
}

/// The file again, with `${VAR}` replaced in its top-level settings and in the settings of
/// the chosen environment that `scope` reads (less those a flag overrides); the other
/// environments are left out. The file was checked already, so this cannot fail to read.
fn read(
    mut raw: toml::Table,
    env_name: Option<&str>,
    scope: Scope,
    o: &Overrides,
    path: Option<&Path>,
) -> Result<(ConfigFile, Environment), ConfigError> {
    let mut envs = match raw.remove("environments") {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    if matches!(scope, Scope::All) {
        interpolate::table(&mut raw, "", &|k| k != "default_environment")?;
    }
    let overridden =
        |k: &str| (k == "url" && o.url.is_some()) || (k == "migrations" && o.migrations.is_some());
    let wanted = |k: &str| {
        !overridden(k)
            && match scope {
                Scope::All => true,
                Scope::Only(keys) => keys.contains(&k),
            }
    };
    let env = match env_name.and_then(|n| envs.remove(n).map(|v| (n, v))) {
        Some((name, toml::Value::Table(mut t))) => {
            let at = format!("environments.{}", interpolate_key(name));
            interpolate::table(&mut t, &at, &wanted)?;
            toml::Value::Table(t)
                .try_into()
                .map_err(|e: toml::de::Error| reread(path, e))?
        }
        _ => Environment::default(),
    };
    let file: ConfigFile = toml::Value::Table(raw)
        .try_into()
        .map_err(|e: toml::de::Error| reread(path, e))?;
    Ok((file, env))
}

/// An environment's name as it appears in a setting's name.
fn interpolate_key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn reread(path: Option<&Path>, e: toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path: path.map(Path::to_path_buf).unwrap_or_default(),
        message: e.message().to_string(),
    }
}

fn pick_env(
    file: &ConfigFile,
    flag: Option<&str>,
    path: Option<&Path>,
) -> Result<Option<String>, ConfigError> {
    let wanted = flag
        .map(str::to_string)
        .or_else(|| std::env::var("CUTOVER_ENV").ok().filter(|s| !s.is_empty()));
    let names = || {
        file.environments
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(name) if file.environments.contains_key(&name) => Ok(Some(name)),
        Some(name) if path.is_none() && flag.is_some() => Err(ConfigError::Missing(format!(
            "--env {name} given but there is no {DEFAULT_FILE} here; pass --config FILE or run `cutover init`"
        ))),
        Some(name) if path.is_none() => Ok(Some(name)),
        Some(name) => Err(ConfigError::Setting {
            setting: "--env".into(),
            message: format!(
                "no environment `{name}` in {}; it has: {}",
                path.map(|p| p.display().to_string()).unwrap_or_default(),
                names()
            ),
        }),
        None => Ok(file
            .default_environment
            .clone()
            .or_else(|| (file.environments.len() == 1).then(names))),
    }
}
