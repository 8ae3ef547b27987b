//! The library's error type. Each variant carries the context its layer owns (file, line,
//! migration, setting); the CLI maps variants to exit codes and hints in one place.

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::DbError;
use crate::history::Direction;

/// Anything that stops a cutover command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),

    #[error(transparent)]
    Url(#[from] crate::target::UrlError),

    #[error(transparent)]
    Migrations(#[from] crate::migrations::Error),

    /// A script that cannot be split into statements (unterminated quote, …).
    #[error("{}:{line}: {message}", path.display())]
    Split {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// The database could not be reached or refused the login.
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: DbError },

    /// A database error outside any migration script (history table, lock, …).
    #[error("{context}: {source}")]
    Database { context: String, source: DbError },

    /// A migration script failed; see `MigrationFailure`.
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),

    /// cutover will not proceed because it would be unsafe; `hint` says how to go on.
    #[error("{message}")]
    Refused { message: String, hint: String },

    /// Another tool's history is in the target and cutover has none: its migrations have
    /// run already, and `cutover adopt` takes that history over.
    #[error("the target's migrations were run by {tool}: {table} holds {entries} entr{} and cutover has no history here, so running them again would fail on what they created", if *entries == 1 { "y" } else { "ies" })]
    Adoptable {
        tool: String,
        table: String,
        entries: usize,
    },

    /// Another run held the lock for longer than the lock timeout.
    #[error("gave up waiting for the {lock_kind} after {}s: held by {}", waited.as_secs(), holder.as_deref().unwrap_or("another session (its details are not visible)"))]
    LockTimeout {
        lock_kind: &'static str,
        waited: Duration,
        holder: Option<String>,
    },

    /// Something a command needs is missing: a dump tool, a recent enough one, disk space.
    #[error("{message}")]
    Prerequisite { message: String, hint: String },

    /// A seed script failed (the seeds before it stay applied, each in its own transaction).
    #[error("seed {}:{line}: {message}", file.display())]
    Seed {
        file: PathBuf,
        line: usize,
        message: String,
    },

    /// SIGINT or SIGTERM stopped the command between two migrations.
    #[error("interrupted (SIGINT/SIGTERM) after {} migration(s); not started: {}", completed.len(), remaining.join(", "))]
    Interrupted {
        completed: Vec<String>,
        remaining: Vec<String>,
    },

    /// A backup, verification or restore failed.
    #[error("{0}")]
    Backup(String),

    /// An argument that names something that does not exist (an unknown version, …).
    #[error("{0}")]
    Usage(String),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> Error {
        let context = context.into();
        move |source| Error::Database { context, source }
    }

    /// Refuse to work on a database a restore left half-done (MariaDB/MySQL, whose
    /// restore cannot be one transaction).
    pub(crate) fn refuse_interrupted(e: &mut dyn crate::engine::Engine) -> Result<(), Error> {
        let found = e
            .interrupted_restore()
            .map_err(Error::db("cannot look for an unfinished restore"))?;
        match found {
            None => Ok(()),
            Some(what) => Err(Error::Refused {
                message: format!("{what} and did not finish: the database holds only part of it"),
                hint: "run `cutover backup restore FILE --yes` again with that file, or restore another backup".into(),
            }),
        }
    }

    /// What the operator should do next, when cutover knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Refused { hint, .. } | Error::Prerequisite { hint, .. } => Some(hint.clone()),
            Error::MigrationFailed(f) => Some(f.hint()),
            Error::Adoptable { tool, .. } => Some(format!(
                "`cutover adopt --dry-run` shows how {tool}'s entries map to the migration files; \
                 `cutover adopt` records them as applied without running them"
            )),
            Error::LockTimeout { .. } => Some(
                "wait for the other run to finish, or raise --run-lock-timeout; if its process is gone, \
                 the lock is released when its connection closes"
                    .into(),
            ),
            Error::Connect { source, .. } if source.is_unknown_database() => Some(
                "the server is up but has no such database: create it, or set `create_database = true` \
                 in the environment and cutover creates it when a command changes the target"
                    .into(),
            ),
            Error::Connect { .. } => Some(
                "check that the server is running and that the URL, user and password are right".into(),
            ),
            _ => None,
        }
    }
}

/// Where and how a migration script failed.
#[derive(Debug)]
pub struct MigrationFailure {
    pub id: String,
    pub name: String,
    pub direction: Direction,
    pub file: PathBuf,
    /// Line in `file` of the failing statement (of the error itself when the server says).
    pub line: usize,
    /// 1-based index of the failing statement, and how many the script has.
    pub statement: usize,
    pub statements: usize,
    pub source: DbError,
    /// How many statements of the script are known to be applied (the history's failed row
    /// names statement `kept + 1`).
    pub kept: usize,
    /// Whether the history now holds a failed row for it (statements before it stayed
    /// applied); false when the failure left nothing behind.
    pub recorded: bool,
    /// Migrations this run completed before the failure.
    pub completed: Vec<String>,
}

impl MigrationFailure {
    fn hint(&self) -> String {
        if self.recorded && self.kept == 0 {
            return format!(
                "the failed statement left a change behind (see above); repair it by hand, then \
                 record the outcome with `cutover resolve --rolled-back {id}`",
                id = self.id
            );
        }
        if self.recorded {
            let back = match self.direction {
                Direction::Up => "--rolled-back",
                Direction::Down => "--applied",
            };
            format!(
                "statements 1..{} of this script are applied and could not be rolled back; repair \
                 the database by hand, then record the outcome with `cutover resolve --applied {id}` \
                 (finished by hand) or `cutover resolve {back} {id}` (undone by hand)",
                self.kept,
                id = self.id,
            )
        } else {
            "nothing of this migration was kept: fix the script and run the command again".into()
        }
    }
}

impl std::fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.direction {
            Direction::Up => "migration",
            Direction::Down => "rollback of",
        };
        write!(
            f,
            "{what} {} ({}) failed at {}:{} (statement {} of {}): {}",
            self.id,
            self.name,
            self.file.display(),
            self.line,
            self.statement,
            self.statements,
            self.source.message
        )?;
        if let Some(detail) = &self.source.detail {
            write!(f, "\n{detail}")?;
        }
        Ok(())
    }
}
