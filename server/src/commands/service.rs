//! The command service: one path for commands issued through the REST API and for commands a
//! console publishes over MQTT; box replies; delivery to boxes that come back online; the sweeper
//! of expired and timed-out commands.
use super::{
    Catalogue, CommandRecord, CommandSource, CommandState, StateChange, DEFAULT_TTL_SECS,
    MAX_TTL_SECS,
};
use crate::access::Principal;
use crate::broker::Delivery;
use crate::clock::now_ms;
use crate::console::{store_error, visible_device};
use crate::outbound::DevicePublisher;
use crate::rollouts::RolloutRecord;
use crate::store::{Store, StoreError};
use app::domain::{topics, AppError, AuditQuery, DeviceId, FleetId, Role};
use app::service::Caller;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Audit lines returned when the caller names no limit.
pub const AUDIT_DEFAULT_LIMIT: usize = 100;
/// The most audit lines one query returns.
pub const AUDIT_MAX_LIMIT: usize = 1000;
/// With filters, how many of the newest commands of each fleet in the window are looked at.
pub const AUDIT_SCAN_LIMIT: usize = 20_000;

/// How often the sweeper looks for expired and timed-out commands.
pub const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// `POST /api/v1/devices/{device}/commands`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub name: String,
    #[serde(default)]
    pub params: Value,
    /// Seconds until the command expires: default 60, at most 3600.
    #[serde(default)]
    pub ttl_secs: Option<i64>,
}

/// A box's answer on `cmd/boxpilot/{fleet}/{device}/resp`.
#[derive(Debug, Deserialize)]
struct Reply {
    id: String,
    status: String,
    #[serde(default)]
    detail: Option<Value>,
}

pub struct CommandService {
    store: Arc<dyn Store>,
    catalogue: Arc<Catalogue>,
    publisher: OnceLock<Arc<dyn DevicePublisher>>,
    /// Commands not in a final state: id -> expires_at (ms). Rebuilt from the store at start.
    open: Mutex<HashMap<String, i64>>,
    /// Serializes read-modify-write of command records (replies, sweeper, delivery).
    changes: tokio::sync::Mutex<()>,
}

fn detail_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.chars().take(1024).collect()),
        other => Some(other.to_string().chars().take(1024).collect()),
    }
}

