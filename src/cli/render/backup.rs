//! `backup …` for people: what was made, verified, restored, listed or pruned.

use std::fmt::Write as _;
use std::path::Path;

use anstream::{print, println};
use cutover::backup::offsite::AtDestination;
use cutover::backup::{Created, Listing, Pruned, Verification, VerifyLevel, human};

use super::{BOLD, DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn created_backup(&self, c: &Created) {
        if self.json {
            return self.json(c);
        }
        if self.quiet {
            return;
        }
        let m = &c.manifest;
        let rows: u64 = m.tables.values().sum();
        println!(
            "{GREEN}backed up{GREEN:#} {} to {} ({}, {}, {rows} rows) in {:.1}s",
            m.database,
            c.file.display(),
            human(m.size),
            tables(m.tables.len()),
            m.duration_ms as f64 / 1000.0
        );
        if let Some(v) = m.verifications.last() {
            println!("{}", verification(None, v));
        }
        if !m.counts_in_dump_snapshot {
            println!(
                "{YELLOW}note{YELLOW:#}: row counts were taken in a snapshot of their own (no RELOAD privilege for a shared one)"
            );
        }
        for c in &c.copies {
            match c.ok {
                true => println!("{GREEN}copied{GREEN:#} to {}: {}", c.destination, c.detail),
                false => println!("{RED}copy to {} failed{RED:#}: {}", c.destination, c.detail),
            }
        }
    }

    /// `backup list --copies`: where each backup lives, here and at every destination.
    pub fn backup_copies(&self, listing: &Listing, at: &[AtDestination]) {
        let name = |file: &Path| {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let mut names: Vec<String> = listing.backups.iter().map(|(f, _)| name(f)).collect();
        for d in at {
            names.extend(d.backups.iter().cloned());
        }
        names.sort();
        names.dedup();
        names.reverse();
        let rows: Vec<serde_json::Value> = names
            .iter()
            .map(|n| {
                let here = listing.backups.iter().any(|(f, _)| &name(f) == n);
                let copies: Vec<&str> = at
                    .iter()
                    .filter(|d| d.backups.contains(n))
                    .map(|d| d.destination.as_str())
                    .collect();
                serde_json::json!({ "file": n, "local": here, "copies": copies })
            })
            .collect();
        if self.json {
            return self.json(&serde_json::json!({ "backups": rows, "destinations": at }));
        }
        if self.quiet {
            return;
        }
        for d in at {
            match &d.error {
                Some(e) => println!("{RED}{}{RED:#}: cannot list: {e}", d.destination),
                None => println!(
                    "{BOLD}{}{BOLD:#}: {} backups",
                    d.destination,
                    d.backups.len()
                ),
            }
        }
        for r in &rows {
            let local = if r["local"] == true {
                "here"
            } else {
                "not here"
            };
            let copies: Vec<&str> = r["copies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str())
                .collect();
            println!(
                "{}  {local}; copies: {}",
                r["file"].as_str().unwrap_or_default(),
                if copies.is_empty() {
                    "none".to_string()
                } else {
                    copies.join(", ")
                }
            );
        }
    }

    pub fn verified(&self, file: &Path, v: &Verification) {
        if self.json {
            return self.json(v);
        }
        if !self.quiet {
            println!("{}", verification(Some(file), v));
        }
    }

    pub fn backups(&self, listing: &Listing, dir: &Path) {
        if self.json {
            let readable = listing.backups.iter().map(
                |(f, m)| serde_json::json!({ "path": f, "status": m.status(), "manifest": m }),
            );
            let unreadable = listing.unreadable.iter().map(|u| {
                serde_json::json!({
                    "path": u.file, "status": "unreadable", "problem": u.problem, "manifest": null,
                })
            });
            return self.json(&readable.chain(unreadable).collect::<Vec<_>>());
        }
        if self.quiet {
            return;
        }
        if listing.backups.is_empty() && listing.unreadable.is_empty() {
            println!("no backups in {}", dir.display());
            return;
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{BOLD}{:<58}  {:<8}  {:<16}  {:<22}  {:>9}  {:<20}  VERIFIED{BOLD:#}",
            "FILE", "ENGINE", "DATABASE", "MIGRATION", "SIZE", "CREATED"
        );
        let name = |file: &Path| {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        for (file, m) in &listing.backups {
            let verified = match m.verified() {
                Some(v) => format!(
                    "{GREEN}{} {}{GREEN:#}",
                    v.level.as_str(),
                    super::clip(&v.at, 19)
                ),
                None if !m.verifications.is_empty() => format!("{RED}FAILED{RED:#}"),
                None => format!("{YELLOW}no{YELLOW:#}"),
            };
            let _ = writeln!(
                out,
                "{:<58}  {:<8}  {:<16}  {:<22}  {:>9}  {:<20}  {verified}",
                name(file),
                m.engine,
                m.database,
                m.migration.as_deref().unwrap_or("-"),
                human(m.size),
                super::clip(&m.created_at, 19),
            );
        }
        for u in &listing.unreadable {
            let _ = writeln!(
                out,
                "{:<58}  {RED}UNREADABLE{RED:#}: {}",
                name(&u.file),
                u.problem
            );
        }
        print!("{out}");
    }

    pub fn pruned(&self, p: &Pruned) {
        if self.json {
            return self.json(p);
        }
        if self.quiet {
            return;
        }
        let verb = if p.dry_run { "would delete" } else { "deleted" };
        for f in &p.deleted {
            println!(
                "{RED}{verb}{RED:#} {} ({}): {}",
                f.file.display(),
                f.created_at,
                f.reason
            );
        }
        for f in &p.kept {
            println!(
                "{DIM}kept {} ({}): {}{DIM:#}",
                f.file.display(),
                f.created_at,
                f.reason
            );
        }
        println!("{} {verb}, {} kept", p.deleted.len(), p.kept.len());
        for c in &p.copies {
            for f in &c.deleted {
                println!("{RED}{verb}{RED:#} {f} at {}", c.destination);
            }
            match &c.error {
                Some(e) => println!("{RED}{}{RED:#}: {e}", c.destination),
                None => println!(
                    "{}: {} {verb}, {} kept",
                    c.destination,
                    c.deleted.len(),
                    c.kept
                ),
            }
        }
    }
}

/// `3 tables`, `1 table`.
fn tables(n: usize) -> String {
    if n == 1 {
        "1 table".into()
    } else {
        format!("{n} tables")
    }
}

/// One verification as people should read it: a checksum proves the file is the one that
/// was written, not that it loads, so only a restore is called "verified".
fn verification(file: Option<&Path>, v: &Verification) -> String {
    let file = file.map_or(String::new(), |f| format!(" {}", f.display()));
    let details = v.details.join("; ");
    match (v.level, v.ok) {
        (VerifyLevel::Checksum, true) => format!(
            "{GREEN}checksum ok{GREEN:#}{file}: {details}\n  the file is intact; it was not \
             restored, so this does not prove it loads (--level restore does)"
        ),
        (VerifyLevel::Restore, true) => {
            format!("{GREEN}restore verified{GREEN:#}{file}: {details}")
        }
        (level, false) => format!(
            "{RED}{} check failed{RED:#}{file}: {details}",
            level.as_str()
        ),
    }
}
