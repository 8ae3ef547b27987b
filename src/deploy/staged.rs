//! Expand and contract in a deploy's preflight. A deploy applies what is pending before the
//! first `-- cutover:phase contract` migration (`--phase expand`, the default); the contract
//! migrations wait, and the preflight says which. `deploy --phase contract` first runs the
//! environment's `contract_gate` checks (e.g. an HTTP check that the new application version
//! is the one serving): the old version must be gone before what it used is removed.

use super::Run;
use super::step::Failed;
use crate::history::State;
use crate::migrations::Stage;
use crate::phase::Phase;

impl Run<'_, '_> {
    /// The contract steps left waiting, and the gate before a contract deploy.
    pub(super) fn stage_pending(&mut self, detail: &mut Vec<String>) -> Result<(), Failed> {
        let waiting = waiting_contracts(&self.session, &self.report.pending);
        if !waiting.is_empty() {
            detail.push(format!(
                "{} contract step(s) wait for `cutover deploy --phase contract`: {}",
                waiting.len(),
                waiting.join(", ")
            ));
        }
        if self.stage() != Stage::Contract || self.report.pending.is_empty() {
            return Ok(());
        }
        let gate = self.settings().contract_gate.clone();
        if gate.is_empty() {
            detail.push("contract: no contract_gate checks configured".into());
            return Ok(());
        }
        let checks = crate::checks::run_all(Some(self.session.engine()), &gate, "contract gate");
        self.record_checks(Phase::Preflight, checks, detail)
            .map_err(|f| Failed::new(format!("the contract gate did not pass: {}", f.message)))
    }
}

/// The pending contract migrations a deploy leaves for later, in order.
pub(crate) fn waiting_contracts(
    session: &crate::session::Session,
    planned: &[String],
) -> Vec<String> {
    let found = &session.migrations().migrations;
    session
        .entries()
        .iter()
        .filter(|e| e.state == State::Pending && !planned.contains(&e.id))
        .filter(|e| {
            e.migration
                .is_some_and(|i| found[i].up.directives.phase == Some(Stage::Contract))
        })
        .map(|e| e.id.clone())
        .collect()
}
