//! The manifest beside every backup file (`<file>.json`): what the file holds, how to
//! prove it, and what proving it found. Names sort by time and say what they are:
//! `<database>_<env>_<YYYYMMDD_HHMMSS>_<version>.<engine>.zst`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::VerifyLevel;
use crate::error::Error;

/// The manifest format; bumped when a field changes meaning.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The backup file's name (in the same folder as the manifest).
    pub file: String,
    pub engine: String,
    pub server_version: String,
    /// The database's name (the file path's name for SQLite); never a URL or password.
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The newest applied migration, if the database has a history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// The schema fingerprint at the moment of the backup.
    pub fingerprint: String,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// Whether the row counts were taken in the dump's own snapshot.
    pub counts_in_dump_snapshot: bool,
    /// The dump tool and its version (`pg_dump 15.20`), or `sqlite online backup`.
    pub tool: String,
    pub compression: String,
    /// How the file is encrypted, if it is (the recipients; never a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Size and SHA-256 of the file as it is on disk (encrypted, when it is).
    pub size: u64,
    pub sha256: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    pub duration_ms: u64,
    pub cutover_version: String,
    /// Why the backup was taken (`manual`, `pre-restore`, …).
    pub reason: String,
    #[serde(default)]
    pub verifications: Vec<Verification>,
}

/// How a backup file is encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encryption {
    /// `age` (age-encryption.org/v1).
    pub format: String,
    /// The X25519 recipients (public keys) it is encrypted to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Encrypted with a passphrase instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passphrase: bool,
}

/// One proof of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub level: VerifyLevel,
    pub ok: bool,
    pub at: String,
    pub duration_ms: u64,
    /// What was compared, or what differed.
    pub details: Vec<String>,
}

impl Manifest {
    /// The verification that makes this backup count as verified, if it does: the latest
    /// one, when it passed. A backup whose latest verification failed is not verified,
    /// whatever passed before. Nor is one whose latest restore check failed and was
    /// followed only by checksum passes: those prove the bytes are the ones the restore
    /// check found wrong.
    pub fn verified(&self) -> Option<&Verification> {
        let latest = self.verifications.last().filter(|v| v.ok)?;
        let latest_restore = self
            .verifications
            .iter()
            .rev()
            .find(|v| v.level == VerifyLevel::Restore);
        latest_restore.is_none_or(|v| v.ok).then_some(latest)
    }

    /// `verified`, `failed` (verifications were recorded, and the backup is not verified)
    /// or `unverified`.
    pub fn status(&self) -> &'static str {
        match (self.verified(), self.verifications.is_empty()) {
            (Some(_), _) => "verified",
            (None, false) => "failed",
            (None, true) => "unverified",
        }
    }
}

/// A backup in a folder whose manifest cannot be read, or that has none.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub file: PathBuf,
    pub problem: String,
}

/// Everything in a backup folder: the backups, newest first, and what cannot be read.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub backups: Vec<(PathBuf, Manifest)>,
    pub unreadable: Vec<Unreadable>,
}

/// The manifest's path for a backup file.
pub fn path_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// The file name for a new backup.
pub fn file_name(
    database: &str,
    env: Option<&str>,
    at: jiff::Timestamp,
    version: Option<&str>,
    ext: &str,
) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!(
        "{}_{}_{}_{}.{ext}",
        clean(database),
        clean(env.unwrap_or("default")),
        at.strftime("%Y%m%d_%H%M%S"),
        clean(version.unwrap_or("empty")),
    )
}

/// The manifest of the backup `file`. A file that is not there, or has no manifest, is
/// named as the user gave it.
pub fn read(file: &Path) -> Result<Manifest, Error> {
    if !file.exists() {
        return Err(Error::Usage(format!("{} does not exist", file.display())));
    }
    let path = path_for(file);
    if !path.exists() {
        return Err(Error::Usage(format!(
            "{} has no manifest ({} is missing): cutover verifies and restores only backups with their manifest",
            file.display(),
            path.display()
        )));
    }
    parse(&path)
}

/// Read and parse a manifest file.
fn parse(path: &Path) -> Result<Manifest, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: not a cutover backup manifest: {e}",
            path.display()
        ))
    })
}

