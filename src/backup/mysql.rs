//! MariaDB/MySQL backups: `mariadb-dump --single-transaction` (or `mysqldump`), compressed
//! by zstd on the way to disk; restored with the `mariadb` (or `mysql`) client.
//!
//! Row counts in the dump's snapshot: this session takes `FLUSH TABLES WITH READ LOCK`,
//! opens its own consistent snapshot, starts the dump, and unlocks as soon as the dump
//! has opened its snapshot (its first table), so both saw the same data; writers wait
//! for that moment only. Without the RELOAD privilege the counts come from a snapshot of
//! their own, and the manifest says so.
//!
//! A restore onto the target empties the database, then loads the dump:
//! MariaDB cannot do that in one transaction, so a marker table says a restore is under
//! way until it finishes, and every cutover command refuses to run while it is there. The
//! load reads the descriptor that was checked; if the file changed in place meanwhile, the
//! marker stays.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::encryption::Seal;
use super::native::{Dumped, Inside, Into, Native, Progress, changed, counter, io_err, pump};
use super::stream::{self, Source};
use super::tools::{self, MemFile, Tool};
use crate::engine::{Engine, RESTORE_MARKER};
use crate::error::Error;
use crate::target::DatabaseUrl;

pub struct MySql {
    dir: Option<PathBuf>,
    dump: Option<Tool>,
}

impl MySql {
    pub fn new(dir: Option<PathBuf>) -> MySql {
        MySql { dir, dump: None }
    }

    pub(crate) fn tools(&self, server: &str) -> Result<(Tool, Tool), Error> {
        let mariadb = server.contains("MariaDB");
        let package = if mariadb {
            "mariadb-client"
        } else {
            "mysql-client"
        };
        let (dump, client): (&[&str], &[&str]) = if mariadb {
            (&["mariadb-dump", "mysqldump"], &["mariadb", "mysql"])
        } else {
            (&["mysqldump", "mariadb-dump"], &["mysql", "mariadb"])
        };
        let dump = tools::find(dump, self.dir.as_deref(), package)?;
        let client = tools::find(client, self.dir.as_deref(), package)?;
        // A MariaDB client against a MySQL server (or the reverse) numbers its releases
        // differently; only a client of the same family is compared.
        if mariadb == dump.name.starts_with("mariadb") {
            tools::not_older(&dump, server, 2, package)?;
        }
        Ok((dump, client))
    }
}

