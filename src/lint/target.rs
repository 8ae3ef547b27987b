//! What the linted SQL will run on: the dialect, which MySQL family, and the server's
//! version when it is known (from the target, or `[lint]`), since what locks, copies or is
//! even accepted depends on it.

use serde::Serialize;

use crate::sql::Dialect;

/// MariaDB and MySQL differ in what they do in place or instantly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    MariaDb,
    MySql,
    /// Not known (offline `--dialect mysql`): only what both do is assumed.
    Unknown,
}

/// The engine the statements will run on.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub dialect: Dialect,
    pub flavour: Flavour,
    /// `(major, minor, patch)`, when known.
    pub version: Option<(u32, u32, u32)>,
    /// Where the facts came from: `the target`, `--dialect`, `[lint] …`.
    pub source: String,
    /// What runs first on every connection (the environment's `init_sql`): it may turn
    /// SQLite's foreign keys off, or set PostgreSQL's lock_timeout.
    #[serde(skip)]
    pub init_sql: Vec<String>,
}

impl Target {
    /// A target known only by its dialect (offline).
    pub fn offline(dialect: Dialect, source: &str) -> Target {
        let flavour = Flavour::Unknown;
        let version = match dialect {
            // cutover runs SQLite migrations through its own bundled library, so the
            // version that runs them is always known.
            Dialect::Sqlite => parse_version(rusqlite::version()),
            _ => None,
        };
        Target {
            dialect,
            flavour,
            version,
            source: source.to_string(),
            init_sql: Vec::new(),
        }
    }

    /// A target as its server describes itself (`15.20`, `10.11.19-MariaDB`, `8.0.36`).
    pub fn from_server(dialect: Dialect, server_version: &str) -> Target {
        let flavour = match dialect {
            Dialect::MySql if server_version.contains("MariaDB") => Flavour::MariaDb,
            Dialect::MySql => Flavour::MySql,
            _ => Flavour::Unknown,
        };
        Target {
            dialect,
            flavour,
            version: parse_version(server_version),
            source: "the target".into(),
            init_sql: Vec::new(),
        }
    }

    /// Whether the version is known and at least `at`.
    pub fn at_least(&self, at: (u32, u32, u32)) -> bool {
        self.version.is_some_and(|v| v >= at)
    }

    /// The version as text, or `unknown`.
    pub fn version_text(&self) -> String {
        match self.version {
            Some((a, b, c)) => format!("{a}.{b}.{c}"),
            None => "unknown".into(),
        }
    }
}

/// `15.20`, `10.11.19-MariaDB-1:10.11.19+maria~deb12`, `3.46.0` → numbers.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let digits: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = digits.split('.').filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_servers() {
        assert_eq!(parse_version("15.20"), Some((15, 20, 0)));
        assert_eq!(
            parse_version("10.11.19-MariaDB-1:10.11"),
            Some((10, 11, 19))
        );
        assert_eq!(parse_version("PostgreSQL"), None);
        let t = Target::from_server(Dialect::MySql, "10.11.19-MariaDB");
        assert_eq!(t.flavour, Flavour::MariaDb);
        assert!(t.at_least((10, 4, 0)) && !t.at_least((11, 0, 0)));
    }

    #[test]
    fn sqlite_offline_is_the_bundled_library() {
        let t = Target::offline(Dialect::Sqlite, "--dialect");
        assert!(t.at_least((3, 35, 0)), "{:?}", t.version);
    }
}
