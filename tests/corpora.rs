//! Real migration histories from public projects (`../shared/corpora`, see its SOURCES.md),
//! replayed on this machine's engines: applied from empty, checked, rolled back as far as
//! each project's own down scripts allow, and applied again. Histories that need a newer
//! server than this one stop at the first migration that needs it, with the file, line and
//! message.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A history replayed on one engine, with the session settings it needs.
struct Replay {
    db: TestDb,
    dir: PathBuf,
}

impl Replay {
    fn new(kind: Kind, rel: &str, init_sql: &[&str]) -> Replay {
        let db = TestDb::new(kind);
        let dir = corpora().join(rel);
        let init = init_sql
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        write_files(
            db.path(),
            &[(
                "cutover.toml",
                &format!(
                    "[environments.corpus]\nurl = \"{}\"\nmigrations = \"{}\"\ninit_sql = [{init}]\n",
                    db.url,
                    dir.display()
                ),
            )],
        );
        Replay { db, dir }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        cutover_cmd(self.db.path())
            .args(["--env", "corpus"])
            .args(args)
            .output()
            .unwrap()
    }

    fn applied(&self) -> usize {
        self.db.history().iter().filter(|(_, s)| s == "applied").count()
    }

    /// `migrate` from empty succeeds, `status --check` passes, and a second run is a no-op.
    fn apply_all(&self, expected: usize) {
        let out = self.run(&["migrate"]);
        assert!(out.status.success(), "{}: {}", self.dir.display(), stderr(&out));
        assert_eq!(self.applied(), expected, "{}", self.dir.display());
        let check = self.run(&["status", "--check"]);
        assert!(check.status.success(), "{}", stdout(&check));
        let again = self.run(&["migrate"]);
        assert!(again.status.success());
        assert!(stdout(&again).contains("nothing to apply"), "{}", stdout(&again));
    }

    /// Roll back everything; returns the failure output when a down script breaks.
    fn rollback_all(&self) -> Option<std::process::Output> {
        let n = self.applied().to_string();
        let out = self.run(&["rollback", "--steps", &n]);
        if out.status.success() {
            assert_eq!(self.applied(), 0, "{}", self.dir.display());
            None
        } else {
            Some(out)
        }
    }

