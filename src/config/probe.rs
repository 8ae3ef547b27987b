//! One check type everywhere (`[[checks]]`, preflight, verify, smoke, watch): exactly one of
//! `sql`, `http`, `redis`, `tcp`, `prometheus`, `disk`, with its expectations. Read and
//! checked when the file is read, so a check of no kind, of two kinds, or with a bad value
//! is an error naming the setting before anything runs. URLs, addresses, headers and
//! JSON pointers are checked here too, so that `config check` finds what would otherwise
//! fail in the middle of a deploy. Checks are shown (by `config check`) with the secrets in
//! their URLs and headers masked (see `redact`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::checks::{Expected, expected};
use crate::redact;
use crate::verdict::Category;

/// A check as written.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub name: Option<String>,
    /// connectivity, migrations, schema, integrity, security, performance, backup or
    /// application (default: integrity for SQL, application otherwise).
    pub category: Option<Category>,
    /// SQL whose first value (or row count) is compared with `expect`.
    pub sql: Option<String>,
    pub expect: Option<toml::Value>,
    /// `[METHOD ]URL`; GET when no method is given.
    pub http: Option<String>,
    /// The expected HTTP status (default 200).
    pub status: Option<u16>,
    pub body_contains: Option<String>,
    /// A JSON value the response must hold: `{ pointer = "/status", equals = "ok" }`.
    pub json: Option<JsonMatch>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A request body for POST/PUT.
    pub body: Option<String>,
    /// `redis://host:port`: answers PING with PONG.
    pub redis: Option<String>,
    /// `host:port`: accepts a TCP connection.
    pub tcp: Option<String>,
    /// A Prometheus base URL; with `query` and `max` and/or `min`.
    pub prometheus: Option<String>,
    pub query: Option<String>,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// An empty result or NaN: `warn` (default; no data is not a breach) or `fail`.
    pub on_no_data: Option<NoData>,
    /// A path whose file system must have `min_free` (`10GiB`, `500MB`) available.
    pub disk: Option<String>,
    pub min_free: Option<String>,
    /// Attempts after the first failure (default 0), `retry_delay` apart (default 1s).
    pub retries: Option<u32>,
    pub retry_delay: Option<String>,
    /// Per attempt (default 10s).
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonMatch {
    /// An RFC 6901 pointer: `/status`, `/checks/0/ok`.
    pub pointer: String,
    pub equals: serde_json::Value,
}

/// What a Prometheus check makes of a query with no data (an empty result, or NaN such as
/// 0/0 when there is no traffic). As Prometheus alerting does, no data is not a breach
/// unless the check says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoData {
    /// A warning: the check does not fail, and a watch round is not a breach.
    #[default]
    Warn,
    /// A failure, like a value out of bounds.
    Fail,
}

/// What a check probes, read and checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    Sql {
        sql: String,
        expect: Expected,
    },
    Http(HttpProbe),
    Redis {
        #[serde(serialize_with = "shown_url")]
        url: String,
    },
    Tcp {
        address: String,
    },
    Prometheus {
        #[serde(serialize_with = "shown_url")]
        url: String,
        query: String,
        max: Option<f64>,
        min: Option<f64>,
        on_no_data: NoData,
    },
    Disk {
        path: String,
        min_free: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpProbe {
    pub method: String,
    #[serde(serialize_with = "shown_url")]
    pub url: String,
    pub status: u16,
    pub body_contains: Option<String>,
    pub json: Option<JsonMatch>,
    #[serde(serialize_with = "shown_headers")]
    pub headers: BTreeMap<String, String>,
    #[serde(serialize_with = "shown_text")]
    pub body: Option<String>,
}

/// A URL as `config check` shows it: userinfo password and secret query values masked.
pub(super) fn shown_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact::url(url))
}

/// Headers as `config check` shows them: secret values masked.
pub(super) fn shown_headers<S: serde::Serializer>(
    h: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    redact::headers(h).serialize(s)
}

