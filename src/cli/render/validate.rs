//! `validate` for people: one line per check, failures first, evidence for what failed;
//! and the report files (`--report`).

use std::fmt::Write as _;
use std::path::Path;

use anstream::print;
use cutover::Error;
use cutover::validate::{Status, ValidationReport, render};

use super::{DIM, GREEN, RED, Renderer, YELLOW};

/// The report formats `--report` writes, by file extension.
pub const REPORT_EXTENSIONS: [&str; 3] = ["json", "md", "html"];

impl Renderer {
    pub fn validation(&self, r: &ValidationReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet {
            return;
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{DIM}{} · {} {} · level {}{DIM:#}",
            r.target,
            r.engine,
            r.server_version,
            r.level.as_str()
        );
        for c in &r.checks {
            let (label, style) = match c.status {
                Status::Fail => ("FAIL", RED),
                Status::Warn => ("WARN", YELLOW),
                Status::Pass => ("pass", GREEN),
            };
            let _ = writeln!(
                out,
                "{style}{label}{style:#}  {DIM}{}{DIM:#}  {}",
                c.id,
                self.scrub(&c.message)
            );
            let show = c.status == Status::Fail || (c.status == Status::Warn && self.verbose > 0);
            if let (true, Some(e)) = (show, &c.evidence) {
                if !e.rows.is_empty() && !e.columns.is_empty() {
                    let _ = writeln!(out, "        {DIM}{}{DIM:#}", e.columns.join(" | "));
                }
                for row in &e.rows {
                    let _ = writeln!(out, "        {DIM}{}{DIM:#}", self.scrub(&row.join(" | ")));
                }
                for note in e.notes.iter().take(10) {
                    let _ = writeln!(out, "        {DIM}{}{DIM:#}", self.scrub(note));
                }
                if self.verbose > 0
                    && let Some(q) = &e.query
                {
                    let _ = writeln!(out, "        {DIM}{q}{DIM:#}");
                }
            }
        }
        let s = r.summary;
        let _ = writeln!(
            out,
            "\n{} passed, {} warning(s), {} failed in {} ms",
            s.pass, s.warn, s.fail, r.duration_ms
        );
        print!("{out}");
    }

    /// Write `r` to `path` as JSON, Markdown or HTML by its extension.
    pub fn write_report(&self, r: &ValidationReport, path: &Path) -> Result<(), Error> {
        let text = match extension(path).as_deref() {
            Some("json") => serde_json::to_string_pretty(r).expect("reports serialise"),
            Some("md") => render::markdown(r),
            _ => render::html(r),
        };
        self.write_file(path, &text)
    }

    /// Write a report file, secrets scrubbed, and say so.
    pub fn write_file(&self, path: &Path, text: &str) -> Result<(), Error> {
        std::fs::write(path, self.scrub(text)).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if !self.quiet && !self.json {
            anstream::eprintln!("wrote {}", path.display());
        }
        Ok(())
    }
}

pub(super) fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Refuse a report path whose extension names no format, before any work is done.
pub fn check_report_path(path: &Path) -> Result<(), Error> {
    match extension(path) {
        Some(ext) if REPORT_EXTENSIONS.contains(&ext.as_str()) => Ok(()),
        _ => Err(Error::Usage(format!(
            "--report {}: the file name must end in .json, .md or .html (the format is chosen by it)",
            path.display()
        ))),
    }
}
