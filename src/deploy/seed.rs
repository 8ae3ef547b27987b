//! Seeds: repeatable, idempotent scripts in the environment's `seeds` folder, run in name
//! order and again only when their checksum changes; `cutover_seeds` remembers which
//! version of each ran.

use std::path::Path;

use crate::engine::Engine;
use crate::error::Error;

pub const SEEDS_TABLE: &str = "cutover_seeds";

/// What a seed run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    pub ran: Vec<String>,
    pub unchanged: Vec<String>,
    /// Limited to other environments.
    pub skipped: Vec<String>,
}

/// Run the seeds of `dir` that belong to `env` (a `-- cutover:env a,b` header limits one).
pub fn run(e: &mut dyn Engine, dir: &Path, env: Option<&str>) -> Result<Seeded, Error> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
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
    let dialect = e.dialect();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let directives = crate::migrations::Directives::parse(&path, &text, 0)?;
        if let Some(envs) = &directives.envs
            && !env.is_some_and(|e| envs.iter().any(|x| x == e))
        {
            done.skipped.push(name);
            continue;
        }
        let sum = crate::migrations::checksum(&text);
        if known.get(&name) == Some(&sum) {
            done.unchanged.push(name);
            continue;
        }
        let statements = crate::sql::split(&text, dialect).map_err(|err| Error::Split {
            path: path.clone(),
            line: err.line,
            message: err.message.clone(),
        })?;
        let _ = e.begin();
        let result = (|| -> Result<(), Error> {
            for st in &statements {
                e.execute(&st.sql).map_err(|err| {
                    Error::Usage(format!(
                        "seed {}:{}: {}",
                        path.display(),
                        st.line,
                        err.message
                    ))
                })?;
            }
            let q = |s: &str| s.replace('\'', "''");
            e.execute(&format!("DELETE FROM {SEEDS_TABLE} WHERE name = '{}'", q(&name)))
                .and_then(|_| {
                    e.execute(&format!(
                        "INSERT INTO {SEEDS_TABLE} (name, checksum, applied_at) VALUES ('{}', '{sum}', '{}')",
                        q(&name),
                        jiff::Timestamp::now()
                    ))
                })
                .map_err(Error::db("cannot record the seed"))
        })();
        match result {
            Ok(()) => {
                e.commit().map_err(Error::db("cannot commit the seed"))?;
                done.ran.push(name);
            }
            Err(err) => {
                let _ = e.rollback();
                return Err(err);
            }
        }
    }
    Ok(done)
}
