//! Runs rollouts: sends each target box its command at the rollout's rate through the command
//! service (same checks, same audit), follows their states, stops on the abort rule, and cancels.
//!
//! Each running rollout has one task that takes a step every [`STEP_EVERY`]; a step holds the
//! rollout's lock, so a cancel never races a step. Steps persist the record, so progress survives
//! a restart and a resumed rollout goes on where it stopped (command ids are derived from the
//! rollout and the box: nothing is sent twice).
use super::RolloutRecord;
use crate::clock::now_ms;
use crate::commands::{CommandService, DEFAULT_TTL_SECS};
use crate::console::store_error;
use crate::store::Store;
use app::domain::{
    AppError, CommandState, DeviceId, FleetId, Role, RolloutProgress, RolloutRequest,
    RolloutStatus, RolloutView, MAX_ROLLOUT_TARGETS,
};
use app::service::Caller;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a running rollout sends its next commands and counts their states.
pub const STEP_EVERY: Duration = Duration::from_millis(200);
/// Rollouts listed when the caller names no limit, and the most one list returns.
pub const LIST_DEFAULT_LIMIT: usize = 50;
pub const LIST_MAX_LIMIT: usize = 500;

/// A running rollout: its record, and the states of its commands not final yet.
struct Running {
    record: RolloutRecord,
    /// Command id -> last known state, for commands that are not final.
    open: HashMap<String, CommandState>,
    /// Final states counted so far.
    settled: BTreeMap<CommandState, usize>,
    /// When the rate clock started, and how many commands were issued before it.
    clock: Instant,
    issued_at_clock: usize,
}

pub struct RolloutService {
    store: Arc<dyn Store>,
    commands: Arc<CommandService>,
    running: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Running>>>>,
}

impl RolloutService {
    pub fn new(store: Arc<dyn Store>, commands: Arc<CommandService>) -> Arc<Self> {
        Arc::new(Self {
            store,
            commands,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Resumes the rollouts that were running when the server stopped.
    pub async fn resume(self: &Arc<Self>) {
        let unfinished = match self.store.unfinished_rollouts().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "running rollouts not resumed");
                return;
            }
        };
        for record in unfinished {
            tracing::info!(rollout = %record.id, issued = record.progress.issued, "resuming a rollout");
            let running = self.restore(record).await;
            self.spawn(running);
        }
    }

    /// Starts a rollout: checks the command once for the caller, resolves the target boxes, stores
    /// the rollout and starts sending.
    pub async fn start(
        self: &Arc<Self>,
        caller: &Caller,
        req: RolloutRequest,
    ) -> Result<RolloutView, AppError> {
        caller.require(Role::Operator)?;
        if !caller.may_see_fleet(&req.fleet) {
            return Err(AppError::Forbidden(format!(
                "fleet {} is not one of yours",
                req.fleet
            )));
        }
        req.check_shape().map_err(AppError::BadRequest)?;
        let ttl_secs = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        let params = match &req.params {
            Value::Null => Value::Object(Default::default()),
            p => p.clone(),
        };
        self.commands.check(caller, &req.name, &params, ttl_secs)?;
        let devices = self.resolve_targets(&req).await?;
        let record = RolloutRecord {
            id: uuid::Uuid::new_v4().to_string(),
            fleet: req.fleet,
            name: req.name,
            params,
            target: req.target,
            rate_per_minute: req.rate_per_minute,
            abort: req.abort,
            ttl_secs,
            issuer: format!("user:{}", caller.username),
            created_at: now_ms(),
            status: RolloutStatus::Running,
            status_detail: None,
            finished_at: None,
            progress: RolloutProgress {
                targets: devices.len(),
                ..Default::default()
            },
            devices,
        };
        self.store.put_rollout(&record).await.map_err(store_error)?;
        tracing::info!(rollout = %record.id, fleet = %record.fleet, command = %record.name,
            targets = record.devices.len(), issuer = %record.issuer, "rollout started");
        let view = record.view();
        let running = Arc::new(tokio::sync::Mutex::new(Running {
            record,
            open: HashMap::new(),
            settled: BTreeMap::new(),
            clock: Instant::now(),
            issued_at_clock: 0,
        }));
        self.spawn(running);
        Ok(view)
    }

