//! Security and production readiness: who we are connected as and how, what anyone may
//! write, drift against the migrations, foreign keys without an index, tables without a
//! primary key, and the largest tables.

use std::time::Instant;

use super::expect::supporting_index;
use super::{Category, CheckResult, Evidence, Status};
use crate::engine::{Engine, RowCount};
use crate::schema::{OWN_TABLES, Schema};

pub(super) fn security(e: &mut dyn Engine) -> Vec<CheckResult> {
    let t = Instant::now();
    let s = match e.security() {
        Ok(s) => s,
        Err(err) => {
            let msg = format!("could not read the session's privileges: {}", err.message);
            return vec![
                CheckResult::new("security.session", Category::Security, Status::Warn, msg)
                    .since(t),
            ];
        }
    };
    let mut out = Vec::new();
    if let Some(superuser) = s.superuser {
        out.push(if superuser {
            CheckResult::new("security.superuser", Category::Security, Status::Warn,
                "connected as a superuser: deploy with a role that owns the schema and nothing more")
        } else {
            CheckResult::new("security.superuser", Category::Security, Status::Pass, "not a superuser")
        });
    }
    if let Some(tls) = s.tls {
        out.push(if tls {
            CheckResult::new(
                "security.tls",
                Category::Security,
                Status::Pass,
                "the connection is encrypted (TLS)",
            )
        } else {
            CheckResult::new(
                "security.tls",
                Category::Security,
                Status::Warn,
                "TLS is not in use: credentials and data cross the network in clear text",
            )
        });
    }
    out.push(if s.open_to_all.is_empty() {
        CheckResult::new(
            "security.public_write",
            Category::Security,
            Status::Pass,
            "nothing is writable by everyone",
        )
    } else {
        CheckResult::new(
            "security.public_write",
            Category::Security,
            Status::Fail,
            format!("{} object(s) anyone may write", s.open_to_all.len()),
        )
        .with_evidence(Evidence {
            notes: s.open_to_all,
            ..Evidence::default()
        })
    });
    out.into_iter().map(|c| c.since(t)).collect()
}

/// The live schema against the migrations applied to a scratch database.
pub(super) fn drift(session: &mut crate::session::Session, live: &Schema) -> Vec<CheckResult> {
    let t = Instant::now();
    let settings = session.settings().clone();
    let upto = crate::drift::applied_upto(session);
    let expected = crate::drift::migrations_schema(&settings, upto.as_deref(), session.observer());
    let result = match expected {
        Err(e) => CheckResult::new(
            "schema.drift",
            Category::Schema,
            Status::Warn,
            format!(
                "could not build the migrations' schema: {}",
                settings.url.scrub(&e.to_string())
            ),
        ),
        Ok(expected) => {
            let changes = crate::schema::diff(&expected, live);
            if changes.is_empty() {
                CheckResult::new(
                    "schema.drift",
                    Category::Schema,
                    Status::Pass,
                    "the schema is exactly what the migrations make",
                )
            } else {
                CheckResult::new(
                    "schema.drift",
                    Category::Schema,
                    Status::Fail,
                    format!(
                        "{} difference(s) from what the migrations make (changed by hand?)",
                        changes.len()
                    ),
                )
                .with_evidence(Evidence {
                    notes: changes.iter().map(ToString::to_string).collect(),
                    ..Evidence::default()
                })
            }
        }
    };
    vec![result.since(t)]
}

pub(super) fn performance(e: &mut dyn Engine, schema: &Schema) -> Vec<CheckResult> {
    let t = Instant::now();
    let ds = &schema.default_schema;
    let unindexed: Vec<String> = schema
        .tables
        .iter()
        .flat_map(|tb| {
            tb.foreign_keys
                .iter()
                .filter(|k| supporting_index(tb, &k.columns).is_none())
                .map(|k| format!("{} ({})", tb.name.display(ds), k.columns.join(", ")))
        })
        .collect();
    let no_pk: Vec<String> = schema
        .tables
        .iter()
        .filter(|tb| tb.primary_key.is_none())
        .map(|tb| tb.name.display(ds))
        .collect();
    let mut out = vec![
        listed(
            "performance.foreign_key_indexes",
            unindexed,
            "every foreign key has an index",
            "foreign key(s) without an index: deletes on the parent scan the child table",
        ),
        listed(
            "performance.primary_keys",
            no_pk,
            "every table has a primary key",
            "table(s) without a primary key: rows cannot be told apart, replication and updates suffer",
        ),
    ];
    out.push(largest(e));
    out.into_iter().map(|c| c.since(t)).collect()
}

fn listed(id: &str, found: Vec<String>, fine: &str, problem: &str) -> CheckResult {
    if found.is_empty() {
        return CheckResult::new(id, Category::Performance, Status::Pass, fine);
    }
    CheckResult::new(
        id,
        Category::Performance,
        Status::Warn,
        format!("{} {problem}", found.len()),
    )
    .with_evidence(Evidence {
        notes: found,
        ..Evidence::default()
    })
}

fn largest(e: &mut dyn Engine) -> CheckResult {
    // One more than shown, in case cutover's own history table is among them.
    match e.table_sizes(11) {
        Err(err) => CheckResult::new(
            "performance.largest_tables",
            Category::Performance,
            Status::Warn,
            format!("could not read table sizes: {}", err.message),
        ),
        Ok(mut sizes) => {
            let own = |t: &str| OWN_TABLES.contains(&t.rsplit('.').next().unwrap_or(t));
            sizes.retain(|s| !own(&s.table));
            sizes.truncate(10);
            let rows = sizes
                .iter()
                .map(|s| {
                    vec![
                        s.table.clone(),
                        s.rows.short(),
                        s.bytes.map_or("-".into(), |b| b.to_string()),
                        s.rows.source().to_string(),
                    ]
                })
                .collect();
            // An estimate never reads as a count: "about", with where it comes from.
            let head = sizes
                .first()
                .map_or("no tables".to_string(), |s| match s.rows {
                    RowCount::Exact(_) => format!("largest: {} ({})", s.table, s.rows),
                    _ => format!("largest: {}, {}", s.table, s.rows),
                });
            CheckResult::new(
                "performance.largest_tables",
                Category::Performance,
                Status::Pass,
                head,
            )
            .with_evidence(Evidence {
                columns: vec![
                    "table".into(),
                    "rows".into(),
                    "bytes".into(),
                    "rows from".into(),
                ],
                rows,
                ..Evidence::default()
            })
        }
    }
}
