//! Every change to a target obeys the environment's policy (issue 9): the governed commands
//! (`rollback`, `resolve`, `baseline`, `backup restore`, `seed`, `deploy`) ask for approval,
//! back up, run the rollback hooks, notify once per event and keep a `cutover_runs` row; their
//! dry runs change and tell nothing. The fixture here is shared by the submodules: a small
//! project on a real engine with a real local HTTP server taking the webhooks.
//!
//! - `governed`: the contract, command by command, and the records a restore keeps.
//! - `runs`: deploy plans and `--to`, dry runs, notifications, refusals, I/O errors.
//! - `visible`: what a run shows while it works and keeps in its journal and records.
//! - `sessions`: what one migration leaves for the next (session settings), which migration a
//!   version names, and inputs that used to panic.

mod governed;
mod runs;
mod sessions;
mod visible;

use std::process::Output;

use crate::common::*;
use crate::deploy::{App, start_app};
use serde_json::Value;

/// Three migrations with down scripts: `0001` creates `items`, `0002` adds the column
/// `note` (its down script drops it: the issue's "drops a column in prod"), `0003` creates
/// `extra`.
pub(crate) const MIGRATIONS: [(&str, &str); 6] = [
    (
        "migrations/0001_items.up.sql",
        "CREATE TABLE items (id INT PRIMARY KEY);\n",
    ),
    ("migrations/0001_items.down.sql", "DROP TABLE items;\n"),
    (
        "migrations/0002_note.up.sql",
        "ALTER TABLE items ADD COLUMN note VARCHAR(20);\n",
    ),
    (
        "migrations/0002_note.down.sql",
        "ALTER TABLE items DROP COLUMN note;\n",
    ),
    (
        "migrations/0003_extra.up.sql",
        "CREATE TABLE extra (id INT);\n",
    ),
    ("migrations/0003_extra.down.sql", "DROP TABLE extra;\n"),
];

/// A target and the application beside it, with an environment `prod` whose policy asks
/// for approval and a backup before any change, runs hooks around rollbacks (they append
/// to `hooks.log`) and sends every event to the app's `/hook`.
pub(crate) struct Project {
    pub db: TestDb,
    pub app: App,
}

impl Project {
    /// `policy` goes into `[environments.prod]` (before its sub-tables).
    pub fn new(kind: Kind, policy: &str) -> Project {
        let db = TestDb::new(kind);
        let app = start_app();
        write_files(db.path(), &MIGRATIONS);
        write_files(
            db.path(),
            &[("seeds/01_items.sql", "INSERT INTO items (id) VALUES (1);\n")],
        );
        let config = format!(
            r#"
[environments.prod]
url = "{url}"
kind = "prod"
migrations = "migrations"
seeds = "seeds"
{policy}

[environments.prod.backup]
dir = "backups"
verify = "checksum"

[[environments.prod.hooks]]
when = "before-rollback"
command = "echo before >> hooks.log"

[[environments.prod.hooks]]
when = "after-rollback"
command = "echo after >> hooks.log"

[[environments.prod.notify]]
webhook = "{base}/hook"
"#,
            url = db.url,
            base = app.base
        );
        write_files(db.path(), &[("cutover.toml", &config)]);
        Project { db, app }
    }

