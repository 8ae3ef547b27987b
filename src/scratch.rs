//! Scratch databases: an empty database of the target's engine that exists only while
//! cutover needs it — to apply the migrations for a schema diff, or to restore a backup
//! into for verification. SQLite gets a temporary file; PostgreSQL and MariaDB get a
//! database on the target's server, created through the target's own connection and
//! dropped when the `Scratch` is dropped.
//!
//! Names start with `cutover_scratch_`, so one left behind by a killed process is easy to
//! recognise and drop by hand.

use crate::engine::{self, ConnectOptions, Engine};
use crate::error::Error;
use crate::target::{DatabaseUrl, EngineKind};

/// The prefix of every scratch database's name.
pub const PREFIX: &str = "cutover_scratch_";

/// An empty database, dropped with this value.
pub struct Scratch {
    url: DatabaseUrl,
    /// Where the scratch was created from (server engines), to drop it again.
    server: Option<(DatabaseUrl, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// Create an empty database beside `like` (same engine, server and credentials).
    pub fn create(like: &DatabaseUrl) -> Result<Scratch, Error> {
        if like.kind() == EngineKind::Sqlite {
            let dir = tempfile::Builder::new()
                .prefix(PREFIX)
                .tempdir()
                .map_err(|source| Error::Io {
                    path: std::env::temp_dir(),
                    source,
                })?;
            let url = DatabaseUrl::parse(&format!(
                "sqlite://{}",
                dir.path().join("scratch.db").display()
            ))?;
            return Ok(Scratch {
                url,
                server: None,
                _dir: Some(dir),
            });
        }
        let name = format!(
            "{PREFIX}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        admin(like)?
            .create_database(&name)
            .map_err(Error::db(format!(
                "cannot create the scratch database {name} (the user needs the right to create databases)"
            )))?;
        Ok(Scratch {
            url: like.with_database(&name)?,
            server: Some((like.clone(), name)),
            _dir: None,
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
        // Nothing to report to: a scratch left behind is named for what it is.
        if let Ok(mut e) = admin(like) {
            let _ = e.drop_database(name);
        }
    }
}
