//! Database targets: parsing a URL into an engine kind, and showing it without its password.
//!
//! A `DatabaseUrl` never prints its password: `Display` and `Debug` both redact it, so a URL
//! can be put in any message. The raw text is reachable only through `expose()`, used by the
//! engine modules to connect.

use std::fmt;

/// The database engines cutover drives. This is the one enum that names them; the only
/// `match` on it that chooses code is `engine::connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Sqlite,
    Postgres,
    MySql,
}

impl EngineKind {
    /// The SQL dialect scripts for this engine are read in.
    pub fn dialect(self) -> crate::sql::Dialect {
        use crate::sql::Dialect;
        match self {
            EngineKind::Sqlite => Dialect::Sqlite,
            EngineKind::Postgres => Dialect::Postgres,
            EngineKind::MySql => Dialect::MySql,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "sqlite",
            EngineKind::Postgres => "postgres",
            EngineKind::MySql => "mysql",
        }
    }
}

/// A bad `--url`, `DATABASE_URL` or `url =` setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid database URL `{shown}`: {reason}")]
pub struct UrlError {
    shown: String,
    reason: String,
}

/// A parsed database URL: `sqlite://path`, `postgres://…`, `postgresql://…`, `mysql://…`,
/// `mariadb://…`.
///
/// ```
/// use cutover::target::{DatabaseUrl, EngineKind};
///
/// let url = DatabaseUrl::parse("mariadb://app:s3cret@db.internal/shop").unwrap();
/// assert_eq!(url.kind(), EngineKind::MySql);
/// assert_eq!(url.to_string(), "mariadb://app:***@db.internal/shop");
/// assert_eq!(url.scrub("login failed: s3cret"), "login failed: ***");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    kind: EngineKind,
    password: Option<String>,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let raw = raw.trim();
        let err = |reason: &str| UrlError {
            shown: redact_str(raw),
            reason: reason.to_string(),
        };
        let scheme = raw.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        let kind = match scheme.as_deref() {
            Some("sqlite") => EngineKind::Sqlite,
            Some("postgres" | "postgresql") => EngineKind::Postgres,
            Some("mysql" | "mariadb") => EngineKind::MySql,
            Some(other) => {
                return Err(err(&format!(
                    "unknown scheme `{other}`; use sqlite://, postgres://, postgresql://, mysql:// or mariadb://"
                )));
            }
            None => {
                return Err(err(
                    "no scheme; write it like sqlite://app.db or postgres://user@host/db",
                ));
            }
        };
        let password = if kind == EngineKind::Sqlite {
            if raw.len() <= "sqlite:".len() {
                return Err(err("no file path after sqlite://"));
            }
            None
        } else {
            let parsed = url::Url::parse(raw).map_err(|e| err(&e.to_string()))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(err("no host"));
            }
            parsed.password().map(|p| {
                url::form_urlencoded::parse(format!("p={p}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| p.to_string())
            })
        };
        Ok(DatabaseUrl {
            raw: raw.to_string(),
            kind,
            password,
        })
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// For a SQLite URL, the text after `sqlite://` (or `sqlite:`): the file path and any
    /// options; `None` for the server engines.
    pub fn sqlite_path(&self) -> Option<&str> {
        if self.kind != EngineKind::Sqlite {
            return None;
        }
        let raw = self.raw.as_str();
        Some(
            raw.strip_prefix("sqlite://")
                .or_else(|| raw.strip_prefix("sqlite:"))
                .unwrap_or(raw),
        )
    }

    /// The database a server URL names (its path), if any.
    pub fn database(&self) -> Option<String> {
        if self.kind == EngineKind::Sqlite {
            return None;
        }
        let parsed = url::Url::parse(&self.raw).ok()?;
        let name = parsed.path().trim_start_matches('/');
        (!name.is_empty()).then(|| name.to_string())
    }

    /// The same server, user and options with another database (server engines only):
    /// how cutover reaches the scratch databases it creates beside a target.
    pub fn with_database(&self, name: &str) -> Result<DatabaseUrl, UrlError> {
        let mut parsed = url::Url::parse(&self.raw).map_err(|e| UrlError {
            shown: redact_str(&self.raw),
            reason: e.to_string(),
        })?;
        parsed.set_path(&format!("/{name}"));
        DatabaseUrl::parse(parsed.as_str())
    }

    /// The URL with its password; for drivers only, never for messages.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The password, so that output can be scrubbed of it (see `redact_secrets`).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref().filter(|p| !p.is_empty())
    }

    /// Replace every occurrence of this URL's password in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(p) = self.password() {
            out = out.replace(p, "***");
            if let Some(raw) = raw_password(&self.raw) {
                out = out.replace(raw, "***");
            }
        }
        out
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_str(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The password as written in the URL (still percent-encoded), if any.
fn raw_password(raw: &str) -> Option<&str> {
    let rest = raw.split_once("://")?.1;
    let userinfo = &rest[..rest.find('@')?];
    let (_, pass) = userinfo.split_once(':')?;
    (!pass.is_empty()).then_some(pass)
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`; also hides `password=` query
/// parameters.
pub fn redact_str(raw: &str) -> String {
    let mut out = raw.to_string();
    if let Some(p) = raw_password(raw) {
        out = out.replacen(&format!(":{p}@"), ":***@", 1);
    }
    if let Some((head, query)) = out.clone().split_once('?') {
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}?{}", parts.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_schemes() {
        for (u, k) in [
            ("sqlite://app.db", EngineKind::Sqlite),
            ("sqlite:///tmp/x.db", EngineKind::Sqlite),
            ("postgres://u@h/db", EngineKind::Postgres),
            ("postgresql://u@h/db", EngineKind::Postgres),
            ("mysql://u@h/db", EngineKind::MySql),
            ("mariadb://u@h/db", EngineKind::MySql),
        ] {
            assert_eq!(DatabaseUrl::parse(u).unwrap().kind(), k, "{u}");
        }
    }

    #[test]
    fn password_never_displayed() {
        let u =
            DatabaseUrl::parse("postgres://app:s3cr%40t@db.example/prod?sslmode=require").unwrap();
        assert_eq!(
            u.to_string(),
            "postgres://app:***@db.example/prod?sslmode=require"
        );
        assert!(!format!("{u:?}").contains("s3cr"));
        assert_eq!(u.password(), Some("s3cr@t"));
        assert_eq!(
            u.scrub("auth failed for s3cr@t and s3cr%40t"),
            "auth failed for *** and ***"
        );
    }

    #[test]
    fn bad_urls_are_named_without_secret() {
        let e = DatabaseUrl::parse("oracle://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown scheme `oracle`"), "{e}");
        assert!(!e.contains("pw@"), "{e}");
        assert!(DatabaseUrl::parse("app.db").is_err());
        assert!(DatabaseUrl::parse("postgres:///db").is_err());
    }

    #[test]
    fn query_password_hidden() {
        assert_eq!(
            redact_str("mysql://h/db?user=a&password=zz"),
            "mysql://h/db?user=a&password=***"
        );
    }
}
