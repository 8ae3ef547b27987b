//! Plans: what a deploy would apply (each pending migration with its checksum) and a
//! fingerprint of the target's state (schema and history). `deploy --plan FILE` applies
//! exactly that plan, and refuses when the files or the target changed since it was written.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::runner::MigrateOptions;
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub environment: Option<String>,
    /// The target, password hidden.
    pub target: String,
    pub created_at: String,
    /// Schema fingerprint and history, hashed together.
    pub state: String,
    /// The plan stops after this migration (`plan --to`); a deploy of the plan does too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub migrations: Vec<Planned>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub id: String,
    pub name: String,
    pub checksum: String,
}

/// `cutover plan`: the plan for the configured target, read in a read-only session.
pub fn plan(settings: &crate::config::Settings, to: Option<String>) -> Result<Plan, Error> {
    Ok(plan_with_sql(settings, to, None)?.0)
}

/// `cutover plan --sql DIR`: the plan, and with `sql` its up scripts written there as files
/// for the engine's own client (see `plan_sql`).
pub fn plan_with_sql(
    settings: &crate::config::Settings,
    to: Option<String>,
    sql: Option<&Path>,
) -> Result<(Plan, Vec<super::plan_sql::SqlFile>), Error> {
    let mut quiet = ();
    let mut session = Session::open(settings, crate::session::Access::Read, &mut quiet)?;
    let plan = make(&mut session, to, crate::migrations::Stage::Expand)?;
    let files = match sql {
        Some(dir) => super::plan_sql::write(&mut session, &plan, dir)?,
        None => Vec::new(),
    };
    Ok((plan, files))
}

/// The plan for the session's target as it is now, up to and including `to` when given.
pub fn make(
    session: &mut Session,
    to: Option<String>,
    stage: crate::migrations::Stage,
) -> Result<Plan, Error> {
    let planned = session.plan_migrate(&MigrateOptions {
        to: to.clone(),
        dry_run: true,
        exactly: None,
        stage: Some(stage),
    })?;
    let migrations = planned
        .scripts
        .iter()
        .map(|s| Planned {
            id: s.id.clone(),
            name: s.name.clone(),
            checksum: session
                .migrations()
                .migrations
                .iter()
                .find(|m| m.id == s.id)
                .map(|m| m.checksum.clone())
                .unwrap_or_default(),
        })
        .collect();
    let schema =
        crate::schema::introspect(session.engine()).map_err(Error::db("cannot read the schema"))?;
    let mut hash = Sha256::new();
    hash.update(schema.fingerprint().as_bytes());
    for e in session.entries() {
        hash.update(format!("\n{} {}", e.id, e.state.as_str()).as_bytes());
    }
    let digest: String = hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let settings = session.settings();
    Ok(Plan {
        format: 1,
        environment: settings.env.clone(),
        target: settings.url.to_string(),
        created_at: jiff::Timestamp::now().to_string(),
        state: format!("sha256:{digest}"),
        to,
        migrations,
    })
}

pub fn read(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: not a cutover plan: {e}", path.display())))
}

pub fn write(path: &Path, plan: &Plan) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(plan).expect("a plan serialises");
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What differs between an approved plan and the target now (empty: apply it).
pub fn stale(approved: &Plan, now: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if approved.target != now.target || approved.environment != now.environment {
        out.push(format!(
            "the plan is for {} ({:?}), this is {} ({:?})",
            approved.target, approved.environment, now.target, now.environment
        ));
    }
    if approved.to != now.to {
        out.push(format!(
            "the plan stops at {}, this deploy at {}",
            approved.to.as_deref().unwrap_or("the newest migration"),
            now.to.as_deref().unwrap_or("the newest migration")
        ));
    }
    if approved.state != now.state {
        out.push("the target's schema or history changed since the plan was written".into());
    }
    if approved.migrations != now.migrations {
        let show = |p: &Plan| {
            p.migrations
                .iter()
                .map(|m| {
                    format!(
                        "{} ({})",
                        m.id,
                        m.checksum.chars().take(12).collect::<String>()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "the pending migrations changed: planned [{}], now [{}]",
            show(approved),
            show(now)
        ));
    }
    out
}
