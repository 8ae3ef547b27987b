//! An environment's kind and its backup policy: `kind = "prod"` sets the defaults
//! (retention dev 7 days, test 14, prod 35; prod verifies by restoring), and
//! `[environments.<name>.backup]` overrides them. `encrypt` is checked here (recipients
//! parse, one way to decrypt), so a bad key is a configuration error naming the setting.

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
    /// Encrypt every backup as it streams (age format).
    pub encrypt: Option<EncryptSection>,
    /// Off-site copies of every new backup: folders, or `s3://bucket/prefix`.
    #[serde(default)]
    pub copies: Vec<String>,
    /// Whether a failed copy fails the backup (default: prod and staging).
    pub copies_required: Option<bool>,
}

/// Where an off-site copy goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Another folder (a mounted share), relative to the configuration file.
    Folder(PathBuf),
    /// S3-compatible object storage; credentials and endpoint from the AWS_* variables.
    S3 { bucket: String, prefix: String },
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Folder(p) => write!(f, "{}", p.display()),
            Destination::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Destination::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Destination {
    fn parse(text: &str, base: &Path) -> Result<Destination, String> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{text}` names no bucket (`s3://bucket/prefix`)"));
            }
            return Ok(Destination::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "`{scheme}://` is not a destination cutover copies to: give a folder or `s3://bucket/prefix`"
            ));
        }
        if text.trim().is_empty() {
            return Err("an empty destination".into());
        }
        Ok(Destination::Folder(base.join(text)))
    }
}

/// `encrypt = { … }` as written: age X25519 `recipients` (public keys), or a passphrase in
/// the environment variable `passphrase_env`; and how verify and restore get the secret
/// side: `identity_file` (relative to the configuration file) or `identity_env`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptSection {
    #[serde(default)]
    pub recipients: Vec<String>,
    pub identity_file: Option<String>,
    pub identity_env: Option<String>,
    pub passphrase_env: Option<String>,
}

/// How backups are encrypted, checked. Names files and variables only: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encrypt {
    /// To these X25519 recipients; verify and restore read the identity from `identity`.
    Recipients {
        recipients: Vec<String>,
        identity: Option<IdentitySource>,
    },
    /// With the passphrase held by this environment variable (for writing and reading).
    Passphrase { env: String },
}

/// Where the secret key that decrypts a backup is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    File(PathBuf),
    Env(String),
}

impl std::fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentitySource::File(p) => write!(f, "the identity file {}", p.display()),
            IdentitySource::Env(v) => write!(f, "the identity in ${v}"),
        }
    }
}

impl Encrypt {
    /// The secrets this encryption reads (the passphrase, the identity's keys), as they
    /// are now, so that an echo of one anywhere is masked (`Settings::secrets`).
    pub fn secrets(&self) -> Vec<String> {
        let text = match self {
            Encrypt::Passphrase { env } => std::env::var(env).ok(),
            Encrypt::Recipients { identity, .. } => match identity {
                Some(IdentitySource::Env(v)) => std::env::var(v).ok(),
                Some(IdentitySource::File(f)) => std::fs::read_to_string(f).ok(),
                None => None,
            },
        };
        match self {
            Encrypt::Passphrase { .. } => text.into_iter().collect(),
            Encrypt::Recipients { .. } => text
                .iter()
                .flat_map(|t| t.lines())
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
        }
    }
}

