//! `cutover rehearse`: the pending migrations tried on a scratch copy of the environment;
//! reports by extension; exit 1 on any difference or failure.

use std::path::PathBuf;

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::args::CopyArg;
use crate::cli::render::{self, Renderer};

pub fn run(
    settings: &Settings,
    copy: Option<CopyArg>,
    sample_rows: Option<u64>,
    reports: &[PathBuf],
    out: &mut Renderer,
) -> Result<Exit, Error> {
    for path in reports {
        render::check_report_path(path)?;
    }
    let mut settings = settings.clone();
    if let Some(c) = copy {
        settings.rehearse.copy = c.into();
    }
    if let Some(n) = sample_rows {
        settings.rehearse.sample_rows = n;
    }
    let mut observer = out.observer();
    let report = cutover::rehearse::rehearse(&settings, &mut observer)?;
    drop(observer);
    out.rehearsal(&report);
    for path in reports {
        out.write_rehearsal(&report, path)?;
    }
    Ok(if report.passed() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
