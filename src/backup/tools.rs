//! The native tools a backup runs (pg_dump, pg_restore, psql; mariadb-dump or mysqldump,
//! mariadb or mysql): finding them, checking that they are not older than the server, and
//! running them with the password passed out of sight (an environment variable or an
//! option file that lives only in memory, never the command line, which other users can
//! read, and never a file on disk, which a killed run would leave behind).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::Error;
use crate::target::DatabaseUrl;

/// A tool found on disk, with its version.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    /// `15.20`, `10.11.14`.
    pub version: String,
}

impl Tool {
    /// `pg_dump 15.20`, for manifests and messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

fn missing(what: String, package: &str) -> Error {
    Error::Prerequisite {
        message: what,
        hint: format!(
            "install the {package} package, or set `tools` in the environment's [backup] to the folder that holds it"
        ),
    }
}

/// The first of `names` found in `dir` (when given) or on PATH.
pub fn find(names: &[&str], dir: Option<&Path>, package: &str) -> Result<Tool, Error> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = dir.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(std::env::split_paths(&path_var));
    for name in names {
        if let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)) {
            let version = version_of(&path)?;
            return Ok(Tool {
                name: name.to_string(),
                path,
                version,
            });
        }
    }
    let tried = names.join(" or ");
    Err(missing(
        format!(
            "{tried} not found on PATH{}",
            dir.map(|d| format!(" or in {}", d.display()))
                .unwrap_or_default()
        ),
        package,
    ))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The version a tool prints for `--version`.
fn version_of(path: &Path) -> Result<String, Error> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version(&text).ok_or_else(|| Error::Prerequisite {
        message: format!(
            "{} --version printed no version: {}",
            path.display(),
            text.trim()
        ),
        hint: "check that this is the tool it is named after".into(),
    })
}

/// `pg_dump (PostgreSQL) 15.20 (Debian …)` → 15.20; `mariadb-dump  Ver 10.19 Distrib
/// 10.11.14-MariaDB, …` → 10.11.14 (the server release, not the tool's own number);
/// `mariadb-dump from 11.4.2-MariaDB, client 10.19 …` → 11.4.2.
pub fn parse_version(text: &str) -> Option<String> {
    let after = |marker: &str| text.find(marker).map(|i| &text[i + marker.len()..]);
    let rest = after("Distrib ")
        .or_else(|| after(" from "))
        .or_else(|| after(")"))
        .unwrap_or(text);
    rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('.'))
        .or_else(|| {
            rest.split(|c: char| !c.is_ascii_digit())
                .find(|t| !t.is_empty())
        })
        .map(|v| v.trim_end_matches('.').to_string())
}

/// The leading numbers of a version, for comparing.
pub fn numbers(v: &str, parts: usize) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .take(parts)
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Refuse a client older than the server (comparing `parts` leading numbers).
pub fn not_older(tool: &Tool, server: &str, parts: usize, package: &str) -> Result<(), Error> {
    if numbers(&tool.version, parts) < numbers(server, parts) {
        return Err(missing(
            format!(
                "{} is older than the server ({server}) and may not dump or restore all of it",
                tool.describe()
            ),
            package,
        ));
    }
    Ok(())
}

/// Text handed to a child process as a file that exists only in memory: a Linux memfd,
/// named `/dev/fd/N` on the child's command line. Nothing reaches a disk, and the file is
/// gone when the last process holding it ends, so a killed cutover leaves no password
/// behind (a temporary file would stay, and a pipe can be read only once).
pub struct MemFile {
    fd: std::os::fd::OwnedFd,
}

impl MemFile {
    pub fn new(name: &str, text: &str) -> std::io::Result<MemFile> {
        use rustix::fs::{MemfdFlags, Mode};
        // Close-on-exec: only the child that is handed it (`pass_to`) inherits it.
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC)?;
        // A memfd starts world-writable, and MariaDB ignores such option files.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))?;
        let mut file = std::fs::File::from(fd);
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        Ok(MemFile { fd: file.into() })
    }

    /// The name the child opens it by.
    pub fn path(&self) -> String {
        use std::os::fd::AsRawFd;
        format!("/dev/fd/{}", self.fd.as_raw_fd())
    }

    /// Let `cmd`'s process inherit the file (under the same number).
    pub fn pass_to(&self, cmd: &mut Command) {
        use std::os::fd::{AsRawFd, BorrowedFd};
        use std::os::unix::process::CommandExt;
        let raw = self.fd.as_raw_fd();
        // SAFETY: runs in the child between fork and exec, where `raw` is still open (this
        // value outlives the spawn); fcntl is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                rustix::io::fcntl_setfd(BorrowedFd::borrow_raw(raw), rustix::io::FdFlags::empty())
                    .map_err(std::io::Error::from)
            });
        }
    }
}

/// Start `cmd` with piped stdout/stdin as asked, stderr collected, and tied to this
/// process: if cutover is killed, the tool is killed too (Linux `PR_SET_PDEATHSIG`), so a
/// killed restore cannot finish on its own half-fed.
pub fn spawn(cmd: &mut Command, stdin: bool, stdout: bool) -> Result<Child, Error> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(if stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    // SAFETY: the closure only calls prctl, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
    let program = PathBuf::from(cmd.get_program());
    cmd.spawn().map_err(|source| Error::Io {
        path: program,
        source,
    })
}

/// Wait for a tool (kill it first when SIGINT/SIGTERM asked the work to stop); a non-zero
/// exit is an error carrying what it wrote to stderr, with the password scrubbed.
pub fn finish(mut child: Child, what: &str, url: &DatabaseUrl) -> Result<(), Error> {
    if crate::interrupt::requested() {
        // Asked to stop: do not wait for the tool to finish the statement it is on (an
        // index build can take minutes); a killed session's transaction is rolled back.
        let _ = child.kill();
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|source| Error::Io {
        path: PathBuf::from(what),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Backup(format!(
        "{what} failed ({status}): {}",
        url.scrub(err.trim())
            .lines()
            .take(8)
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

/// Run a tool to completion and return what it wrote to stdout (a schema dump: text of
/// modest size); a non-zero exit is an error as in [`finish`].
pub fn output(cmd: &mut Command, what: &str, url: &DatabaseUrl) -> Result<String, Error> {
    let mut child = spawn(cmd, false, true)?;
    let mut text = String::new();
    // stderr is read after stdout: the tools write little there, well under a pipe's size.
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut text).map_err(|source| Error::Io {
            path: PathBuf::from(what),
            source,
        })?;
    }
    finish(child, what, url)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_the_tools_print_them() {
        assert_eq!(
            parse_version("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n").as_deref(),
            Some("15.20")
        );
        assert_eq!(
            parse_version(
                "mariadb-dump  Ver 10.19 Distrib 10.11.14-MariaDB, for debian-linux-gnu (x86_64)"
            )
            .as_deref(),
            Some("10.11.14")
        );
        assert_eq!(
            parse_version("mariadb-dump from 11.4.2-MariaDB, client 10.19 for Linux (x86_64)")
                .as_deref(),
            Some("11.4.2")
        );
        assert_eq!(
            parse_version("mysqldump  Ver 8.0.36 for Linux on x86_64").as_deref(),
            Some("8.0.36")
        );
        assert_eq!(
            parse_version("psql (PostgreSQL) 16beta1").as_deref(),
            Some("16")
        );
        assert!(numbers("15.20", 1) < numbers("16.1", 1));
        assert!(numbers("10.11.14", 2) >= numbers("10.11.19-MariaDB", 2));
    }
}
