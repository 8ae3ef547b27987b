//! Fleets: one deploy over many targets (tenant databases, or a schema per tenant), in
//! waves with gates between them, within an error budget, resumable, and shareable by
//! several workers through a coordination database. Each target's deploy is the same
//! governed run `cutover deploy` makes (`deploy::run`): the same policy, rollback, record
//! and journal, in its own folder under the fleet run's.
//!
//! The fleet's loop: for each wave, claim its targets from the store (a file, or the
//! coordination tables) and deploy them `concurrency` at a time on worker threads; count
//! failures against the budget and stop when it is spent (a cancelled wave's finished
//! targets stay, or roll back, as configured); when the wave is done, decide its gate once
//! (checks that must hold, or a person); notify per wave and at the end, naming failures.

mod gate;
pub mod report;
pub mod status;
pub mod store;
pub mod targets;
pub mod waves;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use report::FleetReport;
pub use store::{FleetState, GateDecision, Status, TargetState};
pub use targets::Target;

use crate::config::{FleetPolicy, NotifyOn, OnCancel, Settings};
use crate::deploy::{ApprovalRequest, Approver, Outcome, RunKind, RunOptions, RunReport, Work};
use crate::error::Error;
use crate::events::{Event, Observer};
use store::{CoordStore, FileStore, Gate, Store};

/// How to run a fleet deploy.
#[derive(Debug, Clone, Default)]
pub struct FleetOptions {
    /// What each target's deploy takes (`--dry-run`, `--yes`, `--to`, …).
    pub run: RunOptions,
    /// Pick up this fleet run where it stopped.
    pub resume: Option<String>,
    /// On resume, deploy the failed targets again.
    pub retry_failed: bool,
    /// Join the run recorded in the coordination database (or start one).
    pub worker: bool,
    /// `--shard i/n`: only this share of the targets.
    pub shard: Option<(u32, u32)>,
}

/// What one worker thread reports back.
struct Finished {
    name: String,
    result: Result<RunReport, Error>,
    took: Duration,
}

