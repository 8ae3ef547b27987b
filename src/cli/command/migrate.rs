//! `cutover migrate`: apply pending migrations (or print the plan with `--dry-run`).

use cutover::Error;
use cutover::config::Settings;
use cutover::runner::MigrateOptions;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn run(
    settings: &Settings,
    to: &Option<String>,
    dry_run: bool,
    out: &mut Renderer,
) -> Result<Exit, Error> {
    let opts = MigrateOptions {
        to: to.clone(),
        dry_run,
        exactly: None,
        // `migrate` applies everything, contract migrations too (development).
        stage: None,
    };
    let notices = out.verbose();
    let mut observer = out.observer();
    let report = cutover::runner::migrate(settings, &opts, notices, &mut observer)?;
    drop(observer);
    out.migrate(&report);
    Ok(Exit::Ok)
}
