//! Doing things outside the database: maintenance mode on and off, hooks and
//! notifications, by command (with a timeout), HTTP request, file or SQL statement.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Action, Notify, TimedAction};
use crate::engine::Engine;

/// Run an action. `on` says which way a file action goes: create (maintenance on) or
/// remove (off). Returns what happened, or why it failed.
pub fn run(a: &TimedAction, on: bool, engine: Option<&mut dyn Engine>) -> Result<String, String> {
    match &a.action {
        Action::Command { command } => shell(command, a.timeout, None, &[]),
        Action::Http {
            method,
            url,
            headers,
            body,
        } => http(method, url, headers, body.as_deref(), a.timeout),
        Action::File { path } if on => std::fs::write(path, b"maintenance\n")
            .map(|_| format!("created {}", path.display()))
            .map_err(|e| format!("cannot create {}: {e}", path.display())),
        Action::File { path } => match std::fs::remove_file(path) {
            Ok(()) => Ok(format!("removed {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(format!("{} was already gone", path.display()))
            }
            Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
        },
        Action::Sql { sql } => match engine {
            Some(e) => e
                .execute(sql)
                .map(|_| format!("ran {sql}"))
                .map_err(|e| e.message),
            None => Err("no database connection for a SQL action".into()),
        },
    }
}

/// `sh -c command`, killed after `timeout`; `stdin` is written to it when given.
pub fn shell(
    command: &str,
    timeout: Duration,
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    if let (Some(data), Some(mut input)) = (stdin, child.stdin.take()) {
        let _ = input.write_all(data);
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{command}` did not finish within {}s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .trim()
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(" / ")
    };
    if out.status.success() {
        Ok(format!("`{command}` ran: {}", text(&out.stdout)))
    } else {
        Err(format!(
            "`{command}` failed ({}): {}",
            out.status,
            text(&out.stderr)
        ))
    }
}

fn http(
    method: &str,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    body: Option<&str>,
    timeout: Duration,
) -> Result<String, String> {
    let (status, _) = crate::checks::send(method, url, headers, body, timeout)?;
    let done = format!("{method} {url} → HTTP {status}");
    if (200..300).contains(&status) {
        Ok(done)
    } else {
        Err(done)
    }
}

/// Send a notification: JSON to a webhook (with a Slack-compatible `text`), and/or the JSON
/// on a command's stdin with the text in `CUTOVER_MESSAGE`.
pub fn notify(n: &Notify, payload: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let json = serde_json::to_string(payload).expect("a notification serialises");
    if let Some(url) = &n.webhook {
        let headers = [("content-type".to_string(), "application/json".to_string())]
            .into_iter()
            .collect();
        if let Err(e) = http("POST", url, &headers, Some(&json), Duration::from_secs(10)) {
            // A webhook's URL is its secret (Slack's are): never repeat it.
            problems.push(format!("webhook: {}", e.replace(url.as_str(), "<webhook>")));
        }
    }
    if let Some(command) = &n.command {
        let text = payload["text"].as_str().unwrap_or_default();
        if let Err(e) = shell(
            command,
            Duration::from_secs(30),
            Some(json.as_bytes()),
            &[("CUTOVER_MESSAGE", text)],
        ) {
            problems.push(e);
        }
    }
    problems
}
