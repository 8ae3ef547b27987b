//! HTTP checks (status, body, a JSON value) and Prometheus instant queries, with ureq. A
//! Prometheus query with no data (an empty result, NaN) is a warning unless the check says
//! `on_no_data = "fail"`: as in Prometheus alerting, no data is not a breach.

use std::time::Duration;

use super::{Seen, deadline};
use crate::config::{HttpProbe, NoData};
use crate::verdict::{Evidence, Status};

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
    let found = if problems.is_empty() {
        format!("HTTP {status}")
    } else {
        problems.join(", ")
    };
    Seen::judged(problems.is_empty(), found).with_evidence(Evidence {
        notes: vec![
            format!("{} {} → HTTP {status}", h.method, h.url),
            format!("body: {excerpt}"),
        ],
        ..Evidence::default()
    })
}

/// The bounds of a Prometheus check, and what no data means to it.
pub(super) struct Bounds {
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub on_no_data: NoData,
}

/// What a Prometheus instant query answered.
enum Answer {
    Value(f64),
    /// An empty result, or NaN: nothing to compare (why, for the message).
    NoData(&'static str),
    /// Not a successful Prometheus answer.
    Bad(String),
}

/// A Prometheus instant query, its first value compared with `min`/`max`.
pub(super) fn prometheus(base: &str, query: &str, b: &Bounds, timeout: Duration) -> Seen {
    let url = match query_url(base, query) {
        Ok(u) => u,
        Err(e) => return Seen::failed(e),
    };
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
    let evidence = Evidence {
        query: Some(query.to_string()),
        notes: vec![format!("GET {url} → HTTP {status}")],
        ..Evidence::default()
    };
    let seen = match answer(&body) {
        Answer::Value(v) => {
            let ok = b.max.is_none_or(|m| v <= m) && b.min.is_none_or(|m| v >= m);
            Seen::judged(ok, format!("{v}"))
        }
        Answer::NoData(why) => match b.on_no_data {
            NoData::Warn => Seen {
                verdict: Status::Warn,
                found: format!("no data ({why}); not a breach (on_no_data = \"warn\")"),
                evidence: Evidence::default(),
            },
            NoData::Fail => Seen::failed(format!("no data ({why}; on_no_data = \"fail\")")),
        },
        Answer::Bad(what) => Seen::failed(format!("HTTP {status}, {what}")),
    };
    seen.with_evidence(evidence)
}

/// `<base>/api/v1/query?query=…`. A base with a path (`http://host/prometheus`, behind a
/// proxy) keeps it, and a base's own query (a proxy's credentials) is kept too.
fn query_url(base: &str, query: &str) -> Result<url::Url, String> {
    let shown = crate::redact::url(base);
    let mut url = url::Url::parse(base).map_err(|e| format!("{shown} is not a URL: {e}"))?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    url.set_query(None);
    if !url.path().ends_with('/') {
        // `join` replaces the last segment of a path without a trailing slash.
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    let mut url = url
        .join("api/v1/query")
        .map_err(|e| format!("{shown} is not a base URL: {e}"))?;
    url.query_pairs_mut()
        .extend_pairs(pairs)
        .append_pair("query", query);
    Ok(url)
}

/// Read an instant query's answer: its first sample, or why there is none.
fn answer(body: &str) -> Answer {
    let excerpt = || body.chars().take(200).collect::<String>();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return Answer::Bad(format!("not a Prometheus answer: {}", excerpt()));
    };
    if v["status"] != "success" {
        return Answer::Bad(format!(
            "Prometheus said {}: {}",
            v["errorType"].as_str().unwrap_or("error"),
            v["error"]
                .as_str()
                .map_or_else(|| v.to_string(), str::to_string)
        ));
    }
    let data = &v["data"];
    let sample = match data["resultType"].as_str() {
        Some("vector") => data.pointer("/result/0/value/1"),
        Some("matrix") => data
            .pointer("/result/0/values")
            .and_then(|s| s.as_array()?.last()?.get(1)),
        _ => data.pointer("/result/1"),
    };
    let Some(sample) = sample else {
        return match data["result"].as_array() {
            Some(r) if r.is_empty() => Answer::NoData("an empty result"),
            _ => Answer::Bad(format!("no value in the answer: {}", excerpt())),
        };
    };
    match sample.as_str().map(str::parse::<f64>) {
        Some(Ok(n)) if n.is_nan() => Answer::NoData("NaN, as 0/0 is with no traffic"),
        Some(Ok(n)) => Answer::Value(n),
        _ => Answer::Bad(format!("the sample {sample} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_urls_keep_the_base() {
        for (base, want) in [
            ("http://p:9090", "http://p:9090/api/v1/query?query=up"),
            (
                "http://h/prometheus",
                "http://h/prometheus/api/v1/query?query=up",
            ),
            (
                "http://h/prometheus/",
                "http://h/prometheus/api/v1/query?query=up",
            ),
            (
                "https://h/p?tenant=a",
                "https://h/p/api/v1/query?tenant=a&query=up",
            ),
        ] {
            assert_eq!(query_url(base, "up").unwrap().as_str(), want, "{base}");
        }
    }

    #[test]
    fn answers() {
        let one = |v: &str| {
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1,"{v}"]}}]}}}}"#
            )
        };
        assert!(matches!(answer(&one("0.5")), Answer::Value(v) if v == 0.5));
        assert!(matches!(answer(&one("NaN")), Answer::NoData(_)));
        assert!(matches!(answer(&one("+Inf")), Answer::Value(v) if v.is_infinite()));
        assert!(matches!(
            answer(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#),
            Answer::NoData(_)
        ));
        assert!(matches!(
            answer(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#),
            Answer::Value(v) if v == 2.0
        ));
        assert!(matches!(
            answer(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#),
            Answer::Bad(e) if e.contains("bad_data: parse error")
        ));
        assert!(matches!(answer("<html>"), Answer::Bad(_)));
    }
}
