//! The one undo: what a failing deploy does and what `rollback --run ID` does later, by the
//! environment's rollback strategy (`auto | down | restore | none`).
//!
//! - `down` runs the down scripts of the run's migrations, newest first.
//! - `restore` loads the run's pre-deploy backup.
//! - `auto` runs the down scripts when they cover the run (every migration has one, none
//!   stopped half-way, no seed ran); when they leave a schema that differs from the
//!   pre-deploy fingerprint, or fail, it restores the backup instead.
//! - `none` undoes nothing.
//!
//! Either way the schema is then proved back to its pre-deploy fingerprint. A restore
//! discards every write the application made since the backup: once it has served traffic
//! on the new schema, `rollback_after_traffic` decides whether that is allowed, and when it
//! is, the time writes were discarded from is reported.

use std::path::PathBuf;

use serde::Serialize;

use super::step::{Done, Failed};
use super::{NotifyOn, Outcome, Phase, Run};
use crate::config::{AfterTraffic, RollbackStrategy};
use crate::error::Error;
use crate::runner::RollbackOptions;
use crate::schema::Schema;
use crate::session::Session;

/// What a run changed, for undoing it.
#[derive(Debug, Clone)]
pub struct UndoPlan {
    /// Migrations the run applied, oldest first.
    pub applied: Vec<String>,
    /// A migration that stopped half-way with its effects kept.
    pub partial: Option<String>,
    /// A seed ran (down scripts do not undo seeds).
    pub seeded: bool,
    pub backup: Option<PathBuf>,
    /// The schema before the run, when it was read; else only its fingerprint.
    pub before: Option<Schema>,
    pub fingerprint_before: Option<String>,
    /// Since when the application has served traffic on the new schema.
    pub serving_since: Option<jiff::Timestamp>,
}

/// How the changes were undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "how")]
pub enum How {
    /// Nothing had changed.
    Nothing,
    /// The deploy's single transaction was rolled back.
    Transaction,
    DownScripts {
        migrations: Vec<String>,
    },
    Restored {
        backup: PathBuf,
    },
}

/// What the undo did.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    #[serde(flatten)]
    pub how: How,
    /// The schema's fingerprint after the undo (equal to the pre-deploy one).
    pub fingerprint: String,
    /// Writes the application made from this time on were discarded by a restore.
    pub writes_discarded_since: Option<String>,
    pub detail: Vec<String>,
}

impl Undone {
    /// One line for people.
    pub fn summary(&self) -> String {
        let how = match &self.how {
            How::Nothing => "nothing to undo".to_string(),
            How::Transaction => "rolled back the deploy's transaction".to_string(),
            How::DownScripts { migrations } => {
                format!("ran the down scripts of {}", migrations.join(", "))
            }
            How::Restored { backup } => format!("restored {}", backup.display()),
        };
        match &self.writes_discarded_since {
            Some(t) => format!("{how}; writes made since {t} were DISCARDED"),
            None => how,
        }
    }
}

/// Undo `plan` on the session's target by the environment's strategy, and prove the
/// schema is back.
pub fn undo(session: &mut Session, plan: &UndoPlan) -> Result<Undone, Error> {
    let policy = session.settings().deploy.clone();
    if plan.applied.is_empty() && plan.partial.is_none() && !plan.seeded {
        let fingerprint = prove(session, plan)?;
        return Ok(Undone {
            how: How::Nothing,
            fingerprint,
            writes_discarded_since: None,
            detail: vec!["nothing had changed".into()],
        });
    }
    let (downs_cover, why_not) = downs_cover(session, plan)?;
    let mut detail = Vec::new();
    match policy.rollback {
        RollbackStrategy::None => Err(Error::Refused {
            message: "the policy says rollback = none: nothing was undone".into(),
            hint: undo_by_hand(plan),
        }),
        RollbackStrategy::Down => {
            if !downs_cover {
                return Err(Error::Refused {
                    message: format!("the policy says rollback = down, but {why_not}"),
                    hint: undo_by_hand(plan),
                });
            }
            run_downs(session, plan, &mut detail)?;
            finish_downs(session, plan, detail)
        }
        RollbackStrategy::Restore => restore(session, plan, detail),
        RollbackStrategy::Auto if downs_cover => {
            match run_downs(session, plan, &mut detail).and_then(|()| prove(session, plan)) {
                Ok(fingerprint) => Ok(Undone {
                    how: How::DownScripts {
                        migrations: plan.applied.clone(),
                    },
                    fingerprint,
                    writes_discarded_since: None,
                    detail,
                }),
                Err(e) if plan.backup.is_some() => {
                    detail.push(format!(
                        "the down scripts did not undo the run ({e}); restoring the backup"
                    ));
                    restore(session, plan, detail)
                }
                Err(e) => Err(e),
            }
        }
        RollbackStrategy::Auto => {
            detail.push(format!("{why_not}: restoring the backup"));
            restore(session, plan, detail)
        }
    }
}

