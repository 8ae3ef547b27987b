//! Doing things outside the database: maintenance mode on and off, hooks and
//! notifications, by command (with a timeout), HTTP request, file or SQL statement.
//!
//! What an action returns (its result or its error) is already redacted: the secrets in
//! its URL, headers and command line are masked (see `redact`), so the pipeline can show,
//! journal, report and notify it as it is.
//!
//! Commands run in a process group of their own. Their output is read while they run, so a
//! loud command never blocks on a full pipe, and on timeout the whole group is killed, so
//! nothing they started outlives them.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Action, Notify, TimedAction};
use crate::engine::Engine;
use crate::redact::{self, Secrets};

/// Run an action. `on` says which way a file action goes: create (maintenance on) or
/// remove (off). Returns what happened, or why it failed, with its secrets masked.
pub fn run(a: &TimedAction, on: bool, engine: Option<&mut dyn Engine>) -> Result<String, String> {
    let secrets = a.action.secrets();
    perform(a, on, engine)
        .map(|done| secrets.scrub(&done))
        .map_err(|why| secrets.scrub(&why))
}

fn perform(a: &TimedAction, on: bool, engine: Option<&mut dyn Engine>) -> Result<String, String> {
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

/// How much of each output stream is kept for the message; the rest is read and dropped.
const OUTPUT_KEPT: usize = 64 * 1024;

/// After a TERM on timeout, how long the group has to exit before it is KILLed.
const GRACE: Duration = Duration::from_millis(500);

/// `sh -c command` in a process group of its own, killed (with everything it started)
/// after `timeout`; `stdin` is written to it when given. The result is redacted by shape
/// (URLs, `Bearer` tokens, secret `key=value` words).
pub fn shell(
    command: &str,
    timeout: Duration,
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let shown = redact::text(command);
    run_shell(command, &shown, timeout, stdin, env)
        .map(|m| redact::text(&m))
        .map_err(|m| redact::text(&m))
}

fn run_shell(
    command: &str,
    shown: &str,
    timeout: Duration,
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    // Fed and drained by threads: a command that reads or writes more than a pipe holds
    // (64 KiB) would otherwise wait for us while we wait for it.
    let feeder = stdin.zip(child.stdin.take()).map(|(data, mut input)| {
        let data = data.to_vec();
        std::thread::spawn(move || {
            // A command that does not read its input closes the pipe: not an error.
            let _ = input.write_all(&data);
        })
    });
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let killed = |child: &mut Child, out, err| {
        kill_group(child);
        collect(out);
        collect(err);
        format!(
            "`{shown}` did not finish within {}s and was killed, with every process it started",
            timeout.as_secs_f64()
        )
    };
    let status = match wait_until(&mut child, deadline) {
        Some(status) => status,
        None => return Err(killed(&mut child, out, err)),
    };
    // The shell is done; its output ends when every process holding the pipes is gone. A
    // background process that keeps them open past the deadline is killed with its group.
    let streams_open = [&out, &err]
        .into_iter()
        .any(|s| s.as_ref().is_some_and(|h| !finished_by(h, deadline)));
    if streams_open {
        return Err(killed(&mut child, out, err));
    }
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let (stdout, stderr) = (collect(out), collect(err));
    if status.success() {
        Ok(format!("`{shown}` ran: {}", excerpt(&stdout)))
    } else {
        Err(format!("`{shown}` failed ({status}): {}", excerpt(&stderr)))
    }
}

/// Read a stream to its end on a thread, keeping its first `OUTPUT_KEPT` bytes.
fn drain(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_KEPT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

fn collect(h: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    h.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// Whether a reader finished (its stream closed) by the deadline.
fn finished_by(h: &JoinHandle<Vec<u8>>, deadline: Instant) -> bool {
    while !h.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// The child's exit status, or `None` when the deadline came first.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return None,
        }
    }
}

/// TERM the child's process group, give it `GRACE` to go, then KILL whatever is left, and
/// reap the child.
fn kill_group(child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let group = Pid::from_child(child);
    // ESRCH (the group is already gone) is what we want: nothing to report.
    let _ = kill_process_group(group, Signal::TERM);
    let _ = wait_until(child, Instant::now() + GRACE);
    let _ = kill_process_group(group, Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// The first lines of an output, on one line.
fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim()
        .lines()
        .take(5)
        .collect::<Vec<_>>()
        .join(" / ")
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
/// on a command's stdin with the text in `CUTOVER_MESSAGE`. Returns the problems, redacted.
pub fn notify(n: &Notify, payload: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let json = serde_json::to_string(payload).expect("a notification serialises");
    if let Some(url) = &n.webhook {
        let headers = [("content-type".to_string(), "application/json".to_string())]
            .into_iter()
            .collect();
        if let Err(e) = http("POST", url, &headers, Some(&json), Duration::from_secs(10)) {
            // A webhook's URL is its secret (Slack's are): never repeat any of it.
            let secrets = Secrets::new().webhook(url);
            problems.push(format!(
                "webhook {}: {}",
                redact::webhook(url),
                secrets.scrub(&e)
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_beyond_a_pipe_does_not_block() {
        let t = Instant::now();
        let done = shell(
            "yes out | head -c 1000000; yes err | head -c 300000 >&2; echo end",
            Duration::from_secs(20),
            Some(&vec![b'x'; 300_000]),
            &[],
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert!(done.starts_with("`yes out"), "{done}");
    }

    #[test]
    fn failures_show_stderr_and_secrets_are_masked() {
        let e = shell(
            "echo 'curl https://h/x?token=SEKRET1' >&2; exit 3",
            Duration::from_secs(10),
            None,
            &[],
        )
        .unwrap_err();
        assert!(e.contains("exit status: 3"), "{e}");
        assert!(e.contains("token=***"), "{e}");
        assert!(!e.contains("SEKRET1"), "{e}");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let command = format!(
            "sh -c 'echo $$ > {}; exec sleep 37' & wait",
            pidfile.display()
        );
        let t = Instant::now();
        let e = shell(&command, Duration::from_millis(500), None, &[]).unwrap_err();
        assert!(e.contains("was killed"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        let until = Instant::now() + Duration::from_secs(3);
        while alive(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if alive(pid) {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("the grandchild {pid} outlived the timeout");
        }
    }

    #[test]
    fn a_background_process_holding_the_output_is_killed_at_the_deadline() {
        let t = Instant::now();
        let e = shell(
            "sleep 30 & echo started",
            Duration::from_millis(500),
            None,
            &[],
        )
        .unwrap_err();
        assert!(e.contains("was killed"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}