    async fn resolve_targets(&self, req: &RolloutRequest) -> Result<Vec<DeviceId>, AppError> {
        let fleet_boxes = self
            .store
            .list_devices(Some(&req.fleet))
            .await
            .map_err(store_error)?;
        let chosen: Vec<_> = match &req.target.devices {
            Some(named) => {
                let by_id: HashMap<_, _> = fleet_boxes.iter().map(|d| (&d.id, d)).collect();
                let unknown: Vec<String> = named
                    .iter()
                    .filter(|d| !by_id.contains_key(d))
                    .map(|d| d.to_string())
                    .collect();
                if !unknown.is_empty() {
                    return Err(AppError::BadRequest(format!(
                        "not boxes of fleet {}: {}",
                        req.fleet,
                        unknown.join(", ")
                    )));
                }
                let mut seen = std::collections::HashSet::new();
                named
                    .iter()
                    .filter(|d| seen.insert(*d))
                    .map(|d| by_id[d])
                    .collect()
            }
            None => fleet_boxes.iter().collect(),
        };
        let devices: Vec<DeviceId> = chosen
            .into_iter()
            .filter(|d| !req.target.online_only || d.presence.online)
            .filter(|d| {
                req.target
                    .firmware
                    .as_ref()
                    .is_none_or(|fw| d.presence.firmware.as_ref() == Some(fw))
            })
            .map(|d| d.id.clone())
            .collect();
        if devices.is_empty() {
            return Err(AppError::BadRequest(format!(
                "no box of fleet {} matches the target",
                req.fleet
            )));
        }
        if devices.len() > MAX_ROLLOUT_TARGETS {
            return Err(AppError::BadRequest(format!(
                "{} boxes match: a rollout targets at most {MAX_ROLLOUT_TARGETS}",
                devices.len()
            )));
        }
        Ok(devices)
    }

    /// Rebuilds the in-memory state of a stored running rollout from its commands.
    async fn restore(&self, record: RolloutRecord) -> Arc<tokio::sync::Mutex<Running>> {
        let mut open = HashMap::new();
        let mut settled = BTreeMap::new();
        for device in record.devices.iter().take(record.progress.issued) {
            let id = record.command_id(device);
            match self.commands.command(&id).await {
                Ok(Some(c)) if c.state.is_final() => *settled.entry(c.state).or_insert(0) += 1,
                Ok(Some(c)) => {
                    open.insert(id, c.state);
                }
                // Counted as open; the next step looks again.
                _ => {
                    open.insert(id, CommandState::Created);
                }
            }
        }
        let issued = record.progress.issued;
        Arc::new(tokio::sync::Mutex::new(Running {
            record,
            open,
            settled,
            clock: Instant::now(),
            issued_at_clock: issued,
        }))
    }

    fn spawn(self: &Arc<Self>, running: Arc<tokio::sync::Mutex<Running>>) {
        tokio::spawn(self.clone().run_steps(running, None));
    }

