//! SQLite backups: the online backup API copies a consistent snapshot of the file (other
//! connections may keep writing), the copy is read for row counts and the schema, and is
//! compressed into the backup. A restore onto the target goes back through the backup API,
//! which writes the destination in one transaction: an interrupted restore rolls back to
//! the database as it was the next time the file is opened.

use std::path::{Path, PathBuf};

use rusqlite::backup::NO_PROGRESS;
use rusqlite::{Connection, MAIN_DB, OpenFlags};

use super::native::{Dumped, Inside, Into, Native, Progress, counter, io_err, pump};
use super::stream;
use crate::engine::{self, ConnectOptions, Engine};
use crate::error::Error;
use crate::target::DatabaseUrl;

pub struct Sqlite;

fn file_of(url: &DatabaseUrl) -> PathBuf {
    let text = url.sqlite_path().unwrap_or_default();
    PathBuf::from(text.split('?').next().unwrap_or(text))
}

fn sqlite_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::Backup(format!("{}: {e}", path.display()))
}

/// A temporary file in `dir` (the same file system, so nothing crosses devices).
fn temp_in(dir: &Path) -> Result<tempfile::TempPath, Error> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    tempfile::Builder::new()
        .prefix(".cutover-")
        .tempfile_in(dir)
        .map(|f| f.into_temp_path())
        .map_err(io_err(dir))
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
        inside: Inside,
        progress: Progress,
    ) -> Result<Dumped, Error> {
        let source = file_of(url);
        let copy = temp_in(out.parent().unwrap_or(Path::new(".")))?;
        let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sqlite_err(&source))?;
        conn.backup(MAIN_DB, &copy, NO_PROGRESS)
            .map_err(sqlite_err(&source))?;
        drop(conn);
        let copy_url = DatabaseUrl::parse(&format!("sqlite://{}", copy.display()))?;
        let opts = ConnectOptions {
            read_only: true,
            ..ConnectOptions::default()
        };
        let mut reader = engine::connect(&copy_url, &opts).map_err(|e| Error::Backup(e.message))?;
        let facts = inside(reader.as_mut())?;
        drop(reader);
        let read = counter();
        let (r, from, to) = (read.clone(), copy.to_path_buf(), out.to_path_buf());
        let work =
            std::thread::spawn(move || stream::compress(std::fs::File::open(from)?, &to, &r));
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
        file: &Path,
        url: &DatabaseUrl,
        into: Into,
        progress: Progress,
    ) -> Result<(), Error> {
        let target = file_of(url);
        let read = counter();
        let decompress_to = |dest: PathBuf, progress: Progress| {
            let (r, path) = (read.clone(), file.to_path_buf());
            let work = std::thread::spawn(move || {
                stream::decompress(&path, stream::private_file(&dest)?, r)
            });
            pump(work, &read, progress).map_err(io_err(file))
        };
        match into {
            Into::Scratch => decompress_to(target, progress).map(|_| ()),
            Into::Target => {
                let staged = temp_in(target.parent().unwrap_or(Path::new(".")))?;
                decompress_to(staged.to_path_buf(), progress)?;
                let mut conn = Connection::open(&target).map_err(sqlite_err(&target))?;
                conn.restore(MAIN_DB, &staged, NO_PROGRESS)
                    .map_err(sqlite_err(&target))
            }
        }
    }
}
