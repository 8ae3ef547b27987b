//! One check type everywhere (`[[checks]]`, preflight, verify, smoke, watch): exactly one of
//! `sql`, `http`, `redis`, `tcp`, `prometheus`, `disk`, with its expectations. Read and
//! checked when the file is read, so a check of no kind, of two kinds, or with a bad value
//! is an error naming the setting before anything runs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::checks::{Expected, expected};
use crate::validate::Category;

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
        url: String,
    },
    Tcp {
        address: String,
    },
    Prometheus {
        url: String,
        query: String,
        max: Option<f64>,
        min: Option<f64>,
    },
    Disk {
        path: String,
        min_free: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpProbe {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub body_contains: Option<String>,
    pub json: Option<JsonMatch>,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
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
    let probe = match kinds.as_slice() {
        ["sql"] => Probe::Sql {
            sql: spec.sql.clone().expect("set"),
            expect: expected(
                spec.expect
                    .as_ref()
                    .ok_or_else(|| bad("an sql check needs `expect`".into()))?,
                &format!("{setting}.expect"),
            )?,
        },
        ["http"] => Probe::Http(http(spec).map_err(bad)?),
        ["redis"] => Probe::Redis {
            url: spec.redis.clone().expect("set"),
        },
        ["tcp"] => Probe::Tcp {
            address: spec.tcp.clone().expect("set"),
        },
        ["prometheus"] => {
            let query = spec
                .query
                .clone()
                .ok_or_else(|| bad("a prometheus check needs `query`".into()))?;
            if spec.max.is_none() && spec.min.is_none() {
                return Err(bad("a prometheus check needs `max` or `min`".into()));
            }
            Probe::Prometheus {
                url: spec.prometheus.clone().expect("set"),
                query,
                max: spec.max,
                min: spec.min,
            }
        }
        ["disk"] => Probe::Disk {
            path: spec.disk.clone().expect("set"),
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

fn http(spec: &CheckSpec) -> Result<HttpProbe, String> {
    let text = spec.http.as_deref().expect("set").trim();
    let (method, url) = match text.split_once(char::is_whitespace) {
        Some((m, u)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            (m.to_ascii_uppercase(), u.trim())
        }
        Some((m, _)) => {
            return Err(format!(
                "`{m}` is not an HTTP method ({})",
                METHODS.join(", ")
            ));
        }
        None => ("GET".to_string(), text),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("`{url}` is not an http:// or https:// URL"));
    }
    Ok(HttpProbe {
        method,
        url: url.to_string(),
        status: spec.status.unwrap_or(200),
        body_contains: spec.body_contains.clone(),
        json: spec.json.clone(),
        headers: spec.headers.clone(),
        body: spec.body.clone(),
    })
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
        Probe::Http(h) => format!("{} {}", h.method, h.url),
        Probe::Redis { url } => format!("redis {}", crate::target::redact_str(url)),
        Probe::Tcp { address } => format!("tcp {address}"),
        Probe::Prometheus { query, .. } => format!("prometheus {query}"),
        Probe::Disk { path, .. } => format!("disk {path}"),
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
    }
}
