//! Schema fingerprints over real histories (`../shared/corpora`): each history with down
//! scripts is applied one migration at a time, recording the schema after each; rolled
//! back one at a time as far as its own down scripts allow, where the schema must be the
//! one recorded at that version on the way up (the empty database's at the bottom); and
//! applied again, ending at the first apply's fingerprint. Down scripts that do not
//! restore the schema they started from are named, with what they leave behind.

use cutover::config::{Overrides, Settings};
use cutover::runner::{MigrateOptions, RollbackOptions};
use cutover::schema::{self, Schema};
use cutover::sql::split;

use crate::common::*;

/// A down script that left the schema different from the one before its migration.
#[derive(Debug, PartialEq, Eq)]
struct Residue {
    id: String,
    /// `diff(recorded, after rollback)`, one line per difference this step added.
    left: Vec<String>,
}

struct Cycle<'a> {
    kind: Kind,
    rel: &'a str,
    init_sql: &'a [&'a str],
    /// Stop applying before this migration (one this server cannot run).
    stop_before: Option<&'a str>,
    /// Roll back to this migration (exclusive); `None` rolls back everything.
    limit: Option<&'a str>,
}

impl Cycle<'_> {
    /// The residues, and whether applying again reached the first apply's fingerprint.
    fn run(&self) -> (Vec<Residue>, bool) {
        let db = TestDb::new(self.kind);
        let config = db.path().join("empty.toml");
        std::fs::write(&config, "").unwrap();
        let settings = Settings::resolve(Overrides {
            url: Some(db.url.clone()),
            migrations: Some(corpora().join(self.rel)),
            config: Some(config),
            init_sql: self.init_sql.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        })
        .unwrap();
        let dialect = settings.url.kind().dialect();
        let found = cutover::migrations::discover(&settings.migrations, dialect).unwrap();
        let ids: Vec<String> = found
            .migrations
            .iter()
            .map(|m| m.id.clone())
            .take_while(|id| Some(id.as_str()) != self.stop_before)
            .collect();
        let mut probe = db.connect();
        let mut read = || -> Schema { schema::introspect(probe.as_mut()).expect("introspect") };

        // Up, one at a time: ups[i] is the schema after ids[i - 1] (ups[0]: empty).
        let mut quiet = ();
        let mut runner =
            cutover::Session::open(&settings, cutover::Access::Change, &mut quiet).unwrap();
        let mut ups = vec![read()];
        for id in &ids {
            let opts = MigrateOptions {
                to: Some(id.clone()),
                ..MigrateOptions::default()
            };
            runner
                .migrate(&opts)
                .unwrap_or_else(|e| panic!("{}: {id}: {e}", self.rel));
            ups.push(read());
        }
        let first_apply = ups.last().unwrap().fingerprint();

        // Down, one at a time, to the limit.
        let bottom = self
            .limit
            .map_or(0, |l| ids.iter().position(|id| id == l).unwrap() + 1);
        let mut residues = Vec::new();
        let mut now = ups.last().unwrap().clone();
        for i in (bottom..ids.len()).rev() {
            let before = keys(&ups[i + 1], &now);
            let opts = RollbackOptions {
                steps: Some(1),
                ..RollbackOptions::default()
            };
            runner
                .rollback(&opts)
                .unwrap_or_else(|e| panic!("{}: down {}: {e}", self.rel, ids[i]));
            now = read();
            let after = schema::diff(&ups[i], &now);
            if after.is_empty() {
                assert_eq!(now.fingerprint(), ups[i].fingerprint());
            }
            // What this step left behind on objects earlier steps had not already left
            // different (their details may shift as later downs run on top of them).
            let added: Vec<String> = after
                .iter()
                .filter(|c| !before.contains(&key(c)))
                .map(ToString::to_string)
                .collect();
            if !added.is_empty() {
                residues.push(Residue {
                    id: ids[i].clone(),
                    left: added,
                });
            }
        }
        if residues.is_empty() {
            assert_eq!(now.fingerprint(), ups[bottom].fingerprint(), "{}", self.rel);
        }

        // Up again: the first apply's schema, whatever the downs left.
        let opts = MigrateOptions {
            to: ids.last().cloned(),
            ..MigrateOptions::default()
        };
        runner.migrate(&opts).unwrap();
        drop(runner);
        let again = read().fingerprint() == first_apply;
        if residues.is_empty() {
            assert!(again, "{}: applying again reached another schema", self.rel);
        }
        (residues, again)
    }
}

/// Which object a difference is about, without its details.
fn key(c: &schema::Change) -> (String, &'static str, String) {
    (format!("{:?}", c.kind), c.object, c.name.clone())
}

fn keys(from: &Schema, to: &Schema) -> Vec<(String, &'static str, String)> {
    schema::diff(from, to).iter().map(key).collect()
}

/// The oldest migration a rollback can reach: the newest whose down script is empty while
/// its up script is not (the project left it irreversible).
fn irreversible(kind: Kind, rel: &str) -> Option<String> {
    let dialect = match kind {
        Kind::Sqlite => cutover::sql::Dialect::Sqlite,
        Kind::Postgres => cutover::sql::Dialect::Postgres,
        Kind::MySql => cutover::sql::Dialect::MySql,
    };
    let found = cutover::migrations::discover(&corpora().join(rel), dialect).unwrap();
    let empty = |sql: &str| split(sql, dialect).unwrap().is_empty();
    found
        .migrations
        .iter()
        .filter(|m| m.down.as_ref().is_some_and(|d| empty(&d.sql)) && !empty(&m.up.sql))
        .map(|m| m.id.clone())
        .next_back()
}

