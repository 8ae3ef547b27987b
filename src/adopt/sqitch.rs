//! sqitch's registry: `changes` holds the changes deployed now (a revert deletes them),
//! `events` every deploy, revert and failure. A change deployed again after a rework has
//! the same name and a new id; cutover names the later instances `<name>#2`, … in plan
//! order, and so does this reader, by deploy order. A change whose last event is `fail`
//! (sqitch reverted it) or `revert` and that is not deployed now is listed as such.
//!
//! Where the registry lives depends on the engine (the `driver` table says): a schema in
//! the target database on PostgreSQL; another database (MariaDB) or file (SQLite) that
//! may serve several targets elsewhere, which cutover does not read.

use std::collections::HashMap;

use crate::engine::{DbError, Engine};
use crate::migrations::Migration;

use super::tool::{Tool, cell, entry, has_columns};
use super::{ForeignHistory, ForeignStatus};

pub(crate) struct Sqitch;

/// The registry's schema, where the engine keeps it in the target database.
fn registry(engine: &dyn Engine) -> Option<&'static str> {
    crate::driver::of(engine.kind()).sqitch_registry
}

impl Tool for Sqitch {
    fn name(&self) -> &'static str {
        "sqitch"
    }

    fn table(&self, engine: &dyn Engine) -> String {
        format!("{}.changes", registry(engine).unwrap_or("sqitch"))
    }

    fn detect(&self, engine: &mut dyn Engine) -> bool {
        registry(engine).is_some_and(|r| {
            has_columns(
                engine,
                &format!("{r}.changes"),
                "change_id, change, project",
            )
        })
    }

    fn read(&self, engine: &mut dyn Engine) -> Result<ForeignHistory, DbError> {
        let r = registry(engine).unwrap_or("sqitch");
        let deployed = engine.query(&format!(
            "SELECT change, change_id, committed_at FROM {r}.changes ORDER BY committed_at, change_id"
        ))?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::new();
        for row in &deployed {
            let name = cell(row, 0).unwrap_or_default().to_string();
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            let key = if *n == 1 { name } else { format!("{name}#{n}") };
            entries.push(entry(
                key.clone(),
                key,
                ForeignStatus::Applied,
                cell(row, 2),
            ));
        }
        let events = engine.query(&format!(
            "SELECT event, change, committed_at FROM {r}.events ORDER BY committed_at"
        ))?;
        let mut last: Vec<(String, String, Option<String>)> = Vec::new();
        for row in &events {
            let change = cell(row, 1).unwrap_or_default().to_string();
            last.retain(|(c, _, _)| *c != change);
            let event = cell(row, 0).unwrap_or_default().to_string();
            last.push((change, event, cell(row, 2).map(str::to_string)));
        }
        for (change, event, at) in last {
            if seen.contains_key(&change) {
                continue;
            }
            let status = match event.as_str() {
                "fail" => ForeignStatus::Failed("failed; sqitch reverted it".into()),
                "revert" => ForeignStatus::RolledBack("reverted".into()),
                _ => continue,
            };
            entries.push(entry(change.clone(), change, status, at.as_deref()));
        }
        Ok(ForeignHistory {
            entries,
            upto: None,
        })
    }

    fn key_of(&self, m: &Migration) -> Option<String> {
        Some(m.id.clone())
    }
}
