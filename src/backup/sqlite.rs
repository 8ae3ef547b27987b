//! SQLite backups: the online backup API copies a consistent snapshot of the file (other
//! connections may keep writing), the copy is read for row counts and the schema, and is
//! compressed into the backup. A restore onto the target is decompressed beside it first
//! (and refused if the bytes read are not the ones checked), then goes back through the
//! backup API, which writes the destination in one transaction: an interrupted restore
//! rolls back to the database as it was. Both copies go step by step, so SIGINT/SIGTERM
//! stops them (`interrupt`); the staged files carry their owner's name (`scratch`).

use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::encryption::Seal;
use super::native::{Dumped, Inside, Into, Native, Progress, changed, counter, io_err, pump};
use super::stream::{self, Source};
use crate::engine::{self, ConnectOptions, Engine};
use crate::error::Error;
use crate::interrupt;
use crate::target::DatabaseUrl;

pub struct Sqlite;

fn file_of(url: &DatabaseUrl) -> PathBuf {
    let text = url.sqlite_path().unwrap_or_default();
    PathBuf::from(text.split('?').next().unwrap_or(text))
}

fn sqlite_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::Backup(format!("{}: {e}", path.display()))
}

/// A hidden temporary file in `dir` (the same file system, so nothing crosses devices),
/// named for this process so that one a kill leaves behind is swept (`scratch::owner`).
fn temp_in(dir: &Path, what: &str) -> Result<tempfile::TempPath, Error> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    tempfile::Builder::new()
        .prefix(&format!(".cutover-{what}-{}_", crate::scratch::owner()))
        .tempfile_in(dir)
        .map(|f| f.into_temp_path())
        .map_err(io_err(dir))
}

/// Run a backup-API copy to the end, a thousand pages at a time, stopping (the destination
/// rolled back) when SIGINT/SIGTERM asks.
fn copy(backup: &Backup<'_, '_>, path: &Path) -> Result<(), Error> {
    loop {
        if interrupt::requested() {
            return Err(Error::Backup(format!(
                "{}: interrupted by SIGINT/SIGTERM",
                path.display()
            )));
        }
        match backup.step(1000).map_err(sqlite_err(path))? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Another connection holds a lock: wait a moment, as SQLite's own examples do.
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

impl Native for Sqlite {
    fn extension(&self) -> &'static str {
        "sqlite.zst"
    }

    fn check(&mut self, _server: &str) -> Result<String, Error> {
        Ok(format!("sqlite online backup {}", rusqlite::version()))
    }

    fn dump(
        &mut self,
        _engine: &mut dyn Engine,
        url: &DatabaseUrl,
        out: &Path,
        seal: &Seal,
        inside: Inside,
        progress: Progress,
    ) -> Result<Dumped, Error> {
        let source = file_of(url);
        let copied = temp_in(out.parent().unwrap_or(Path::new(".")), "copy")?;
        let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sqlite_err(&source))?;
        let mut dest = Connection::open(&copied).map_err(sqlite_err(&copied))?;
        copy(
            &Backup::new(&conn, &mut dest).map_err(sqlite_err(&source))?,
            &source,
        )?;
        drop((conn, dest));
        let copy_url = DatabaseUrl::parse(&format!("sqlite://{}", copied.display()))?;
        let opts = ConnectOptions {
            read_only: true,
            ..ConnectOptions::default()
        };
        let mut reader = engine::connect(&copy_url, &opts).map_err(|e| Error::Backup(e.message))?;
        let facts = inside(reader.as_mut())?;
        drop(reader);
        let read = counter();
        let (r, from, to, seal) = (
            read.clone(),
            copied.to_path_buf(),
            out.to_path_buf(),
            seal.clone(),
        );
        let work = std::thread::spawn(move || {
            stream::compress(std::fs::File::open(from)?, &to, &seal, &r)
        });
        let file = pump(work, &read, progress).map_err(io_err(out))?;
        Ok(Dumped {
            facts,
            consistent: true,
            file,
        })
    }

    fn restore(
        &mut self,
        _engine: &mut dyn Engine,
        source: Source,
        url: &DatabaseUrl,
        into: Into,
        progress: Progress,
    ) -> Result<(), Error> {
        let target = file_of(url);
        let read = counter();
        let path = source.path.clone();
        let decompress_to = |dest: PathBuf, progress: Progress| {
            let (r, key) = (read.clone(), source.key.clone());
            let file = source.file.try_clone().map_err(io_err(&path))?;
            let work = std::thread::spawn(move || {
                stream::decompress(file, &key, stream::private_file(&dest)?, r)
            });
            pump(work, &read, progress).map_err(io_err(&path))
        };
        match into {
            Into::Scratch => {
                let got = decompress_to(target, progress)?;
                changed(&source, &got, "the scratch database is dropped")
            }
            Into::Target => {
                let staged = temp_in(target.parent().unwrap_or(Path::new(".")), "restore")?;
                let got = decompress_to(staged.to_path_buf(), progress)?;
                changed(&source, &got, "the target was not touched")?;
                let mut conn = Connection::open(&target).map_err(sqlite_err(&target))?;
                let from = Connection::open_with_flags(&staged, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(sqlite_err(&staged))?;
                copy(
                    &Backup::new(&from, &mut conn).map_err(sqlite_err(&target))?,
                    &target,
                )
            }
        }
    }
}