fn cycle(
    kind: Kind,
    rel: &str,
    init_sql: &[&str],
    stop_before: Option<&str>,
    limit: Option<&str>,
) -> (Vec<Residue>, bool) {
    let limit = limit
        .map(str::to_string)
        .or_else(|| irreversible(kind, rel));
    Cycle {
        kind,
        rel,
        init_sql,
        stop_before,
        limit: limit.as_deref(),
    }
    .run()
}

/// Every down script of the history restores its schema, and applying again reaches the
/// first apply's fingerprint.
fn restores(result: (Vec<Residue>, bool)) {
    let (residues, again) = result;
    assert!(residues.is_empty(), "{residues:#?}");
    assert!(again);
}

/// Exactly these down scripts leave something behind; each is named with the first
/// difference `diff` shows between the schema before its migration and after its down.
fn leaves_behind(result: (Vec<Residue>, bool), expected: &[(&str, &str)]) {
    let (residues, _) = result;
    let got: Vec<(&str, &str)> = residues
        .iter()
        .map(|r| (r.id.as_str(), r.left[0].as_str()))
        .collect();
    assert_eq!(got, expected, "{residues:#?}");
}

#[test]
fn sqlite_vaultwarden() {
    restores(cycle(Kind::Sqlite, "sqlite/vaultwarden", &[], None, None));
}

#[test]
fn sqlite_kratos() {
    let r = cycle(Kind::Sqlite, "sqlite/kratos/sql", &[], None, None);
    assert!(r.1, "applying again reaches the first apply's schema");
    leaves_behind(
        r,
        &[
            (
                "20260413000000000000",
                "- index identity_verification_tokens.identity_verification_tokens_nid_idx",
            ),
            (
                "20250505150900000000",
                "~ column identity_login_codes.address_type: NOT NULL → NULL",
            ),
            (
                "20241031094100000002",
                "~ column session_token_exchanges.created_at: type timestamp → TIMESTAMP",
            ),
            (
                "20241031094100000001",
                "~ index session_token_exchanges.session_token_exchanges_nid_code_idx: (init_code, nid) → (init_code)",
            ),
            (
                "20240221000000000000",
                "+ index identity_login_codes.identity_login_codes_flow_id_idx",
            ),
            (
                "20230705000000000001",
                "~ column selfservice_login_flows.request_url: type TEXT → VARCHAR(1024); default none → ''",
            ),
            (
                "20230313141439000000",
                "~ column sessions.logout_token: type TEXT → varchar(32)",
            ),
            (
                "20230216142104000000",
                "+ index session_devices.unique_session_device",
            ),
        ],
    );
}

#[test]
fn sqlite_atuin_kv_and_scripts() {
    restores(cycle(
        Kind::Sqlite,
        "sqlite/atuin/atuin-kv/migrations",
        &[],
        None,
        None,
    ));
    // The second down script of atuin-scripts is MySQL syntax SQLite rejects: stop there.
    restores(cycle(
        Kind::Sqlite,
        "sqlite/atuin/atuin-scripts/migrations",
        &[],
        None,
        Some("20250402170430"),
    ));
}

#[test]
fn postgres_vaultwarden() {
    restores(cycle(
        Kind::Postgres,
        "postgres/vaultwarden",
        &[],
        None,
        None,
    ));
}

#[test]
fn postgres_kratos() {
    let r = cycle(Kind::Postgres, "postgres/kratos/sql", &[], None, None);
    assert!(r.1, "applying again reaches the first apply's schema");
    leaves_behind(
        r,
        &[
            (
                "20240221000000000000",
                "+ foreign key identity_login_codes (identity_id) → identities (id)",
            ),
            (
                "20230705000000000001",
                "~ column selfservice_login_flows.request_url: type character varying(2048) → character varying(1024)",
            ),
        ],
    );
}

/// lemmy up to the migration that needs PostgreSQL 16, down to the down script that needs
/// PostgreSQL 18.
#[test]
fn postgres_lemmy() {
    let r = cycle(
        Kind::Postgres,
        "postgres/lemmy",
        &[],
        Some("2025-08-01-000016_smoosh-tables-together"),
        Some("2025-08-01-000012_no-individual-inboxes"),
    );
    // Its down script re-adds post_id at the end of the table instead of where it was.
    leaves_behind(
        r,
        &[(
            "2025-08-01-000013_comment-vote-remote-postid",
            "~ table comment_like: column order person_id, comment_id, post_id, score, published → \
             person_id, comment_id, score, published, post_id",
        )],
    );
}

#[test]
fn mariadb_vaultwarden() {
    restores(cycle(
        Kind::MySql,
        "mysql/vaultwarden",
        &["SET SESSION foreign_key_checks=0"],
        None,
        None,
    ));
}

/// kratos up to the migration that needs MySQL 8.
#[test]
fn mariadb_kratos() {
    let r = cycle(
        Kind::MySql,
        "mysql/kratos/sql",
        &["SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'"],
        Some("20260408000000000000"),
        None,
    );
    restores(r);
}
