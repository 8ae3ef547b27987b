//! `cutover adopt`: the flags to `AdoptOptions`, run as a governed run; the mapping is
//! part of the report (`--json`) and printed for people on a dry run.

use cutover::Error;
use cutover::adopt::{AdoptOptions, Treat};
use cutover::config::Settings;
use cutover::deploy::Work;

use crate::cli::Exit;
use crate::cli::args::{AdoptArgs, TreatArg};
use crate::cli::render::Renderer;

pub fn run(settings: &Settings, a: &AdoptArgs, out: &mut Renderer) -> Result<Exit, Error> {
    let treat = |t: Option<TreatArg>| {
        t.map(|t| match t {
            TreatArg::Applied => Treat::Applied,
            TreatArg::Pending => Treat::Pending,
        })
    };
    let opts = AdoptOptions {
        from: a.from.clone(),
        failed: treat(a.failed),
        rolled_back: treat(a.rolled_back),
        ignore_missing: a.ignore_missing,
        accept_edited: a.accept_edited,
    };
    super::governed::governed(settings, Work::Adopt(opts), &a.run, out)
}
