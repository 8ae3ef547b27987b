//! HTTP checks (status, body, a JSON value) and Prometheus queries, with ureq.

use std::time::Duration;

use super::{Seen, deadline};
use crate::config::HttpProbe;
use crate::validate::Evidence;

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status and body of one request.
fn request(h: &HttpProbe, timeout: Duration) -> Result<(u16, String), String> {
    send(
        &h.method,
        &h.url,
        &h.headers,
        h.body.as_deref(),
        deadline(timeout),
    )
}

/// One request: its status and (up to 1 MiB of) body. Shared with the deploy's actions.
pub(crate) fn send(
    method: &str,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    body: Option<&str>,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let agent = agent(timeout);
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let request = builder
        .body(body.unwrap_or_default().to_string())
        .map_err(|e| e.to_string())?;
    let mut response = agent
        .run(request)
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .unwrap_or_default();
    Ok((status, text))
}

pub(super) fn run(h: &HttpProbe, timeout: Duration) -> Seen {
    let (status, body) = match request(h, timeout) {
        Ok(r) => r,
        Err(e) => return Seen::failed(e),
    };
    let mut problems = Vec::new();
    if status != h.status {
        problems.push(format!("HTTP {status}"));
    }
    if let Some(want) = &h.body_contains
        && !body.contains(want.as_str())
    {
        problems.push(format!("a body without '{want}'"));
    }
    if let Some(j) = &h.json {
        let got = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.pointer(&j.pointer).cloned());
        if got.as_ref() != Some(&j.equals) {
            let shown = got.map_or("nothing".to_string(), |v| v.to_string());
            problems.push(format!("{} = {shown}", j.pointer));
        }
    }
    let excerpt: String = body.chars().take(300).collect();
    Seen {
        ok: problems.is_empty(),
        found: if problems.is_empty() {
            format!("HTTP {status}")
        } else {
            problems.join(", ")
        },
        evidence: Evidence {
            notes: vec![
                format!("{} {} → HTTP {status}", h.method, h.url),
                format!("body: {excerpt}"),
            ],
            ..Evidence::default()
        },
    }
}

/// A Prometheus instant query, its first value compared with `min`/`max`.
pub(super) fn prometheus(
    base: &str,
    query: &str,
    max: Option<f64>,
    min: Option<f64>,
    timeout: Duration,
) -> Seen {
    let mut url = match url::Url::parse(base).and_then(|u| u.join("api/v1/query")) {
        Ok(u) => u,
        Err(e) => return Seen::failed(format!("{base} is not a URL: {e}")),
    };
    url.query_pairs_mut().append_pair("query", query);
    let probe = HttpProbe {
        method: "GET".into(),
        url: url.to_string(),
        status: 200,
        body_contains: None,
        json: None,
        headers: Default::default(),
        body: None,
    };
    let (status, body) = match request(&probe, timeout) {
        Ok(r) => r,
        Err(e) => return Seen::failed(e),
    };
    let value = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            let data = v.pointer("/data")?.clone();
            let sample = match data.pointer("/resultType").and_then(|t| t.as_str()) {
                Some("vector") => data.pointer("/result/0/value/1")?.clone(),
                _ => data.pointer("/result/1")?.clone(),
            };
            sample.as_str()?.parse::<f64>().ok()
        });
    let Some(v) = value else {
        return Seen::failed(format!(
            "HTTP {status}, no value in the answer: {}",
            body.chars().take(200).collect::<String>()
        ));
    };
    let ok = max.is_none_or(|m| v <= m) && min.is_none_or(|m| v >= m);
    Seen {
        ok,
        found: format!("{v}"),
        evidence: Evidence {
            query: Some(query.to_string()),
            ..Evidence::default()
        },
    }
}
