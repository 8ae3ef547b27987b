//! `cutover status`: every migration and its state.

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn run(settings: &Settings, check: bool, out: &mut Renderer) -> Result<Exit, Error> {
    let mut observer = out.observer();
    let report = cutover::runner::status(settings, &mut observer)?;
    drop(observer);
    out.status(&report, settings);
    Ok(if check && report.has_problems() {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}
