//! Scratch databases, and the other temporary things cutover makes beside real data: an
//! empty database of the target's engine that exists only while cutover needs it (to apply
//! the migrations for a schema diff, or to restore a backup into for verification), and
//! the hidden files a backup or restore writes before it is complete. SQLite scratches get
//! a temporary folder; PostgreSQL and MariaDB get a database on the target's server,
//! created through the target's own connection and dropped when the `Scratch` is dropped.
//!
//! A scratch may hold a full copy of production data, so none may outlive its process:
//! a `Scratch` holds an `interrupt::Guard` (SIGINT and SIGTERM stop the work and the
//! scratch is dropped on the way out), and every name says who made it —
//! `cutover_scratch_<pid>_<host>_<random>`, `.cutover-partial-<pid>_<host>_<random>` —
//! so whatever a SIGKILL leaves is swept by the next command that makes one, which says so.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::{self, ConnectOptions, Engine};
use crate::error::Error;
use crate::events::{Event, Observer};
use crate::interrupt;
use crate::sql::Dialect;
use crate::target::DatabaseUrl;

/// The prefix of every scratch database's (and SQLite scratch folder's) name.
pub const PREFIX: &str = "cutover_scratch_";

/// An empty database, dropped with this value.
pub struct Scratch {
    url: DatabaseUrl,
    /// Where the scratch was created from (server engines), to drop it again.
    server: Option<(DatabaseUrl, String)>,
    _dir: Option<tempfile::TempDir>,
    _guard: interrupt::Guard,
}

impl Scratch {
    /// Create an empty database beside `like` (same engine, server and credentials), after
    /// sweeping the scratches that processes now gone left there (reported to `observer`).
    pub fn create(like: &DatabaseUrl, observer: &mut dyn Observer) -> Result<Scratch, Error> {
        let guard = interrupt::Guard::new();
        let name = format!("{PREFIX}{}_{}", owner(), random());
        if crate::driver::of(like.kind()).scratch == crate::driver::ScratchPlace::TempFile {
            let temp = std::env::temp_dir();
            sweep_files(&temp, &[PREFIX], "scratch folder", observer);
            let dir = tempfile::Builder::new()
                .prefix(&format!("{name}_"))
                .tempdir()
                .map_err(|source| Error::Io { path: temp, source })?;
            let url = DatabaseUrl::parse(&format!(
                "sqlite://{}",
                dir.path().join("scratch.db").display()
            ))?;
            return Ok(Scratch {
                url,
                server: None,
                _dir: Some(dir),
                _guard: guard,
            });
        }
        let mut admin = admin(like)?;
        sweep_databases(admin.as_mut(), observer);
        admin.create_database(&name).map_err(Error::db(format!(
            "cannot create the scratch database {name} (the user needs the right to create databases)"
        )))?;
        Ok(Scratch {
            url: like.with_database(&name)?,
            server: Some((like.clone(), name)),
            _dir: None,
            _guard: guard,
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

fn admin(like: &DatabaseUrl) -> Result<Box<dyn Engine>, Error> {
    engine::connect(like, &ConnectOptions::default()).map_err(|source| Error::Connect {
        url: like.to_string(),
        source,
    })
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((like, name)) = &self.server else {
            return;
        };
        // Nothing to report to: one left behind is swept by the next command.
        if let Ok(mut e) = admin(like) {
            let _ = e.drop_database(name);
        }
    }
}

/// Who this process is, for names: `<pid>_<host>`, the host being 8 hex digits of the
/// SHA-256 of its name (short enough for a 63-character database name, and no host name
/// in a database listing).
pub fn owner() -> String {
    format!("{}_{}", std::process::id(), host())
}

fn host() -> String {
    let name = whoami::hostname().unwrap_or_default();
    Sha256::digest(name.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Whether `name` (after its prefix) was made by a process of this host that is gone. A
/// name from another host, or without an owner (older cutover), is never judged stale:
/// its owner may be alive.
pub fn stale(after_prefix: &str) -> bool {
    let mut parts = after_prefix.splitn(3, '_');
    let (Some(pid), Some(host_tag)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    host_tag == host() && pid != std::process::id() as i32 && !alive(pid)
}

fn alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    // EPERM: a process of another user holds the number, so it is alive.
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Drop the scratch databases on this server whose owner is gone.
fn sweep_databases(admin: &mut dyn Engine, observer: &mut dyn Observer) {
    // The catalogs differ; the escape keeps `_` literal in both.
    let sql = match admin.dialect() {
        Dialect::Postgres => {
            "SELECT datname FROM pg_database WHERE datname LIKE 'cutover!_scratch!_%' ESCAPE '!'"
        }
        _ => {
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME LIKE 'cutover!_scratch!_%' ESCAPE '!'"
        }
    };
    let Ok(rows) = admin.query(sql) else {
        return;
    };
    let names = rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten());
    let mut dropped = Vec::new();
    for name in names.filter(|n| stale(&n[PREFIX.len()..])) {
        match admin.drop_database(&name) {
            Ok(()) => dropped.push(name),
            Err(e) => observer.event(&Event::Warning(format!(
                "cannot drop the scratch database {name} that a cutover process now gone left behind: {e}"
            ))),
        }
    }
    if !dropped.is_empty() {
        observer.event(&Event::Warning(format!(
            "dropped {} scratch database(s) left behind by cutover processes that are gone: {}",
            dropped.len(),
            dropped.join(", ")
        )));
    }
}

/// Remove the entries of `dir` named `<prefix><owner>_…` (for any of `prefixes`) whose
/// owner is gone; `what` names them in the warning.
pub fn sweep_files(dir: &Path, prefixes: &[&str], what: &str, observer: &mut dyn Observer) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut removed: Vec<PathBuf> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = prefixes.iter().find_map(|p| name.strip_prefix(p)) else {
            continue;
        };
        if !stale(rest) {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
        observer.event(&Event::Warning(format!(
            "removed {} {what}(s) left behind by cutover processes that are gone: {}",
            removed.len(),
            names.join(", ")
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_owner_on_this_host_is_stale() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let me = owner();
        assert!(stale(&format!("{gone}_{}_abcd1234", host())));
        assert!(!stale(&format!("{me}_abcd1234")), "this process is alive");
        assert!(!stale("1_deadbeef_abcd1234"), "another host, or init");
        assert!(!stale(&format!("{gone}_00000000_abcd1234")), "another host");
        assert!(!stale("0123456789ab"), "an old name without owner");
        assert!(!stale(""));
    }
}
