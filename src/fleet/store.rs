//! Where a fleet run keeps its state: which target is in which wave, who is working on it
//! (a lease renewed by heartbeat), how it ended, and the decision at each gate. One process
//! keeps it in a file (`.cutover/fleets/<id>/state.json`, rewritten atomically, with each
//! target's change since appended to `state.log` so that a fleet of a thousand targets does
//! not rewrite the whole state two thousand times); several
//! workers on several machines share it in tables of the fleet's `coordination_url`
//! (PostgreSQL), claiming targets with `FOR UPDATE SKIP LOCKED` and deciding each gate once.
//! Both are behind `Store`, so the fleet's loop is the same either way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Param};
use crate::error::Error;
use crate::records::Outcome;

pub use crate::phase::TargetStatus as Status;

/// One target's line in the fleet run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetState {
    pub name: String,
    pub wave: usize,
    pub status: Status,
    /// Its deploy's run id (in its own `cutover_runs` and report folder).
    pub run_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub worker: Option<String>,
}

/// What was decided at the gate after a wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    pub wave: usize,
    pub passed: bool,
    pub decided_by: String,
    pub at: String,
    pub detail: Vec<String>,
}

/// A fleet run's whole state, as the file holds it (and as the report shows it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetState {
    pub id: String,
    pub environment: String,
    pub started_at: String,
    pub targets: Vec<TargetState>,
    pub gates: Vec<GateDecision>,
    /// Why the fleet stopped early, when it did.
    pub stopped: Option<String>,
}

impl FleetState {
    pub fn failures(&self) -> usize {
        self.targets
            .iter()
            .filter(|t| t.status == Status::Failed)
            .count()
    }
}

/// A fleet run's state, wherever it is kept.
pub trait Store {
    /// The whole state as it is now.
    fn state(&mut self) -> Result<FleetState, Error>;
    /// Claim a pending target of `wave` (or one whose lease ran out) for `worker`.
    fn claim(
        &mut self,
        wave: usize,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<String>, Error>;
    /// Renew `worker`'s leases.
    fn heartbeat(&mut self, worker: &str, lease: Duration) -> Result<(), Error>;
    /// Record how a target ended.
    fn finish(&mut self, t: &TargetState) -> Result<(), Error>;
    /// The gate after `wave`: the decision if one was made, else whether this caller is
    /// the one to make it (the first to ask).
    fn gate(&mut self, wave: usize, worker: &str) -> Result<Gate, Error>;
    fn decide(&mut self, d: &GateDecision) -> Result<(), Error>;
    /// Stop the fleet: no target is claimed after this.
    fn stop(&mut self, reason: &str) -> Result<(), Error>;
    /// Put failed targets back to pending (`--retry-failed`).
    fn retry_failed(&mut self) -> Result<(), Error>;
    /// Resume a stopped run: its skipped targets are pending again, the stop lifted.
    fn resume(&mut self) -> Result<(), Error>;
}

/// What a caller finds at a gate.
pub enum Gate {
    Decided(GateDecision),
    /// Nobody decided yet, and this caller is to decide.
    Yours,
    /// Another worker is deciding it.
    Waiting,
}

/// The state in a file, for one process: `state.json`, and `state.log` with one line per
/// target change since the file was last written whole.
pub struct FileStore {
    path: PathBuf,
    state: FleetState,
    /// `state.log`, open for appending.
    log: Option<std::fs::File>,
    /// Lines in `state.log`: past a bound the state is written whole again.
    logged: usize,
}

impl FileStore {
    pub fn create(dir: &Path, state: FleetState) -> Result<FileStore, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut store = FileStore {
            path: dir.join("state.json"),
            state,
            log: None,
            logged: 0,
        };
        store.save()?;
        Ok(store)
    }

