//! A fleet's targets: read from the list, the file, the catalog query or the tenants'
//! schemas, each with a stable name reports use; each target's own settings (its URL, its
//! `search_path` for a schema tenant, its own backup folder); and a fixed share of them for
//! `--shard i/n`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{FleetPolicy, Settings, Source, relative_sqlite};
use crate::error::Error;
use crate::target::DatabaseUrl;

/// One target of a fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Stable: given, or the database's name, or the SQLite file's stem, or the schema.
    pub name: String,
    pub url: DatabaseUrl,
    /// A tenant kept as a schema of a shared PostgreSQL database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// Every target of the fleet, in a stable order (by name).
pub fn list(settings: &Settings, policy: &FleetPolicy) -> Result<Vec<Target>, Error> {
    let base = settings
        .config_path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut targets = match &policy.source {
        Source::List(list) => list
            .iter()
            .map(|(name, url)| target(name.clone(), url.clone(), &base))
            .collect::<Result<Vec<_>, _>>()?,
        Source::File(path) => from_file(path)?,
        Source::Query { url, sql } => from_query(settings, url, sql)?,
        Source::Schemas { url, list, query } => {
            schemas(settings, url, list.as_deref(), query.as_deref())?
        }
    };
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut dupes: Vec<&str> = targets
        .windows(2)
        .filter(|w| w[0].name == w[1].name)
        .map(|w| w[0].name.as_str())
        .collect();
    dupes.dedup();
    if !dupes.is_empty() {
        return Err(Error::Usage(format!(
            "fleet targets need distinct names; these appear more than once: {} (give names: \
             `{{ name = \"…\", url = \"…\" }}` or `NAME URL` lines)",
            dupes.join(", ")
        )));
    }
    Ok(targets)
}

fn target(name: Option<String>, url: DatabaseUrl, base: &Path) -> Result<Target, Error> {
    let url = relative_sqlite(url, base)?;
    let name = match name {
        Some(n) => n,
        None => default_name(&url),
    };
    Ok(Target {
        name,
        url,
        schema: None,
    })
}

/// The database's name, or the SQLite file's stem.
fn default_name(url: &DatabaseUrl) -> String {
    url.database().unwrap_or_else(|| {
        let path = url.sqlite_path().unwrap_or("db");
        Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string())
    })
}

/// One target per line: `URL` or `NAME URL`; blank lines and `#` comments are skipped.
fn from_file(path: &PathBuf) -> Result<Vec<Target>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (name, url) = match (words.next(), words.next(), words.next()) {
            (Some(url), None, _) => (None, url),
            (Some(name), Some(url), None) => (Some(name.to_string()), url),
            _ => {
                return Err(Error::Usage(format!(
                    "{}:{}: a target line is `URL` or `NAME URL`",
                    path.display(),
                    i + 1
                )));
            }
        };
        let url = DatabaseUrl::parse(url)
            .map_err(|e| Error::Usage(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(target(name, url, &base)?);
    }
    Ok(out)
}

/// Rows of the catalog query: a URL or a database name on the catalog's server, and
/// optionally a name.
fn from_query(settings: &Settings, url: &DatabaseUrl, sql: &str) -> Result<Vec<Target>, Error> {
    let mut catalog = crate::connect(settings, url, true)?;
    let rows = catalog.query(sql).map_err(Error::db(format!(
        "the fleet's targets_query on {url} failed"
    )))?;
    let mut out = Vec::new();
    for row in rows {
        let Some(first) = row.first().cloned().flatten() else {
            continue;
        };
        let target_url = if first.contains("://") || first.starts_with("sqlite:") {
            DatabaseUrl::parse(&first)?
        } else {
            url.with_database(&first)?
        };
        let name = row.get(1).cloned().flatten();
        out.push(target(name, target_url, Path::new(""))?);
    }
    Ok(out)
}

/// A schema per tenant in one PostgreSQL database.
fn schemas(
    settings: &Settings,
    url: &DatabaseUrl,
    list: Option<&[String]>,
    query: Option<&str>,
) -> Result<Vec<Target>, Error> {
    let names: Vec<String> = match (list, query) {
        (Some(list), _) => list.to_vec(),
        (None, Some(sql)) => crate::connect(settings, url, true)?
            .query(sql)
            .map_err(Error::db(format!(
                "the fleet's schemas query on {url} failed"
            )))?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect(),
        (None, None) => Vec::new(),
    };
    Ok(names
        .into_iter()
        .map(|schema| Target {
            name: schema.clone(),
            url: url.clone(),
            schema: Some(schema),
        })
        .collect())
}

/// The settings one target's deploy runs with: its URL, its schema as `search_path`, its
/// own backup folder and no notifications of its own (the fleet notifies per wave).
pub fn settings_for(fleet: &Settings, t: &Target) -> Settings {
    let mut s = fleet.clone();
    s.url = t.url.clone();
    s.fleet = None;
    if let Some(schema) = &t.schema {
        s.init_sql.push(format!(
            "SET search_path TO \"{}\"",
            schema.replace('"', "\"\"")
        ));
    }
    s.backup.dir = s.backup.dir.join(&t.name);
    s.deploy.notify.clear();
    s
}

/// The targets of shard `i` of `n` (1-based): a fixed share, by a hash of each name, so a
/// target stays in its shard however the list grows.
pub fn shard(targets: Vec<Target>, i: u32, n: u32) -> Vec<Target> {
    targets
        .into_iter()
        .filter(|t| {
            let h = Sha256::digest(t.name.as_bytes());
            let v = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            v % n == i - 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Target {
        Target {
            name: name.into(),
            url: DatabaseUrl::parse(&format!("sqlite://{name}.db")).unwrap(),
            schema: None,
        }
    }

    #[test]
    fn shards_split_every_target_once() {
        let all: Vec<Target> = (0..200).map(|i| t(&format!("tenant{i}"))).collect();
        let mut seen = Vec::new();
        for i in 1..=3 {
            let part = shard(all.clone(), i, 3);
            assert!(!part.is_empty());
            seen.extend(part.into_iter().map(|t| t.name));
        }
        seen.sort();
        let mut names: Vec<String> = all.into_iter().map(|t| t.name).collect();
        names.sort();
        assert_eq!(seen, names);
    }

    #[test]
    fn names_default_to_the_database() {
        let u = DatabaseUrl::parse("postgres://u@h/acme").unwrap();
        assert_eq!(default_name(&u), "acme");
        let u = DatabaseUrl::parse("sqlite://tenants/globex.db").unwrap();
        assert_eq!(default_name(&u), "globex");
    }
}