/// An option file holding the connection settings, in memory only (`MemFile`): the
/// password never reaches a command line or a disk.
pub(crate) fn options_file(url: &DatabaseUrl) -> Result<MemFile, Error> {
    let parsed = url::Url::parse(url.expose()).map_err(|e| Error::Usage(format!("{url}: {e}")))?;
    let user = percent_encoding::percent_decode_str(parsed.username())
        .decode_utf8_lossy()
        .into_owned();
    let mut text = format!(
        "[client]\nhost={}\nport={}\nuser={user}\n",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(3306)
    );
    if let Some(p) = url.password() {
        text.push_str(&format!(
            "password=\"{}\"\n",
            p.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    for (k, v) in parsed.query_pairs() {
        match (k.as_ref(), v.to_ascii_uppercase().as_str()) {
            ("ssl-mode", "REQUIRED" | "VERIFY_CA" | "VERIFY_IDENTITY") => text.push_str("ssl\n"),
            ("ssl-ca", _) => text.push_str(&format!("ssl-ca={v}\n")),
            _ => {}
        }
    }
    MemFile::new("cutover-client-options", &text).map_err(io_err(Path::new("option file")))
}

fn database(url: &DatabaseUrl) -> Result<String, Error> {
    url.database()
        .ok_or_else(|| Error::Usage(format!("{url} names no database")))
}

/// Passes the dump through, raising `seen` at its first table.
struct Watch<R> {
    inner: R,
    seen: Arc<AtomicBool>,
    tail: Vec<u8>,
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.seen.load(Ordering::Relaxed) {
            self.tail.extend_from_slice(&buf[..n]);
            let hit = |m: &[u8]| self.tail.windows(m.len()).any(|w| w == m);
            if n == 0 || hit(b"CREATE TABLE") || hit(b"-- Table structure") {
                self.seen.store(true, Ordering::Relaxed);
            }
            let keep = self.tail.len().saturating_sub(32);
            self.tail.drain(..keep);
        }
        Ok(n)
    }
}

impl Native for MySql {
    fn extension(&self) -> &'static str {
        "sql.zst"
    }

    fn check(&mut self, server: &str) -> Result<String, Error> {
        let (dump, _) = self.tools(server)?;
        let described = dump.describe();
        self.dump = Some(dump);
        Ok(described)
    }

    fn dump(
        &mut self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        out: &Path,
        seal: &Seal,
        inside: Inside,
        progress: Progress,
    ) -> Result<Dumped, Error> {
        let tool = self.dump.clone().expect("check runs before dump");
        let locked = engine.execute("FLUSH TABLES WITH READ LOCK").is_ok();
        let snap = Error::db("cannot open a consistent snapshot");
        engine
            .execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .map_err(snap)?;
        engine
            .execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .map_err(Error::db("cannot open a consistent snapshot"))?;
        let result = (|| {
            let options = options_file(url)?;
            let mut cmd = Command::new(&tool.path);
            options.pass_to(&mut cmd);
            cmd.arg(format!("--defaults-extra-file={}", options.path()))
                .args([
                    "--single-transaction",
                    "--quick",
                    "--routines",
                    "--triggers",
                    "--hex-blob",
                ])
                .args(["--default-character-set=utf8mb4", "--no-tablespaces"])
                .arg(database(url)?);
            let mut child = tools::spawn(&mut cmd, false, true)?;
            let seen = Arc::new(AtomicBool::new(false));
            let output = Watch {
                inner: child.stdout.take().expect("piped"),
                seen: seen.clone(),
                tail: Vec::new(),
            };
            let read = counter();
            let (r, target, seal) = (read.clone(), out.to_path_buf(), seal.clone());
            let work = std::thread::spawn(move || stream::compress(output, &target, &seal, &r));
            if locked {
                let start = Instant::now();
                while !seen.load(Ordering::Relaxed)
                    && !work.is_finished()
                    && start.elapsed() < Duration::from_secs(60)
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                engine
                    .execute("UNLOCK TABLES")
                    .map_err(Error::db("cannot release the read lock"))?;
            }
            let facts = inside(engine);
            let file = pump(work, &read, progress).map_err(io_err(out));
            tools::finish(child, &tool.name, url)?;
            Ok(Dumped {
                facts: facts?,
                consistent: locked,
                file: file?,
            })
        })();
        let _ = engine.execute("COMMIT");
        let _ = engine.execute("UNLOCK TABLES");
        result
    }

    fn restore(
        &mut self,
        engine: &mut dyn Engine,
        source: Source,
        url: &DatabaseUrl,
        into: Into,
        progress: Progress,
    ) -> Result<(), Error> {
        let server = engine
            .server_version()
            .map_err(Error::db("cannot read the server version"))?;
        let (_, client) = self.tools(&server)?;
        let db = database(url)?;
        if into == Into::Target {
            empty_with_marker(engine, &db, &source.path)?;
        }
        let options = options_file(url)?;
        let mut cmd = Command::new(&client.path);
        options.pass_to(&mut cmd);
        cmd.arg(format!("--defaults-extra-file={}", options.path()))
            .arg("--default-character-set=utf8mb4")
            .arg(&db);
        let mut child = tools::spawn(&mut cmd, true, false)?;
        let input = child.stdin.take().expect("piped");
        let read = counter();
        let path = source.path.clone();
        let key = source.key.clone();
        let (r, file) = (
            read.clone(),
            source.file.try_clone().map_err(io_err(&path))?,
        );
        let work = std::thread::spawn(move || stream::decompress(file, &key, input, r));
        let fed = pump(work, &read, progress);
        tools::finish(child, &client.name, url)?;
        let got = fed.map_err(io_err(&path))?;
        if into == Into::Scratch {
            return changed(&source, &got, "the scratch database is dropped");
        }
        // MariaDB cannot take the load back: content that was not checked stays marked as
        // a restore that did not finish, so every command refuses to work on it.
        changed(
            &source,
            &got,
            "the database holds content that was never checked and stays marked as an unfinished restore: restore a backup you trust",
        )?;
        engine
            .execute(&format!("DROP TABLE IF EXISTS `{RESTORE_MARKER}`"))
            .map_err(Error::db("cannot remove the restore marker"))?;
        Ok(())
    }
}

/// Leave the marker that says a restore of `file` is under way, then drop everything else
/// in the database (views, tables, routines, events), keeping the database itself with its
/// character set and grants. The marker goes first so that no moment of the restore can
/// be mistaken for a finished state.
fn empty_with_marker(e: &mut dyn Engine, _db: &str, file: &Path) -> Result<(), Error> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let quote = |s: &str| s.replace('\'', "''");
    let mut steps = vec![
        format!("DROP TABLE IF EXISTS `{RESTORE_MARKER}`"),
        // One statement makes the table with its row: never a marker without a name.
        format!(
            "CREATE TABLE `{RESTORE_MARKER}` (file VARCHAR(255) NOT NULL, started_at VARCHAR(40) NOT NULL, \
             started_by VARCHAR(255) NOT NULL) SELECT '{}' AS file, '{}' AS started_at, '{}' AS started_by",
            quote(&name),
            jiff::Timestamp::now(),
            quote(&crate::applied_by())
        ),
        "SET FOREIGN_KEY_CHECKS = 0".to_string(),
    ];
    let listed = |e: &mut dyn Engine, sql: &str| -> Result<Vec<(String, String)>, Error> {
        let rows = e
            .query(sql)
            .map_err(Error::db("cannot list the database's objects"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default(),
                    r[1].clone().unwrap_or_default(),
                )
            })
            .collect())
    };
    let objects = [
        "SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
        "SELECT IF(TABLE_TYPE = 'SEQUENCE', 'SEQUENCE', 'TABLE'), TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW'",
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
        "SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
    ];
    for sql in objects {
        for (kind, object) in listed(e, sql)? {
            if object != RESTORE_MARKER {
                steps.push(format!(
                    "DROP {kind} IF EXISTS `{}`",
                    object.replace('`', "``")
                ));
            }
        }
    }
    steps.push("SET FOREIGN_KEY_CHECKS = 1".to_string());
    for sql in steps {
        e.execute(&sql)
            .map_err(Error::db("cannot empty the database for the restore"))?;
    }
    Ok(())
}