    /// A fleet run to resume: targets a dead process was running are pending again.
    pub fn open(dir: &Path) -> Result<FileStore, Error> {
        let path = dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut state: FleetState = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{} is not a fleet run's state: {e}",
                path.display()
            ))
        })?;
        replay_log(&log_path(&path), &mut state);
        for t in &mut state.targets {
            // A dead process's targets, and those the stop skipped, are to deploy again.
            if matches!(t.status, Status::Running | Status::Skipped) {
                t.status = Status::Pending;
                t.worker = None;
            }
        }
        state.stopped = None;
        let mut store = FileStore {
            path,
            state,
            log: None,
            logged: 0,
        };
        store.save()?;
        Ok(store)
    }

    /// The whole state to `state.json` (atomically), and an empty `state.log`.
    fn save(&mut self) -> Result<(), Error> {
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&self.state).unwrap_or_default();
        let log = log_path(&self.path);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(io(&self.path))?;
        // The log is emptied only after the state that holds its lines is in place.
        self.log = Some(std::fs::File::create(&log).map_err(io(&log))?);
        self.logged = 0;
        Ok(())
    }

    /// One target's new state, appended to `state.log`; the whole state is written again
    /// once the log holds as many lines as the fleet has targets (so the log stays short
    /// and the work per change stays constant on average).
    fn save_target(&mut self, t: &TargetState) -> Result<(), Error> {
        if self.logged >= self.state.targets.len().max(64) {
            return self.save();
        }
        use std::io::Write;
        let mut line = serde_json::to_string(t).unwrap_or_default();
        line.push('\n');
        let path = log_path(&self.path);
        let Some(log) = self.log.as_mut() else {
            return self.save();
        };
        log.write_all(line.as_bytes())
            .map_err(|source| Error::Io { path, source })?;
        self.logged += 1;
        Ok(())
    }
}

fn log_path(state: &Path) -> PathBuf {
    state.with_extension("log")
}

/// Apply `state.log`'s lines to the state read from `state.json`. A line cut short by a
/// crash (the last one) is ignored: its target is deployed again only if its own history
/// says it is not deployed.
fn replay_log(path: &Path, state: &mut FleetState) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let Ok(t) = serde_json::from_str::<TargetState>(line) else {
            continue;
        };
        if let Some(s) = state.targets.iter_mut().find(|s| s.name == t.name) {
            *s = t;
        }
    }
}

impl Store for FileStore {
    fn state(&mut self) -> Result<FleetState, Error> {
        Ok(self.state.clone())
    }

    fn claim(&mut self, wave: usize, worker: &str, _: Duration) -> Result<Option<String>, Error> {
        if self.state.stopped.is_some() {
            return Ok(None);
        }
        let Some(t) = self
            .state
            .targets
            .iter_mut()
            .find(|t| t.wave == wave && t.status == Status::Pending)
        else {
            return Ok(None);
        };
        t.status = Status::Running;
        t.worker = Some(worker.to_string());
        let claimed = t.clone();
        self.save_target(&claimed)?;
        Ok(Some(claimed.name))
    }

    fn heartbeat(&mut self, _: &str, _: Duration) -> Result<(), Error> {
        Ok(())
    }

    fn finish(&mut self, done: &TargetState) -> Result<(), Error> {
        if let Some(t) = self.state.targets.iter_mut().find(|t| t.name == done.name) {
            *t = done.clone();
        }
        self.save_target(done)
    }

    fn gate(&mut self, wave: usize, _: &str) -> Result<Gate, Error> {
        Ok(match self.state.gates.iter().find(|g| g.wave == wave) {
            Some(d) => Gate::Decided(d.clone()),
            None => Gate::Yours,
        })
    }

    fn decide(&mut self, d: &GateDecision) -> Result<(), Error> {
        self.state.gates.push(d.clone());
        self.save()
    }

    fn stop(&mut self, reason: &str) -> Result<(), Error> {
        self.state.stopped = Some(reason.to_string());
        self.save()
    }

    fn resume(&mut self) -> Result<(), Error> {
        self.state.stopped = None;
        self.save()
    }

    fn retry_failed(&mut self) -> Result<(), Error> {
        for t in &mut self.state.targets {
            if t.status == Status::Failed {
                t.status = Status::Pending;
            }
        }
        self.save()
    }
}

/// The state in tables of a PostgreSQL coordination database, shared by every worker.
pub struct CoordStore {
    engine: Box<dyn Engine>,
    id: String,
}

const RUNS: &str = "cutover_fleet_runs";
const TARGETS: &str = "cutover_fleet_targets";
const GATES: &str = "cutover_fleet_gates";

