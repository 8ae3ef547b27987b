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
    /// The newest successful verification, if any.
    pub fn verified(&self) -> Option<&Verification> {
        self.verifications.iter().rev().find(|v| v.ok)
    }
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

pub fn read(file: &Path) -> Result<Manifest, Error> {
    let path = path_for(file);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
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

/// Every backup in `dir` with a readable manifest, newest first.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".json") {
            let file = dir.join(stem);
            if let Ok(m) = read(&file) {
                found.push((file, m));
            }
        }
    }
    found.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(b.0.cmp(&a.0)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

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
