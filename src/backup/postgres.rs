//! PostgreSQL backups: `pg_dump --format=custom --compress=0` in a snapshot this session
//! exports (so the row counts in the manifest are those of the dump), compressed by zstd
//! on the way to disk; restored with `pg_restore`. Onto the target, the restore is one
//! transaction (`pg_restore` writes SQL, `psql` runs it between our `BEGIN` and `COMMIT`),
//! so an interrupted restore leaves the database as it was.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::encryption::Seal;
use super::native::{Dumped, Inside, Into, Native, Progress, changed, counter, io_err, pump};
use super::stream::{self, Source};
use super::tools::{self, Tool};
use crate::engine::Engine;
use crate::error::Error;
use crate::target::DatabaseUrl;

const PACKAGE: &str = "postgresql-client";

pub struct Postgres {
    dir: Option<PathBuf>,
    dump: Option<Tool>,
}

impl Postgres {
    pub fn new(dir: Option<PathBuf>) -> Postgres {
        Postgres { dir, dump: None }
    }

    pub(crate) fn tool(&self, name: &str, server: &str) -> Result<Tool, Error> {
        let major = tools::numbers(server, 1).first().copied().unwrap_or(0);
        let package = format!("{PACKAGE}-{major}");
        let tool = tools::find(&[name], self.dir.as_deref(), &package)?;
        tools::not_older(&tool, server, 1, &package)?;
        Ok(tool)
    }
}

/// The URL as libpq reads it, without the password: the userinfo's and `?password=` both
/// go in `PGPASSWORD` (the one the connection itself used), never on a command line, which
/// `ps` shows every local user.
pub(crate) fn libpq(url: &DatabaseUrl, cmd: &mut Command) -> Result<String, Error> {
    let mut parsed =
        url::Url::parse(url.expose()).map_err(|e| Error::Usage(format!("{url}: {e}")))?;
    let _ = parsed.set_password(None);
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("password"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    if let Some(p) = url.password() {
        cmd.env("PGPASSWORD", p);
    }
    cmd.env("PGAPPNAME", "cutover backup");
    Ok(parsed.to_string())
}

impl Native for Postgres {
    fn extension(&self) -> &'static str {
        "pgdump.zst"
    }

    fn check(&mut self, server: &str) -> Result<String, Error> {
        let dump = self.tool("pg_dump", server)?;
        self.tool("pg_restore", server)?;
        self.tool("psql", server)?;
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
        let db = Error::db("cannot hold a snapshot for the dump");
        engine
            .execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .map_err(db)?;
        let result = (|| {
            let snapshot = engine
                .query("SELECT pg_export_snapshot()")
                .map_err(Error::db("cannot export a snapshot"))?
                .first()
                .and_then(|r| r[0].clone())
                .unwrap_or_default();
            let mut cmd = Command::new(&tool.path);
            let uri = libpq(url, &mut cmd)?;
            cmd.args(["--format=custom", "--compress=0", "--no-password"])
                .arg(format!("--snapshot={snapshot}"))
                .arg(format!("--dbname={uri}"));
            let mut child = tools::spawn(&mut cmd, false, true)?;
            let output = child.stdout.take().expect("piped");
            let read = counter();
            let (r, target, seal) = (read.clone(), out.to_path_buf(), seal.clone());
            let work = std::thread::spawn(move || stream::compress(output, &target, &seal, &r));
            let facts = inside(engine);
            let file = pump(work, &read, progress).map_err(io_err(out));
            tools::finish(child, "pg_dump", url)?;
            Ok(Dumped {
                facts: facts?,
                consistent: true,
                file: file?,
            })
        })();
        let _ = engine.execute("COMMIT");
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
        let restore = self.tool("pg_restore", &server)?;
        match into {
            Into::Scratch => load_scratch(&restore, source, url, progress),
            Into::Target => {
                let psql = self.tool("psql", &server)?;
                let preamble = replace_preamble(engine)?;
                load_target(&restore, &psql, source, url, &preamble, progress)
            }
        }
    }
}

/// `pg_restore` straight into an empty database.
fn load_scratch(
    tool: &Tool,
    source: Source,
    url: &DatabaseUrl,
    progress: Progress,
) -> Result<(), Error> {
    let mut cmd = Command::new(&tool.path);
    let uri = libpq(url, &mut cmd)?;
    cmd.args(["--exit-on-error", "--no-owner", "--no-acl", "--no-password"])
        .arg(format!("--dbname={uri}"));
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
    tools::finish(child, "pg_restore", url)?;
    let got = fed.map_err(io_err(&path))?;
    changed(&source, &got, "the scratch database is dropped")
}