/// Deploy the fleet `settings` names.
pub fn deploy(
    settings: &Settings,
    opts: &FleetOptions,
    observer: &mut dyn Observer,
    approve: Approver,
) -> Result<FleetReport, Error> {
    let policy = settings.fleet.clone().ok_or_else(|| {
        Error::Usage("this environment names no fleet ([environments.<name>.fleet])".into())
    })?;
    let mut targets = targets::list(settings, &policy)?;
    if let Some((i, n)) = opts.shard {
        targets = targets::shard(targets, i, n);
    }
    let waves = waves::plan(&targets, &policy)?;
    let environment = settings.env.clone().unwrap_or_default();
    let fresh = fresh_state(&environment, &targets, &waves);
    let (mut store, id) = open_store(settings, &policy, opts, fresh)?;
    let dir = fleet_dir(settings, &id);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    // The fleet's own journal: its waves, targets and gates (each target's deploy keeps
    // its own journal in its folder).
    let mut journal = crate::deploy::journal::Journal::create(&dir, settings);
    let mut tee = crate::deploy::journal::Tee::new(&mut journal, observer, &id);
    let observer: &mut dyn Observer = &mut tee;
    observer.event(&Event::FleetStarted {
        id: id.clone(),
        targets: targets.len(),
        waves: waves.len(),
    });
    let worker = format!("{}:{}", crate::applied_by(), std::process::id());
    let clock = Instant::now();
    let started_at = jiff::Timestamp::now().to_string();
    if !opts.run.dry_run && !approved(settings, opts, &targets, &waves, approve)? {
        return Err(Error::Refused {
            message: "the fleet deploy was not approved".into(),
            hint: "nothing was changed; pass --yes to approve in advance".into(),
        });
    }
    let mut fleet = Fleet {
        settings,
        policy: &policy,
        opts,
        targets: &targets,
        dir: &dir,
        worker,
        observer,
    };
    fleet.notify(
        NotifyOn::Start,
        &format!(
            "started over {} target(s) in {} wave(s)",
            targets.len(),
            waves.len()
        ),
        &[],
    );
    for wave in &waves {
        let state = store.state()?;
        if state.stopped.is_some() {
            break;
        }
        fleet.observer.event(&Event::FleetWave {
            index: wave.index,
            name: wave.name.clone(),
            targets: wave.targets.len(),
        });
        fleet.run_wave(store.as_mut(), wave.index)?;
        fleet.wait_for_wave(store.as_mut(), wave.index)?;
        let state = store.state()?;
        if let Some(reason) = state.stopped.clone() {
            fleet.cancel_wave(store.as_mut(), wave.index)?;
            let failed = failures_of(&state, Some(wave.index));
            fleet.notify(
                NotifyOn::Failure,
                &format!("stopped in {}: {reason}", wave.name),
                &failed,
            );
            break;
        }
        let failed = failures_of(&state, Some(wave.index));
        let last = wave.index + 1 == waves.len();
        if !last && !opts.run.dry_run {
            let decision = fleet.gate(store.as_mut(), wave.index, approve)?;
            if !decision.passed {
                store.stop(&format!("the gate after {} did not pass", wave.name))?;
                fleet.notify(
                    NotifyOn::Failure,
                    &format!("stopped at the gate after {}", wave.name),
                    &failed,
                );
                break;
            }
        }
        fleet.notify(NotifyOn::Success, &format!("{} done", wave.name), &failed);
    }
    let state = store.state()?;
    let report = FleetReport::new(
        &state,
        &waves,
        &targets,
        &policy,
        started_at,
        clock.elapsed(),
        &dir,
    );
    let end = if report.succeeded() {
        NotifyOn::Success
    } else {
        NotifyOn::Failure
    };
    let failed = failures_of(&state, None);
    fleet.notify(end, &format!("ended: {}", report.outcome.as_str()), &failed);
    report.write_files(&dir, settings, &mut |w| {
        fleet.observer.event(&Event::Warning(w))
    });
    Ok(report)
}

/// The state of a new fleet run: every target pending, in its wave.
fn fresh_state(environment: &str, targets: &[Target], waves: &[waves::Wave]) -> FleetState {
    let mut wave_of = HashMap::new();
    for w in waves {
        for &i in &w.targets {
            wave_of.insert(i, w.index);
        }
    }
    FleetState {
        id: uuid::Uuid::now_v7().to_string(),
        environment: environment.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
        targets: targets
            .iter()
            .enumerate()
            .map(|(i, t)| TargetState {
                name: t.name.clone(),
                wave: wave_of.get(&i).copied().unwrap_or(0),
                status: Status::Pending,
                run_id: None,
                outcome: None,
                reason: None,
                duration_ms: 0,
                worker: None,
            })
            .collect(),
        gates: Vec::new(),
        stopped: None,
    }
}

/// The store of this fleet run: the coordination tables when the fleet has a
/// `coordination_url`, else a file; a new run, or the one `--resume` / `--worker` names.
fn open_store(
    settings: &Settings,
    policy: &FleetPolicy,
    opts: &FleetOptions,
    mut fresh: FleetState,
) -> Result<(Box<dyn Store>, String), Error> {
    if let Some(id) = &opts.resume
        && !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    {
        return Err(Error::Usage(format!(
            "`{id}` is not a fleet run id (the id printed when the run started)"
        )));
    }
    match &policy.coordination_url {
        Some(url) => {
            let engine = crate::connect(settings, url, false)?;
            if let Some(id) = opts.resume.clone().or_else(|| {
                opts.worker
                    .then(|| store::latest_open_run(settings, url, &fresh.environment))
                    .flatten()
            }) {
                fresh.id = id;
            }
            let mut s = CoordStore::join(engine, &fresh)?;
            if opts.resume.is_some() && !opts.worker {
                s.resume()?;
            }
            if opts.retry_failed {
                s.retry_failed()?;
            }
            let id = fresh.id.clone();
            Ok((Box::new(s), id))
        }
        None if opts.worker => Err(Error::Usage(
            "--worker needs the fleet's `coordination_url`, where workers share the run".into(),
        )),
        None => match &opts.resume {
            Some(id) => {
                let mut s = FileStore::open(&fleet_dir(settings, id))?;
                if opts.retry_failed {
                    s.retry_failed()?;
                }
                Ok((Box::new(s), id.clone()))
            }
            None => {
                let id = fresh.id.clone();
                let s = FileStore::create(&fleet_dir(settings, &id), fresh)?;
                Ok((Box::new(s), id))
            }
        },
    }
}