fn finish_downs(
    session: &mut Session,
    plan: &UndoPlan,
    detail: Vec<String>,
) -> Result<Undone, Error> {
    let fingerprint = prove(session, plan)?;
    Ok(Undone {
        how: How::DownScripts {
            migrations: plan.applied.clone(),
        },
        fingerprint,
        writes_discarded_since: None,
        detail,
    })
}

/// Whether down scripts can undo the whole run, and if not, why.
fn downs_cover(session: &mut Session, plan: &UndoPlan) -> Result<(bool, String), Error> {
    if let Some(id) = &plan.partial {
        return Ok((
            false,
            format!("{id} stopped half-way and its down script cannot undo a partial migration"),
        ));
    }
    if plan.seeded {
        return Ok((
            false,
            "seeds ran, and down scripts do not undo seeds".into(),
        ));
    }
    session.migrations_mut().read_downs()?;
    let missing: Vec<&String> =
        plan.applied
            .iter()
            .filter(|id| {
                !session.migrations().migrations.iter().any(|m| {
                    &m.id == *id && m.down.as_ref().is_some_and(|d| !d.sql.trim().is_empty())
                })
            })
            .collect();
    if missing.is_empty() {
        Ok((true, String::new()))
    } else {
        Ok((
            false,
            format!(
                "these migrations have no down script: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

fn run_downs(
    session: &mut Session,
    plan: &UndoPlan,
    detail: &mut Vec<String>,
) -> Result<(), Error> {
    let opts = RollbackOptions {
        steps: Some(plan.applied.len()),
        ..Default::default()
    };
    session.rollback(&opts)?;
    detail.push(format!(
        "ran the down scripts of {} migration(s)",
        plan.applied.len()
    ));
    Ok(())
}

/// Restore the backup, if there is one and the traffic policy allows it.
fn restore(
    session: &mut Session,
    plan: &UndoPlan,
    mut detail: Vec<String>,
) -> Result<Undone, Error> {
    let Some(file) = plan.backup.clone() else {
        return Err(Error::Refused {
            message: "there is no pre-deploy backup to restore (the policy does not require one, or --skip-backup)".into(),
            hint: undo_by_hand(plan),
        });
    };
    let after = session.settings().deploy.rollback_after_traffic;
    let discarded = plan.serving_since;
    if let Some(since) = discarded
        && after != AfterTraffic::Restore
    {
        return Err(Error::Refused {
            message: format!(
                "restoring {} would discard every write the application made since {since}, and the policy says rollback_after_traffic = {}",
                file.display(),
                if after == AfterTraffic::DownOnly {
                    "down-only"
                } else {
                    "refuse"
                }
            ),
            hint: format!(
                "{}; to restore anyway, run `cutover backup restore {}` knowing those writes are lost",
                undo_by_hand(plan),
                file.display()
            ),
        });
    }
    crate::backup::restore_file(session, &file)?;
    detail.push(format!("restored {}", file.display()));
    if let Some(since) = discarded {
        detail.push(format!(
            "writes the application made since {since} were DISCARDED by the restore"
        ));
    }
    let fingerprint = prove(session, plan)?;
    Ok(Undone {
        how: How::Restored { backup: file },
        fingerprint,
        writes_discarded_since: discarded.map(|t| t.to_string()),
        detail,
    })
}

/// The schema is back to its pre-run fingerprint; the fingerprint now.
fn prove(session: &mut Session, plan: &UndoPlan) -> Result<String, Error> {
    let now = crate::schema::introspect(session.engine())
        .map_err(Error::db("cannot read the schema after the undo"))?;
    let fingerprint = now.fingerprint();
    let differs = match (&plan.before, &plan.fingerprint_before) {
        (Some(before), _) => {
            let changes = crate::schema::diff(before, &now);
            (!changes.is_empty()).then(|| {
                changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        }
        (None, Some(expected)) => (expected != &fingerprint)
            .then(|| format!("its fingerprint {fingerprint} is not the pre-deploy {expected}")),
        (None, None) => None,
    };
    match differs {
        None => Ok(fingerprint),
        Some(what) => Err(Error::Backup(format!(
            "the schema is NOT back to its pre-deploy state: {what}"
        ))),
    }
}

fn undo_by_hand(plan: &UndoPlan) -> String {
    let mut ways = vec![format!(
        "undo by hand: `cutover rollback --steps {}`",
        plan.applied.len().max(1)
    )];
    if let Some(b) = &plan.backup {
        ways.push(format!("or `cutover backup restore {}`", b.display()));
    }
    ways.join(" ")
}

impl Run<'_, '_> {
    /// A deploy or seed failed after changing the target: maintenance back on, undo by
    /// the policy, hooks, one notification.
    pub(super) fn undo_run(&mut self, f: Failed) {
        self.report.reason = Some(f.message.clone());
        if self.has_maintenance() && !self.maintenance_on {
            // The application must not write while its database is being put back.
            let _ = self.phase(Phase::MaintenanceOn, |r| r.maintenance(true));
        }
        self.hooks_before_undo();
        let result = self.phase(Phase::Rollback, Run::undo_changes);
        self.report.outcome = match result {
            Ok(()) => Outcome::RolledBack,
            Err(_) => Outcome::RollbackFailed,
        };
        let _ = self.phase(Phase::HooksAfterRollback, |r| {
            r.hooks(crate::config::When::AfterRollback)
        });
        self.notify(NotifyOn::Rollback);
    }

    fn undo_changes(&mut self) -> Result<Done, Failed> {
        let plan = UndoPlan {
            applied: self.report.applied.clone(),
            partial: self.partial.clone(),
            seeded: self.seeded,
            backup: self.report.backup.clone(),
            before: self.before.clone(),
            fingerprint_before: self.report.fingerprint_before.clone(),
            serving_since: self.serving_since,
        };
        let undone = undo(&mut self.session, &plan)?;
        self.report.fingerprint_after = Some(undone.fingerprint.clone());
        let mut detail = undone.detail.clone();
        detail.push(format!(
            "schema back to its pre-deploy fingerprint {}",
            undone.fingerprint
        ));
        self.report.undo = Some(undone);
        Ok(Done::Ran(detail))
    }

    /// The before-rollback hooks, as `rollback --run` runs them. Their failure is recorded
    /// and does not stop the undo: a half-done deploy is worse than a hook that failed.
    /// (A one-transaction deploy's ROLLBACK does not run them: nobody saw its changes, and
    /// an SQL hook could not run in its aborted transaction.)
    fn hooks_before_undo(&mut self) {
        let _ = self.phase(Phase::HooksBeforeRollback, |r| {
            r.hooks(crate::config::When::BeforeRollback)
        });
    }

    /// The deploy's single transaction failed: a plain ROLLBACK puts everything back.
    pub(super) fn roll_back_transaction(&mut self, f: Failed) {
        self.report.reason = Some(f.message.clone());
        let result = self.phase(Phase::Rollback, |r| {
            r.open_transaction = false;
            r.session.set_outer_transaction(false);
            r.session
                .engine()
                .rollback()
                .map_err(|e| Failed::new(format!("ROLLBACK failed: {e}")))?;
            r.session.refresh()?;
            let plan = UndoPlan {
                applied: Vec::new(),
                partial: None,
                seeded: false,
                backup: None,
                before: r.before.clone(),
                fingerprint_before: r.report.fingerprint_before.clone(),
                serving_since: None,
            };
            let fingerprint = prove(&mut r.session, &plan)?;
            r.report.fingerprint_after = Some(fingerprint.clone());
            r.report.undo = Some(Undone {
                how: How::Transaction,
                fingerprint: fingerprint.clone(),
                writes_discarded_since: None,
                detail: vec!["rolled back the deploy's transaction".into()],
            });
            Ok(Done::Ran(vec![
                "rolled back the deploy's transaction".into(),
                format!("schema back to its pre-deploy fingerprint {fingerprint}"),
            ]))
        });
        self.report.applied.clear();
        self.report.outcome = match result {
            Ok(()) => Outcome::RolledBack,
            Err(_) => Outcome::RollbackFailed,
        };
        let _ = self.phase(Phase::HooksAfterRollback, |r| {
            r.hooks(crate::config::When::AfterRollback)
        });
        self.notify(NotifyOn::Rollback);
        // The row could not be kept up to date inside the transaction; it is now.
        self.progress();
    }
}