impl EncryptSection {
    fn resolve(&self, base: &Path, section: &str) -> Result<Encrypt, super::ConfigError> {
        let setting = |key: &str, message: String| super::ConfigError::Setting {
            setting: format!("{section}.encrypt.{key}"),
            message,
        };
        let identity = match (&self.identity_file, &self.identity_env) {
            (Some(_), Some(_)) => {
                return Err(setting(
                    "identity_env",
                    "give identity_file or identity_env, not both".into(),
                ));
            }
            (Some(f), None) => Some(IdentitySource::File(base.join(f))),
            (None, Some(v)) => Some(IdentitySource::Env(v.clone())),
            (None, None) => None,
        };
        match (&self.passphrase_env, self.recipients.is_empty()) {
            (Some(_), false) => Err(setting(
                "passphrase_env",
                "an age passphrase cannot be combined with recipients: give one or the other"
                    .into(),
            )),
            (Some(_), true) if identity.is_some() => Err(setting(
                "passphrase_env",
                "the passphrase also decrypts: identity_file and identity_env go with recipients"
                    .into(),
            )),
            (Some(env), true) => Ok(Encrypt::Passphrase { env: env.clone() }),
            (None, true) => Err(setting(
                "recipients",
                "no recipients: give age public keys (`age1…`) or passphrase_env".into(),
            )),
            (None, false) => {
                for (i, r) in self.recipients.iter().enumerate() {
                    if r.parse::<age::x25519::Recipient>().is_err() {
                        // A public key is no secret, but the value may be a pasted
                        // private key: name its place, not its text.
                        return Err(setting(
                            &format!("recipients[{i}]"),
                            "not an age X25519 public key (`age1…`, from `age-keygen -y`)".into(),
                        ));
                    }
                }
                Ok(Encrypt::Recipients {
                    recipients: self.recipients.clone(),
                    identity,
                })
            }
        }
    }
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
    pub encrypt: Option<Encrypt>,
    pub copies: Vec<Destination>,
    pub copies_required: bool,
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
        section_name: &str,
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
                setting: format!("{section_name}.max_age"),
                message,
            })?;
        let encrypt = section
            .encrypt
            .as_ref()
            .map(|e| e.resolve(base, section_name))
            .transpose()?;
        let copies = section
            .copies
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Destination::parse(c, base).map_err(|message| super::ConfigError::Setting {
                    setting: format!("{section_name}.copies[{i}]"),
                    message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BackupPolicy {
            encrypt,
            copies,
            copies_required: section
                .copies_required
                .unwrap_or(matches!(kind, Kind::Prod | Kind::Staging)),
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
        let e = BackupPolicy::resolve(Kind::Prod, &bad, Path::new(""), "environments.prod.backup")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("environments.prod.backup.max_age: "), "{e}");
    }

    #[test]
    fn copies_are_folders_or_s3() {
        let s = BackupSection {
            copies: vec!["offsite".into(), "s3://bkt/a/b/".into()],
            ..BackupSection::default()
        };
        let p = BackupPolicy::resolve(Kind::Test, &s, Path::new("/etc/app"), "b").unwrap();
        assert_eq!(
            p.copies,
            [
                Destination::Folder("/etc/app/offsite".into()),
                Destination::S3 {
                    bucket: "bkt".into(),
                    prefix: "a/b".into()
                }
            ]
        );
        assert_eq!(p.copies[1].to_string(), "s3://bkt/a/b");
        assert!(
            !p.copies_required,
            "a test environment does not require them"
        );
        let bad = BackupSection {
            copies: vec!["offsite".into(), "ftp://x/y".into()],
            ..BackupSection::default()
        };
        let e = BackupPolicy::resolve(Kind::Prod, &bad, Path::new(""), "b")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.copies[1]: `ftp://`"), "{e}");
    }

    fn encrypt(section: EncryptSection) -> Result<Option<Encrypt>, String> {
        let s = BackupSection {
            encrypt: Some(section),
            ..BackupSection::default()
        };
        BackupPolicy::resolve(
            Kind::Prod,
            &s,
            Path::new("/etc/app"),
            "environments.prod.backup",
        )
        .map(|p| p.encrypt)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn encryption_is_checked_and_names_the_setting() {
        let key = age::x25519::Identity::generate().to_public().to_string();
        let ok = encrypt(EncryptSection {
            recipients: vec![key.clone()],
            identity_file: Some("key.txt".into()),
            ..EncryptSection::default()
        })
        .unwrap();
        assert_eq!(
            ok,
            Some(Encrypt::Recipients {
                recipients: vec![key.clone()],
                identity: Some(IdentitySource::File("/etc/app/key.txt".into())),
            })
        );
        let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        let e = encrypt(EncryptSection {
            recipients: vec![key.clone(), secret.into()],
            ..EncryptSection::default()
        })
        .unwrap_err();
        assert!(
            e.starts_with("environments.prod.backup.encrypt.recipients[1]: "),
            "{e}"
        );
        assert!(!e.contains(secret), "{e}");
        let e = encrypt(EncryptSection::default()).unwrap_err();
        assert!(e.contains("encrypt.recipients: no recipients"), "{e}");
        let e = encrypt(EncryptSection {
            recipients: vec![key],
            passphrase_env: Some("P".into()),
            ..EncryptSection::default()
        })
        .unwrap_err();
        assert!(e.contains("encrypt.passphrase_env: "), "{e}");
        let e = encrypt(EncryptSection {
            passphrase_env: Some("P".into()),
            identity_env: Some("K".into()),
            ..EncryptSection::default()
        })
        .unwrap_err();
        assert!(e.contains("encrypt.passphrase_env: "), "{e}");
    }
}
