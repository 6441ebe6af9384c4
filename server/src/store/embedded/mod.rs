//! The embedded store: one redb file in the data directory. redb was chosen over SQLite on the
//! measurement in BENCHMARKS.md ("store choice"): pure Rust, no C toolchain, crash-safe commits, and
//! typed tuple keys that give range queries per box without a query planner.
mod journal;
mod latest_cache;

use self::journal::{encode_entry, Journal, Pending, JOURNAL};
use self::latest_cache::{Latest, LatestCache};
use super::{
    latest::apply_to_record, reading_codec, AlertRecord, AlertRule, CommandRecord, CommandState,
    CounterDelta, DeadLetter, DeviceRecord, Grant, GrantKind, PipelineCounts, Reading,
    RollUpReport, RolloutRecord, ShadowRecord, Store, StoreError, StoreResult, UserRecord,
    WriteOutcome,
};
use app::domain::{DeviceId, FleetId, Presence, SeriesPoint};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const DEVICES: TableDefinition<&str, &[u8]> = TableDefinition::new("devices");
const FLEET_DEVICES: TableDefinition<(&str, &str), ()> = TableDefinition::new("fleet_devices");
/// (box, box time ms, seq) -> encoded metrics: the key is also the idempotency key.
const READINGS: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("readings");
const DEAD_LETTERS: TableDefinition<(i64, &str), &[u8]> = TableDefinition::new("dead_letters");
const FLEET_DEAD_LETTERS: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("fleet_dead_letters");
const COUNTERS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("counters");
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const GRANTS: TableDefinition<(u8, &str), &[u8]> = TableDefinition::new("grants");
/// (box, issued_at ms, id) -> command (JSON): a box's history in time order.
const COMMANDS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("commands");
/// id -> (box, issued_at): the key of the command in `COMMANDS`.
const COMMAND_IDS: TableDefinition<&str, (&str, i64)> = TableDefinition::new("command_ids");
/// (fleet, issued_at ms, id) -> box: the audit trail of a fleet in time order.
const FLEET_COMMANDS: TableDefinition<(&str, i64, &str), &str> =
    TableDefinition::new("fleet_commands");

/// (fleet, hour start ms) -> the fleet's counts of that hour (JSON), kept by `add_counters`.
const HOURLY_COUNTERS: TableDefinition<(&str, i64), &[u8]> =
    TableDefinition::new("hourly_counters");
/// rule id -> alert rule (JSON).
const ALERT_RULES: TableDefinition<&str, &[u8]> = TableDefinition::new("alert_rules");
/// (fired_at ms, rule id, subject) -> alert (JSON).
const ALERTS: TableDefinition<(i64, &str, &str), &[u8]> = TableDefinition::new("alerts");
/// (rule id, subject) -> fired_at of the alerts not resolved yet.
const ACTIVE_ALERTS: TableDefinition<(&str, &str), i64> = TableDefinition::new("active_alerts");
/// id -> rollout (JSON).
const ROLLOUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("rollouts");
/// (fleet, created_at ms, id): a fleet's rollouts in time order.
const FLEET_ROLLOUTS: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("fleet_rollouts");
/// (created_at ms, id) of the rollouts still running.
const RUNNING_ROLLOUTS: TableDefinition<(i64, &str), ()> = TableDefinition::new("running_rollouts");
/// box -> desired state (JSON).
const SHADOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("shadows");

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Latest values and last-seen times not written to the boxes' records yet.
    latest: Arc<LatestCache>,
    /// Readings durable in the journal, not yet in the readings table.
    journal: Arc<Journal>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn grant_kind_key(kind: GrantKind) -> u8 {
    match kind {
        GrantKind::Session => 1,
        GrantKind::RefreshToken => 2,
    }
}

