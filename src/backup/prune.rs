//! Listing and pruning: newest first; prune keeps the newest verified backup of each
//! database and environment, the newest `keep`, everything inside the retention, and
//! anything whose manifest it cannot read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::{self, Listing, Manifest};
use crate::config::BackupPolicy;
use crate::error::Error;

/// Backups of one database in one environment, newest first.
type Group<'a> = Vec<&'a (PathBuf, Manifest)>;

/// What `backup prune` deleted (or would delete) and kept.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    pub dry_run: bool,
    pub deleted: Vec<PrunedFile>,
    pub kept: Vec<PrunedFile>,
    /// The same retention at each off-site destination.
    pub copies: Vec<super::offsite::PrunedCopies>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrunedFile {
    pub file: PathBuf,
    pub created_at: String,
    pub reason: String,
}

/// Every backup in `dir` with a readable manifest, newest first.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    Ok(manifest::list(dir)?.backups)
}

/// Every backup in `dir`, newest first, and those whose manifest cannot be read.
pub fn listing(dir: &Path) -> Result<Listing, Error> {
    manifest::list(dir)
}

/// What `backup prune` should keep.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    pub dir: Option<PathBuf>,
    pub keep_days: Option<u32>,
    pub keep: Option<usize>,
    pub dry_run: bool,
}

/// Delete backups older than the retention, keeping the newest `keep` of each database
/// and environment, and never the newest verified one; then the same at every off-site
/// destination.
pub fn prune(policy: &BackupPolicy, opts: &PruneOptions) -> Result<Pruned, Error> {
    let days = opts.keep_days.unwrap_or(policy.retention_days);
    let keep = opts.keep.unwrap_or(policy.keep);
    let listing = listing(opts.dir.as_deref().unwrap_or(&policy.dir))?;
    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
    for ((file, m), reason) in judge(&listing.backups, days, keep) {
        let entry = |reason: String| PrunedFile {
            file: file.clone(),
            created_at: m.created_at.clone(),
            reason,
        };
        match reason {
            Ok(r) => kept.push(entry(r)),
            Err(r) => {
                if !opts.dry_run {
                    for p in [file.clone(), manifest::path_for(file)] {
                        std::fs::remove_file(&p).map_err(|source| Error::Io {
                            path: p.clone(),
                            source,
                        })?;
                    }
                }
                deleted.push(entry(r));
            }
        }
    }
    // What cannot be read cannot be judged: it stays for a person to look at.
    kept.extend(listing.unreadable.into_iter().map(|u| PrunedFile {
        file: u.file,
        created_at: "unknown".into(),
        reason: format!("unreadable, kept: {}", u.problem),
    }));
    let copies = super::offsite::prune(policy, days, keep, opts.dry_run);
    Ok(Pruned {
        dry_run: opts.dry_run,
        deleted,
        kept,
        copies,
    })
}

/// A backup and why it is kept (`Ok`) or deleted (`Err`).
pub(super) type Judged<'a> = (&'a (PathBuf, Manifest), Result<String, String>);

/// Each backup (newest first) with why it is kept (`Ok`) or deleted (`Err`): kept when it
/// is the newest verified one of its database and environment, among the newest `keep`,
/// or younger than `days`.
pub(super) fn judge(all: &[(PathBuf, Manifest)], days: u32, keep: usize) -> Vec<Judged<'_>> {
    let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let mut groups: BTreeMap<(String, String, Option<String>), Group> = BTreeMap::new();
    for b in all {
        let m = &b.1;
        groups
            .entry((m.engine.clone(), m.database.clone(), m.environment.clone()))
            .or_default()
            .push(b);
    }
    let mut out = Vec::new();
    for group in groups.values() {
        let newest_verified = group.iter().position(|(_, m)| m.verified().is_some());
        for (i, b) in group.iter().enumerate() {
            let created: Option<jiff::Timestamp> = b.1.created_at.parse().ok();
            let reason = if Some(i) == newest_verified {
                Ok("the newest verified backup".to_string())
            } else if i < keep {
                Ok(format!("one of the newest {keep}"))
            } else if created.is_none_or(|c| c >= cutoff) {
                Ok(format!("younger than {days} days"))
            } else {
                Err(format!(
                    "older than {days} days and not among the newest {keep}"
                ))
            };
            out.push((*b, reason));
        }
    }
    out
}