/// Write atomically (temporary file, then rename), readable by the owner only.
pub fn write(file: &Path, m: &Manifest) -> Result<(), Error> {
    let path = path_for(file);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(m).expect("a manifest serialises");
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    super::stream::private_file(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// The extensions backup files have (`native::Native::extension`).
const EXTENSIONS: [&str; 6] = [
    ".pgdump.zst",
    ".sql.zst",
    ".sqlite.zst",
    ".pgdump.zst.age",
    ".sql.zst.age",
    ".sqlite.zst.age",
];

/// Every backup in `dir`: those with a readable manifest, newest first, and those whose
/// manifest does not parse, whose file is gone, or that have no manifest (by name). Hidden
/// files (a backup being written) are not backups yet.
pub fn list(dir: &Path) -> Result<Listing, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut listing = Listing::default();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let unreadable = |problem: String| Unreadable {
            file: dir.join(name.strip_suffix(".json").unwrap_or(name)),
            problem,
        };
        if let Some(stem) = name.strip_suffix(".json") {
            let file = dir.join(stem);
            match parse(&path) {
                Ok(_) if !file.exists() => listing.unreadable.push(unreadable(format!(
                    "the backup file is missing; only its manifest {name} is here"
                ))),
                Ok(m) => listing.backups.push((file, m)),
                Err(e) => listing.unreadable.push(unreadable(e.to_string())),
            }
        } else if EXTENSIONS.iter().any(|x| name.ends_with(x)) && !path_for(&path).exists() {
            listing
                .unreadable
                .push(unreadable(format!("no manifest ({name}.json is missing)")));
        }
    }
    listing
        .backups
        .sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(b.0.cmp(&a.0)));
    listing.unreadable.sort_by(|a, b| b.file.cmp(&a.file));
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verification(level: VerifyLevel, ok: bool) -> Verification {
        Verification {
            level,
            ok,
            at: String::new(),
            duration_ms: 0,
            details: Vec::new(),
        }
    }

    /// The latest verification decides; a checksum pass does not clear a failed restore
    /// check.
    #[test]
    fn latest_verification_decides() {
        use VerifyLevel::{Checksum, Restore};
        let verified = |vs: &[(VerifyLevel, bool)]| {
            let m: Manifest = serde_json::from_value(serde_json::json!({
                "format": 1, "file": "x", "engine": "sqlite", "server_version": "3",
                "database": "x", "fingerprint": "f", "tables": {}, "counts_in_dump_snapshot": true,
                "tool": "t", "compression": "zstd", "size": 1, "sha256": "s", "created_at": "c",
                "duration_ms": 1, "cutover_version": "v", "reason": "manual",
            }))
            .unwrap();
            let m = Manifest {
                verifications: vs.iter().map(|&(l, ok)| verification(l, ok)).collect(),
                ..m
            };
            (m.verified().map(|v| v.level), m.status())
        };
        assert_eq!(verified(&[]), (None, "unverified"));
        assert_eq!(verified(&[(Checksum, true)]), (Some(Checksum), "verified"));
        assert_eq!(
            verified(&[(Checksum, true), (Checksum, false)]),
            (None, "failed")
        );
        assert_eq!(
            verified(&[(Restore, true), (Checksum, false)]),
            (None, "failed")
        );
        assert_eq!(
            verified(&[(Checksum, false), (Checksum, true)]),
            (Some(Checksum), "verified")
        );
        assert_eq!(
            verified(&[(Restore, false), (Checksum, true)]),
            (None, "failed")
        );
        assert_eq!(
            verified(&[(Restore, false), (Restore, true), (Checksum, true)]),
            (Some(Checksum), "verified")
        );
    }

    #[test]
    fn names_sort_and_explain_themselves() {
        let at: jiff::Timestamp = "2026-11-21T22:05:09Z".parse().unwrap();
        assert_eq!(
            file_name(
                "lms",
                Some("prod"),
                at,
                Some("20240105090700"),
                "pgdump.zst"
            ),
            "lms_prod_20261121_220509_20240105090700.pgdump.zst"
        );
        assert_eq!(
            file_name("my db/x", None, at, None, "sql.zst"),
            "my-db-x_default_20261121_220509_empty.sql.zst"
        );
        assert_eq!(
            path_for(Path::new("/b/x.sql.zst")),
            Path::new("/b/x.sql.zst.json")
        );
    }
}