impl CommandService {
    pub fn new(store: Arc<dyn Store>, catalogue: Catalogue) -> Arc<Self> {
        Arc::new(Self {
            store,
            catalogue: Arc::new(catalogue),
            publisher: OnceLock::new(),
            open: Mutex::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// Set once the broker runs; until then commands stay `created`.
    pub fn set_publisher(&self, publisher: Arc<dyn DevicePublisher>) {
        let _ = self.publisher.set(publisher);
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn track(&self, c: &CommandRecord) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if c.state.is_final() {
            open.remove(&c.id);
        } else {
            open.insert(c.id.clone(), c.expires_at);
        }
    }

    /// For a process that runs now and then (the scheduled function on AWS): tracks the commands
    /// of every fleet issued within the longest time to live that are not final yet (one range
    /// of each fleet's audit index), then expires or times out those due at `now`. Returns how
    /// many were open.
    pub async fn sweep_recent(&self, now: i64) -> Result<usize, StoreError> {
        let mut fleets: Vec<_> = self
            .store
            .list_devices(None)
            .await?
            .into_iter()
            .map(|d| d.fleet)
            .collect();
        fleets.sort();
        fleets.dedup();
        // A command issued earlier than this has expired at the latest a minute ago.
        let from = now - (MAX_TTL_SECS + 60) * 1000;
        let mut open = 0;
        for fleet in &fleets {
            for c in self
                .store
                .list_fleet_commands(fleet, from, now, usize::MAX)
                .await?
            {
                if !c.state.is_final() {
                    open += 1;
                }
                self.track(&c);
            }
        }
        self.sweep(now).await;
        Ok(open)
    }

    /// Loads the open commands of every box (at start), then sweeps every [`SWEEP_EVERY`].
    pub fn start_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(e) = service.load_open().await {
                tracing::error!(error = %e, "open commands not loaded; they will not expire");
            }
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                service.sweep(now_ms()).await;
            }
        })
    }

    async fn load_open(&self) -> Result<(), StoreError> {
        for device in self.store.list_devices(None).await? {
            for c in self.store.list_commands(&device.id, 1000).await? {
                if !c.state.is_final() {
                    self.track(&c);
                }
            }
        }
        Ok(())
    }

    /// Marks undelivered commands past `expires_at` `expired`, and delivered ones without a final
    /// answer by then `timed_out`.
    pub async fn sweep(&self, now: i64) {
        let due: Vec<String> = {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.iter()
                .filter(|(_, at)| **at <= now)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for id in due {
            let result = self
                .update(&id, |c| match c.state {
                    CommandState::Created => Some((
                        CommandState::Expired,
                        Some("not delivered before it expired (the box was offline)".into()),
                    )),
                    CommandState::Sent | CommandState::Accepted => Some((
                        CommandState::TimedOut,
                        Some(format!("no final answer from the box after {}", c.state)),
                    )),
                    _ => None,
                })
                .await;
            match result {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.open
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                }
                Err(e) => tracing::warn!(command = %id, error = %e, "command not swept"),
            }
        }
    }

    /// Applies a change chosen by `next` from the current record; `Ok(None)` when there is no
    /// such command or `next` declines. Refused transitions are logged and not stored.
    async fn update(
        &self,
        id: &str,
        next: impl FnOnce(&CommandRecord) -> Option<(CommandState, Option<String>)>,
    ) -> Result<Option<CommandRecord>, StoreError> {
        let _guard = self.changes.lock().await;
        let Some(mut c) = self.store.get_command(id).await? else {
            return Ok(None);
        };
        let Some((state, detail)) = next(&c) else {
            self.track(&c);
            return Ok(None);
        };
        if let Err(e) = c.advance(state, now_ms(), detail) {
            tracing::info!(command = %id, device = %c.device, error = %e, "command state change ignored");
            return Ok(None);
        }
        self.store.put_command(&c).await?;
        self.track(&c);
        Ok(Some(c))
    }

    /// Stores a command refused before it was sent, with the reason.
    async fn record_rejected(&self, mut c: CommandRecord, reason: &str) {
        c.state = CommandState::Rejected;
        c.history = vec![StateChange {
            state: CommandState::Rejected,
            at: c.issued_at,
            detail: Some(reason.to_owned()),
        }];
        tracing::info!(command = %c.id, device = %c.device, issuer = %c.issuer, reason, "command rejected");
        if let Err(e) = self.store.put_command(&c).await {
            tracing::warn!(command = %c.id, error = %e, "rejected command not recorded");
        }
    }

    /// Stores a new command; when the box is online it is stored `sent` at once (`created` and
    /// `sent` in one write: no answer can come before the publish that follows), then published
    /// when `publish` (else the broker routes the console's own publish). A reused id is refused.
    async fn store_and_send(
        &self,
        mut c: CommandRecord,
        online: bool,
        publish: bool,
    ) -> Result<CommandRecord, AppError> {
        if online && c.expires_at > now_ms() {
            let _ = c.advance(CommandState::Sent, now_ms(), None);
        }
        self.store.put_command(&c).await.map_err(|e| match e {
            StoreError::AlreadyExists(_) => {
                AppError::BadRequest(format!("command id {} was already used", c.id))
            }
            other => store_error(other),
        })?;
        self.track(&c);
        if c.state == CommandState::Sent && publish {
            if let Err(e) = self.publish_request(&c).await {
                tracing::error!(command = %c.id, error = %e, "command not published");
                if let Ok(Some(failed)) = self
                    .update(&c.id, |_| {
                        Some((
                            CommandState::Failed,
                            Some(format!("the broker did not take it: {e}")),
                        ))
                    })
                    .await
                {
                    return Ok(failed);
                }
            }
        }
        Ok(c)
    }

    async fn publish_request(&self, c: &CommandRecord) -> Result<(), String> {
        match self.publisher.get() {
            Some(p) => {
                p.publish(
                    &topics::command_request(&c.fleet, &c.device),
                    c.request_payload(),
                )
                .await
            }
            None => Err("the broker is not running".into()),
        }
    }

    /// `created -> sent`, then publishes it when `publish` (else the broker routes the
    /// console's own publish). `sent` is stored first, so that a quick answer finds it sent.
    async fn send(&self, id: &str, publish: bool) {
        let sent = self
            .update(id, |c| {
                (c.state == CommandState::Created && c.expires_at > now_ms())
                    .then_some((CommandState::Sent, None))
            })
            .await;
        let c = match sent {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(command = %id, error = %e, "command not marked sent; it stays created");
                return;
            }
        };
        if !publish {
            return;
        }
        if let Err(e) = self.publish_request(&c).await {
            tracing::error!(command = %id, error = %e, "command not published");
            let _ = self
                .update(id, |_| {
                    Some((
                        CommandState::Failed,
                        Some(format!("the broker did not take it: {e}")),
                    ))
                })
                .await;
        }
    }

    async fn is_online(&self, device: &DeviceId) -> bool {
        matches!(self.store.get_device(device).await, Ok(Some(d)) if d.presence.online)
    }

    /// Issues a command through the REST API (bearer token or session).
    pub async fn issue(
        &self,
        caller: &Caller,
        device: &DeviceId,
        req: IssueRequest,
    ) -> Result<CommandRecord, AppError> {
        let box_record = visible_device(self.store.as_ref(), caller, device).await?;
        caller.require(Role::Operator)?;
        let now = now_ms();
        let ttl = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        let params = match req.params {
            Value::Null => Value::Object(Default::default()),
            p => p,
        };
        let c = CommandRecord {
            id: uuid::Uuid::new_v4().to_string(),
            device: device.clone(),
            fleet: box_record.fleet,
            name: req.name,
            params,
            issuer: format!("user:{}", caller.username),
            source: CommandSource::Api,
            issued_at: now,
            expires_at: now + ttl.clamp(0, MAX_TTL_SECS) * 1000,
            state: CommandState::Created,
            history: vec![StateChange {
                state: CommandState::Created,
                at: now,
                detail: None,
            }],
            rollout: None,
        };
        let verdict = self.check(caller, &c.name, &c.params, ttl);
        if let Err(e) = verdict {
            let reason = match &e {
                AppError::BadRequest(m) | AppError::Forbidden(m) => m.clone(),
                other => other.to_string(),
            };
            self.record_rejected(c, &reason).await;
            return Err(e);
        }
        self.store_and_send(c, box_record.presence.online, true)
            .await
    }

    /// Whether `caller` may send this command with this lifetime: the catalogue's types and
    /// ranges, and the command's minimum role.
    pub fn check(
        &self,
        caller: &Caller,
        name: &str,
        params: &Value,
        ttl_secs: i64,
    ) -> Result<(), AppError> {
        if !(1..=MAX_TTL_SECS).contains(&ttl_secs) {
            return Err(AppError::BadRequest(format!(
                "ttl_secs must be between 1 and {MAX_TTL_SECS}"
            )));
        }
        let spec = self
            .catalogue
            .validate(name, params)
            .map_err(AppError::BadRequest)?;
        caller.require(spec.min_role).map_err(|_| {
            AppError::Forbidden(format!(
                "{} needs the {} role, you are {}",
                spec.name, spec.min_role, caller.role
            ))
        })
    }

    /// Creates (and sends, if the box is online) one box's command of a rollout that was
    /// checked when it started. Idempotent: the id derives from the rollout and the box, so a
    /// resumed rollout gets the command already made.
    pub async fn issue_for_rollout(
        &self,
        rollout: &RolloutRecord,
        device: &DeviceId,
    ) -> Result<CommandRecord, AppError> {
        let id = rollout.command_id(device);
        if let Some(existing) = self.store.get_command(&id).await.map_err(store_error)? {
            return Ok(existing);
        }
        let now = now_ms();
        let c = CommandRecord {
            id: id.clone(),
            device: device.clone(),
            fleet: rollout.fleet.clone(),
            name: rollout.name.clone(),
            params: rollout.params.clone(),
            issuer: rollout.issuer.clone(),
            source: CommandSource::Rollout,
            issued_at: now,
            expires_at: now + rollout.ttl_secs.clamp(1, MAX_TTL_SECS) * 1000,
            state: CommandState::Created,
            history: vec![StateChange {
                state: CommandState::Created,
                at: now,
                detail: None,
            }],
            rollout: Some(rollout.id.clone()),
        };
        let online = match self.store.get_device(device).await.map_err(store_error)? {
            Some(d) if d.fleet == rollout.fleet => d.presence.online,
            _ => {
                let reason = format!("the box is no longer in fleet {}", rollout.fleet);
                self.record_rejected(c.clone(), &reason).await;
                return Ok(self.command(&id).await?.unwrap_or(c));
            }
        };
        self.store_and_send(c, online, true).await
    }

    /// One command as stored.
    pub async fn command(&self, id: &str) -> Result<Option<CommandRecord>, AppError> {
        self.store.get_command(id).await.map_err(store_error)
    }

    /// Withdraws a command not delivered yet (`created -> cancelled`); delivered ones go on.
    pub async fn cancel_undelivered(
        &self,
        id: &str,
        detail: &str,
    ) -> Result<Option<CommandRecord>, AppError> {
        self.update(id, |c| {
            (c.state == CommandState::Created)
                .then(|| (CommandState::Cancelled, Some(detail.to_owned())))
        })
        .await
        .map_err(store_error)
    }

    /// Command history of a box, newest first.
    pub async fn history(
        &self,
        caller: &Caller,
        device: &DeviceId,
        limit: usize,
    ) -> Result<Vec<CommandRecord>, AppError> {
        visible_device(self.store.as_ref(), caller, device).await?;
        self.store
            .list_commands(device, limit.clamp(1, 1000))
            .await
            .map_err(store_error)
    }

    /// The audit trail (who sent what to which box, when, with what outcome), newest first. Any
    /// role may read the commands of its own fleets; `fleet` is required unless the caller sees
    /// every fleet (then `None` means all of them). Filters are applied to the newest
    /// [`AUDIT_SCAN_LIMIT`] commands of each fleet in the window.
    pub async fn audit(
        &self,
        caller: &Caller,
        query: &AuditQuery,
    ) -> Result<Vec<CommandRecord>, AppError> {
        let limit = query.limit.unwrap_or(AUDIT_DEFAULT_LIMIT);
        if !(1..=AUDIT_MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and {AUDIT_MAX_LIMIT}"
            )));
        }
        let to = query.to.unwrap_or_else(now_ms);
        let from = query.from.unwrap_or(0);
        if from > to {
            return Err(AppError::BadRequest("from must not be after to".into()));
        }
        let fleets = match &query.fleet {
            Some(f) if caller.may_see_fleet(f) => vec![f.clone()],
            Some(f) => {
                return Err(AppError::Forbidden(format!(
                    "fleet {f} is not one of yours"
                )));
            }
            None if caller.all_fleets => {
                let mut fleets: Vec<FleetId> = self
                    .store
                    .list_devices(None)
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .map(|d| d.fleet)
                    .collect();
                fleets.sort();
                fleets.dedup();
                fleets
            }
            None => {
                return Err(AppError::BadRequest(
                    "fleet is required: name one of your fleets".into(),
                ))
            }
        };
        let filtered = query.device.is_some()
            || query.issuer.is_some()
            || query.state.is_some()
            || query.name.is_some();
        let scan = if filtered { AUDIT_SCAN_LIMIT } else { limit };
        // `ann` finds `user:ann`; a full issuer (`user:ann`) matches itself.
        let issuer = query
            .issuer
            .as_deref()
            .map(|i| (i.to_owned(), format!("user:{i}")));
        let mut out = Vec::new();
        for fleet in &fleets {
            let found = self
                .store
                .list_fleet_commands(fleet, from, to, scan)
                .await
                .map_err(store_error)?;
            out.extend(found.into_iter().filter(|c| {
                query.device.as_ref().is_none_or(|d| &c.device == d)
                    && issuer
                        .as_ref()
                        .is_none_or(|(full, user)| &c.issuer == full || &c.issuer == user)
                    && query.state.is_none_or(|s| c.state == s)
                    && query.name.as_ref().is_none_or(|n| &c.name == n)
            }));
        }
        out.sort_by(|a, b| (b.issued_at, &b.id).cmp(&(a.issued_at, &a.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The role of a console user, for commands that need more than operator (the ACL already
    /// lets only operators and above publish commands).
    async fn console_role(&self, username: &str) -> Role {
        match self.store.get_user(username).await {
            Ok(Some(u)) => u
                .groups
                .iter()
                .filter_map(|g| Role::from_group(g))
                .max()
                .unwrap_or(Role::Operator),
            _ => Role::Operator,
        }
    }

    /// A command a console published on `cmd/boxpilot/{fleet}/{device}/req` (the ACL allowed it).
    /// The issuer is the connection's principal; an `issuer` in the payload is ignored. Returns
    /// `Refuse` for an invalid command, which is recorded `rejected` and not routed to the box.
    pub async fn from_console(
        &self,
        principal: &Principal,
        fleet: &FleetId,
        device: &DeviceId,
        payload: &[u8],
    ) -> Delivery {
        let Principal::Console { username, .. } = principal else {
            return Delivery::Refuse;
        };
        match self.store.get_device(device).await {
            Ok(Some(d)) if &d.fleet == fleet => {}
            Ok(_) => {
                tracing::info!(%fleet, %device, issuer = %principal.identity(), "command to an unknown box refused");
                return Delivery::Refuse;
            }
            Err(e) => {
                tracing::warn!(error = %e, "command not recorded: store unavailable");
                return Delivery::Retry;
            }
        }
        let now = now_ms();
        let body: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
        let raw_id = body.get("id").and_then(Value::as_str).unwrap_or_default();
        let id_ok = uuid::Uuid::parse_str(raw_id).is_ok();
        let expires_at = body
            .get("expires_at")
            .and_then(Value::as_i64)
            .unwrap_or(now + DEFAULT_TTL_SECS * 1000);
        let params = match body.get("params") {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(p) => p.clone(),
        };
        let c = CommandRecord {
            id: if id_ok {
                raw_id.to_owned()
            } else {
                uuid::Uuid::new_v4().to_string()
            },
            device: device.clone(),
            fleet: fleet.clone(),
            name: body
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .take(64)
                .collect(),
            params,
            issuer: principal.identity(),
            source: CommandSource::Mqtt,
            issued_at: now,
            expires_at: expires_at.clamp(now, now + MAX_TTL_SECS * 1000),
            state: CommandState::Created,
            history: vec![StateChange {
                state: CommandState::Created,
                at: now,
                detail: None,
            }],
            rollout: None,
        };
        let verdict = if !body.is_object() {
            Err("the command is not a JSON object".to_owned())
        } else if !id_ok {
            Err(format!("the command id {raw_id:?} is not a UUID"))
        } else if expires_at <= now {
            Err("expired: expires_at is in the past".to_owned())
        } else if expires_at > now + MAX_TTL_SECS * 1000 + 60_000 {
            Err(format!(
                "expires_at is more than {MAX_TTL_SECS} s in the future"
            ))
        } else {
            match self.catalogue.validate(&c.name, &c.params) {
                Err(reason) => Err(reason),
                Ok(spec) => {
                    let role = self.console_role(username).await;
                    if role >= spec.min_role {
                        Ok(())
                    } else {
                        Err(format!(
                            "{} needs the {} role, you are {role}",
                            spec.name, spec.min_role
                        ))
                    }
                }
            }
        };
        if let Err(reason) = verdict {
            self.record_rejected(c, &reason).await;
            return Delivery::Refuse;
        }
        let online = self.is_online(device).await;
        // The broker routes the console's publish once this returns.
        match self.store_and_send(c, online, false).await {
            Ok(_) => {}
            Err(AppError::BadRequest(reason)) => {
                tracing::info!(issuer = %principal.identity(), reason, "command refused");
                return Delivery::Refuse;
            }
            Err(e) => {
                tracing::warn!(error = %e, "command not recorded");
                return Delivery::Retry;
            }
        }
        Delivery::Done
    }

    /// A box's reply on its `resp` topic moves its command along the lifecycle.
    pub async fn on_reply(&self, device: &DeviceId, payload: &[u8]) {
        let reply: Reply = match serde_json::from_slice(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(%device, error = %e, "command reply ignored: not a reply");
                return;
            }
        };
        let state = match reply.status.as_str() {
            "accepted" => CommandState::Accepted,
            "succeeded" => CommandState::Succeeded,
            "failed" => CommandState::Failed,
            "rejected" => CommandState::Rejected,
            other => {
                tracing::info!(%device, command = %reply.id, status = other, "command reply ignored: unknown status");
                return;
            }
        };
        let detail = detail_text(reply.detail);
        let result = self
            .update(&reply.id, |c| {
                if &c.device == device {
                    Some((state, detail))
                } else {
                    tracing::warn!(%device, command = %reply.id, owner = %c.device, "command reply from another box ignored");
                    None
                }
            })
            .await;
        match result {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::debug!(%device, command = %reply.id, "command reply ignored (unknown id, wrong box or invalid transition)")
            }
            Err(e) => tracing::warn!(%device, error = %e, "command reply not recorded"),
        }
    }

    /// Delivers the commands held for a box (it subscribed to its request topic again).
    pub async fn deliver_pending(&self, device: &DeviceId) {
        let pending = match self.store.pending_commands(device, now_ms()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%device, error = %e, "pending commands not read");
                return;
            }
        };
        for c in pending {
            tracing::info!(%device, command = %c.id, name = %c.name, "delivering a held command");
            self.send(&c.id, true).await;
        }
    }
}