/// `.cutover/fleets/<id>` beside cutover.toml.
pub fn fleet_dir(settings: &Settings, id: &str) -> PathBuf {
    settings
        .config_path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join(".cutover")
        .join("fleets")
        .join(id)
}

/// The policy's approval, asked once for the whole fleet.
fn approved(
    settings: &Settings,
    opts: &FleetOptions,
    targets: &[Target],
    waves: &[waves::Wave],
    approve: Approver,
) -> Result<bool, Error> {
    if !settings.deploy.approval || opts.run.yes {
        return Ok(true);
    }
    let environment = settings.env.clone().unwrap_or_default();
    let request = ApprovalRequest {
        kind: RunKind::Deploy,
        environment: environment.clone(),
        target: format!("fleet of {} target(s)", targets.len()),
        summary: format!(
            "deploy to {} target(s) in {} wave(s)",
            targets.len(),
            waves.len()
        ),
        confirm: environment,
    };
    match approve(&request) {
        Some(yes) => Ok(yes),
        None => Err(Error::Refused {
            message: "approval is required and there is no terminal to ask on".into(),
            hint: "pass --yes to approve in advance".into(),
        }),
    }
}

/// The failed targets (of one wave, or all), with their reasons.
fn failures_of(state: &FleetState, wave: Option<usize>) -> Vec<(String, String)> {
    state
        .targets
        .iter()
        .filter(|t| t.status == Status::Failed && wave.is_none_or(|w| t.wave == w))
        .map(|t| (t.name.clone(), t.reason.clone().unwrap_or_default()))
        .collect()
}

/// One fleet run in progress.
struct Fleet<'a, 'o> {
    settings: &'a Settings,
    policy: &'a FleetPolicy,
    opts: &'a FleetOptions,
    targets: &'a [Target],
    dir: &'a Path,
    worker: String,
    observer: &'o mut dyn Observer,
}

