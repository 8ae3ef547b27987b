//! `cutover squash`: old migrations replaced by a proved baseline; exit 1 when the proof
//! fails (nothing changed).

use cutover::Error;
use cutover::config::Settings;
use cutover::squash::SquashOptions;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn run(
    settings: &Settings,
    through: &str,
    with_data: &[String],
    dry_run: bool,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    let opts = SquashOptions {
        through: through.to_string(),
        with_data: with_data.to_vec(),
        dry_run,
    };
    let mut observer = out.observer();
    let report = cutover::squash::squash(settings, &opts, &mut observer)?;
    drop(observer);
    out.squash(&report);
    Ok(if report.proved() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
