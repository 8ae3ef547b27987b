//! `cutover config check`: the environment's effective settings, secrets hidden.

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn check(settings: &Settings, out: &mut Renderer) -> Result<Exit, Error> {
    out.effective(&settings.effective());
    Ok(Exit::Ok)
}
