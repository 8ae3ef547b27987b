//! Real migration histories from public projects (`../shared/corpora`, see its SOURCES.md),
//! replayed on this machine's engines: applied from empty, checked, rolled back as far as
//! each project's own down scripts allow, and applied again. Histories that need a newer
//! server than this one stop at the first migration that needs it, with the file, line and
//! message.

use std::path::PathBuf;

use crate::common::*;

/// A history replayed on one engine, with the session settings it needs.
struct Replay {
    db: TestDb,
    dir: PathBuf,
}

impl Replay {
    fn new(kind: Kind, rel: &str, init_sql: &[&str]) -> Replay {
        Replay::with(kind, rel, init_sql, &[])
    }

    fn with(kind: Kind, rel: &str, init_sql: &[&str], include: &[&str]) -> Replay {
        let db = TestDb::new(kind);
        let dir = corpora().join(rel);
        let list = |items: &[&str]| {
            items
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write_files(
            db.path(),
            &[(
                "cutover.toml",
                &format!(
                    "[environments.corpus]\nurl = \"{}\"\nmigrations = \"{}\"\ninit_sql = [{}]\ninclude = [{}]\n",
                    db.url,
                    dir.display(),
                    list(init_sql),
                    list(include)
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
        self.db
            .history()
            .iter()
            .filter(|(_, s)| s == "applied")
            .count()
    }

    /// `migrate` from empty succeeds, `status --check` passes, and a second run is a no-op.
    fn apply_all(&self, expected: usize) {
        let out = self.run(&["migrate"]);
        assert!(
            out.status.success(),
            "{}: {}",
            self.dir.display(),
            stderr(&out)
        );
        assert_eq!(self.applied(), expected, "{}", self.dir.display());
        let check = self.run(&["status", "--check"]);
        assert!(check.status.success(), "{}", stdout(&check));
        let again = self.run(&["migrate"]);
        assert!(again.status.success());
        assert!(
            stdout(&again).contains("nothing to apply"),
            "{}",
            stdout(&again)
        );
    }

    /// Roll back everything. `broken` pins the down script that stops it, with the
    /// database's message; `None` means every down script runs.
    fn rollback_all(&self, broken: Option<(&str, &str)>) {
        let n = self.applied().to_string();
        let out = self.run(&["rollback", "--steps", &n]);
        match broken {
            None => {
                assert!(
                    out.status.success(),
                    "{}: {}",
                    self.dir.display(),
                    stderr(&out)
                );
                assert_eq!(self.applied(), 0);
            }
            Some((id, message)) => {
                assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
                let err = stderr(&out);
                assert!(err.contains(&format!("rollback of {id} ")), "{err}");
                assert!(err.contains(message), "{err}");
            }
        }
    }

    /// The oldest migration a rollback can reach and still apply again: the newest one
    /// whose down script is empty while its up script is not (the project left it
    /// irreversible), or the one with the broken down script.
    fn reversible_limit(&self, broken: Option<&str>) -> Option<String> {
        let dialect = cutover::target::DatabaseUrl::parse(&self.db.url)
            .unwrap()
            .kind()
            .dialect();
        let found = cutover::migrations::discover(&self.dir, dialect).unwrap();
        let empty = |sql: &str| cutover::sql::split(sql, dialect).unwrap().is_empty();
        let irreversible = found
            .migrations
            .iter()
            .filter(|m| m.down.as_ref().is_some_and(|d| empty(&d.sql)) && !empty(&m.up.sql))
            .map(|m| m.id.clone())
            .next_back();
        [irreversible, broken.map(str::to_string)]
            .into_iter()
            .flatten()
            .max_by(|a, b| {
                let v = |id: &str| found.migrations.iter().position(|m| m.id == id);
                v(a).cmp(&v(b))
            })
    }

    /// For a history that stops at a migration this server cannot run: roll back to the
    /// down script that breaks, then apply again up to where it stopped before.
    fn round_trip_until_failure(&self, broken: Option<&str>) -> Option<String> {
        let before = self.applied();
        let limit = self.reversible_limit(broken);
        let out = self.run(&["rollback", "--to", limit.as_deref().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(self.applied() < before);
        assert_eq!(self.run(&["migrate"]).status.code(), Some(4));
        assert_eq!(self.applied(), before);
        limit
    }

    /// Roll back as far as the down scripts allow, apply again, and check the history.
    fn round_trip(&self, expected: usize, broken: Option<&str>) -> Option<String> {
        let limit = self.reversible_limit(broken);
        let out = match &limit {
            Some(id) => self.run(&["rollback", "--to", id]),
            None => self.run(&["rollback", "--steps", &expected.to_string()]),
        };
        assert!(
            out.status.success(),
            "{}: {}",
            self.dir.display(),
            stderr(&out)
        );
        if self.applied() == expected {
            // The newest migration itself cannot be undone: there is nothing to roll back.
            assert!(
                stdout(&out).contains("nothing to roll back"),
                "{}",
                stdout(&out)
            );
        }
        let out = self.run(&["migrate"]);
        assert!(
            out.status.success(),
            "{}: {}",
            self.dir.display(),
            stderr(&out)
        );
        assert_eq!(self.applied(), expected);
        assert!(self.run(&["status", "--check"]).status.success());
        limit
    }
}

/// Apply; roll back everything (pinning the broken down script, if any); then, on a fresh
/// database, roll back as far as the down scripts allow and apply again.
fn full_cycle(
    kind: Kind,
    rel: &str,
    init_sql: &[&str],
    expected: usize,
    broken: Option<(&str, &str)>,
) -> Option<String> {
    let r = Replay::new(kind, rel, init_sql);
    r.apply_all(expected);
    r.rollback_all(broken);
    let r = Replay::new(kind, rel, init_sql);
    r.apply_all(expected);
    r.round_trip(expected, broken.map(|b| b.0))
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
    let limit = full_cycle(
        Kind::Postgres,
        "postgres/vaultwarden",
        &[],
        46,
        Some((
            "2022-07-27-110000_add_group_support",
            "down.sql:1 (statement 1 of 3): ERROR: cannot drop table groups because other objects depend on it",
        )),
    );
    assert_eq!(limit.as_deref(), Some("2025-01-09-172300_add_manage"));
}

#[test]
fn postgres_kratos() {
    let limit = full_cycle(Kind::Postgres, "postgres/kratos/sql", &[], 346, None);
    assert_eq!(limit.as_deref(), Some("20220825134336000000"));
}

#[test]
fn sqlite_kratos() {
    let limit = full_cycle(Kind::Sqlite, "sqlite/kratos/sql", &[], 694, None);
    assert_eq!(limit.as_deref(), Some("20220825134336000000"));
}

#[test]
fn sqlite_vaultwarden() {
    let limit = full_cycle(Kind::Sqlite, "sqlite/vaultwarden", &[], 56, None);
    assert_eq!(limit.as_deref(), Some("2025-01-09-172300_add_manage"));
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
    let limit = full_cycle(
        Kind::Sqlite,
        "sqlite/atuin/atuin-kv/migrations",
        &[],
        1,
        None,
    );
    assert_eq!(limit, None);
    // atuin-scripts' second down script is MySQL syntax, which SQLite rejects.
    let limit = full_cycle(
        Kind::Sqlite,
        "sqlite/atuin/atuin-scripts/migrations",
        &[],
        2,
        Some((
            "20250402170430",
            "20250402170430_unique_names.down.sql:2 (statement 1 of 1): near \"index\": syntax error",
        )),
    );
    assert_eq!(limit.as_deref(), Some("20250402170430"));
}

/// MariaDB enforces column-level REFERENCES that MySQL ignores; vaultwarden's first
/// migration declares them before the referenced tables exist (SOURCES.md).
#[test]
fn mariadb_vaultwarden() {
    let limit = full_cycle(
        Kind::MySql,
        "mysql/vaultwarden",
        &["SET SESSION foreign_key_checks=0"],
        55,
        None,
    );
    assert_eq!(limit.as_deref(), Some("2025-01-09-172300_add_manage"));
}

/// lemmy's 248th migration needs PostgreSQL 16: everything before it applies, it stops
/// with file, line and message, and leaves nothing of itself behind. PostgreSQL places the
/// error at line 13 (the subquery without an alias); psql reports line 33, where the
/// statement ends.
#[test]
fn postgres_lemmy_until_pg16() {
    let r = Replay::new(Kind::Postgres, "postgres/lemmy", &[]);
    let out = r.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2025-08-01-000016_smoosh-tables-together/up.sql:13 (statement 1 of 46)"),
        "{err}"
    );
    assert!(
        err.contains("ERROR: subquery in FROM must have an alias (SQLSTATE 42601)"),
        "{err}"
    );
    assert_eq!(r.applied(), 247);
    assert_eq!(r.db.history().len(), 247, "no failed row: nothing was kept");
    assert!(
        !r.db.has_table("comment_actions"),
        "the failed migration's first table"
    );

    // lemmy's down script of 000012 needs named NOT NULL constraints (PostgreSQL 18).
    let broken = "2025-08-01-000012_no-individual-inboxes";
    r.rollback_all(Some((
        broken,
        "down.sql:4 (statement 2 of 4): ERROR: constraint \"person_shared_inbox_url_not_null\" for table \"person\" does not exist",
    )));
    let r = Replay::new(Kind::Postgres, "postgres/lemmy", &[]);
    assert_eq!(r.run(&["migrate"]).status.code(), Some(4));
    let limit = r.round_trip_until_failure(Some(broken));
    assert_eq!(limit.as_deref(), Some(broken));
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
        err.contains("20260408000000000000_create_pending_traits_changes.mysql.up.sql:23"),
        "{err}"
    );
    assert!(err.contains("statement 4 of 4"), "{err}");
    assert_eq!(r.applied(), 344);
    let failed: Vec<_> =
        r.db.history()
            .into_iter()
            .filter(|(_, s)| s == "failed")
            .collect();
    assert_eq!(
        failed,
        vec![("20260408000000000000".to_string(), "failed".to_string())]
    );
    let again = r.run(&["migrate"]);
    assert_eq!(again.status.code(), Some(5));
    assert!(stderr(&again).contains("resolve --applied 20260408000000000000"));

    // The operator undoes its first three statements and says so; then the history rolls
    // back as far as kratos' down scripts allow and applies again up to the same point.
    r.db.connect()
        .execute("DROP TABLE identity_pending_traits_changes")
        .unwrap();
    let out = r.run(&["resolve", "--rolled-back", "20260408000000000000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let limit = r.round_trip_until_failure(None);
    assert_eq!(limit.as_deref(), Some("20251105000000000004"));
}

/// Histories that cannot be replayed from empty are still read and split: every
/// migration is listed as pending, and a dry run splits every script.
#[test]
fn unreplayable_histories_read_and_split() {
    for (kind, rel, n) in [
        (Kind::Postgres, "postgres/memos", 0),
        (Kind::MySql, "mysql/memos", 0),
        (Kind::Sqlite, "sqlite/memos", 0),
        (Kind::MySql, "mysql/vmangos", 732),
    ] {
        // vmangos keeps four databases' histories in one folder; this reads the world's.
        let include: &[&str] = if rel.ends_with("vmangos") {
            &["*_world.sql"]
        } else {
            &[]
        };
        let r = Replay::with(kind, rel, &[], include);
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
        assert_eq!(
            json["scripts"].as_array().unwrap().len(),
            list.len(),
            "{rel}"
        );
    }
}
