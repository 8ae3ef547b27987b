//! `cutover validate`: checks with ids and evidence, reports by extension.

use std::path::PathBuf;

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::args::{FailOnArg, LevelArg};
use crate::cli::render::{self, Renderer};

pub fn run(
    settings: &Settings,
    level: Option<LevelArg>,
    reports: &[PathBuf],
    fail_on: Option<FailOnArg>,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    for path in reports {
        render::check_report_path(path)?;
    }
    let level = settings.validate.level_or(level.map(Into::into));
    let warnings_fail = settings.validate.warnings_fail(fail_on.map(Into::into));
    let report = cutover::validate::validate(settings, level)?;
    out.validation(&report);
    for path in reports {
        out.write_report(&report, path)?;
    }
    Ok(if report.failed(warnings_fail) {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}