/// The newest fleet run of `environment` in the coordination database that has not
/// stopped and still has targets to deploy: what `--worker` joins.
pub fn latest_open_run(
    settings: &crate::config::Settings,
    url: &crate::target::DatabaseUrl,
    environment: &str,
) -> Option<String> {
    let mut engine = crate::connect(settings, url, true).ok()?;
    let rows = engine
        .query(&format!(
            "SELECT r.id FROM {RUNS} r WHERE r.environment = '{}' AND r.stopped IS NULL \
             AND EXISTS (SELECT 1 FROM {TARGETS} t WHERE t.fleet_id = r.id \
               AND t.status IN ('pending', 'running')) \
             ORDER BY r.started_at DESC LIMIT 1",
            environment.replace('\'', "''")
        ))
        .ok()?;
    rows.into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
}

impl CoordStore {
    /// Connect, create the tables if needed, and join fleet run `state.id` (creating it
    /// with `state`'s targets when it is new; a run that exists keeps its own).
    pub fn join(mut engine: Box<dyn Engine>, state: &FleetState) -> Result<CoordStore, Error> {
        let ddl = [
            format!(
                "CREATE TABLE IF NOT EXISTS {RUNS} (id text PRIMARY KEY, environment text NOT NULL, \
                 started_at text NOT NULL, stopped text)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {TARGETS} (fleet_id text NOT NULL, name text NOT NULL, \
                 wave int NOT NULL, status text NOT NULL, worker text, lease_until timestamptz, \
                 run_id text, outcome text, reason text, duration_ms bigint NOT NULL DEFAULT 0, \
                 PRIMARY KEY (fleet_id, name))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {GATES} (fleet_id text NOT NULL, wave int NOT NULL, \
                 worker text NOT NULL, passed boolean, at text, detail text, \
                 PRIMARY KEY (fleet_id, wave))"
            ),
        ];
        for sql in &ddl {
            engine
                .execute(sql)
                .map_err(Error::db("cannot create the fleet's coordination tables"))?;
        }
        let fresh = engine
            .execute_bound(
                &format!(
                    "INSERT INTO {RUNS} (id, environment, started_at) VALUES (?, ?, ?) \
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    Param::text(&state.id),
                    Param::text(&state.environment),
                    Param::text(&state.started_at),
                ],
            )
            .map_err(Error::db("cannot record the fleet run"))?;
        if fresh == 1 {
            for t in &state.targets {
                engine
                    .execute_bound(
                        &format!(
                            "INSERT INTO {TARGETS} (fleet_id, name, wave, status) VALUES (?, ?, ?, ?) \
                             ON CONFLICT DO NOTHING"
                        ),
                        &[
                            Param::text(&state.id),
                            Param::text(&t.name),
                            Param::Int(t.wave as i64),
                            Param::text(t.status.key()),
                        ],
                    )
                    .map_err(Error::db("cannot record the fleet's targets"))?;
            }
        }
        Ok(CoordStore {
            engine,
            id: state.id.clone(),
        })
    }

    fn db(what: &str) -> impl FnOnce(crate::engine::DbError) -> Error + '_ {
        move |e| Error::db(format!("fleet coordination: {what}"))(e)
    }
}

impl Store for CoordStore {
    fn state(&mut self) -> Result<FleetState, Error> {
        let run = self
            .engine
            .query(&format!(
                "SELECT environment, started_at, stopped FROM {RUNS} WHERE id = '{}'",
                self.id.replace('\'', "''")
            ))
            .map_err(Self::db("cannot read the run"))?;
        let run = run.into_iter().next().unwrap_or_default();
        let targets = self
            .engine
            .query(&format!(
                "SELECT name, wave, status, run_id, outcome, reason, duration_ms, worker \
                 FROM {TARGETS} WHERE fleet_id = '{}' ORDER BY name",
                self.id.replace('\'', "''")
            ))
            .map_err(Self::db("cannot read the targets"))?;
        let gates = self
            .engine
            .query(&format!(
                "SELECT wave, passed, worker, at, detail FROM {GATES} WHERE fleet_id = '{}' \
                 AND passed IS NOT NULL ORDER BY wave",
                self.id.replace('\'', "''")
            ))
            .map_err(Self::db("cannot read the gates"))?;
        let text = |r: &[Option<String>], i: usize| r.get(i).cloned().flatten();
        Ok(FleetState {
            id: self.id.clone(),
            environment: text(&run, 0).unwrap_or_default(),
            started_at: text(&run, 1).unwrap_or_default(),
            stopped: text(&run, 2),
            targets: targets
                .iter()
                .map(|r| TargetState {
                    name: text(r, 0).unwrap_or_default(),
                    wave: text(r, 1).and_then(|v| v.parse().ok()).unwrap_or(0),
                    status: Status::parse(&text(r, 2).unwrap_or_default()),
                    run_id: text(r, 3),
                    outcome: text(r, 4)
                        .and_then(|o| serde_json::from_value(serde_json::Value::String(o)).ok()),
                    reason: text(r, 5),
                    duration_ms: text(r, 6).and_then(|v| v.parse().ok()).unwrap_or(0),
                    worker: text(r, 7),
                })
                .collect(),
            gates: gates
                .iter()
                .map(|r| GateDecision {
                    wave: text(r, 0).and_then(|v| v.parse().ok()).unwrap_or(0),
                    passed: text(r, 1).as_deref() == Some("t"),
                    decided_by: text(r, 2).unwrap_or_default(),
                    at: text(r, 3).unwrap_or_default(),
                    detail: text(r, 4)
                        .map(|d| d.lines().map(str::to_string).collect())
                        .unwrap_or_default(),
                })
                .collect(),
        })
    }

