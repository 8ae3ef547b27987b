//! An environment's kind and its backup policy: `kind = "prod"` sets the defaults
//! (retention dev 7 days, test 14, prod 35; prod verifies by restoring), and
//! `[environments.<name>.backup]` overrides them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What an environment is; sets safe defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Dev,
    Test,
    Staging,
    Prod,
}

impl Kind {
    /// The kind an environment's name suggests when `kind` is not set.
    pub fn from_name(name: Option<&str>) -> Kind {
        match name.map(str::to_ascii_lowercase).as_deref() {
            Some("prod" | "production" | "live") => Kind::Prod,
            Some("staging" | "stage" | "preprod") => Kind::Staging,
            Some("test" | "testing" | "ci" | "qa") => Kind::Test,
            _ => Kind::Dev,
        }
    }
}

/// How a backup is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyLevel {
    /// Re-hash the file and compare with the manifest.
    Checksum,
    /// Restore into a scratch database and compare row counts and the schema fingerprint.
    Restore,
}

impl VerifyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyLevel::Checksum => "checksum",
            VerifyLevel::Restore => "restore",
        }
    }
}

/// `[environments.<name>.backup]` as written.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    /// Whether a deploy must back up first (default: prod and staging).
    pub required: Option<bool>,
    /// Where backups go, relative to the configuration file.
    pub dir: Option<String>,
    pub verify: Option<VerifyLevel>,
    pub retention_days: Option<u32>,
    /// Keep at least this many backups whatever their age.
    pub keep: Option<usize>,
    /// A folder searched before PATH for pg_dump, pg_restore, psql, mariadb-dump, mariadb.
    pub tools: Option<String>,
    /// A deploy's preflight requires a verified backup of this database no older than this.
    pub max_age: Option<String>,
}

/// The backup policy in effect.
#[derive(Debug, Clone, Serialize)]
pub struct BackupPolicy {
    pub dir: PathBuf,
    pub verify: VerifyLevel,
    pub retention_days: u32,
    pub keep: usize,
    pub tools: Option<PathBuf>,
    #[serde(serialize_with = "opt_secs")]
    pub max_age: Option<std::time::Duration>,
}

fn opt_secs<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format!("{}s", d.as_secs())),
        None => s.serialize_none(),
    }
}

impl BackupPolicy {
    /// How to verify: as asked, else as the policy says.
    pub fn verify_level(&self, asked: Option<VerifyLevel>) -> VerifyLevel {
        asked.unwrap_or(self.verify)
    }

    pub(super) fn resolve(
        kind: Kind,
        section: &BackupSection,
        base: &Path,
        setting: &str,
    ) -> Result<BackupPolicy, super::ConfigError> {
        let (days, verify) = match kind {
            Kind::Dev => (7, VerifyLevel::Checksum),
            Kind::Test => (14, VerifyLevel::Checksum),
            Kind::Staging => (14, VerifyLevel::Restore),
            Kind::Prod => (35, VerifyLevel::Restore),
        };
        let max_age = section
            .max_age
            .as_deref()
            .map(super::parse_duration)
            .transpose()
            .map_err(|message| super::ConfigError::Setting {
                setting: setting.to_string(),
                message,
            })?;
        Ok(BackupPolicy {
            max_age,
            dir: base.join(section.dir.as_deref().unwrap_or("backups")),
            verify: section.verify.unwrap_or(verify),
            retention_days: section.retention_days.unwrap_or(days),
            keep: section.keep.unwrap_or(3),
            tools: section.tools.as_ref().map(|t| base.join(t)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_set_defaults() {
        let prod = BackupPolicy::resolve(
            Kind::Prod,
            &BackupSection::default(),
            Path::new("/etc/app"),
            "b",
        )
        .unwrap();
        assert_eq!(
            (prod.retention_days, prod.verify),
            (35, VerifyLevel::Restore)
        );
        assert_eq!(prod.dir, Path::new("/etc/app/backups"));
        let dev = BackupPolicy::resolve(Kind::Dev, &BackupSection::default(), Path::new(""), "b")
            .unwrap();
        assert_eq!((dev.retention_days, dev.verify), (7, VerifyLevel::Checksum));
        let section = BackupSection {
            retention_days: Some(3),
            ..BackupSection::default()
        };
        assert_eq!(
            BackupPolicy::resolve(Kind::Prod, &section, Path::new(""), "b")
                .unwrap()
                .retention_days,
            3
        );
        assert_eq!(Kind::from_name(Some("Production")), Kind::Prod);
        let bad = BackupSection {
            max_age: Some("a while".into()),
            ..BackupSection::default()
        };
        let e = BackupPolicy::resolve(
            Kind::Prod,
            &bad,
            Path::new(""),
            "environments.prod.backup.max_age",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("environments.prod.backup.max_age: "), "{e}");
    }
}
