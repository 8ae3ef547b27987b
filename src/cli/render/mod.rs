//! Rendering results for people (tables on stdout, progress and diagnostics on stderr) or
//! for programs (`--json` on stdout). Colours go through anstream, which drops them when
//! the stream is not a terminal or NO_COLOR is set.

use std::io::IsTerminal;
use std::time::Duration;

use anstream::{eprintln, print, println};
use anstyle::{AnsiColor, Style};
use cutover::Error;
use cutover::config::Settings;
use cutover::events::{Event, Observer};
use cutover::history::{Direction, State};
use cutover::runner::{MigrateReport, StatusReport};
use cutover::target::DatabaseUrl;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::Global;

mod backup;
mod deploy;
mod fleet;
mod lint;
mod rehearse;
mod schema;
mod squash;
mod transfer;
mod validate;

pub use validate::check_report_path;

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub struct Renderer {
    json: bool,
    quiet: bool,
    verbose: u8,
    /// The URLs in play, so that their passwords can be scrubbed from anything printed.
    secrets: Vec<DatabaseUrl>,
}

impl Renderer {
    pub fn new(g: &Global) -> Self {
        Renderer {
            json: g.json,
            quiet: g.quiet,
            verbose: g.verbose,
            secrets: Vec::new(),
        }
    }

    pub fn add_secret_source(&mut self, url: DatabaseUrl) {
        self.secrets.push(url);
    }

    fn scrub(&self, text: &str) -> String {
        scrub(&self.secrets, text)
    }

    pub fn observer(&self) -> Progress {
        let mut p = Progress::new(!self.quiet && !self.json, self.secrets.clone());
        p.json_lines = self.json;
        p.verbose = self.verbose;
        p
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether `-v` was given.
    pub fn verbose(&self) -> bool {
        self.verbose > 0
    }

    pub(super) fn json<T: serde::Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("reports serialise");
        println!("{}", self.scrub(&text));
    }

    /// An environment's effective settings: JSON, or an indented listing.
    pub fn effective(&self, v: &serde_json::Value) {
        if self.json {
            return self.json(v);
        }
        if self.quiet {
            return;
        }
        let mut out = format!(
            "{BOLD}environment {} ({}){BOLD:#}: {} · {}\n",
            scalar(&v["environment"]),
            scalar(&v["kind"]),
            scalar(&v["url"]),
            scalar(&v["engine"])
        );
        outline(&mut out, v, 0);
        print!("{}", self.scrub(&out));
    }

    pub fn error(&self, e: &Error) {
        let message = self.scrub(&e.to_string());
        if self.json {
            let hint = e.hint().map(|h| self.scrub(&h));
            let value = serde_json::json!({ "error": message, "hint": hint });
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        }
        eprintln!("{RED}error{RED:#}: {message}");
        if let Some(hint) = e.hint() {
            eprintln!("\n{CYAN}hint{CYAN:#}: {}", self.scrub(&hint));
        }
    }

    pub fn init(&self, created: &[String]) {
        if self.json {
            return self.json(&serde_json::json!({ "created": created }));
        }
        if self.quiet {
            return;
        }
        for c in created {
            println!("created {c}");
        }
        println!("\nnext: `cutover new create_first_table`, write the SQL, then `cutover migrate`");
    }

    pub fn created(&self, created: &[String]) {
        if self.json {
            return self.json(&serde_json::json!({ "created": created }));
        }
        if !self.quiet {
            for c in created {
                println!("created {c}");
            }
        }
    }

