//! The preflight's guard over a deploy's pending migrations, before anything changes:
//! `cutover lint` on them (with the target's version and live table sizes, and knowing the
//! lock timeout cutover will set), journaled and reported, and by `guard.lint = "block"`
//! (the default in prod) a refusal when a finding reaches `[lint] fail_on`; then the
//! sessions that would block their DDL (`blockers`), dealt with by `guard.blockers`.

use super::step::Failed;
use super::{Run, blockers};
use crate::config::LintPolicy;
use crate::error::Error;
use crate::events::Event;
use crate::lint::{LintConfig, Severity, Sizes, Target, Unit};
use crate::session::Access;

/// What a deploy's session runs before the migrations: the guard's lock timeout, the
/// statement timeout, then `init_sql` (so `lint` knows a `SET lock_timeout` is not missing).
pub(crate) fn session_sql(settings: &crate::config::Settings) -> Vec<String> {
    let driver = crate::driver::of(settings.url.kind());
    let lock = settings
        .guard
        .lock_timeout
        .and_then(|limit| (driver.lock_timeout)(limit));
    let statement = settings
        .deploy
        .statement_timeout
        .and_then(|limit| (driver.statement_timeout)(limit));
    lock.into_iter()
        .chain(statement)
        .chain(settings.init_sql.iter().cloned())
        .collect()
}

impl Run<'_, '_> {
    /// Lint the pending migrations and look for blockers.
    pub(super) fn guard_pending(
        &mut self,
        version: &str,
        detail: &mut Vec<String>,
    ) -> Result<(), Failed> {
        if self.report.pending.is_empty() {
            return Ok(());
        }
        self.lint_pending(version, detail)?;
        self.blockers(detail)
    }

    /// The pending migrations' up scripts, in order.
    fn pending_scripts(&self) -> Vec<&crate::migrations::Migration> {
        let all = &self.session.migrations().migrations;
        self.report
            .pending
            .iter()
            .filter_map(|id| all.iter().find(|m| &m.id == id))
            .collect()
    }

    fn lint_pending(&mut self, version: &str, detail: &mut Vec<String>) -> Result<(), Failed> {
        let policy = self.settings().guard.lint;
        if policy == LintPolicy::Off {
            detail.push("lint: off (guard.lint = \"off\")".into());
            return Ok(());
        }
        let config = LintConfig::from_spec(&self.settings().lint).map_err(Error::from)?;
        let dialect = self.session.dialect();
        let units = self
            .pending_scripts()
            .into_iter()
            .map(|m| Unit::from_script(&m.up, Some(m.id.clone()), dialect))
            .collect::<Result<Vec<_>, _>>()?;
        let mut target = Target::from_server(dialect, version);
        target.init_sql = session_sql(self.settings());
        // Live sizes on a second, read-only connection (the lint keeps it for emptiness
        // probes); without them a table the run does not create counts as large.
        let mut sizes = self
            .session
            .connect_again(Access::Read)
            .ok()
            .and_then(|e| Sizes::read(e).ok());
        let run = crate::lint::Run { units };
        let mut report = crate::lint::lint(&[run], &target, &config, sizes.as_mut());
        self.built_online(&mut report);
        // A warning or error as a warning event: shown, and journaled even when the
        // preflight fails; advice (info) in the phase's detail only.
        for f in &report.findings {
            let line = format!(
                "lint: {}:{}: {}[{}] {}; safe way: {}",
                f.path.display(),
                f.line,
                f.severity.name(),
                f.rule,
                f.message,
                f.fix
            );
            if f.severity >= Severity::Warning {
                self.session.event(Event::Warning(line));
            } else {
                detail.push(line);
            }
        }
        detail.push(format!(
            "lint: {} error(s), {} warning(s), {} info(s) in the pending migrations ({} suppressed)",
            report.errors,
            report.warnings,
            report.infos,
            report.suppressed.len()
        ));
        self.report.lint = report.findings.clone();
        if policy == LintPolicy::Block && report.failed() {
            let first = report
                .findings
                .iter()
                .find(|f| f.severity >= report.fail_on)
                .map(|f| format!("{}:{} [{}] {}", f.path.display(), f.line, f.rule, f.fix))
                .unwrap_or_default();
            return Err(Failed::from(Error::Refused {
                message: format!(
                    "lint found {} finding(s) at `{}` or above in the pending migrations, and this \
                     environment blocks on them (guard.lint = \"block\"); first: {first}",
                    report
                        .findings
                        .iter()
                        .filter(|f| f.severity >= report.fail_on)
                        .count(),
                    report.fail_on.name()
                ),
                hint:
                    "do it the safe way the finding names, or add `-- cutover:allow RULE reason` \
                       on the statement; `cutover lint` lists them all"
                        .into(),
            }));
        }
        Ok(())
    }

    /// The index builds cutover will run online (`runner::online`) are advice, not
    /// findings that stop the deploy: the linter's way is the one taken.
    fn built_online(&self, report: &mut crate::lint::Report) {
        let dialect = self.session.dialect();
        if !self.settings().guard.online_indexes || dialect != crate::sql::Dialect::Postgres {
            return;
        }
        // The tables the linter measured are the ones there now, before the run.
        let existing: std::collections::HashSet<String> = report
            .findings
            .iter()
            .filter_map(|f| f.table.as_deref())
            .map(crate::runner::online::bare)
            .collect();
        let online: Vec<String> = self
            .pending_scripts()
            .into_iter()
            .filter(|m| m.verify.is_none())
            .filter(|m| {
                m.up.statements(dialect)
                    .is_ok_and(|s| crate::runner::online::rewrite(&s, dialect, &existing).is_some())
            })
            .map(|m| m.id.clone())
            .collect();
        let mut changed = false;
        for f in &mut report.findings {
            if f.rule == "require-concurrent-index-creation"
                && f.migration.as_ref().is_some_and(|id| online.contains(id))
            {
                f.severity = Severity::Info;
                f.message
                    .push_str(" (cutover builds it CONCURRENTLY: guard.online_indexes)");
                changed = true;
            }
        }
        if changed {
            let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
            (report.errors, report.warnings, report.infos) = (
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
            );
        }
    }

    fn blockers(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        let kind = self.settings().url.kind();
        let Some(query) = crate::driver::of(kind).blockers else {
            return Ok(());
        };
        let sql: Vec<String> = self
            .pending_scripts()
            .iter()
            .map(|m| m.up.sql.clone())
            .collect();
        let touched = blockers::words(&sql.iter().map(String::as_str).collect::<Vec<_>>());
        let guard = self.settings().guard.clone();
        let (engine, observer, _) = self.session.parts();
        let mut warn = |text: String| observer.event(&Event::Warning(text));
        let lines =
            blockers::handle(engine, query, &touched, &guard, &mut warn).map_err(Failed::new)?;
        detail.extend(lines);
        Ok(())
    }
}