impl EmbeddedStore {
    /// Opens (or creates) `boxpilot.redb` in `data_dir`.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("boxpilot.redb");
        let db = Database::create(&path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(DEVICES).map_err(unavailable)?;
            txn.open_table(FLEET_DEVICES).map_err(unavailable)?;
            txn.open_table(READINGS).map_err(unavailable)?;
            txn.open_table(JOURNAL).map_err(unavailable)?;
            txn.open_table(DEAD_LETTERS).map_err(unavailable)?;
            txn.open_table(FLEET_DEAD_LETTERS).map_err(unavailable)?;
            txn.open_table(COUNTERS).map_err(unavailable)?;
            txn.open_table(USERS).map_err(unavailable)?;
            txn.open_table(GRANTS).map_err(unavailable)?;
            txn.open_table(COMMANDS).map_err(unavailable)?;
            txn.open_table(COMMAND_IDS).map_err(unavailable)?;
            txn.open_table(ROLLOUTS).map_err(unavailable)?;
            txn.open_table(FLEET_ROLLOUTS).map_err(unavailable)?;
            txn.open_table(RUNNING_ROLLOUTS).map_err(unavailable)?;
            txn.open_table(SHADOWS).map_err(unavailable)?;
            txn.open_table(HOURLY_COUNTERS).map_err(unavailable)?;
            txn.open_table(ALERT_RULES).map_err(unavailable)?;
            txn.open_table(ALERTS).map_err(unavailable)?;
            txn.open_table(ACTIVE_ALERTS).map_err(unavailable)?;
            let mut by_fleet = txn.open_table(FLEET_COMMANDS).map_err(unavailable)?;
            // Stores written before the audit index existed: index their commands once.
            if by_fleet.is_empty().map_err(unavailable)? {
                let commands = txn.open_table(COMMANDS).map_err(unavailable)?;
                for entry in commands.iter().map_err(unavailable)? {
                    let (key, bytes) = entry.map_err(unavailable)?;
                    let (device, at, id) = key.value();
                    let c: CommandRecord = from_json(bytes.value())?;
                    by_fleet
                        .insert((c.fleet.as_str(), at, id), device)
                        .map_err(unavailable)?;
                }
            }
        }
        txn.commit().map_err(unavailable)?;
        let journal = Journal::default();
        journal.recover(&db)?;
        catch_up_latest(&db)?;
        Ok(Self {
            db: Arc::new(db),
            latest: Arc::default(),
            journal: Arc::new(journal),
        })
    }

    /// One JSON document of a table keyed by a string, if any.
    async fn get_doc<T: DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
    ) -> StoreResult<Option<T>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let found = txn
                .open_table(table)
                .map_err(unavailable)?
                .get(key.as_str())
                .map_err(unavailable)?;
            found.map(|b| from_json(b.value())).transpose()
        })
        .await
    }

    /// Writes one JSON document of a table keyed by a string, replacing any.
    async fn put_doc(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
        doc: StoreResult<Vec<u8>>,
    ) -> StoreResult<()> {
        let doc = doc?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(table)
                .map_err(unavailable)?
                .insert(key.as_str(), doc.as_slice())
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    /// Every JSON document of a table keyed by a string, in key order.
    async fn all_docs<T: DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
    ) -> StoreResult<Vec<T>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let t = txn.open_table(table).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in t.iter().map_err(unavailable)? {
                out.push(from_json(entry.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    /// Runs blocking redb work off the async runtime.
    async fn blocking<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(unavailable)?
    }
}

fn read_device(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> StoreResult<Option<DeviceRecord>> {
    match table.get(id).map_err(unavailable)? {
        Some(bytes) => Ok(Some(from_json(bytes.value())?)),
        None => Ok(None),
    }
}

/// A reading as the readings table keeps it: its key and its encoded metrics.
type Row = (String, i64, u64, Vec<u8>);

/// Sorts a batch into new readings and duplicates (already in the readings table, pending in
/// the journal, or earlier in the batch), and writes the new ones as journal entry `entry` in the
/// caller's transaction: nothing else (the boxes' latest values move in memory: `latest_cache`).
/// Returns each reading's outcome, and the new readings for `Pending::add` after the commit.
fn write_readings(
    txn: &redb::WriteTransaction,
    pending: &Pending,
    entry: u64,
    rows: Vec<Row>,
) -> StoreResult<(Vec<WriteOutcome>, Vec<Row>)> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut fresh: Vec<Row> = Vec::with_capacity(rows.len());
    let mut in_batch = std::collections::HashSet::with_capacity(rows.len());
    let readings = txn.open_table(READINGS).map_err(unavailable)?;
    for row in rows {
        let key = (row.0.clone(), row.1, row.2);
        let duplicate = pending.contains(&key)
            || !in_batch.insert(key)
            || readings
                .get((row.0.as_str(), row.1, row.2))
                .map_err(unavailable)?
                .is_some();
        if duplicate {
            outcomes.push(WriteOutcome::Duplicate);
        } else {
            outcomes.push(WriteOutcome::Stored);
            fresh.push(row);
        }
    }
    if !fresh.is_empty() {
        txn.open_table(JOURNAL)
            .map_err(unavailable)?
            .insert(entry, encode_entry(&fresh).as_slice())
            .map_err(unavailable)?;
    }
    Ok((outcomes, fresh))
}

/// The readings of `device` from box time `from` on, in order (the metrics decoded).
fn readings_from(
    table: &impl ReadableTable<(&'static str, i64, u64), &'static [u8]>,
    device: &DeviceRecord,
    from: i64,
) -> StoreResult<Vec<Reading>> {
    let d = device.id.as_str();
    let mut out = Vec::new();
    for entry in table
        .range((d, from, 0)..=(d, i64::MAX, u64::MAX))
        .map_err(unavailable)?
    {
        let (key, value) = entry.map_err(unavailable)?;
        let (_, ts, seq) = key.value();
        let metrics = reading_codec::decode(value.value())
            .ok_or_else(|| StoreError::Corrupt(format!("reading of box {d} at {ts}")))?;
        out.push(Reading {
            device: device.id.clone(),
            fleet: device.fleet.clone(),
            seq,
            ts,
            // Not stored: after a crash, the box's time stands in for it.
            received_at: ts,
            metrics,
        });
    }
    Ok(out)
}

/// At open: applies to each box's record the readings stored after its latest values, which a
/// crash may have kept from being written (a clean stop writes them: `roll_up`).
fn catch_up_latest(db: &Database) -> StoreResult<()> {
    let txn = db.begin_write().map_err(unavailable)?;
    {
        let mut devices = txn.open_table(DEVICES).map_err(unavailable)?;
        let readings = txn.open_table(READINGS).map_err(unavailable)?;
        let mut records = Vec::new();
        for entry in devices.iter().map_err(unavailable)? {
            records.push(from_json::<DeviceRecord>(
                entry.map_err(unavailable)?.1.value(),
            )?);
        }
        for mut d in records {
            let after = readings_from(&readings, &d, d.latest_ts.unwrap_or(i64::MIN))?;
            let refs: Vec<&Reading> = after.iter().collect();
            let before = d.clone();
            apply_to_record(&mut d, &refs);
            if d != before {
                devices
                    .insert(d.id.as_str(), to_json(&d)?.as_slice())
                    .map_err(unavailable)?;
            }
        }
    }
    txn.commit().map_err(unavailable)
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        let device = device.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut devices = txn.open_table(DEVICES).map_err(unavailable)?;
                if devices
                    .get(device.id.as_str())
                    .map_err(unavailable)?
                    .is_some()
                {
                    return Err(StoreError::AlreadyExists(format!("box {}", device.id)));
                }
                devices
                    .insert(device.id.as_str(), to_json(&device)?.as_slice())
                    .map_err(unavailable)?;
                let mut index = txn.open_table(FLEET_DEVICES).map_err(unavailable)?;
                index
                    .insert((device.fleet.as_str(), device.id.as_str()), ())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_device(&self, id: &DeviceId) -> StoreResult<Option<DeviceRecord>> {
        let id = id.clone();
        let mut found = self
            .blocking(move |db| {
                let txn = db.begin_read().map_err(unavailable)?;
                read_device(&txn.open_table(DEVICES).map_err(unavailable)?, id.as_str())
            })
            .await?;
        if let Some(d) = &mut found {
            self.latest.overlay(d);
        }
        Ok(found)
    }

    async fn list_devices(&self, fleet: Option<&FleetId>) -> StoreResult<Vec<DeviceRecord>> {
        let fleet = fleet.cloned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let devices = txn.open_table(DEVICES).map_err(unavailable)?;
            let mut out = Vec::new();
            match fleet {
                Some(fleet) => {
                    let index = txn.open_table(FLEET_DEVICES).map_err(unavailable)?;
                    let f = fleet.as_str();
                    for entry in index
                        .range((f, "")..=(f, "\u{10FFFF}"))
                        .map_err(unavailable)?
                    {
                        let (key, _) = entry.map_err(unavailable)?;
                        if let Some(d) = read_device(&devices, key.value().1)? {
                            out.push(d);
                        }
                    }
                }
                None => {
                    for entry in devices.iter().map_err(unavailable)? {
                        let (_, bytes) = entry.map_err(unavailable)?;
                        out.push(from_json(bytes.value())?);
                    }
                }
            }
            out.sort_by(|a: &DeviceRecord, b| a.id.cmp(&b.id));
            Ok(out)
        })
        .await
        .map(|mut out| {
            for d in &mut out {
                self.latest.overlay(d);
            }
            out
        })
    }

    async fn set_presence(&self, id: &DeviceId, presence: &Presence) -> StoreResult<()> {
        let (id, presence) = (id.clone(), presence.clone());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut devices = txn.open_table(DEVICES).map_err(unavailable)?;
                let mut device = read_device(&devices, id.as_str())?
                    .ok_or_else(|| StoreError::NotFound(format!("box {id}")))?;
                device.presence = presence;
                devices
                    .insert(id.as_str(), to_json(&device)?.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn put_readings(&self, readings: &[Reading]) -> StoreResult<Vec<WriteOutcome>> {
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        // Encoded here, so that the blocking task needs no copy of the readings.
        let rows: Vec<Row> = readings
            .iter()
            .map(|r| {
                let encoded = reading_codec::encode(&r.metrics);
                (r.device.as_str().to_owned(), r.ts, r.seq, encoded)
            })
            .collect();
        let mut boxes: Vec<&str> = readings.iter().map(|r| r.device.as_str()).collect();
        boxes.sort_unstable();
        boxes.dedup();
        // A box's values are read from its record the first time it sends (then kept in memory).
        let missing: Vec<String> = self
            .latest
            .missing(boxes.into_iter())
            .into_iter()
            .map(str::to_owned)
            .collect();
        let journal = self.journal.clone();
        let (outcomes, loaded) = self
            .blocking(move |db| {
                let txn = db.begin_write().map_err(unavailable)?;
                // Held until the entry is recorded as pending, so that the next batch's
                // duplicate check sees it (write transactions are serialised by redb).
                let mut pending = journal.lock();
                let entry = pending.next_entry();
                let (outcomes, fresh) = write_readings(&txn, &pending, entry, rows)?;
                let mut loaded = Vec::with_capacity(missing.len());
                if !missing.is_empty() {
                    let devices = txn.open_table(DEVICES).map_err(unavailable)?;
                    for id in missing {
                        let found = read_device(&devices, &id)?;
                        loaded.push((id, found.as_ref().map(Latest::of)));
                    }
                }
                txn.commit().map_err(unavailable)?;
                if !fresh.is_empty() {
                    pending.add(entry, fresh);
                }
                Ok((outcomes, loaded))
            })
            .await?;
        if self.journal.wants_merge() {
            let (db, journal) = (self.db.clone(), self.journal.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = journal.merge_in_background(&db) {
                    tracing::warn!("merging the readings journal failed (kept, retried): {e}");
                }
            });
        }
        let mut stored: HashMap<&str, Vec<&Reading>> = HashMap::new();
        for (r, o) in readings.iter().zip(&outcomes) {
            if *o == WriteOutcome::Stored {
                stored.entry(r.device.as_str()).or_default().push(r);
            }
        }
        self.latest.record(loaded, &stored);
        Ok(outcomes)
    }

    async fn roll_up(&self, _now_ms: i64) -> StoreResult<RollUpReport> {
        // The readings journal too: a quiet store's last readings reach the readings table.
        let journal = self.journal.clone();
        self.blocking(move |db| journal.merge_now(db)).await?;
        let dirty = self.latest.take_dirty();
        if dirty.is_empty() {
            return Ok(RollUpReport::default());
        }
        let ids: Vec<String> = dirty.iter().map(|(id, _)| id.clone()).collect();
        let boxes = dirty.len();
        let written = self
            .blocking(move |db| {
                let txn = db.begin_write().map_err(unavailable)?;
                {
                    let mut devices = txn.open_table(DEVICES).map_err(unavailable)?;
                    for (id, latest) in &dirty {
                        let Some(mut d) = read_device(&devices, id)? else {
                            continue;
                        };
                        latest.overlay(&mut d);
                        devices
                            .insert(id.as_str(), to_json(&d)?.as_slice())
                            .map_err(unavailable)?;
                    }
                }
                txn.commit().map_err(unavailable)
            })
            .await;
        if let Err(e) = written {
            self.latest.unwritten(ids.into_iter());
            return Err(e);
        }
        Ok(RollUpReport {
            boxes,
            hours: 0,
            pending: 0,
        })
    }

    async fn metric_series(
        &self,
        id: &DeviceId,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>> {
        let (id, metric) = (id.clone(), metric.to_owned());
        let journal = self.journal.clone();
        self.blocking(move |db| {
            let d = id.as_str();
            // Before the read transaction (journal.rs says why).
            let pending = journal.lock().of_device(d, from, to);
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(READINGS).map_err(unavailable)?;
            let mut points = Vec::new();
            for entry in table
                .range((d, from, 0)..=(d, to, u64::MAX))
                .map_err(unavailable)?
            {
                let (key, value) = entry.map_err(unavailable)?;
                if let Some(v) = reading_codec::metric_value(value.value(), &metric) {
                    points.push(SeriesPoint {
                        ts: key.value().1,
                        value: v,
                    });
                }
            }
            if pending.is_empty() {
                return Ok(points);
            }
            // Pending readings are few and mostly the newest: appended, then a stable sort
            // (linear on sorted runs). One merged since it was read is in the table: skipped.
            for (ts, seq, encoded) in pending {
                let merged = table.get((d, ts, seq)).map_err(unavailable)?.is_some();
                if let (false, Some(value)) =
                    (merged, reading_codec::metric_value(&encoded, &metric))
                {
                    points.push(SeriesPoint { ts, value });
                }
            }
            points.sort_by_key(|p| p.ts);
            Ok(points)
        })
        .await
    }

    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> StoreResult<()> {
        let letters = letters.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut all = txn.open_table(DEAD_LETTERS).map_err(unavailable)?;
                let mut by_fleet = txn.open_table(FLEET_DEAD_LETTERS).map_err(unavailable)?;
                for letter in &letters {
                    all.insert(
                        (letter.received_at, letter.id.as_str()),
                        to_json(letter)?.as_slice(),
                    )
                    .map_err(unavailable)?;
                    if let Some(fleet) = &letter.fleet {
                        by_fleet
                            .insert((fleet.as_str(), letter.received_at, letter.id.as_str()), ())
                            .map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_dead_letters(
        &self,
        fleet: Option<&FleetId>,
        limit: usize,
    ) -> StoreResult<Vec<DeadLetter>> {
        let fleet = fleet.cloned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let all = txn.open_table(DEAD_LETTERS).map_err(unavailable)?;
            let mut out = Vec::new();
            match fleet {
                None => {
                    for entry in all.iter().map_err(unavailable)?.rev().take(limit) {
                        out.push(from_json(entry.map_err(unavailable)?.1.value())?);
                    }
                }
                Some(fleet) => {
                    let index = txn.open_table(FLEET_DEAD_LETTERS).map_err(unavailable)?;
                    let f = fleet.as_str();
                    let range = index
                        .range((f, i64::MIN, "")..=(f, i64::MAX, "\u{10FFFF}"))
                        .map_err(unavailable)?;
                    for entry in range.rev().take(limit) {
                        let (key, _) = entry.map_err(unavailable)?;
                        let (_, at, id) = key.value();
                        if let Some(bytes) = all.get((at, id)).map_err(unavailable)? {
                            out.push(from_json(bytes.value())?);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn add_counters(&self, deltas: &[CounterDelta]) -> StoreResult<()> {
        let deltas = deltas.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(COUNTERS).map_err(unavailable)?;
                for d in &deltas {
                    let key = (d.fleet.as_str(), d.minute, d.device.as_str());
                    let mut counts: PipelineCounts = match table.get(key).map_err(unavailable)? {
                        Some(bytes) => from_json(bytes.value())?,
                        None => PipelineCounts::default(),
                    };
                    counts.add(&d.counts);
                    table
                        .insert(key, to_json(&counts)?.as_slice())
                        .map_err(unavailable)?;
                }
                let mut hourly = txn.open_table(HOURLY_COUNTERS).map_err(unavailable)?;
                let mut by_hour: HashMap<(&str, i64), PipelineCounts> = HashMap::new();
                for d in &deltas {
                    by_hour
                        .entry((d.fleet.as_str(), d.minute - d.minute.rem_euclid(3_600_000)))
                        .or_default()
                        .add(&d.counts);
                }
                for (key, delta) in by_hour {
                    let mut counts: PipelineCounts = match hourly.get(key).map_err(unavailable)? {
                        Some(bytes) => from_json(bytes.value())?,
                        None => PipelineCounts::default(),
                    };
                    counts.add(&delta);
                    hourly
                        .insert(key, to_json(&counts)?.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<CounterDelta>> {
        let fleet = fleet.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(COUNTERS).map_err(unavailable)?;
            let f = fleet.as_str();
            let mut out = Vec::new();
            if to <= from {
                return Ok(out);
            }
            for entry in table
                .range((f, from, "")..(f, to, ""))
                .map_err(unavailable)?
            {
                let (key, bytes) = entry.map_err(unavailable)?;
                let (_, minute, device) = key.value();
                out.push(CounterDelta {
                    fleet: fleet.clone(),
                    minute,
                    device: device.to_owned(),
                    counts: from_json(bytes.value())?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn hourly_counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, PipelineCounts)>> {
        let fleet = fleet.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(HOURLY_COUNTERS).map_err(unavailable)?;
            let f = fleet.as_str();
            let mut out = Vec::new();
            if to <= from {
                return Ok(out);
            }
            for entry in table.range((f, from)..(f, to)).map_err(unavailable)? {
                let (key, bytes) = entry.map_err(unavailable)?;
                out.push((key.value().1, from_json(bytes.value())?));
            }
            Ok(out)
        })
        .await
    }

    async fn put_alert_rule(&self, rule: &AlertRule) -> StoreResult<()> {
        self.put_doc(ALERT_RULES, rule.id.clone(), to_json(rule))
            .await
    }

    async fn delete_alert_rule(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let removed = txn
                .open_table(ALERT_RULES)
                .map_err(unavailable)?
                .remove(id.as_str())
                .map_err(unavailable)?
                .is_some();
            if !removed {
                return Err(StoreError::NotFound(format!("alert rule {id}")));
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_alert_rules(&self) -> StoreResult<Vec<AlertRule>> {
        self.all_docs(ALERT_RULES).await
    }

    async fn put_alert(&self, alert: &AlertRecord) -> StoreResult<()> {
        let alert = alert.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let key = (alert.rule_id.as_str(), alert.subject.as_str());
                txn.open_table(ALERTS)
                    .map_err(unavailable)?
                    .insert((alert.fired_at, key.0, key.1), to_json(&alert)?.as_slice())
                    .map_err(unavailable)?;
                let mut active = txn.open_table(ACTIVE_ALERTS).map_err(unavailable)?;
                if alert.resolved_at.is_some() {
                    active.remove(key).map_err(unavailable)?;
                } else {
                    active.insert(key, alert.fired_at).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_alerts(&self, limit: usize) -> StoreResult<Vec<AlertRecord>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ALERTS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(unavailable)?.rev().take(limit) {
                out.push(from_json(entry.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn active_alerts(&self) -> StoreResult<Vec<AlertRecord>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let active = txn.open_table(ACTIVE_ALERTS).map_err(unavailable)?;
            let alerts = txn.open_table(ALERTS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in active.iter().map_err(unavailable)? {
                let (key, fired_at) = entry.map_err(unavailable)?;
                let (rule, subject) = key.value();
                if let Some(bytes) = alerts
                    .get((fired_at.value(), rule, subject))
                    .map_err(unavailable)?
                {
                    out.push(from_json(bytes.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.put_doc(USERS, user.username.clone(), to_json(user))
            .await
    }

    async fn get_user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.get_doc(USERS, username.to_owned()).await
    }

    async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.all_docs(USERS).await
    }

    async fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        let grant = grant.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(GRANTS)
                .map_err(unavailable)?
                .insert(
                    (grant_kind_key(grant.kind), grant.secret_hash.as_str()),
                    to_json(&grant)?.as_slice(),
                )
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<Option<Grant>> {
        let secret_hash = secret_hash.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let grants = txn.open_table(GRANTS).map_err(unavailable)?;
            let found = grants
                .get((grant_kind_key(kind), secret_hash.as_str()))
                .map_err(unavailable)?;
            found.map(|b| from_json(b.value())).transpose()
        })
        .await
    }

    async fn delete_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<()> {
        let secret_hash = secret_hash.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(GRANTS)
                .map_err(unavailable)?
                .remove((grant_kind_key(kind), secret_hash.as_str()))
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let command = command.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut ids = txn.open_table(COMMAND_IDS).map_err(unavailable)?;
                let key = (command.device.as_str(), command.issued_at);
                if let Some(existing) = ids.get(command.id.as_str()).map_err(unavailable)? {
                    if existing.value() != key {
                        return Err(StoreError::AlreadyExists(format!("command {}", command.id)));
                    }
                }
                ids.insert(command.id.as_str(), key).map_err(unavailable)?;
                txn.open_table(COMMANDS)
                    .map_err(unavailable)?
                    .insert(
                        (key.0, key.1, command.id.as_str()),
                        to_json(&command)?.as_slice(),
                    )
                    .map_err(unavailable)?;
                txn.open_table(FLEET_COMMANDS)
                    .map_err(unavailable)?
                    .insert((command.fleet.as_str(), key.1, command.id.as_str()), key.0)
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_command(&self, id: &str) -> StoreResult<Option<CommandRecord>> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let ids = txn.open_table(COMMAND_IDS).map_err(unavailable)?;
            let Some(key) = ids.get(id.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            let (device, at) = key.value();
            let commands = txn.open_table(COMMANDS).map_err(unavailable)?;
            let found = commands
                .get((device, at, id.as_str()))
                .map_err(unavailable)?;
            found.map(|b| from_json(b.value())).transpose()
        })
        .await
    }

    async fn list_commands(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        let device = device.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let commands = txn.open_table(COMMANDS).map_err(unavailable)?;
            let d = device.as_str();
            let mut out = Vec::new();
            for entry in commands
                .range((d, i64::MIN, "")..=(d, i64::MAX, "\u{10FFFF}"))
                .map_err(unavailable)?
                .rev()
                .take(limit)
            {
                out.push(from_json(entry.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn list_fleet_commands(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        let fleet = fleet.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let mut out = Vec::new();
            if to < from || limit == 0 {
                return Ok(out);
            }
            let index = txn.open_table(FLEET_COMMANDS).map_err(unavailable)?;
            let commands = txn.open_table(COMMANDS).map_err(unavailable)?;
            let f = fleet.as_str();
            for entry in index
                .range((f, from, "")..=(f, to, "\u{10FFFF}"))
                .map_err(unavailable)?
                .rev()
                .take(limit)
            {
                let (key, device) = entry.map_err(unavailable)?;
                let (_, at, id) = key.value();
                if let Some(bytes) = commands
                    .get((device.value(), at, id))
                    .map_err(unavailable)?
                {
                    out.push(from_json(bytes.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn pending_commands(
        &self,
        device: &DeviceId,
        now: i64,
    ) -> StoreResult<Vec<CommandRecord>> {
        let device = device.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let commands = txn.open_table(COMMANDS).map_err(unavailable)?;
            let d = device.as_str();
            let mut out = Vec::new();
            // Commands live at most an hour: only the last hour of the box's history can be pending.
            let since = now - crate::commands::MAX_TTL_SECS * 1000;
            for entry in commands
                .range((d, since, "")..=(d, i64::MAX, "\u{10FFFF}"))
                .map_err(unavailable)?
            {
                let c: CommandRecord = from_json(entry.map_err(unavailable)?.1.value())?;
                if c.state == CommandState::Created && c.expires_at > now {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn put_rollout(&self, rollout: &RolloutRecord) -> StoreResult<()> {
        let rollout = rollout.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let key = (rollout.created_at, rollout.id.as_str());
                txn.open_table(ROLLOUTS)
                    .map_err(unavailable)?
                    .insert(rollout.id.as_str(), to_json(&rollout)?.as_slice())
                    .map_err(unavailable)?;
                txn.open_table(FLEET_ROLLOUTS)
                    .map_err(unavailable)?
                    .insert((rollout.fleet.as_str(), key.0, key.1), ())
                    .map_err(unavailable)?;
                let mut running = txn.open_table(RUNNING_ROLLOUTS).map_err(unavailable)?;
                if rollout.status.is_final() {
                    running.remove(key).map_err(unavailable)?;
                } else {
                    running.insert(key, ()).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_rollout(&self, id: &str) -> StoreResult<Option<RolloutRecord>> {
        self.get_doc(ROLLOUTS, id.to_owned()).await
    }

    async fn list_rollouts(
        &self,
        fleet: &FleetId,
        limit: usize,
    ) -> StoreResult<Vec<RolloutRecord>> {
        let fleet = fleet.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let index = txn.open_table(FLEET_ROLLOUTS).map_err(unavailable)?;
            let rollouts = txn.open_table(ROLLOUTS).map_err(unavailable)?;
            let f = fleet.as_str();
            let mut out = Vec::new();
            for entry in index
                .range((f, i64::MIN, "")..=(f, i64::MAX, "\u{10FFFF}"))
                .map_err(unavailable)?
                .rev()
                .take(limit)
            {
                let (key, _) = entry.map_err(unavailable)?;
                let (_, _, id) = key.value();
                if let Some(bytes) = rollouts.get(id).map_err(unavailable)? {
                    out.push(from_json(bytes.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn unfinished_rollouts(&self) -> StoreResult<Vec<RolloutRecord>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let running = txn.open_table(RUNNING_ROLLOUTS).map_err(unavailable)?;
            let rollouts = txn.open_table(ROLLOUTS).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in running.iter().map_err(unavailable)? {
                let (key, _) = entry.map_err(unavailable)?;
                let (_, id) = key.value();
                if let Some(bytes) = rollouts.get(id).map_err(unavailable)? {
                    out.push(from_json(bytes.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn get_shadow(&self, device: &DeviceId) -> StoreResult<Option<ShadowRecord>> {
        self.get_doc(SHADOWS, device.to_string()).await
    }

    async fn put_shadow(&self, shadow: &ShadowRecord, expected: u64) -> StoreResult<()> {
        let shadow = shadow.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut shadows = txn.open_table(SHADOWS).map_err(unavailable)?;
                let current = match shadows.get(shadow.device.as_str()).map_err(unavailable)? {
                    Some(b) => from_json::<ShadowRecord>(b.value())?.version,
                    None => 0,
                };
                if current != expected {
                    return Err(StoreError::Conflict(format!(
                        "desired state of {} (version {current}, not {expected})",
                        shadow.device
                    )));
                }
                shadows
                    .insert(shadow.device.as_str(), to_json(&shadow)?.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(unavailable))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::command;

    #[tokio::test]
    async fn commands_stored_before_the_audit_index_are_indexed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store
                .put_command(&command("old", "b1", 1_000, 61_000))
                .await
                .unwrap();
            // As a store written by a version without the index.
            let txn = store.db.begin_write().unwrap();
            txn.delete_table(FLEET_COMMANDS).unwrap();
            txn.commit().unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let fleet = FleetId::parse("north").unwrap();
        let found = store
            .list_fleet_commands(&fleet, 0, 10_000, 10)
            .await
            .unwrap();
        assert_eq!(found, vec![command("old", "b1", 1_000, 61_000)]);
    }

    /// The record as stored, without the values kept in memory.
    fn stored_record(store: &EmbeddedStore, id: &str) -> DeviceRecord {
        let txn = store.db.begin_read().unwrap();
        read_device(&txn.open_table(DEVICES).unwrap(), id)
            .unwrap()
            .unwrap()
    }

    /// Batches go to the journal, then in bulk to the readings table (journal.rs): a series read
    /// at any moment has every reading once, redeliveries are duplicates wherever the first copy
    /// is, and a crash (the store dropped without a roll-up) loses nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readings_are_kept_exactly_once_across_journal_merges_and_a_crash() {
        use crate::store::conformance::{device, reading};
        let dir = tempfile::tempdir().unwrap();
        let boxes = 50;
        let per_box = 200; // 10,000 readings: past the merge threshold twice
        let expect_series = |points: &[SeriesPoint], n: u64| {
            let ts: Vec<i64> = points.iter().map(|p| p.ts).collect();
            let want: Vec<i64> = (1..=n as i64).map(|s| s * 1_000).collect();
            assert_eq!(ts, want, "every reading once, in order");
        };
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            for b in 0..boxes {
                store
                    .create_device(&device(&format!("b{b}"), "north"))
                    .await
                    .unwrap();
            }
            for seq in 1..=per_box {
                let batch: Vec<Reading> = (0..boxes)
                    .map(|b| reading(&format!("b{b}"), "north", seq, seq as i64 * 1_000, 20.0))
                    .collect();
                let outcomes = store.put_readings(&batch).await.unwrap();
                assert!(outcomes.iter().all(|o| *o == WriteOutcome::Stored));
                // The previous batch again (pending or merged by now): duplicates only.
                if seq > 1 {
                    let again: Vec<Reading> = (0..boxes)
                        .map(|b| {
                            reading(
                                &format!("b{b}"),
                                "north",
                                seq - 1,
                                (seq as i64 - 1) * 1_000,
                                20.0,
                            )
                        })
                        .collect();
                    let outcomes = store.put_readings(&again).await.unwrap();
                    assert!(outcomes.iter().all(|o| *o == WriteOutcome::Duplicate));
                }
                if seq % 50 == 0 {
                    let id = DeviceId::parse("b7").unwrap();
                    let series = store
                        .metric_series(&id, "temp_c", 0, i64::MAX)
                        .await
                        .unwrap();
                    expect_series(&series, seq);
                }
            }
            // Some readings were merged into the readings table, some are still in the journal.
            let txn = store.db.begin_read().unwrap();
            let merged = txn.open_table(READINGS).unwrap().len().unwrap();
            let journal = txn.open_table(JOURNAL).unwrap().len().unwrap();
            assert!(merged >= 4_096, "merged: {merged}");
            assert!(journal > 0, "still in the journal: {journal} entries");
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let txn = store.db.begin_read().unwrap();
        assert_eq!(
            txn.open_table(JOURNAL).unwrap().len().unwrap(),
            0,
            "merged at open"
        );
        assert_eq!(
            txn.open_table(READINGS).unwrap().len().unwrap(),
            boxes * per_box
        );
        for b in [0, 49] {
            let id = DeviceId::parse(&format!("b{b}")).unwrap();
            let series = store
                .metric_series(&id, "temp_c", 0, i64::MAX)
                .await
                .unwrap();
            expect_series(&series, per_box);
        }
        let dup = store
            .put_readings(&[reading("b3", "north", 5, 5_000, 20.0)])
            .await
            .unwrap();
        assert_eq!(dup, vec![WriteOutcome::Duplicate]);
    }

    #[tokio::test]
    async fn latest_values_reach_the_records_at_roll_up_or_at_the_next_open_after_a_crash() {
        use crate::store::conformance::{device, reading};
        let dir = tempfile::tempdir().unwrap();
        let id = DeviceId::parse("b1").unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.create_device(&device("b1", "north")).await.unwrap();
            store
                .put_readings(&[reading("b1", "north", 1, 1_000, 20.0)])
                .await
                .unwrap();
            // A batch writes readings only; the box's values move in memory.
            assert_eq!(stored_record(&store, "b1").latest_ts, None);
            let shown = store.get_device(&id).await.unwrap().unwrap();
            assert_eq!(
                (shown.latest_ts, shown.presence.last_seen),
                (Some(1_000), Some(1_005))
            );
            let rolled = store.roll_up(0).await.unwrap();
            assert_eq!(rolled.boxes, 1);
            let txn = store.db.begin_read().unwrap();
            assert_eq!(txn.open_table(JOURNAL).unwrap().len().unwrap(), 0, "merged");
            assert_eq!(txn.open_table(READINGS).unwrap().len().unwrap(), 1);
            drop(txn);
            let stored = stored_record(&store, "b1");
            assert_eq!(
                (stored.latest_ts, stored.presence.last_seen),
                (Some(1_000), Some(1_005))
            );
            assert_eq!(store.roll_up(0).await.unwrap().boxes, 0, "nothing new");
            // Then a reading, and a crash before the next roll-up.
            store
                .put_readings(&[reading("b1", "north", 2, 2_000, 21.0)])
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let stored = stored_record(&store, "b1");
        assert_eq!(
            (stored.latest_ts, stored.latest_seq),
            (Some(2_000), Some(2))
        );
        assert_eq!(
            stored.latest.get("temp_c"),
            Some(&app::domain::MetricValue::Number(21.0))
        );
        assert_eq!(
            stored.presence.last_seen,
            Some(2_000),
            "box time stands in for receipt"
        );
    }
}
