//! The run journal: every event of a governed run, one JSON object per line in
//! `journal.jsonl`, written as it happens (a killed run leaves its journal up to the kill).
//! It sits beside the terminal renderer as a second observer (`Tee`). Passwords and every
//! configured secret are scrubbed from every line. A journal that cannot be written is a warning the operator
//! sees, once, and the run goes on.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::events::{Event, Observer};

pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// Scrubs every line (the target's password, every configured secret).
    settings: Settings,
    lost: Option<String>,
    /// Whether the operator was told about `lost` yet.
    told: bool,
}

impl Journal {
    pub fn create(dir: &Path, settings: &Settings) -> Journal {
        let path = dir.join("journal.jsonl");
        let (file, lost) = match File::create(&path) {
            Ok(f) => (Some(f), None),
            Err(e) => (
                None,
                Some(format!(
                    "the journal {} cannot be written ({e}): this run's events are not kept",
                    path.display()
                )),
            ),
        };
        Journal {
            path,
            file,
            settings: settings.clone(),
            lost,
            told: false,
        }
    }

    fn write(&mut self, run: &str, event: &Event) {
        let Some(file) = &mut self.file else {
            return;
        };
        let line = line(run, event);
        let mut text = self.settings.scrub(&line.to_string());
        // One write per line (not `writeln!`'s two): a line is whole or absent after a kill.
        text.push('\n');
        if let Err(e) = file.write_all(text.as_bytes()) {
            self.lost = Some(format!(
                "the journal {} could not be written from here on ({e})",
                self.path.display()
            ));
            self.file = None;
        }
    }

    /// Why the journal is incomplete, if it is.
    pub fn lost(&self) -> Option<String> {
        self.lost.clone()
    }
}

/// One journal line: when, which run, the event's name and its fields at the top level
/// (`{"at":…,"run":…,"event":"phase","phase":"migrate","status":"started",…}`).
fn line(run: &str, event: &Event) -> serde_json::Value {
    let mut line = serde_json::json!({
        "at": jiff::Timestamp::now().to_string(),
        "run": run,
    });
    let tagged = serde_json::to_value(event).unwrap_or_default();
    line["event"] = tagged["event"].clone();
    match &tagged["data"] {
        serde_json::Value::Object(fields) => {
            for (k, v) in fields {
                line[k.as_str()] = v.clone();
            }
        }
        serde_json::Value::Null => {}
        other => line["message"] = other.clone(),
    }
    if line["event"] == "phase" && line["status"].is_null() {
        line["status"] = "started".into();
    }
    line
}

/// Sends every event to the journal and to the operator's observer.
pub struct Tee<'a> {
    journal: &'a mut Journal,
    user: &'a mut dyn Observer,
    run: String,
}

impl<'a> Tee<'a> {
    pub fn new(journal: &'a mut Journal, user: &'a mut dyn Observer, run: &str) -> Self {
        Tee {
            journal,
            user,
            run: run.to_string(),
        }
    }
}

impl Observer for Tee<'_> {
    fn event(&mut self, event: &Event) {
        self.journal.write(&self.run, event);
        if let (Some(lost), false) = (&self.journal.lost, self.journal.told) {
            self.journal.told = true;
            self.user.event(&Event::Warning(lost.clone()));
        }
        self.user.event(event);
    }
}
