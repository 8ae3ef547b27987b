//! Off-site copies (`[…backup] copies = [...]`): every new backup and then its manifest go
//! to each destination (another folder, or S3-compatible object storage), and each copy is
//! verified by reading it back and hashing it against the manifest. A failed copy fails
//! the backup when the policy requires copies (`copies_required`), and is reported either
//! way. The same retention applies at each destination, `backup list --copies` shows where
//! each backup lives, and a restore whose file is gone here fetches it (and its manifest)
//! from the first destination that holds it, checked before it is used.

mod folder;
mod s3;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::{self, Manifest};
use super::stream::{Digested, Hasher, differences};
use crate::config::{BackupPolicy, Destination};
use crate::error::Error;
use crate::events::{Event, Observer};

/// One destination's few operations, by file name.
pub(crate) trait Store {
    /// Copy the local file under `name`, reporting the bytes sent so far to `progress`;
    /// nothing appears under `name` unless it completes.
    fn put(&self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<(), String>;
    /// Stream the object `name` into `out`.
    fn read_into(&self, name: &str, out: &mut dyn Write) -> Result<(), String>;
    /// The names directly in the destination (hidden ones left out).
    fn names(&self) -> Result<Vec<String>, String>;
    fn delete(&self, name: &str) -> Result<(), String>;
}

fn open(d: &Destination) -> Result<Box<dyn Store>, String> {
    Ok(match d {
        Destination::Folder(p) => Box::new(folder::Folder(p.clone())),
        Destination::S3 { bucket, prefix } => Box::new(s3::S3::new(bucket, prefix)?),
    })
}

/// One copy of a backup, made or not.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    pub destination: String,
    pub ok: bool,
    /// What was checked, or why it failed.
    pub detail: String,
}

/// Send `file` and its manifest `m` to every destination of the policy, with progress.
pub fn send(
    policy: &BackupPolicy,
    file: &Path,
    m: &Manifest,
    observer: &mut dyn Observer,
) -> Vec<Copied> {
    policy
        .copies
        .iter()
        .map(|d| {
            let what = format!("copy to {d}");
            let sent = {
                let mut progress = super::transfer(observer, &what);
                open(d).and_then(|store| send_one(store.as_ref(), file, m, &mut progress))
            };
            observer.event(&Event::TransferDone);
            Copied {
                destination: d.to_string(),
                ok: sent.is_ok(),
                detail: sent.unwrap_or_else(|e| e),
            }
        })
        .collect()
}

/// The copies that failed, as an error when the policy requires them.
pub fn required(policy: &BackupPolicy, file: &Path, copies: &[Copied]) -> Result<(), Error> {
    let failed: Vec<String> = copies
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.destination, c.detail))
        .collect();
    if failed.is_empty() || !policy.copies_required {
        return Ok(());
    }
    Err(Error::Backup(format!(
        "{} was written and verified here, but its off-site copy failed ({}); the policy requires copies (copies_required)",
        file.display(),
        failed.join("; ")
    )))
}

