//! `cutover diff`: two schemas compared; exit 1 when they differ.

use cutover::Error;
use cutover::config::Settings;
use cutover::drift::Side;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn run(settings: &Settings, from: &str, to: &str, out: &mut Renderer) -> Result<Exit, Error> {
    let (from, to) = (Side::parse(from)?, Side::parse(to)?);
    for side in [&from, &to] {
        if let Side::Url(u) = side {
            out.add_secret_source(u.clone());
        }
    }
    let mut observer = out.observer();
    let report = cutover::drift::diff(settings, &from, &to, &mut observer)?;
    drop(observer);
    out.diff(&report);
    Ok(if report.changes.is_empty() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
