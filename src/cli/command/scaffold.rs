//! `cutover init` and `cutover new`: project and migration files.

use cutover::Error;
use cutover::config::{Overrides, Settings};

use crate::cli::Exit;
use crate::cli::args::Cli;
use crate::cli::render::Renderer;

pub fn init(cli: &Cli, out: &mut Renderer) -> Result<Exit, Error> {
    let created = crate::cli::scaffold::init(cli.global.config.as_deref())?;
    out.init(&created);
    Ok(Exit::Ok)
}

pub fn new(o: Overrides, name: &str, no_down: bool, out: &mut Renderer) -> Result<Exit, Error> {
    let dir = Settings::migrations_dir(&o)?;
    let created = crate::cli::scaffold::new(&dir, name, !no_down)?;
    out.created(&created);
    Ok(Exit::Ok)
}
