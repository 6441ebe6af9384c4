//! A `Store` that delegates to another and counts the writes the ingestion core makes: how many
//! durable transactions, how many readings in them, and the time they took. Tests can also make it
//! refuse one box's writes (`fail_device`), as a store that throttles one hot partition would.
use app::domain::{DeviceId, FleetId, Presence, SeriesPoint};
use boxpilot::store::{
    AlertRecord, AlertRule, CommandRecord, CounterDelta, DeadLetter, DeviceRecord, Grant,
    GrantKind, PipelineCounts, Reading, RollUpReport, RolloutRecord, ShadowRecord, Store,
    StoreError, StoreResult, UserRecord, WriteOutcome,
};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

#[derive(Default, Debug)]
pub struct WriteStats {
    pub reading_commits: AtomicU64,
    pub readings: AtomicU64,
    pub reading_commit_nanos: AtomicU64,
    pub max_batch: AtomicU64,
    pub counter_commits: AtomicU64,
    pub counter_commit_nanos: AtomicU64,
    pub device_reads: AtomicU64,
    /// Readings and presence of this box are refused (`StoreError::Unavailable`).
    pub fail_device: std::sync::Mutex<Option<String>>,
}

impl WriteStats {
    fn refuses(&self, device: &str) -> bool {
        self.fail_device.lock().unwrap().as_deref() == Some(device)
    }
}

pub struct CountingStore {
    pub inner: Arc<dyn Store>,
    pub stats: Arc<WriteStats>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            stats: Arc::default(),
        }
    }
}

#[async_trait::async_trait]
impl Store for CountingStore {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        self.inner.create_device(device).await
    }
    async fn get_device(&self, id: &DeviceId) -> StoreResult<Option<DeviceRecord>> {
        self.stats.device_reads.fetch_add(1, Relaxed);
        self.inner.get_device(id).await
    }
    async fn list_devices(&self, fleet: Option<&FleetId>) -> StoreResult<Vec<DeviceRecord>> {
        self.inner.list_devices(fleet).await
    }
    async fn set_presence(&self, id: &DeviceId, presence: &Presence) -> StoreResult<()> {
        if self.stats.refuses(id.as_str()) {
            return Err(StoreError::Unavailable(format!("presence of {id} refused")));
        }
        self.inner.set_presence(id, presence).await
    }
    async fn put_readings(&self, readings: &[Reading]) -> StoreResult<Vec<WriteOutcome>> {
        if let Some(r) = readings
            .iter()
            .find(|r| self.stats.refuses(r.device.as_str()))
        {
            return Err(StoreError::Unavailable(format!(
                "readings of {} refused",
                r.device
            )));
        }
        let t = Instant::now();
        let out = self.inner.put_readings(readings).await;
        let s = &self.stats;
        s.reading_commit_nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Relaxed);
        s.reading_commits.fetch_add(1, Relaxed);
        s.readings.fetch_add(readings.len() as u64, Relaxed);
        s.max_batch.fetch_max(readings.len() as u64, Relaxed);
        out
    }
    async fn metric_series(
        &self,
        id: &DeviceId,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>> {
        self.inner.metric_series(id, metric, from, to).await
    }
    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> StoreResult<()> {
        self.inner.put_dead_letters(letters).await
    }
    async fn list_dead_letters(
        &self,
        fleet: Option<&FleetId>,
        limit: usize,
    ) -> StoreResult<Vec<DeadLetter>> {
        self.inner.list_dead_letters(fleet, limit).await
    }
    async fn add_counters(&self, deltas: &[CounterDelta]) -> StoreResult<()> {
        let t = Instant::now();
        let out = self.inner.add_counters(deltas).await;
        self.stats
            .counter_commit_nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Relaxed);
        self.stats.counter_commits.fetch_add(1, Relaxed);
        out
    }
    async fn counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<CounterDelta>> {
        self.inner.counters(fleet, from, to).await
    }
    async fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.inner.put_user(user).await
    }
    async fn get_user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.inner.get_user(username).await
    }
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.inner.list_users().await
    }
    async fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.inner.put_grant(grant).await
    }
    async fn get_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<Option<Grant>> {
        self.inner.get_grant(kind, secret_hash).await
    }
    async fn delete_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<()> {
        self.inner.delete_grant(kind, secret_hash).await
    }
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        self.inner.put_command(command).await
    }
    async fn get_command(&self, id: &str) -> StoreResult<Option<CommandRecord>> {
        self.inner.get_command(id).await
    }
    async fn list_commands(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        self.inner.list_commands(device, limit).await
    }
    async fn list_fleet_commands(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        self.inner.list_fleet_commands(fleet, from, to, limit).await
    }
    async fn pending_commands(
        &self,
        device: &DeviceId,
        now: i64,
    ) -> StoreResult<Vec<CommandRecord>> {
        self.inner.pending_commands(device, now).await
    }
    async fn hourly_counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, PipelineCounts)>> {
        self.inner.hourly_counters(fleet, from, to).await
    }
    async fn put_alert_rule(&self, rule: &AlertRule) -> StoreResult<()> {
        self.inner.put_alert_rule(rule).await
    }
    async fn delete_alert_rule(&self, id: &str) -> StoreResult<()> {
        self.inner.delete_alert_rule(id).await
    }
    async fn list_alert_rules(&self) -> StoreResult<Vec<AlertRule>> {
        self.inner.list_alert_rules().await
    }
    async fn put_alert(&self, alert: &AlertRecord) -> StoreResult<()> {
        self.inner.put_alert(alert).await
    }
    async fn list_alerts(&self, limit: usize) -> StoreResult<Vec<AlertRecord>> {
        self.inner.list_alerts(limit).await
    }
    async fn active_alerts(&self) -> StoreResult<Vec<AlertRecord>> {
        self.inner.active_alerts().await
    }
    async fn put_rollout(&self, rollout: &RolloutRecord) -> StoreResult<()> {
        self.inner.put_rollout(rollout).await
    }
    async fn get_rollout(&self, id: &str) -> StoreResult<Option<RolloutRecord>> {
        self.inner.get_rollout(id).await
    }
    async fn list_rollouts(
        &self,
        fleet: &FleetId,
        limit: usize,
    ) -> StoreResult<Vec<RolloutRecord>> {
        self.inner.list_rollouts(fleet, limit).await
    }
    async fn unfinished_rollouts(&self) -> StoreResult<Vec<RolloutRecord>> {
        self.inner.unfinished_rollouts().await
    }
    async fn get_shadow(&self, device: &DeviceId) -> StoreResult<Option<ShadowRecord>> {
        self.inner.get_shadow(device).await
    }
    async fn put_shadow(&self, shadow: &ShadowRecord, expected: u64) -> StoreResult<()> {
        self.inner.put_shadow(shadow, expected).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
    async fn refresh_latest(&self, devices: &mut [DeviceRecord]) -> StoreResult<()> {
        self.inner.refresh_latest(devices).await
    }
    async fn roll_up(&self, now_ms: i64) -> StoreResult<RollUpReport> {
        self.inner.roll_up(now_ms).await
    }
}