    pub fn status(&self, r: &StatusReport, s: &Settings) {
        use std::fmt::Write as _;
        if self.json {
            return self.json(r);
        }
        if self.quiet {
            return;
        }
        // One write for the whole table: stdout is line-buffered, and a history can hold
        // thousands of lines.
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{DIM}{} · {} {} · layout {} · {}{DIM:#}",
            s.url,
            s.url.kind().name(),
            r.server_version,
            r.layout,
            s.migrations.display()
        );
        let width = r
            .migrations
            .iter()
            .map(|m| m.version.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let _ = writeln!(
            out,
            "{BOLD}{:<width$}  {:<9}  {:<27}  {:>9}  NAME{BOLD:#}",
            "VERSION", "STATE", "APPLIED AT", "DURATION"
        );
        for m in &r.migrations {
            let style = state_style(m.state);
            let _ = writeln!(
                out,
                "{:<width$}  {style}{:<9}{style:#}  {:<27}  {:>9}  {}",
                m.version,
                m.state.as_str(),
                m.applied_at.as_deref().unwrap_or("-"),
                m.duration_ms
                    .map(|d| format!("{d} ms"))
                    .unwrap_or_else(|| "-".into()),
                m.name
            );
            if m.state == State::Failed {
                let _ = writeln!(
                    out,
                    "{:width$}  {RED}stopped at statement {} (line {}): {}{RED:#}",
                    "",
                    m.failed_statement.unwrap_or(0),
                    m.failed_line.unwrap_or(0),
                    self.scrub(m.error.as_deref().unwrap_or("?"))
                );
            }
        }
        let counts: Vec<String> = [
            State::Applied,
            State::Pending,
            State::Changed,
            State::Missing,
            State::Failed,
            State::Skipped,
            State::Squashed,
            State::PartlySquashed,
        ]
        .into_iter()
        .filter_map(|st| {
            let n = r.count(st);
            (n > 0).then(|| format!("{n} {}", st.as_str()))
        })
        .collect();
        let summary = if counts.is_empty() {
            "no migrations".to_string()
        } else {
            counts.join(", ")
        };
        let _ = writeln!(out, "\n{summary}");
        if let Some(f) = &r.foreign {
            let _ = writeln!(
                out,
                "{YELLOW}{}'s history is in {} ({} entr{}) and cutover has none here: `migrate` refuses; \
                 `cutover adopt --dry-run` shows how it maps to these files{YELLOW:#}",
                f.tool,
                f.table,
                f.entries,
                if f.entries == 1 { "y" } else { "ies" }
            );
        }
        if let Some(q) = &r.squash {
            let _ = writeln!(out, "{}", squash_line(q));
        }
        let waiting: Vec<&str> = r
            .migrations
            .iter()
            .filter(|m| {
                m.state == State::Pending && m.phase == Some(cutover::migrations::Stage::Contract)
            })
            .map(|m| m.version.as_str())
            .collect();
        if !waiting.is_empty() {
            let _ = writeln!(
                out,
                "{YELLOW}{} contract step(s) waiting for `cutover deploy --phase contract`: {}{YELLOW:#}",
                waiting.len(),
                waiting.join(", ")
            );
        }
        print!("{out}");
    }

    pub fn migrate(&self, r: &MigrateReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet {
            return;
        }
        let verb = match (r.direction, r.dry_run) {
            (Direction::Up, true) => "would apply",
            (Direction::Down, true) => "would roll back",
            (Direction::Up, false) => "applied",
            (Direction::Down, false) => "rolled back",
        };
        if r.scripts.is_empty() {
            let nothing = match r.direction {
                Direction::Up => "nothing to apply: the database is up to date",
                Direction::Down => "nothing to roll back",
            };
            println!("{nothing}");
            return;
        }
        if r.dry_run {
            for s in &r.scripts {
                let tx = if s.no_transaction {
                    " (no transaction)"
                } else {
                    ""
                };
                println!(
                    "{BOLD}{verb} {} {}{BOLD:#}{tx}  {DIM}{}{DIM:#}",
                    s.id, s.name, s.file
                );
                for st in &s.sql {
                    let first = st.sql.lines().next().unwrap_or("");
                    let more = if st.sql.contains('\n') && self.verbose == 0 {
                        " …"
                    } else {
                        ""
                    };
                    let text = if self.verbose > 0 {
                        st.sql.as_str()
                    } else {
                        first
                    };
                    println!("  {DIM}{:>5}{DIM:#}  {text}{more}", st.line);
                }
            }
            println!(
                "\n{} migration(s) {verb}; nothing was changed",
                r.scripts.len()
            );
            return;
        }
        let total: u64 = r.scripts.iter().filter_map(|s| s.duration_ms).sum();
        println!(
            "{GREEN}{verb} {} migration(s){GREEN:#} in {total} ms {DIM}(run {}){DIM:#}",
            r.scripts.len(),
            r.run_id
        );
    }
}

/// A JSON value as an indented `key: value` listing; empty parts left out.
fn outline(out: &mut String, v: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                match item {
                    Value::Null => {}
                    Value::Array(a) if a.is_empty() => {}
                    Value::Object(o) if o.is_empty() => {}
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        outline(out, item, depth + 1);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(item))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        outline(out, item, depth + 1);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// `text` without the target's password, and without secrets that have the shape of one
/// (URL passwords and tokens, `Bearer` credentials; see `cutover::redact`).
fn scrub(urls: &[DatabaseUrl], text: &str) -> String {
    let text = urls.iter().fold(text.to_string(), |t, u| u.scrub(&t));
    cutover::redact::text(&text)
}

/// What a squash means for the database `status` looked at, in one sentence.
fn squash_line(q: &cutover::runner::SquashStatus) -> String {
    use cutover::runner::SquashCase;
    let what = format!(
        "squash: the baseline {} replaces {} migrations (archived in {})",
        q.baseline, q.squashed, q.archive
    );
    let case = match q.case {
        SquashCase::Fresh => {
            "this database has none of them: `migrate` runs only the baseline".to_string()
        }
        SquashCase::Baseline => "this database ran the baseline".to_string(),
        SquashCase::Complete => {
            "this database applied all of them, so the baseline counts as applied".to_string()
        }
        SquashCase::Partial => format!(
            "{RED}this database stopped part-way, at {}: from a checkout before the squash, run \
             `cutover migrate --to {}`{RED:#}",
            q.stopped_at.as_deref().unwrap_or("none of them"),
            q.baseline
        ),
    };
    format!("{what}; {case}")
}

fn state_style(s: State) -> Style {
    match s {
        State::Applied => GREEN,
        State::Pending | State::Skipped | State::Squashed => YELLOW,
        State::Changed | State::Missing | State::Failed | State::PartlySquashed => RED,
    }
}

/// Progress on stderr while a run works: a bar on a terminal, one line per script otherwise.
pub struct Progress {
    show: bool,
    /// `--json`: deploy phases go to stdout as JSON lines.
    json_lines: bool,
    bar: Option<ProgressBar>,
    secrets: Vec<DatabaseUrl>,
    /// `-v`: passing checks and server notices too.
    verbose: u8,
}

impl Progress {
    fn new(show: bool, secrets: Vec<DatabaseUrl>) -> Self {
        Progress {
            show,
            json_lines: false,
            bar: None,
            secrets,
            verbose: 0,
        }
    }

    fn line(&self, text: String) {
        let text = scrub(&self.secrets, &text);
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }
}

impl Progress {
    /// A backfill's rows, rate and time left: the bar's message on a terminal; one line
    /// when it ends.
    fn backfill(&mut self, id: &str, done: u64, total: u64, rate: u64, left: Duration, end: bool) {
        if end {
            return self.line(format!("  backfill {id}: {done} rows ({rate} rows/s)"));
        }
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("valid"),
            );
            bar
        });
        bar.set_message(format!(
            "backfill {id}: {done} of about {total} rows, {rate} rows/s, about {} left",
            secs(left)
        ));
    }

    /// Bytes and elapsed time of a backup or restore, on a terminal only.
    fn transfer(&mut self, what: &str, bytes: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed}] {msg}: {bytes} ({bytes_per_sec})",
                )
                .expect("valid template"),
            );
            bar
        });
        bar.set_message(what.to_string());
        bar.set_position(bytes);
    }
}

