//! `[[checks]]`: the operator's own checks (SQL, HTTP, Redis, TCP, Prometheus, disk).

use super::CheckResult;
use crate::config::Check;
use crate::engine::Engine;

pub(super) fn run(e: &mut dyn Engine, checks: &[Check]) -> Vec<CheckResult> {
    crate::checks::run_all(Some(e), checks, "custom")
}