fn name_of(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn send_one(
    store: &dyn Store,
    file: &Path,
    m: &Manifest,
    progress: &mut dyn FnMut(u64),
) -> Result<String, String> {
    let name = name_of(file);
    store.put(file, &name, progress)?;
    let expect = Digested {
        size: m.size,
        sha256: m.sha256.clone(),
    };
    let got = digest_at(store, &name)?;
    let bad = differences(&got, &expect);
    if !bad.is_empty() {
        return Err(format!("the copy read back differs: {}", bad.join("; ")));
    }
    // The manifest last: a destination never lists a backup whose file is not complete.
    store.put(
        &manifest::path_for(file),
        &format!("{name}.json"),
        &mut |_| {},
    )?;
    Ok(format!(
        "read back: size {} and sha256 {} match",
        got.size, got.sha256
    ))
}

fn digest_at(store: &dyn Store, name: &str) -> Result<Digested, String> {
    let mut hasher = Hasher::default();
    store.read_into(name, &mut hasher)?;
    Ok(hasher.digested())
}

/// The backups at one destination (those with their manifest beside them), or why they
/// could not be listed.
#[derive(Debug, Clone, Serialize)]
pub struct AtDestination {
    pub destination: String,
    pub backups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where each backup lives: the backups at every destination.
pub fn at_destinations(policy: &BackupPolicy) -> Vec<AtDestination> {
    policy
        .copies
        .iter()
        .map(|d| {
            let listed = open(d).and_then(|s| backups_in(s.as_ref()));
            AtDestination {
                destination: d.to_string(),
                error: listed.as_ref().err().cloned(),
                backups: listed.unwrap_or_default(),
            }
        })
        .collect()
}

/// Names that have their manifest beside them, sorted newest last (names sort by time).
fn backups_in(store: &dyn Store) -> Result<Vec<String>, String> {
    let names = store.names()?;
    let mut found: Vec<String> = names
        .iter()
        .filter(|n| !n.ends_with(".json") && names.contains(&format!("{n}.json")))
        .cloned()
        .collect();
    found.sort();
    Ok(found)
}

fn read_manifest(store: &dyn Store, name: &str) -> Result<Manifest, String> {
    let mut bytes = Vec::new();
    store.read_into(&format!("{name}.json"), &mut bytes)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name}.json: not a cutover manifest: {e}"))
}

/// When `file` is not here, bring it and its manifest back from the first destination
/// that holds both, hashed on the way and refused unless it matches its manifest. The
/// destination it came from, if it was fetched.
pub fn fetch_missing(policy: &BackupPolicy, file: &Path) -> Result<Option<String>, Error> {
    if file.exists() || policy.copies.is_empty() {
        return Ok(None);
    }
    let name = name_of(file);
    let mut tried = Vec::new();
    for d in &policy.copies {
        match open(d).and_then(|s| fetch_one(s.as_ref(), &name, file)) {
            Ok(()) => return Ok(Some(d.to_string())),
            Err(e) => tried.push(format!("{d}: {e}")),
        }
    }
    Err(Error::Usage(format!(
        "{} does not exist, and no off-site copy could be fetched ({})",
        file.display(),
        tried.join("; ")
    )))
}

fn fetch_one(store: &dyn Store, name: &str, file: &Path) -> Result<(), String> {
    let m = read_manifest(store, name)?;
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let partial = tempfile::Builder::new()
        .prefix(&format!(".cutover-partial-{}_", crate::scratch::owner()))
        .tempfile_in(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tee = Tee {
        file: partial.as_file(),
        hasher: Hasher::default(),
    };
    store.read_into(name, &mut tee)?;
    let got = tee.hasher.digested();
    let bad = differences(
        &got,
        &Digested {
            size: m.size,
            sha256: m.sha256.clone(),
        },
    );
    if !bad.is_empty() {
        return Err(format!(
            "the copy differs from its manifest: {}",
            bad.join("; ")
        ));
    }
    partial
        .persist_noclobber(file)
        .map_err(|e| format!("{}: {}", file.display(), e.error))?;
    manifest::write(file, &m).map_err(|e| e.to_string())
}

/// Writes to a file and hashes what it wrote.
struct Tee<'a> {
    file: &'a std::fs::File,
    hasher: Hasher,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.write_all(&buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// What prune did at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedCopies {
    pub destination: String,
    pub deleted: Vec<String>,
    pub kept: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Apply the retention at every destination, judged on the manifests kept there.
pub fn prune(policy: &BackupPolicy, days: u32, keep: usize, dry_run: bool) -> Vec<PrunedCopies> {
    policy
        .copies
        .iter()
        .map(|d| {
            let mut done = PrunedCopies {
                destination: d.to_string(),
                deleted: Vec::new(),
                kept: 0,
                error: None,
            };
            if let Err(e) =
                open(d).and_then(|s| prune_one(s.as_ref(), days, keep, dry_run, &mut done))
            {
                done.error = Some(e);
            }
            done
        })
        .collect()
}

fn prune_one(
    store: &dyn Store,
    days: u32,
    keep: usize,
    dry_run: bool,
    done: &mut PrunedCopies,
) -> Result<(), String> {
    let mut all = Vec::new();
    for name in backups_in(store)? {
        // One whose manifest cannot be read cannot be judged: it stays.
        match read_manifest(store, &name) {
            Ok(m) => all.push((PathBuf::from(name), m)),
            Err(_) => done.kept += 1,
        }
    }
    all.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(b.0.cmp(&a.0)));
    for ((file, _), reason) in super::prune::judge(&all, days, keep) {
        let name = file.to_string_lossy().into_owned();
        if reason.is_ok() {
            done.kept += 1;
            continue;
        }
        if !dry_run {
            store.delete(&name)?;
            store.delete(&format!("{name}.json"))?;
        }
        done.deleted.push(name);
    }
    Ok(())
}
