//! `cutover runs list|show`: the governed runs recorded in the target.

use cutover::Error;
use cutover::config::Settings;

use crate::cli::Exit;
use crate::cli::args::RunsCommand;
use crate::cli::render::Renderer;

pub fn run(settings: &Settings, cmd: &RunsCommand, out: &mut Renderer) -> Result<Exit, Error> {
    match cmd {
        RunsCommand::List => out.runs(&cutover::deploy::runs::list(settings)?),
        RunsCommand::Show { id } => {
            let (row, report) = cutover::deploy::runs::show(settings, id)?;
            out.run(&row, report.as_ref());
        }
    }
    Ok(Exit::Ok)
}