    fn claim(
        &mut self,
        wave: usize,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<String>, Error> {
        // One statement: the row is locked, skipped by other workers, and taken. A
        // running target whose lease ran out is free again: its worker is gone, and the
        // target's own run lock and history decide what its next deploy does.
        let rows = self
            .engine
            .query(&format!(
                "UPDATE {TARGETS} SET status = 'running', worker = '{w}', \
                 lease_until = now() + interval '{ms} milliseconds' \
                 WHERE (fleet_id, name) = (SELECT fleet_id, name FROM {TARGETS} \
                   WHERE fleet_id = '{id}' AND wave = {wave} \
                     AND (status = 'pending' OR (status = 'running' AND lease_until < now())) \
                     AND NOT EXISTS (SELECT 1 FROM {RUNS} WHERE id = '{id}' AND stopped IS NOT NULL) \
                   ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING name",
                w = worker.replace('\'', "''"),
                ms = lease.as_millis(),
                id = self.id.replace('\'', "''"),
            ))
            .map_err(Self::db("cannot claim a target"))?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    fn heartbeat(&mut self, worker: &str, lease: Duration) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!(
                    "UPDATE {TARGETS} SET lease_until = now() + ? * interval '1 millisecond' \
                     WHERE fleet_id = ? AND worker = ? AND status = 'running'"
                ),
                &[
                    Param::Int(lease.as_millis() as i64),
                    Param::text(&self.id),
                    Param::text(worker),
                ],
            )
            .map(|_| ())
            .map_err(Self::db("cannot renew the leases"))
    }

