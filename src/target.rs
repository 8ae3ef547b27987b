//! Database targets: parsing a URL into an engine kind, and showing it without its password.
//!
//! A `DatabaseUrl` never prints its password: `Display` and `Debug` both redact it, so a URL
//! can be put in any message. The raw text is reachable only through `expose()`, used by the
//! engine modules to connect.

use std::fmt;

/// The database engines cutover drives. This is the one enum that names them; the only
/// `match` on it is `driver::of`.
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
        crate::driver::of(self).dialect
    }

    /// The engine's name in manifests, reports and `--json`.
    pub fn name(self) -> &'static str {
        crate::driver::of(self).name
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
    /// The password cutover logs in with (decoded).
    password: Option<String>,
    /// Every secret in the URL, decoded and as written, for scrubbing output.
    secrets: Vec<String>,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let raw = raw.trim();
        let err = |reason: &str| UrlError {
            shown: redact_unparsed(raw),
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
        if kind == EngineKind::Sqlite {
            if raw.len() <= "sqlite:".len() {
                return Err(err("no file path after sqlite://"));
            }
            return Ok(DatabaseUrl {
                raw: raw.to_string(),
                kind,
                password: None,
                secrets: Vec::new(),
            });
        }
        let parsed = url::Url::parse(raw).map_err(|e| err(&e.to_string()))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(err("no host"));
        }
        let userinfo = userinfo_password(raw).map(str::to_string);
        let query = query_password(raw);
        let mut secrets = Vec::new();
        for written in userinfo.iter().chain(query.iter()) {
            secrets.push(decode(written));
            secrets.push(written.clone());
        }
        secrets.retain(|s| !s.is_empty());
        // sqlx and libpq both let `?password=` override the userinfo on PostgreSQL; the
        // MySQL driver reads only the userinfo.
        let login = match kind {
            EngineKind::Postgres => query.or(userinfo),
            _ => userinfo,
        };
        Ok(DatabaseUrl {
            raw: raw.to_string(),
            kind,
            password: login.map(|p| decode(&p)),
            secrets,
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

    /// Replace every occurrence of this URL's secrets (userinfo and `?password=`, decoded
    /// and as written) in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets
            .into_iter()
            .fold(text.to_string(), |out, s| out.replace(s, "***"))
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

/// Percent-decoding as the drivers do it (`+` stays a plus: this is not a form).
fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The text after `scheme://`, if the URL has an authority.
fn after_scheme(raw: &str) -> Option<(usize, &str)> {
    let i = raw.find("://")? + 3;
    Some((i, &raw[i..]))
}

/// Where the password of a URL that parses lies, as written: the userinfo ends at the
/// authority's last `@` (the URL standard, and so the drivers, read it so: a raw `@` in a
/// password belongs to the password), and the password starts after its first `:`.
fn userinfo_span(raw: &str) -> Option<std::ops::Range<usize>> {
    let (start, rest) = after_scheme(raw)?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let colon = userinfo.find(':')?;
    Some(start + colon + 1..start + userinfo.len())
}

/// The password as written in the userinfo (still percent-encoded), if any.
fn userinfo_password(raw: &str) -> Option<&str> {
    userinfo_span(raw)
        .map(|r| &raw[r])
        .filter(|p| !p.is_empty())
}

/// The `password` query parameter as written, if any.
fn query_password(raw: &str) -> Option<String> {
    let (_, rest) = after_scheme(raw)?;
    let query = rest.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("password"))
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Hide `password=` query parameters.
fn redact_query(text: String) -> String {
    let Some((head, query)) = text.split_once('?') else {
        return text;
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}?{}", parts.join("&"))
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`; also hides `password=` query
/// parameters. A URL that does not parse is redacted more widely (see `redact_unparsed`).
pub fn redact_str(raw: &str) -> String {
    if url::Url::parse(raw).is_err() {
        return redact_unparsed(raw);
    }
    let masked = match userinfo_span(raw) {
        Some(r) if !r.is_empty() => format!("{}***{}", &raw[..r.start], &raw[r.end..]),
        _ => raw.to_string(),
    };
    redact_query(masked)
}

/// A URL that does not parse: where its password ends cannot be known (a raw `/`, `?` or
/// `#` in it is what broke the parse), so everything from the first `:` after the user up
/// to the last `@` of the whole text is hidden; with no `@`, whatever follows a `:` in the
/// authority (`user:secret/db` with the host forgotten).
fn redact_unparsed(raw: &str) -> String {
    let Some((start, rest)) = after_scheme(raw) else {
        return redact_query(raw.to_string());
    };
    let masked = match rest.rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{}***{}", &raw[..start + colon + 1], &rest[at..]),
            None => raw.to_string(),
        },
        None => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].find(':') {
                Some(colon) => format!("{}***{}", &raw[..start + colon + 1], &rest[end..]),
                None => raw.to_string(),
            }
        }
    };
    redact_query(masked)
}

