//! `cutover clone`: both environments resolved from cutover.toml, the request built from the
//! flags, and the clone run as a governed run on the target environment.

use cutover::Error;
use cutover::clone::{CloneRequest, Mode};
use cutover::config::{Overrides, Settings};
use cutover::deploy::Work;

use crate::cli::Exit;
use crate::cli::args::CloneArgs;
use crate::cli::command::governed;
use crate::cli::render::Renderer;

/// The settings of environment `name` (its own URL, whatever `--url` says).
fn environment(name: &str, o: &Overrides) -> Result<Settings, Error> {
    Settings::resolve(Overrides {
        env: Some(name.to_string()),
        url: None,
        database_url_env: None,
        ..o.clone()
    })
}

pub fn run(a: &CloneArgs, o: Overrides, out: &mut Renderer) -> Result<Exit, Error> {
    if a.sample == Some(0) {
        return Err(Error::Usage(
            "--sample: a sample holds at least one row".into(),
        ));
    }
    let source = environment(&a.from, &o)?;
    let target = environment(&a.to, &o)?;
    out.add_secret_source(source.url.clone());
    out.add_secret_source(target.url.clone());
    let mode = match (a.schema_only, a.sample) {
        (true, _) => Mode::SchemaOnly,
        (_, Some(n)) => Mode::Sample(n),
        _ => Mode::Full,
    };
    let request = CloneRequest {
        from_env: a.from.clone(),
        from: source.url.clone(),
        mode,
        mask: a.mask.clone(),
        tools: source.backup.tools.clone(),
    };
    governed::governed(&target, Work::Clone(Box::new(request)), &a.flags, out)
}