impl Observer for Progress {
    fn event(&mut self, event: &Event) {
        if let (
            true,
            Event::Phase {
                phase,
                status,
                detail,
                duration,
            },
        ) = (self.json_lines, event)
        {
            let line = serde_json::json!({
                "phase": phase,
                "status": status.map_or("started", |s| s.as_str()),
                "detail": detail.join("; "),
                "duration_ms": duration.as_millis() as u64,
            });
            println!("{}", scrub(&self.secrets, &line.to_string()));
        }
        if self.json_lines && transfer::is_progress(event) {
            let line = serde_json::to_string(event).expect("events serialise");
            println!("{}", scrub(&self.secrets, &line));
        }
        if !self.show {
            return;
        }
        if transfer::is_progress(event) {
            return self.table_progress(event);
        }
        match event {
            Event::LockWaiting { holder } => self.line(format!(
                "{YELLOW}waiting for the run lock{YELLOW:#}, held by {}",
                holder.as_deref().unwrap_or("another session")
            )),
            Event::LockAcquired { waited } => {
                self.line(format!("got the run lock after {}", secs(*waited)))
            }
            Event::Planned { total } if *total > 1 && std::io::stderr().is_terminal() => {
                let bar = ProgressBar::with_draw_target(
                    Some(*total as u64),
                    ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed}] {bar:30} {pos}/{len} {msg}",
                    )
                    .expect("valid template"),
                );
                self.bar = Some(bar);
            }
            Event::ScriptStarted {
                id, name, rollback, ..
            } => {
                if let Some(bar) = &self.bar {
                    let what = if *rollback {
                        "rolling back"
                    } else {
                        "applying"
                    };
                    bar.set_message(format!("{what} {id} {name}"));
                }
            }
            Event::ScriptFinished { id, duration, .. } => match &self.bar {
                Some(bar) => bar.inc(1),
                None => self.line(format!(
                    "  {GREEN}done{GREEN:#} {id} ({} ms)",
                    duration.as_millis()
                )),
            },
            Event::Transfer { what, bytes } => self.transfer(what, *bytes),
            Event::Backfill {
                id,
                done,
                total,
                rate,
                left,
                finished,
            } => self.backfill(id, *done, *total, *rate, *left, *finished),
            Event::Phase {
                phase,
                status: Some(status),
                detail,
                duration,
            } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.line(deploy::phase_line(
                    phase.name(),
                    status.as_str(),
                    &detail.join("; "),
                    duration.as_millis(),
                ))
            }
            Event::Check { phase, result } if self.verbose > 0 => self.line(format!(
                "    {DIM}{phase} {}{DIM:#} {} {}",
                result.id,
                deploy::status_mark(result.status),
                result.message
            )),
            Event::WatchRound {
                round,
                failed_in_a_row,
                results,
            } => self.line(deploy::watch_line(*round, *failed_in_a_row, results)),
            Event::FleetStarted { id, targets, waves } => self.line(format!(
                "fleet run {BOLD}{id}{BOLD:#}: {targets} target(s) in {waves} wave(s) (resume with --resume {id})"
            )),
            Event::FleetWave {
                name, targets, ..
            } => self.line(format!("{BOLD}{name}{BOLD:#}: {targets} target(s)")),
            Event::FleetTarget {
                name,
                status,
                reason,
                duration,
                ..
            } => {
                use cutover::fleet::Status;
                let line = match status {
                    Status::Running => return,
                    Status::Done => format!("  {GREEN}✓{GREEN:#} {name} ({} ms)", duration.as_millis()),
                    Status::RolledBack => format!("  {YELLOW}↺{YELLOW:#} {name}: rolled back"),
                    _ => format!(
                        "  {RED}✗{RED:#} {name}: {}",
                        reason.as_deref().unwrap_or("failed")
                    ),
                };
                self.line(line)
            }
            Event::FleetGate { wave, passed, detail } => {
                let (style, word) = if *passed { (GREEN, "passed") } else { (RED, "failed") };
                self.line(format!(
                    "  gate after wave {wave} {style}{word}{style:#}: {}",
                    detail.join("; ")
                ))
            }
            Event::Notice { id, text } if self.verbose > 0 => {
                self.line(format!("    {DIM}{id}: {text}{DIM:#}"))
            }
            Event::TransferDone => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
            Event::Warning(w) => self.line(format!("{YELLOW}warning{YELLOW:#}: {w}")),
            Event::LockRetry {
                id,
                statement,
                attempt,
                tries,
                pause,
                error,
            } => self.line(format!(
                "{YELLOW}lock timeout{YELLOW:#}: {id} statement {statement} gave up waiting for a lock ({error}); try {attempt} of {tries} in {}",
                secs(*pause)
            )),
            _ => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The first `n` characters of `s` (times and checksums from files and rows that may have
/// been edited by hand: a byte slice could cut a character in two and panic).
pub(crate) fn clip(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