/// `pg_restore` as SQL into `psql`, wrapped in one transaction that first empties the
/// target; `COMMIT` is sent only when every byte went through and the bytes read were the
/// ones checked (the file may have been changed in place since), else `ROLLBACK`.
fn load_target(
    restore: &Tool,
    psql: &Tool,
    source: Source,
    url: &DatabaseUrl,
    preamble: &str,
    progress: Progress,
) -> Result<(), Error> {
    let mut run = Command::new(&psql.path);
    let uri = libpq(url, &mut run)?;
    run.args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "--no-password",
        "-o",
        "/dev/null",
    ])
    .arg(format!("--dbname={uri}"));
    let mut psql_child = tools::spawn(&mut run, true, false)?;
    let mut sql_in = psql_child.stdin.take().expect("piped");
    let mut to_sql = Command::new(&restore.path);
    to_sql.args(["--file=-", "--exit-on-error"]);
    let mut restore_child = tools::spawn(&mut to_sql, true, true)?;
    let archive_in = restore_child.stdin.take().expect("piped");
    let mut sql_out = restore_child.stdout.take().expect("piped");

    let began = sql_in.write_all(format!("BEGIN;\n{preamble}\n").as_bytes());
    let forward = std::thread::spawn(move || -> std::io::Result<std::process::ChildStdin> {
        began?;
        std::io::copy(&mut sql_out, &mut sql_in)?;
        Ok(sql_in)
    });
    let read = counter();
    let path = source.path.clone();
    let key = source.key.clone();
    let (r, file) = (
        read.clone(),
        source.file.try_clone().map_err(io_err(&path))?,
    );
    let work = std::thread::spawn(move || stream::decompress(file, &key, archive_in, r));
    let fed = pump(work, &read, progress);
    let generated = tools::finish(restore_child, "pg_restore", url);
    let forwarded = forward
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("forwarding thread panicked")));
    let same = fed.as_ref().is_ok_and(|got| source.changed(got).is_none());
    let ok = same && generated.is_ok() && !crate::interrupt::requested();
    if let Ok(mut sql_in) = forwarded {
        let end: &[u8] = if ok { b"COMMIT;\n" } else { b"ROLLBACK;\n" };
        let _ = sql_in.write_all(end);
    }
    // psql's own error says most about a failed statement; report it first.
    tools::finish(psql_child, "psql", url)?;
    generated?;
    let got = fed.map_err(io_err(&path))?;
    changed(
        &source,
        &got,
        "the restore was rolled back and the target is as it was",
    )?;
    if !ok {
        return Err(Error::Backup(
            "the restore was stopped and rolled back; the target is as it was".into(),
        ));
    }
    Ok(())
}

/// SQL that empties the target inside the restore's transaction: every user schema is
/// dropped, and `public` is made again with the owner and grants it had.
pub(crate) fn replace_preamble(e: &mut dyn Engine) -> Result<String, Error> {
    let db = Error::db("cannot read the target's schemas");
    let schemas = e
        .query(
            "SELECT quote_ident(nspname) FROM pg_namespace
             WHERE nspname NOT IN ('pg_catalog', 'information_schema')
               AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'
             ORDER BY 1",
        )
        .map_err(db)?;
    let mut sql: String = schemas
        .iter()
        .filter_map(|r| r[0].as_deref())
        .map(|s| format!("DROP SCHEMA {s} CASCADE;\n"))
        .collect();
    let public = e
        .query(
            "SELECT quote_ident(nspowner::regrole::text),
                    (SELECT string_agg(format('GRANT %s ON SCHEMA public TO %s;', a.privilege_type,
                             CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(a.grantee::regrole::text) END), E'\\n')
                     FROM aclexplode(n.nspacl) a WHERE a.grantee <> n.nspowner)
             FROM pg_namespace n WHERE nspname = 'public'",
        )
        .map_err(Error::db("cannot read the public schema's owner"))?;
    if let Some(row) = public.first() {
        let owner = row[0].clone().unwrap_or_else(|| "CURRENT_USER".into());
        sql.push_str(&format!("CREATE SCHEMA public AUTHORIZATION {owner};\n"));
        sql.push_str(row[1].as_deref().unwrap_or(""));
    }
    Ok(sql)
}
