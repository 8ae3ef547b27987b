//! `cutover schema`: the live schema and its fingerprint.

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::render::Renderer;

pub fn run(settings: &Settings, out: &mut Renderer) -> Result<Exit, Error> {
    out.schema(&cutover::drift::inspect(settings)?);
    Ok(Exit::Ok)
}
