//! Seeds: repeatable, idempotent scripts in the environment's `seeds` folder, run in name
//! order and again only when their checksum changes; `cutover_seeds` remembers which
//! version of each ran.

use std::path::{Path, PathBuf};

use crate::engine::{Engine, Param};
use crate::error::Error;
use crate::sql::{Dialect, Statement};

pub use crate::tables::SEEDS_TABLE;

/// What a seed run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    pub ran: Vec<String>,
    pub unchanged: Vec<String>,
    /// Limited to other environments.
    pub skipped: Vec<String>,
}

/// One seed script, read and split.
#[derive(Debug, Clone)]
pub struct SeedFile {
    pub path: PathBuf,
    pub name: String,
    pub checksum: String,
    /// `-- cutover:env a,b`: only these environments.
    pub envs: Option<Vec<String>>,
    pub statements: Vec<Statement>,
}

/// Read and split every `.sql` file of `dir`, in name order: a broken seed stops the run
/// before anything changes.
pub fn read(dir: &Path, dialect: Dialect) -> Result<Vec<SeedFile>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let directives = crate::migrations::Directives::parse(&path, &text, 0)?;
            let statements = crate::sql::split(&text, dialect).map_err(|err| Error::Split {
                path: path.clone(),
                line: err.line,
                message: err.message.clone(),
            })?;
            Ok(SeedFile {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                checksum: crate::migrations::checksum(&text),
                envs: directives.envs,
                statements,
                path,
            })
        })
        .collect()
}

/// A seed run that stopped, and whether it left anything behind: seeds that ran before the
/// failing one were committed, and on an engine whose DDL commits implicitly the failing
/// seed may have kept its statements before the one that failed. When nothing was kept
/// there is nothing to undo.
#[derive(Debug)]
pub struct SeedFailed {
    pub error: Error,
    pub kept: bool,
}

impl From<Error> for SeedFailed {
    fn from(error: Error) -> Self {
        SeedFailed { error, kept: false }
    }
}

/// Run the seeds that belong to `env` and changed since they last ran, each in its own
/// transaction, or all inside the caller's (`in_transaction`).
pub fn run(
    e: &mut dyn Engine,
    seeds: &[SeedFile],
    env: Option<&str>,
    in_transaction: bool,
) -> Result<Seeded, SeedFailed> {
    e.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {SEEDS_TABLE} (name VARCHAR(255) NOT NULL PRIMARY KEY, \
         checksum VARCHAR(64) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
    ))
    .map_err(Error::db("cannot create the seeds table"))?;
    let known: std::collections::HashMap<String, String> = e
        .query(&format!("SELECT name, checksum FROM {SEEDS_TABLE}"))
        .map_err(Error::db("cannot read the seeds table"))?
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut done = Seeded {
        ran: Vec::new(),
        unchanged: Vec::new(),
        skipped: Vec::new(),
    };
    for seed in seeds {
        let name = seed.name.clone();
        if let Some(envs) = &seed.envs
            && !env.is_some_and(|e| envs.iter().any(|x| x == e))
        {
            done.skipped.push(name);
            continue;
        }
        if known.get(&name) == Some(&seed.checksum) {
            done.unchanged.push(name);
            continue;
        }
        let kept = !done.ran.is_empty();
        if !in_transaction {
            e.begin().map_err(|err| SeedFailed {
                error: Error::db("cannot start the seed's transaction")(err),
                kept,
            })?;
        }
        let result = apply(e, &seed.path, &name, &seed.checksum, &seed.statements);
        match result {
            Ok(()) if in_transaction => done.ran.push(name),
            Ok(()) => {
                e.commit().map_err(|err| SeedFailed {
                    error: Error::db("cannot commit the seed")(err),
                    kept,
                })?;
                done.ran.push(name);
            }
            Err((at, error)) => {
                if !in_transaction {
                    let _ = e.rollback();
                }
                let partial = at > 0
                    && !e.capabilities().transactional_ddl
                    && seed
                        .statements
                        .iter()
                        .take(at + 1)
                        .any(|st| e.commits_implicitly(&st.sql));
                return Err(SeedFailed {
                    error,
                    kept: kept || partial,
                });
            }
        }
    }
    Ok(done)
}

/// One seed's statements, then its checksum in the seeds table. A failure says at which
/// statement (the number of statements: at the record).
fn apply(
    e: &mut dyn Engine,
    path: &Path,
    name: &str,
    sum: &str,
    statements: &[crate::sql::Statement],
) -> Result<(), (usize, Error)> {
    for (i, st) in statements.iter().enumerate() {
        e.execute(&st.sql).map_err(|err| {
            (
                i,
                Error::Seed {
                    file: path.to_path_buf(),
                    line: st.line,
                    message: err.message,
                },
            )
        })?;
    }
    e.execute_bound(
        &format!("DELETE FROM {SEEDS_TABLE} WHERE name = ?"),
        &[Param::text(name)],
    )
    .and_then(|_| {
        e.execute_bound(
            &format!("INSERT INTO {SEEDS_TABLE} (name, checksum, applied_at) VALUES (?, ?, ?)"),
            &[
                Param::text(name),
                Param::text(sum),
                Param::text(jiff::Timestamp::now().to_string()),
            ],
        )
    })
    .map(|_| ())
    .map_err(|err| (statements.len(), Error::db("cannot record the seed")(err)))
}
