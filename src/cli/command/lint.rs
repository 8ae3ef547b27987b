//! `cutover lint`: risky DDL, found offline or with the target's sizes.

use cutover::Error;
use cutover::config::Overrides;
use cutover::lint::{Flavour, Request, Severity};
use cutover::sql::Dialect;
use cutover::target::DatabaseUrl;

use crate::cli::Exit;
use crate::cli::args::{DialectArg, Global, LintArgs, LintFailOn, LintFormat};
use crate::cli::render::Renderer;

pub fn run(a: &LintArgs, g: &Global, o: Overrides, out: &mut Renderer) -> Result<Exit, Error> {
    if a.rules {
        out.lint_rules();
        return Ok(Exit::Ok);
    }
    for raw in [&o.url, &o.database_url_env].into_iter().flatten() {
        if let Ok(url) = DatabaseUrl::parse(raw) {
            out.add_secret_source(url);
        }
    }
    let request = Request {
        paths: a.paths.clone(),
        dialect: a.dialect.map(dialect),
        offline: a.offline,
        all: a.all,
    };
    let mut report = cutover::lint::run(&o, &request)?;
    if let Some(f) = a.fail_on {
        report.fail_on = match f {
            LintFailOn::Error => Severity::Error,
            LintFailOn::Warning => Severity::Warning,
        };
    }
    let format = a.format.unwrap_or(if g.json {
        LintFormat::Json
    } else {
        LintFormat::Text
    });
    out.lint(&report, format);
    Ok(if report.failed() {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

fn dialect(d: DialectArg) -> (Dialect, Flavour) {
    match d {
        DialectArg::Postgres => (Dialect::Postgres, Flavour::Unknown),
        DialectArg::Mysql => (Dialect::MySql, Flavour::MySql),
        DialectArg::Mariadb => (Dialect::MySql, Flavour::MariaDb),
        DialectArg::Sqlite => (Dialect::Sqlite, Flavour::Unknown),
    }
}