    fn finish(&mut self, t: &TargetState) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!(
                    "UPDATE {TARGETS} SET status = ?, run_id = ?, outcome = ?, reason = ?, \
                     duration_ms = ?, lease_until = NULL WHERE fleet_id = ? AND name = ?"
                ),
                &[
                    Param::text(t.status.key()),
                    Param::opt(t.run_id.clone()),
                    Param::opt(t.outcome.map(Outcome::key)),
                    Param::opt(t.reason.clone()),
                    Param::Int(t.duration_ms as i64),
                    Param::text(&self.id),
                    Param::text(&t.name),
                ],
            )
            .map(|_| ())
            .map_err(Self::db("cannot record a target"))
    }

    fn gate(&mut self, wave: usize, worker: &str) -> Result<Gate, Error> {
        let won = self
            .engine
            .execute_bound(
                &format!(
                    "INSERT INTO {GATES} (fleet_id, wave, worker) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    Param::text(&self.id),
                    Param::Int(wave as i64),
                    Param::text(worker),
                ],
            )
            .map_err(Self::db("cannot take the gate"))?;
        if won == 1 {
            return Ok(Gate::Yours);
        }
        let state = self.state()?;
        Ok(match state.gates.into_iter().find(|g| g.wave == wave) {
            Some(d) => Gate::Decided(d),
            None => Gate::Waiting,
        })
    }

    fn decide(&mut self, d: &GateDecision) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!(
                    "UPDATE {GATES} SET passed = CAST(? AS boolean), at = ?, detail = ? WHERE fleet_id = ? AND wave = ?"
                ),
                &[
                    Param::text(if d.passed { "t" } else { "f" }),
                    Param::text(&d.at),
                    Param::text(d.detail.join("\n")),
                    Param::text(&self.id),
                    Param::Int(d.wave as i64),
                ],
            )
            .map(|_| ())
            .map_err(Self::db("cannot record the gate"))
    }

    fn stop(&mut self, reason: &str) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!("UPDATE {RUNS} SET stopped = ? WHERE id = ? AND stopped IS NULL"),
                &[Param::text(reason), Param::text(&self.id)],
            )
            .map(|_| ())
            .map_err(Self::db("cannot stop the run"))
    }

    fn resume(&mut self) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!(
                    "UPDATE {TARGETS} SET status = 'pending' WHERE fleet_id = ? AND status = 'skipped'"
                ),
                &[Param::text(&self.id)],
            )
            .map(|_| ())
            .map_err(Self::db("cannot resume the targets"))?;
        self.engine
            .execute_bound(
                &format!("UPDATE {RUNS} SET stopped = NULL WHERE id = ?"),
                &[Param::text(&self.id)],
            )
            .map(|_| ())
            .map_err(Self::db("cannot resume the run"))
    }

    fn retry_failed(&mut self) -> Result<(), Error> {
        self.engine
            .execute_bound(
                &format!(
                    "UPDATE {TARGETS} SET status = 'pending' WHERE fleet_id = ? AND status = 'failed'"
                ),
                &[Param::text(&self.id)],
            )
            .map(|_| ())
            .map_err(Self::db("cannot retry the failed targets"))?;
        self.engine
            .execute_bound(
                &format!("UPDATE {RUNS} SET stopped = NULL WHERE id = ?"),
                &[Param::text(&self.id)],
            )
            .map(|_| ())
            .map_err(Self::db("cannot resume the run"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(n: usize) -> FleetState {
        FleetState {
            id: "f".into(),
            environment: "e".into(),
            started_at: "now".into(),
            targets: (0..n)
                .map(|i| TargetState {
                    name: format!("t{i}"),
                    wave: 0,
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

    fn done(name: String) -> TargetState {
        TargetState {
            name,
            wave: 0,
            status: Status::Done,
            run_id: Some("r".into()),
            outcome: Some(Outcome::Success),
            reason: None,
            duration_ms: 5,
            worker: Some("w".into()),
        }
    }

    /// Each change is a line of `state.log`, not a rewrite of `state.json`; a reopened
    /// run has them all, a line cut short by a kill is ignored, and a target still
    /// running is to deploy again.
    #[test]
    fn changes_are_logged_and_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::create(dir.path(), state(100)).unwrap();
        let whole = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
        for _ in 0..3 {
            let name = s.claim(0, "w", Duration::from_secs(1)).unwrap().unwrap();
            s.finish(&done(name)).unwrap();
        }
        let running = s.claim(0, "w", Duration::from_secs(1)).unwrap().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("state.json")).unwrap(),
            whole,
            "state.json rewritten for a target's change"
        );
        drop(s);
        let log = dir.path().join("state.log");
        let mut text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 7, "{text}");
        text.push_str("{\"name\":\"t9\",\"wave\":0,\"sta");
        std::fs::write(&log, text).unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        let st = s.state().unwrap();
        let status = |n: &str| st.targets.iter().find(|t| t.name == n).unwrap().status;
        for n in ["t0", "t1", "t2"] {
            assert_eq!(status(n), Status::Done, "{n}");
        }
        assert_eq!(running, "t3");
        assert_eq!(status("t3"), Status::Pending);
        assert_eq!(status("t9"), Status::Pending);
        // Reopening folded the log into state.json.
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
        let folded = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
        assert_eq!(folded.matches("\"done\"").count(), 3, "{folded}");
    }

    /// Past as many lines as the fleet has targets (64 at least), the state is written
    /// whole again and the log starts over.
    #[test]
    fn the_log_is_folded_when_long() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::create(dir.path(), state(100)).unwrap();
        for _ in 0..60 {
            let name = s.claim(0, "w", Duration::from_secs(1)).unwrap().unwrap();
            s.finish(&done(name)).unwrap();
        }
        let lines = std::fs::read_to_string(dir.path().join("state.log"))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 100, "{lines} lines");
        let st = FileStore::open(dir.path()).unwrap().state().unwrap();
        let n = st
            .targets
            .iter()
            .filter(|t| t.status == Status::Done)
            .count();
        assert_eq!(n, 60);
    }
}
