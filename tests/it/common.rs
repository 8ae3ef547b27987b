//! Test harness: a fresh database per test on each engine, created here and dropped when
//! the test ends, and a way to run the real `cutover` binary against it.
//!
//! Server tests need PostgreSQL and MariaDB running (see README). A test that cannot reach
//! its server fails with the command that starts it; nothing is skipped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use cutover::engine::{self, ConnectOptions, Engine};
use cutover::target::DatabaseUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

pub const ALL: [Kind; 3] = [Kind::Sqlite, Kind::Postgres, Kind::MySql];

fn pg_admin() -> String {
    std::env::var("CUTOVER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into())
}

fn my_admin() -> String {
    std::env::var("CUTOVER_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

fn admin(kind: Kind) -> Box<dyn Engine> {
    let (url, how) = match kind {
        Kind::Postgres => (
            pg_admin(),
            "start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start` \
             (or point CUTOVER_TEST_PG_URL at a server)",
        ),
        Kind::MySql => (
            my_admin(),
            "start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql` \
             (or point CUTOVER_TEST_MYSQL_URL at a server)",
        ),
        Kind::Sqlite => unreachable!("SQLite needs no server"),
    };
    let parsed = DatabaseUrl::parse(&url).expect("admin URL parses");
    engine::connect(&parsed, &ConnectOptions::default())
        .unwrap_or_else(|e| panic!("{kind:?} is not reachable at {parsed}: {e}\n{how}"))
}

/// A database that exists for one test.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    pub name: String,
    /// Working directory for the test (SQLite file, migrations, config).
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub fn new(kind: Kind) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!(
            "cutover_t{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..6)
                .unwrap_or("x")
        );
        let url = match kind {
            Kind::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Kind::Postgres => {
                admin(kind)
                    .execute(&format!("CREATE DATABASE {name}"))
                    .expect("create database");
                format!(
                    "postgres://{}/{name}?sslmode=disable",
                    server_part(&pg_admin())
                )
            }
            Kind::MySql => {
                admin(kind)
                    .execute(&format!("CREATE DATABASE {name}"))
                    .expect("create database");
                format!("mysql://{}/{name}", server_part(&my_admin()))
            }
        };
        TestDb {
            kind,
            url,
            name,
            dir,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A connection to this database for checking what cutover did.
    pub fn connect(&self) -> Box<dyn Engine> {
        engine::connect(
            &DatabaseUrl::parse(&self.url).expect("url"),
            &ConnectOptions::default(),
        )
        .expect("connect to test database")
    }

    /// The first column of the first row of `sql`.
    pub fn scalar(&self, sql: &str) -> Option<String> {
        self.connect()
            .query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.scalar(sql)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{sql} did not return a number"))
    }

    /// Whether a table of that name exists in this database.
    pub fn has_table(&self, table: &str) -> bool {
        let sql = match self.kind {
            Kind::Sqlite => format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            ),
            Kind::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Kind::MySql => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        self.count(&sql) > 0
    }

    /// History rows as (version, status).
    pub fn history(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = self
            .connect()
            .query("SELECT version, status FROM cutover_migrations")
            .expect("history table")
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default(),
                    r[1].clone().unwrap_or_default(),
                )
            })
            .collect();
        rows.sort();
        rows
    }

    /// The `cutover` binary with `--url` set to this database, run in the test's folder.
    pub fn cutover(&self) -> assert_cmd::Command {
        let mut cmd = cutover_cmd(self.path());
        cmd.arg("--url").arg(&self.url);
        cmd
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = match self.kind {
            Kind::Sqlite => return,
            Kind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Kind::MySql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        if let Err(e) = admin(self.kind).execute(&sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `user@host:port` of an admin URL, without scheme, database or options.
fn server_part(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// The `cutover` binary, in `dir`, with no colours and no inherited DATABASE_URL.
pub fn cutover_cmd(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("cutover").expect("binary built");
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("CUTOVER_ENV")
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(300));
    cmd
}

/// Generate one `#[test]` per engine calling `$f(Kind)`, so engines run in parallel and a
/// failure names its engine.
macro_rules! per_engine {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            use super::*;
            #[test]
            fn sqlite() {
                super::$f(Kind::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$f(Kind::Postgres)
            }
            #[test]
            fn mysql() {
                super::$f(Kind::MySql)
            }
        }
    )*};
}

/// Write migration files: `(relative path, content)`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
}

/// The shared corpora beside this repository; a missing folder fails the test loudly.
pub fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    assert!(
        p.is_dir(),
        "the shared corpora must sit beside the repository at {} (see README: Tests)",
        p.display()
    );
    p
}

/// The example project's migrations.
pub fn lms_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/migrations")
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