    /// Steps a rollout every [`STEP_EVERY`] until it is final or `deadline` passes; true when
    /// it is final.
    async fn run_steps(
        self: Arc<Self>,
        running: Arc<tokio::sync::Mutex<Running>>,
        deadline: Option<Instant>,
    ) -> bool {
        let id = running.lock().await.record.id.clone();
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), running.clone());
        let mut ticker = tokio::time::interval(STEP_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let finished = loop {
            ticker.tick().await;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break false;
            }
            let mut r = running.lock().await;
            if r.record.status.is_final() {
                break true;
            }
            if let Err(e) = self.step(&mut r).await {
                tracing::warn!(rollout = %id, error = %e, "rollout step failed; retrying");
            }
            if r.record.status.is_final() {
                break true;
            }
        };
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        finished
    }

    /// For a process that runs now and then (the scheduled function on AWS): steps every running
    /// rollout not already stepped by this process until it finishes or `budget` runs out, then
    /// returns `(driven, finished)`. Progress is stored at each step, so the next run goes on.
    pub async fn drive_for(self: &Arc<Self>, budget: Duration) -> (usize, usize) {
        let deadline = Instant::now() + budget;
        let unfinished = match self.store.unfinished_rollouts().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "running rollouts not read");
                return (0, 0);
            }
        };
        let mut runs = Vec::new();
        for record in unfinished {
            let busy = self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&record.id);
            if !busy {
                let running = self.restore(record).await;
                runs.push(self.clone().run_steps(running, Some(deadline)));
            }
        }
        let driven = runs.len();
        let finished = futures::future::join_all(runs)
            .await
            .into_iter()
            .filter(|done| *done)
            .count();
        (driven, finished)
    }

    /// Sends what the rate allows, counts states, applies the abort rule, finishes when every
    /// command is final; persists the record when something changed.
    async fn step(&self, r: &mut Running) -> Result<(), AppError> {
        let before = r.record.progress.clone();
        let elapsed_ms = r.clock.elapsed().as_millis() as u64;
        let allowed = r.issued_at_clock
            + 1
            + (elapsed_ms * u64::from(r.record.rate_per_minute) / 60_000) as usize;
        let allowed = allowed.min(r.record.devices.len());
        while r.record.progress.issued < allowed {
            let device = r.record.devices[r.record.progress.issued].clone();
            let c = self.commands.issue_for_rollout(&r.record, &device).await?;
            r.record.progress.issued += 1;
            if c.state.is_final() {
                *r.settled.entry(c.state).or_insert(0) += 1;
            } else {
                r.open.insert(c.id, c.state);
            }
        }
        let ids: Vec<String> = r.open.keys().cloned().collect();
        for id in ids {
            if let Some(c) = self.commands.command(&id).await? {
                if c.state.is_final() {
                    r.open.remove(&id);
                    *r.settled.entry(c.state).or_insert(0) += 1;
                } else {
                    r.open.insert(id, c.state);
                }
            }
        }
        r.record.progress.states = count_states(r);

        if let Some(reason) = r
            .record
            .abort
            .as_ref()
            .and_then(|rule| r.record.progress.abort_reason(rule))
        {
            tracing::warn!(rollout = %r.record.id, %reason, "rollout aborted by its rule");
            self.stop(r, RolloutStatus::Aborted, format!("aborted: {reason}"))
                .await?;
        } else if r.record.progress.issued == r.record.devices.len() && r.open.is_empty() {
            r.record.status = RolloutStatus::Completed;
            r.record.finished_at = Some(now_ms());
            tracing::info!(rollout = %r.record.id, "rollout completed");
        }
        if r.record.progress != before || r.record.status.is_final() {
            self.store
                .put_rollout(&r.record)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Stops sending, withdraws the commands not delivered yet (delivered ones run to their end,
    /// as with AWS IoT Jobs' cancel without force) and records why.
    async fn stop(
        &self,
        r: &mut Running,
        status: RolloutStatus,
        detail: String,
    ) -> Result<(), AppError> {
        r.record.status = status;
        r.record.status_detail = Some(detail.clone());
        r.record.finished_at = Some(now_ms());
        let undelivered: Vec<String> = r
            .open
            .iter()
            .filter(|(_, s)| **s == CommandState::Created)
            .map(|(id, _)| id.clone())
            .collect();
        for id in undelivered {
            if let Some(c) = self.commands.cancel_undelivered(&id, &detail).await? {
                r.open.remove(&id);
                *r.settled.entry(c.state).or_insert(0) += 1;
            }
        }
        r.record.progress.states = count_states(r);
        Ok(())
    }

    /// Cancels a running rollout (operators of its fleet).
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError> {
        let record = self.visible(caller, id).await?;
        caller.require(Role::Operator)?;
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        let Some(running) = running else {
            return Err(AppError::Conflict(format!(
                "rollout {id} is {} already",
                record.status
            )));
        };
        let mut r = running.lock().await;
        if r.record.status.is_final() {
            return Err(AppError::Conflict(format!(
                "rollout {id} is {} already",
                r.record.status
            )));
        }
        self.stop(
            &mut r,
            RolloutStatus::Cancelled,
            format!("cancelled by {}", caller.username),
        )
        .await?;
        self.store
            .put_rollout(&r.record)
            .await
            .map_err(store_error)?;
        tracing::info!(rollout = %id, by = %caller.username, "rollout cancelled");
        Ok(r.record.view())
    }

    async fn visible(&self, caller: &Caller, id: &str) -> Result<RolloutRecord, AppError> {
        match self.store.get_rollout(id).await.map_err(store_error)? {
            Some(r) if caller.may_see_fleet(&r.fleet) => Ok(r),
            // Another fleet's rollout is not found, not forbidden: its existence is not told.
            _ => Err(AppError::NotFound(format!("rollout {id}"))),
        }
    }

    /// One rollout with its progress.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError> {
        Ok(self.visible(caller, id).await?.view())
    }

    /// The rollouts of a fleet, newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        limit: Option<usize>,
    ) -> Result<Vec<RolloutView>, AppError> {
        if !caller.may_see_fleet(fleet) {
            return Err(AppError::Forbidden(format!(
                "fleet {fleet} is not one of yours"
            )));
        }
        let limit = limit.unwrap_or(LIST_DEFAULT_LIMIT);
        if !(1..=LIST_MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and {LIST_MAX_LIMIT}"
            )));
        }
        Ok(self
            .store
            .list_rollouts(fleet, limit)
            .await
            .map_err(store_error)?
            .iter()
            .map(RolloutRecord::view)
            .collect())
    }
}

fn count_states(r: &Running) -> BTreeMap<CommandState, usize> {
    let mut states = r.settled.clone();
    for s in r.open.values() {
        *states.entry(*s).or_insert(0) += 1;
    }
    states
}