    /// Add `toml` to the end of cutover.toml (sub-tables of `[environments.prod]`).
    pub fn append(&self, toml: &str) {
        let path = self.db.path().join("cutover.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{config}\n{toml}\n")).unwrap();
    }

    /// The events of the newest run that wrote into `report/`, one JSON object per line
    /// of its `journal.jsonl`.
    pub fn journal(&self) -> Vec<Value> {
        let mut dirs: Vec<_> = std::fs::read_dir(self.db.path().join("report"))
            .expect("report/ exists")
            .map(|d| d.unwrap().path())
            .collect();
        dirs.sort();
        let dir = dirs.pop().expect("a run folder in report/");
        std::fs::read_to_string(dir.join("journal.jsonl"))
            .expect("journal.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Whether any of cutover's own tables (or, on SQLite, the database file) exists.
    pub fn left_a_trace(&self) -> bool {
        if self.db.kind == Kind::Sqlite {
            return self.db.path().join("test.db").exists();
        }
        [
            "cutover_migrations",
            "cutover_runs",
            "cutover_seeds",
            "items",
        ]
        .iter()
        .any(|t| self.db.has_table(t))
    }

    /// `cutover --env prod ARGS`, with no terminal (stdin is empty, output captured).
    pub fn run(&self, args: &[&str]) -> Output {
        cutover_cmd(self.db.path())
            .args(["--env", "prod"])
            .args(args)
            .output()
            .unwrap()
    }

    /// `run` with the file-size limit at `kib` KiB, so that writing a bigger file fails as
    /// on a full disk (EFBIG: the signal is ignored).
    pub fn limited(&self, kib: u32, args: &[&str]) -> Output {
        std::process::Command::new("bash")
            .current_dir(self.db.path())
            .env("NO_COLOR", "1")
            .arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$@\""))
            .arg("limited")
            .arg(assert_cmd::cargo::cargo_bin("cutover"))
            .args(["--env", "prod"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Run and insist on exit 0.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        out
    }

    /// Every webhook received so far.
    pub fn hooks(&self) -> Vec<Value> {
        self.app.hooks.lock().unwrap().clone()
    }

    /// What the target holds, for "nothing changed": the schema's fingerprint, the history
    /// (with checksums) and the rows of `items`. cutover's run records are left out.
    pub fn state(&self) -> String {
        let db = &self.db;
        if db.kind == Kind::Sqlite && !db.path().join("test.db").exists() {
            return "no database file".into();
        }
        let mut e = db.connect();
        let fingerprint = cutover::schema::introspect(e.as_mut())
            .expect("introspect")
            .fingerprint();
        let history = if db.has_table("cutover_migrations") {
            e.query("SELECT version, status, checksum FROM cutover_migrations ORDER BY version")
                .expect("history")
        } else {
            Vec::new()
        };
        let items = if db.has_table("items") {
            db.count("SELECT count(*) FROM items")
        } else {
            -1
        };
        format!("{fingerprint} {history:?} items={items}")
    }

    /// Rows in `cutover_runs` (0 when there is no such table).
    pub fn run_rows(&self) -> i64 {
        if self.db.kind == Kind::Sqlite && !self.db.path().join("test.db").exists() {
            return 0;
        }
        if !self.db.has_table("cutover_runs") {
            return 0;
        }
        self.db.count("SELECT count(*) FROM cutover_runs")
    }

    /// `runs list --json`, newest first.
    pub fn runs(&self) -> Vec<Value> {
        let out = self.ok(&["--json", "runs", "list"]);
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Backup files (dumps, not manifests) in `backups/`.
    pub fn backups(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.db.path().join("backups")) else {
            return Vec::new();
        };
        let mut files: Vec<String> = dir
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".zst"))
            .collect();
        files.sort();
        files
    }

    /// What the rollback hooks wrote, in order.
    pub fn hook_log(&self) -> String {
        std::fs::read_to_string(self.db.path().join("hooks.log")).unwrap_or_default()
    }

    /// Whether `items` has the column `note`.
    pub fn has_note(&self) -> bool {
        let sql = match self.db.kind {
            Kind::Sqlite => "SELECT count(*) FROM pragma_table_info('items') WHERE name = 'note'",
            Kind::Postgres => {
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'items' AND column_name = 'note'"
            }
            Kind::MySql => {
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'items' AND column_name = 'note'"
            }
        };
        self.db.count(sql) == 1
    }
}

/// The contract of a governed command under a policy that asks for approval and a backup,
/// checked in three runs of `args`:
/// - no terminal and no `--yes`: refused with exit `refused` (see `cutover --help`: 5 for
///   the commands that return their error, 10 for `deploy` and `seed`, which report as a
///   deploy does), nothing changed, no backup, no hook ran, nobody was told it started;
/// - `--dry-run`: exit 0, nothing changed, no backup, no hook, nobody notified, no row;
/// - `--yes`: a safety backup, `start` then exactly one result notification (no two with the
///   same text, the start not claiming success), and one new `cutover_runs` row of `kind`
///   that succeeded.
///
/// Returns the `--yes` run's output.
pub(crate) fn obeys_policy(p: &Project, args: &[&str], kind: &str, refused: i32) -> Output {
    let before = p.state();
    let backups = p.backups().len();
    let hook_log = p.hook_log();
    let told = p.hooks().len();

    let out = p.run(args);
    assert_eq!(
        out.status.code(),
        Some(refused),
        "{args:?} without --yes\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert_eq!(
        p.state(),
        before,
        "{args:?} without --yes changed the target"
    );
    assert_eq!(p.backups().len(), backups, "no backup for a refused run");
    assert_eq!(p.hook_log(), hook_log, "no hook for a refused run");
    let events: Vec<Value> = p.hooks()[told..].to_vec();
    assert!(
        !events.iter().any(|h| h["event"] == "start"),
        "a refused run never started: {events:?}"
    );

    let told = p.hooks().len();
    let rows = p.run_rows();
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = p.ok(&dry);
    assert_eq!(p.state(), before, "{dry:?} changed the target");
    assert_eq!(p.backups().len(), backups, "{dry:?} took a backup");
    assert_eq!(p.hook_log(), hook_log, "{dry:?} ran a hook");
    assert_eq!(p.hooks().len(), told, "{dry:?} notified: {:?}", p.hooks());
    assert_eq!(p.run_rows(), rows, "{dry:?} wrote a cutover_runs row");
    let _ = out;

    let mut yes = args.to_vec();
    yes.push("--yes");
    let out = p.ok(&yes);
    assert_eq!(
        p.backups().len(),
        backups + 1,
        "{yes:?} took a safety backup: {:?}",
        p.backups()
    );
    let events: Vec<Value> = p.hooks()[told..].to_vec();
    let names: Vec<&str> = events
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["start", "success"], "{yes:?}: {events:#?}");
    assert_ne!(events[0]["text"], events[1]["text"]);
    assert_ne!(
        events[0]["outcome"], "success",
        "the start is not a success"
    );
    assert!(events.iter().all(|h| h["kind"] == kind), "{events:#?}");
    assert_eq!(p.run_rows(), rows + 1, "{yes:?} wrote one cutover_runs row");
    let newest = &p.runs()[0];
    assert_eq!(
        (newest["kind"].as_str(), newest["outcome"].as_str()),
        (Some(kind), Some("success")),
        "{newest:#}"
    );
    out
}
