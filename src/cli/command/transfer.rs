//! `cutover transfer`: the two sides resolved (URL or environment name), the transfer run,
//! its report rendered; exit 1 when the reconciliation finds differences.

use cutover::Error;
use cutover::config::{Overrides, Settings};
use cutover::target::DatabaseUrl;
use cutover::transfer::{Request, run as transfer};

use crate::cli::Exit;
use crate::cli::args::TransferArgs;
use crate::cli::render::Renderer;

/// A URL as written, or the URL of the environment of that name.
fn side(text: &str, o: &Overrides) -> Result<DatabaseUrl, Error> {
    if text.contains(':') {
        return Ok(DatabaseUrl::parse(text)?);
    }
    let settings = Settings::resolve(Overrides {
        env: Some(text.to_string()),
        url: None,
        database_url_env: None,
        ..o.clone()
    })?;
    Ok(settings.url)
}

pub fn run(a: &TransferArgs, o: Overrides, out: &mut Renderer) -> Result<Exit, Error> {
    let from = side(&a.from, &o)?;
    let to = side(&a.to, &o)?;
    out.add_secret_source(from.clone());
    out.add_secret_source(to.clone());
    for path in &a.report {
        crate::cli::render::check_report_path(path)?;
    }
    if a.batch == 0 {
        return Err(Error::Usage(
            "--batch: a batch holds at least one row".into(),
        ));
    }
    let request = Request {
        from,
        to,
        tables: a
            .tables
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        create_tables: a.create_tables,
        dry_run: a.dry_run,
        resume: a.resume.clone(),
        mapping: a.mapping.clone(),
        check_only: a.check_only,
        batch: a.batch,
    };
    let mut observer = out.observer();
    let report = transfer(&request, &mut observer);
    drop(observer);
    let report = report?;
    if !report.checks.is_empty() {
        let checks = cutover::transfer::checks_report(&report, &request.from);
        if !out.is_json() {
            out.validation(&checks);
        }
        for path in &a.report {
            out.write_report(&checks, path)?;
        }
        if report.stopped.is_some() || a.check_only {
            if out.is_json() {
                out.transfer(&report);
            }
            return Ok(if checks.failed(false) {
                Exit::CheckFailed
            } else {
                Exit::Ok
            });
        }
    }
    out.transfer(&report);
    Ok(if report.dry_run || report.reconciled {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