/// Serialised as it is displayed: the password hidden (reports, `config check`).
impl serde::Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
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

    /// A raw `@` in the password: the userinfo ends at the authority's last `@` (as the
    /// URL standard and the drivers read it), so everything before it is hidden.
    #[test]
    fn raw_at_in_password_is_hidden_to_the_last_at() {
        let u = DatabaseUrl::parse("mysql://u:Abc@Secret99@db.example/shop?x=a@b").unwrap();
        assert_eq!(u.to_string(), "mysql://u:***@db.example/shop?x=a@b");
        assert_eq!(u.password(), Some("Abc@Secret99"));
        assert_eq!(u.scrub("denied for Abc@Secret99"), "denied for ***");
        assert_eq!(u.database().as_deref(), Some("shop"));
        let moved = u.with_database("other").unwrap();
        assert_eq!(moved.to_string(), "mysql://u:***@db.example/other?x=a@b");
        assert_eq!(moved.password(), Some("Abc@Secret99"));
    }

    /// A URL that does not parse is shown with everything between `://` and its last `@`
    /// hidden: where the password ends cannot be known, so nothing of it may show.
    #[test]
    fn unparseable_urls_leak_nothing() {
        for (raw, secret) in [
            ("postgres://u:p@ss:w/rd%#?x@db.example/app", "ss:w/rd"),
            ("postgres://u:pa/ss@db.example/app", "pa/ss"),
            ("mysql://u:Abc#Sec@db.example/shop", "Abc"),
            ("postgres://user:secret/app", "secret"),
            ("postgres://user:s3cr3t@", "s3cr3t"),
        ] {
            let e = DatabaseUrl::parse(raw).unwrap_err().to_string();
            assert!(!e.contains(secret), "{raw}: {e}");
            assert!(e.contains("***"), "{raw}: {e}");
        }
        let e = DatabaseUrl::parse("postgres://u:p@ss:w/rd%#?x@db.example/app")
            .unwrap_err()
            .to_string();
        assert!(e.contains("postgres://u:***@db.example/app"), "{e}");
        // A `:` after a raw `@` still parses (the password is `Abc@Sec:ret99`).
        let u = DatabaseUrl::parse("mysql://u:Abc@Sec:ret99@db.example/shop").unwrap();
        assert_eq!(u.to_string(), "mysql://u:***@db.example/shop");
    }

    /// `?password=` is a password too: hidden, scrubbed, and the one used to log in.
    #[test]
    fn query_password_is_the_password() {
        let u = DatabaseUrl::parse(
            "postgres://app@db.example/prod?password=Qu%26ery99&sslmode=disable",
        )
        .unwrap();
        assert_eq!(u.password(), Some("Qu&ery99"));
        assert_eq!(
            u.to_string(),
            "postgres://app@db.example/prod?password=***&sslmode=disable"
        );
        assert_eq!(u.scrub("x Qu&ery99 Qu%26ery99 y"), "x *** *** y");
    }

    #[test]
    fn query_password_hidden() {
        assert_eq!(
            redact_str("mysql://h/db?user=a&password=zz"),
            "mysql://h/db?user=a&password=***"
        );
    }
}