/// Free text (a body, a command) with credentials masked by shape.
pub(super) fn shown_text<S: serde::Serializer>(
    t: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    t.as_deref().map(redact::text).serialize(s)
}

/// A check ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub category: Category,
    pub probe: Probe,
    pub retries: u32,
    #[serde(with = "secs")]
    pub retry_delay: Duration,
    #[serde(with = "secs")]
    pub timeout: Duration,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.as_secs_f64()))
    }
}

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Read a check; `setting` (e.g. `environments.prod.preflight[1]`) names it in errors.
pub fn check(spec: &CheckSpec, setting: &str) -> Result<Check, ConfigError> {
    let bad = |message: String| ConfigError::Setting {
        setting: setting.to_string(),
        message,
    };
    let bad_at = |key: &str| {
        let setting = format!("{setting}.{key}");
        move |message: String| ConfigError::Setting { setting, message }
    };
    let kinds: Vec<&str> = [
        ("sql", spec.sql.is_some()),
        ("http", spec.http.is_some()),
        ("redis", spec.redis.is_some()),
        ("tcp", spec.tcp.is_some()),
        ("prometheus", spec.prometheus.is_some()),
        ("disk", spec.disk.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if spec.on_no_data.is_some() && spec.prometheus.is_none() {
        return Err(bad_at("on_no_data")(
            "only a prometheus check has `on_no_data`".into(),
        ));
    }
    let probe = match kinds.as_slice() {
        ["sql"] => Probe::Sql {
            sql: not_empty(spec.sql.as_deref().expect("set")).map_err(bad_at("sql"))?,
            expect: expected(
                spec.expect
                    .as_ref()
                    .ok_or_else(|| bad("an sql check needs `expect`".into()))?,
                &format!("{setting}.expect"),
            )?,
        },
        ["http"] => Probe::Http(http(spec, setting)?),
        ["redis"] => Probe::Redis {
            url: redis_url(spec.redis.as_deref().expect("set")).map_err(bad_at("redis"))?,
        },
        ["tcp"] => Probe::Tcp {
            address: host_port(spec.tcp.as_deref().expect("set")).map_err(bad_at("tcp"))?,
        },
        ["prometheus"] => {
            let query = spec
                .query
                .clone()
                .ok_or_else(|| bad("a prometheus check needs `query`".into()))?;
            if spec.max.is_none() && spec.min.is_none() {
                return Err(bad("a prometheus check needs `max` or `min`".into()));
            }
            let url = spec.prometheus.as_deref().expect("set").trim();
            web_url(url).map_err(bad_at("prometheus"))?;
            Probe::Prometheus {
                url: url.to_string(),
                query,
                max: spec.max,
                min: spec.min,
                on_no_data: spec.on_no_data.unwrap_or_default(),
            }
        }
        ["disk"] => Probe::Disk {
            path: not_empty(spec.disk.as_deref().expect("set")).map_err(bad_at("disk"))?,
            min_free: size(
                spec.min_free
                    .as_deref()
                    .ok_or_else(|| bad("a disk check needs `min_free`".into()))?,
            )
            .map_err(bad)?,
        },
        [] => {
            return Err(bad(
                "a check needs one of sql, http, redis, tcp, prometheus or disk".into(),
            ));
        }
        many => {
            return Err(bad(format!(
                "a check has one kind; this one has {}",
                many.join(" and ")
            )));
        }
    };
    let duration = |v: &Option<String>, key: &str, default: u64| -> Result<Duration, ConfigError> {
        match v {
            None => Ok(Duration::from_secs(default)),
            Some(t) => super::parse_duration(t).map_err(|m| ConfigError::Setting {
                setting: format!("{setting}.{key}"),
                message: m,
            }),
        }
    };
    let category = spec.category.unwrap_or(match probe {
        Probe::Sql { .. } => Category::Integrity,
        _ => Category::Application,
    });
    let name = spec.name.clone().unwrap_or_else(|| default_name(&probe));
    Ok(Check {
        name,
        category,
        probe,
        retries: spec.retries.unwrap_or(0),
        retry_delay: duration(&spec.retry_delay, "retry_delay", 1)?,
        timeout: duration(&spec.timeout, "timeout", 10)?,
    })
}

fn http(spec: &CheckSpec, setting: &str) -> Result<HttpProbe, ConfigError> {
    let at = |key: &str| {
        let setting = format!("{setting}.{key}");
        move |message: String| ConfigError::Setting { setting, message }
    };
    let (method, url) = request(spec.http.as_deref().expect("set"), "GET").map_err(at("http"))?;
    headers(&spec.headers).map_err(at("headers"))?;
    if let Some(j) = &spec.json
        && !(j.pointer.is_empty() || j.pointer.starts_with('/'))
    {
        return Err(at("json.pointer")(format!(
            "`{}` is not a JSON pointer: it starts with / (e.g. /status)",
            j.pointer
        )));
    }
    let status = spec.status.unwrap_or(200);
    if !(100..=599).contains(&status) {
        return Err(at("status")(format!(
            "{status} is not an HTTP status (100 to 599)"
        )));
    }
    Ok(HttpProbe {
        method,
        url,
        status,
        body_contains: spec.body_contains.clone(),
        json: spec.json.clone(),
        headers: spec.headers.clone(),
        body: spec.body.clone(),
    })
}

/// `[METHOD ]URL` of a check or an action: the method (or `default`) and the URL, checked.
pub(super) fn request(text: &str, default: &str) -> Result<(String, String), String> {
    let text = text.trim();
    let (method, url) = match text.split_once(char::is_whitespace) {
        Some((m, u)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            (m.to_ascii_uppercase(), u.trim())
        }
        Some((m, _)) if !m.contains("://") => {
            return Err(format!(
                "`{m}` is not an HTTP method ({})",
                METHODS.join(", ")
            ));
        }
        _ => (default.to_string(), text),
    };
    web_url(url)?;
    Ok((method, url.to_string()))
}

/// An http:// or https:// URL with a host. The URL is named with its secrets masked.
pub(super) fn web_url(text: &str) -> Result<url::Url, String> {
    let shown = redact::url(text);
    let parsed = url::Url::parse(text.trim())
        .map_err(|e| format!("`{shown}` is not an http:// or https:// URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{shown}` is not an http:// or https:// URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host"));
    }
    Ok(parsed)
}

/// Header names and values an HTTP request can carry. Values are never repeated.
pub(super) fn headers(h: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in h {
        ureq::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        ureq::http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    }
    Ok(())
}

/// `host:port`, with a port from 1 to 65535 (`[::1]:5432` for IPv6).
fn host_port(text: &str) -> Result<String, String> {
    let t = text.trim();
    let (host, port) = t
        .rsplit_once(':')
        .ok_or_else(|| format!("`{t}` is not host:port (e.g. db.internal:5432)"))?;
    if host.is_empty() || host.contains("://") || host.contains('/') {
        return Err(format!("`{t}` is not host:port (e.g. db.internal:5432)"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(t.to_string()),
        _ => Err(format!("`{port}` is not a port (1 to 65535) in `{t}`")),
    }
}

/// `redis://[user:password@]host[:port][/db]`.
fn redis_url(text: &str) -> Result<String, String> {
    let t = text.trim();
    let shown = redact::url(t);
    let parsed =
        url::Url::parse(t).map_err(|e| format!("`{shown}` is not a redis:// URL ({e})"))?;
    if parsed.scheme() != "redis" {
        return Err(format!(
            "`{shown}` is not a redis:// URL (scheme {}://)",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{shown}` has no host"));
    }
    Ok(t.to_string())
}

/// Text that must say something: SQL, a command.
pub(super) fn not_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("is empty".into())
    } else {
        Ok(text.to_string())
    }
}

/// `10GiB`, `500MB`, `1024` (bytes).
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 10GiB or 500MB"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        _ => return Err(format!("`{text}` is not a size like 10GiB or 500MB")),
    };
    Ok((n * mult) as u64)
}

/// A name for a check that has none: what it probes.
fn default_name(p: &Probe) -> String {
    match p {
        Probe::Sql { sql, .. } => sql.split_whitespace().take(8).collect::<Vec<_>>().join(" "),
        Probe::Http(h) => format!("{} {}", h.method, redact::url(&h.url)),
        Probe::Redis { url } => format!("redis {}", redact::url(url)),
        Probe::Tcp { address } => format!("tcp {address}"),
        Probe::Prometheus { query, .. } => format!("prometheus {query}"),
        Probe::Disk { path, .. } => format!("disk {path}"),
    }
}

impl Probe {
    /// The secrets this check was configured with (URL passwords and keys, headers).
    pub fn secrets(&self) -> crate::redact::Secrets {
        use crate::redact::Secrets;
        match self {
            Probe::Http(h) => Secrets::new().url(&h.url).headers(&h.headers),
            Probe::Prometheus { url, .. } | Probe::Redis { url } => Secrets::new().url(url),
            Probe::Sql { .. } | Probe::Tcp { .. } | Probe::Disk { .. } => Secrets::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Check, ConfigError> {
        let spec: CheckSpec = toml::from_str(text).unwrap();
        check(&spec, "environments.prod.preflight[0]")
    }

    #[test]
    fn kinds() {
        let c =
            read("http = \"POST https://app/x\"\nstatus = 204\nbody_contains = \"ok\"").unwrap();
        assert!(matches!(&c.probe, Probe::Http(h) if h.method == "POST" && h.status == 204));
        assert_eq!(c.name, "POST https://app/x");
        assert_eq!(c.category, Category::Application);
        let c = read("name = \"orphans\"\nsql = \"SELECT 0\"\nexpect = 0").unwrap();
        assert_eq!(c.category, Category::Integrity);
        assert!(matches!(
            read("disk = \"/\"\nmin_free = \"2GiB\"").unwrap().probe,
            Probe::Disk {
                min_free: 2147483648,
                ..
            }
        ));
        assert!(matches!(
            read("tcp = \"db:5432\"\nretries = 3\nretry_delay = \"2s\"")
                .unwrap()
                .retries,
            3
        ));
    }

    #[test]
    fn mistakes_name_the_setting() {
        let e = read("status = 200").unwrap_err().to_string();
        assert!(
            e.starts_with("environments.prod.preflight[0]: a check needs one of"),
            "{e}"
        );
        let e = read("http = \"https://a\"\ntcp = \"a:1\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("has http and tcp"), "{e}");
        let e = read("http = \"FETCH https://a\"").unwrap_err().to_string();
        assert!(e.contains("`FETCH` is not an HTTP method"), "{e}");
        let e = read("prometheus = \"http://p:9090\"\nquery = \"up\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`max` or `min`"), "{e}");
        let e = read("tcp = \"a:1\"\ntimeout = \"soon\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environments.prod.preflight[0].timeout:"),
            "{e}"
        );
        assert!(read("disk = \"/\"\nmin_free = \"lots\"").is_err());
        let e = read("disk = \" \"\nmin_free = \"1GB\"")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "environments.prod.preflight[0].disk: is empty");
        let e = read("http = \"https://a/x\"\nstatus = 42")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environments.prod.preflight[0].status: 42 is not"),
            "{e}"
        );
        let e = read("tcp = \"db\"").unwrap_err().to_string();
        assert!(
            e.starts_with("environments.prod.preflight[0].tcp: `db` is not host:port"),
            "{e}"
        );
        let e = read("redis = \"redis://:pw@\"").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
    }
}