    /// Apply again after a rollback; the history is complete and clean.
    fn reapply(&self, expected: usize) {
        let out = self.run(&["migrate"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(self.applied(), expected);
        assert!(self.run(&["status", "--check"]).status.success());
    }
}

/// A history whose down scripts all work: apply, roll back everything, apply again.
fn full_cycle(kind: Kind, rel: &str, init_sql: &[&str], expected: usize) {
    let r = Replay::new(kind, rel, init_sql);
    r.apply_all(expected);
    if let Some(out) = r.rollback_all() {
        panic!("rolling back {rel} failed: {}", stderr(&out));
    }
    r.reapply(expected);
}

#[test]
fn postgres_documenso() {
    // Prisma: no down scripts, so apply and check only.
    Replay::new(Kind::Postgres, "postgres/documenso", &[]).apply_all(163);
}

#[test]
fn postgres_atuin() {
    Replay::new(Kind::Postgres, "postgres/atuin/atuin-server-postgres", &[]).apply_all(20);
}

#[test]
fn postgres_vaultwarden() {
    full_cycle(Kind::Postgres, "postgres/vaultwarden", &[], 46);
}

#[test]
fn postgres_kratos() {
    full_cycle(Kind::Postgres, "postgres/kratos/sql", &[], 346);
}

#[test]
fn sqlite_kratos() {
    full_cycle(Kind::Sqlite, "sqlite/kratos/sql", &[], 694);
}

#[test]
fn sqlite_vaultwarden() {
    full_cycle(Kind::Sqlite, "sqlite/vaultwarden", &[], 56);
}

#[test]
fn sqlite_atuin_each_history() {
    for (rel, n) in [
        ("sqlite/atuin/atuin-client/migrations", 12),
        ("sqlite/atuin/atuin-client/record-migrations", 3),
        ("sqlite/atuin/atuin-client/meta-migrations", 1),
        ("sqlite/atuin/atuin-server-sqlite/migrations", 7),
        ("sqlite/atuin/atuin-ai/migrations", 3),
    ] {
        Replay::new(Kind::Sqlite, rel, &[]).apply_all(n);
    }
    for (rel, n) in [
        ("sqlite/atuin/atuin-kv/migrations", 1),
        ("sqlite/atuin/atuin-scripts/migrations", 2),
    ] {
        full_cycle(Kind::Sqlite, rel, &[], n);
    }
}

/// MariaDB enforces column-level REFERENCES that MySQL ignores; vaultwarden's first
/// migration declares them before the referenced tables exist (SOURCES.md).
#[test]
fn mariadb_vaultwarden() {
    full_cycle(
        Kind::MySql,
        "mysql/vaultwarden",
        &["SET SESSION foreign_key_checks=0"],
        55,
    );
}

/// lemmy's 248th migration needs PostgreSQL 16: everything before it applies, it stops
/// with file, line and message, and leaves nothing of itself behind.
#[test]
fn postgres_lemmy_until_pg16() {
    let r = Replay::new(Kind::Postgres, "postgres/lemmy", &[]);
    let out = r.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2025-08-01-000016_smoosh-tables-together/up.sql:33"),
        "{err}"
    );
    assert!(err.contains("subquery in FROM must have an alias"), "{err}");
    assert_eq!(r.applied(), 247);
    assert_eq!(r.db.history().len(), 247, "no failed row: nothing was kept");
    lemmy_rollback(&r);
}

fn lemmy_rollback(r: &Replay) {
    match r.rollback_all() {
        None => {}
        Some(out) => panic!("lemmy rollback: {}", stderr(&out)),
    }
    let out = r.run(&["migrate", "--to", "2025-08-01-000015"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// kratos on MariaDB: with a non-strict sql_mode 344 of 352 apply; the 345th needs MySQL 8
/// and is recorded as failed at its statement.
#[test]
fn mariadb_kratos_until_mysql8() {
    let r = Replay::new(
        Kind::MySql,
        "mysql/kratos/sql",
        &["SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'"],
    );
    let out = r.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("20260408000000000000_create_pending_traits_changes.mysql.up.sql:22"),
        "{err}"
    );
    assert!(err.contains("statement 4 of 4"), "{err}");
    assert_eq!(r.applied(), 344);
    let failed: Vec<_> = r.db.history().into_iter().filter(|(_, s)| s == "failed").collect();
    assert_eq!(failed, vec![("20260408000000000000".to_string(), "failed".to_string())]);
    let again = r.run(&["migrate"]);
    assert_eq!(again.status.code(), Some(5));
    assert!(stderr(&again).contains("resolve --applied 20260408000000000000"));
}

/// Histories that cannot be replayed from empty are still read and split: every
/// migration is listed as pending, and a dry run splits every script.
#[test]
fn unreplayable_histories_read_and_split() {
    for (kind, rel, n) in [
        (Kind::Postgres, "postgres/memos", 0),
        (Kind::MySql, "mysql/memos", 0),
        (Kind::Sqlite, "sqlite/memos", 0),
        (Kind::MySql, "mysql/vmangos", 746),
    ] {
        let r = Replay::new(kind, rel, &[]);
        let out = r.run(&["status", "--json"]);
        assert!(out.status.success(), "{rel}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let list = json["migrations"].as_array().unwrap();
        assert!(list.iter().all(|m| m["state"] == "pending"), "{rel}");
        if n > 0 {
            assert_eq!(list.len(), n, "{rel}");
        }
        let plan = r.run(&["migrate", "--dry-run", "--json"]);
        assert!(plan.status.success(), "{rel}: {}", stderr(&plan));
        let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        assert_eq!(json["scripts"].as_array().unwrap().len(), list.len(), "{rel}");
    }
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}