impl Fleet<'_, '_> {
    /// Deploy the targets of `wave` this worker can claim, `concurrency` at a time.
    fn run_wave(&mut self, store: &mut dyn Store, wave: usize) -> Result<(), Error> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<(Target, Settings)>();
        let jobs_rx = std::sync::Mutex::new(jobs_rx);
        let (done_tx, done_rx) = mpsc::channel::<Finished>();
        let concurrency = self.policy.concurrency;
        let run = self.target_options();
        let budget = self.policy.error_budget.of(self.targets.len());
        std::thread::scope(|scope| -> Result<(), Error> {
            for _ in 0..concurrency {
                let (jobs_rx, done_tx, run) = (&jobs_rx, done_tx.clone(), run.clone());
                scope.spawn(move || {
                    loop {
                        let job = jobs_rx.lock().ok().and_then(|rx| rx.recv().ok());
                        let Some((target, settings)) = job else {
                            return;
                        };
                        let mut opts = run.clone();
                        opts.report_dir =
                            Some(opts.report_dir.unwrap_or_default().join(&target.name));
                        let start = Instant::now();
                        let result = crate::deploy::run(
                            &settings,
                            Work::Deploy,
                            &opts,
                            &mut (),
                            &mut |_: &ApprovalRequest| Some(true),
                        );
                        let _ = done_tx.send(Finished {
                            name: target.name,
                            result,
                            took: start.elapsed(),
                        });
                    }
                });
            }
            drop(done_tx);
            let mut running = 0;
            let mut more = true;
            let mut beat = Instant::now();
            loop {
                while more && running < concurrency {
                    match store.claim(wave, &self.worker, self.policy.lease)? {
                        Some(name) => {
                            let t = self.target(&name)?;
                            self.observer.event(&Event::FleetTarget {
                                name: name.clone(),
                                wave,
                                status: Status::Running,
                                reason: None,
                                duration: Duration::ZERO,
                            });
                            let s = targets::settings_for(self.settings, &t);
                            let _ = jobs_tx.send((t, s));
                            running += 1;
                        }
                        None => more = false,
                    }
                }
                if running == 0 {
                    break;
                }
                match done_rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(f) => {
                        running -= 1;
                        let t = self.record(store, wave, f)?;
                        if t.status == Status::Failed && store.state()?.failures() > budget {
                            store.stop(&format!(
                                "{} failed; the error budget allows {budget}",
                                t.name
                            ))?;
                            more = false;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if beat.elapsed() >= self.policy.lease / 3 {
                    store.heartbeat(&self.worker, self.policy.lease)?;
                    beat = Instant::now();
                }
            }
            drop(jobs_tx);
            Ok(())
        })
    }

    /// The options every target's deploy takes: approved once for the fleet, journals in
    /// the fleet run's folder (the fleet's report stands for the targets' reports).
    fn target_options(&self) -> RunOptions {
        let mut run = self.opts.run.clone();
        run.yes = true;
        run.report_dir = Some(self.dir.join("targets"));
        run.journal_only = true;
        run
    }

    fn target(&self, name: &str) -> Result<Target, Error> {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the fleet run names the target {name}, which the fleet no longer has"
                ))
            })
    }

    /// A target's deploy ended: its state in the store, an event.
    fn record(
        &mut self,
        store: &mut dyn Store,
        wave: usize,
        f: Finished,
    ) -> Result<TargetState, Error> {
        let (status, outcome, run_id, reason) = match &f.result {
            Ok(r) => {
                let status = match r.outcome {
                    Outcome::Success | Outcome::NothingToDo | Outcome::DryRun => Status::Done,
                    _ => Status::Failed,
                };
                (
                    status,
                    Some(r.outcome),
                    Some(r.run_id.clone()),
                    r.reason.clone(),
                )
            }
            Err(e) => (Status::Failed, None, None, Some(e.to_string())),
        };
        let t = TargetState {
            name: f.name,
            wave,
            status,
            run_id,
            outcome,
            reason: reason.map(|r| self.settings.scrub(&r)),
            duration_ms: f.took.as_millis() as u64,
            worker: Some(self.worker.clone()),
        };
        store.finish(&t)?;
        self.observer.event(&Event::FleetTarget {
            name: t.name.clone(),
            wave,
            status,
            reason: t.reason.clone(),
            duration: f.took,
        });
        Ok(t)
    }

    /// Other workers may still be deploying this wave's targets: wait until none is
    /// running (a dead worker's lease runs out, and its target is claimed again).
    fn wait_for_wave(&mut self, store: &mut dyn Store, wave: usize) -> Result<(), Error> {
        loop {
            let state = store.state()?;
            let open = state
                .targets
                .iter()
                .any(|t| t.wave == wave && matches!(t.status, Status::Running | Status::Pending));
            if !open
                || (state.stopped.is_some()
                    && !state
                        .targets
                        .iter()
                        .any(|t| t.wave == wave && t.status == Status::Running))
            {
                return Ok(());
            }
            // A pending target here was freed by a lapsed lease: take it.
            self.run_wave(store, wave)?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The fleet stopped in `wave`: its targets not started are skipped; with
    /// `on_cancel = "rollback"` its deployed ones are undone, each by its own policy.
    fn cancel_wave(&mut self, store: &mut dyn Store, wave: usize) -> Result<(), Error> {
        let state = store.state()?;
        for t in state.targets.iter().filter(|t| t.wave == wave) {
            match t.status {
                Status::Pending => {
                    let mut skipped = t.clone();
                    skipped.status = Status::Skipped;
                    store.finish(&skipped)?;
                }
                Status::Done if self.policy.on_cancel == OnCancel::Rollback => {
                    let undone = self.undo(t);
                    store.finish(&undone)?;
                    self.observer.event(&Event::FleetTarget {
                        name: undone.name.clone(),
                        wave,
                        status: undone.status,
                        reason: undone.reason.clone(),
                        duration: Duration::from_millis(undone.duration_ms),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Undo one target's deploy of this fleet run (`rollback --run`).
    fn undo(&mut self, t: &TargetState) -> TargetState {
        let mut out = t.clone();
        let (Some(run_id), Ok(target)) = (t.run_id.clone(), self.target(&t.name)) else {
            return out;
        };
        if t.outcome == Some(Outcome::NothingToDo) {
            return out;
        }
        let settings = targets::settings_for(self.settings, &target);
        let mut opts = self.target_options();
        opts.report_dir = opts.report_dir.map(|d| d.join(&t.name));
        let result = crate::deploy::run(
            &settings,
            Work::UndoRun(run_id),
            &opts,
            &mut (),
            &mut |_: &ApprovalRequest| Some(true),
        );
        match result {
            Ok(_) => {
                out.status = Status::RolledBack;
                out.reason = Some("rolled back with its cancelled wave".into());
            }
            Err(e) => {
                out.reason = Some(format!(
                    "could not roll back with its cancelled wave: {}",
                    self.settings.scrub(&e.to_string())
                ));
            }
        }
        out
    }

    /// The gate after `wave`, decided once: by this worker, or waited for.
    fn gate(
        &mut self,
        store: &mut dyn Store,
        wave: usize,
        approve: Approver,
    ) -> Result<GateDecision, Error> {
        loop {
            match store.gate(wave, &self.worker)? {
                Gate::Decided(d) => return Ok(d),
                Gate::Yours => {
                    let d = gate::decide(
                        self.settings,
                        self.policy,
                        wave,
                        self.opts.run.yes,
                        &self.worker,
                        approve,
                    );
                    store.decide(&d)?;
                    self.observer.event(&Event::FleetGate {
                        wave,
                        passed: d.passed,
                        detail: d.detail.clone(),
                    });
                    return Ok(d);
                }
                Gate::Waiting => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// A fleet-level notification: per wave and at the end, failures named.
    fn notify(&mut self, on: NotifyOn, what: &str, failed: &[(String, String)]) {
        if self.opts.run.dry_run {
            return;
        }
        let env = self.settings.env.clone().unwrap_or_default();
        let mut text = format!("cutover fleet deploy of {env} {what}");
        if !failed.is_empty() {
            let names: Vec<String> = failed.iter().map(|(n, r)| format!("{n} ({r})")).collect();
            text.push_str(&format!("; failed: {}", names.join(", ")));
        }
        let payload = serde_json::json!({
            "text": self.settings.scrub(&text),
            "event": on,
            "kind": "fleet",
            "environment": env,
            "failed": failed.iter().map(|(n, r)| serde_json::json!({"target": n, "reason": self.settings.scrub(r)})).collect::<Vec<_>>(),
        });
        for n in self
            .settings
            .deploy
            .notify
            .iter()
            .filter(|n| n.on.contains(&on))
        {
            for problem in crate::deploy::actions::notify(n, &payload) {
                self.observer
                    .event(&Event::Warning(format!("notify: {problem}")));
            }
        }
    }
}
