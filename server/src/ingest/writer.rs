//! The batch writer: one task that groups concurrent readings into one durable store write
//! (group commit), then counts what each write did. Callers wait for their own reading's outcome,
//! so nothing is acknowledged before it is stored.
use super::counters::CounterBuffer;
use super::seq::SeqTracker;
use crate::store::{DeadLetter, Reading, Store, StoreError, WriteOutcome};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Each reading's outcome, in the order of the job's readings.
/// A failure is the store's error, as text.
pub(crate) type ReadingResults = Vec<Result<WriteOutcome, String>>;

pub(crate) enum Job {
    /// Readings of one caller (one message, or a Lambda invocation's batch): written together
    /// with whatever else is queued, answered together.
    Readings {
        readings: Vec<Reading>,
        reply: oneshot::Sender<ReadingResults>,
    },
    DeadLetter(DeadLetter),
    Flush(oneshot::Sender<Result<(), StoreError>>),
}

pub(crate) struct Writer {
    pub store: Arc<dyn Store>,
    pub counters: Arc<Mutex<CounterBuffer>>,
    pub max_batch: usize,
    pub flush_every: Duration,
    pub seq: SeqTracker,
    /// Write units and latency for the cost model and the health page.
    pub meter_usage: bool,
    /// The last hour each box was metered a roll-up for.
    pub hours_metered: std::collections::HashMap<app::domain::DeviceId, i64>,
}

/// At most this many yields gather a batch (see `Writer::linger`).
const LINGER_YIELDS: usize = 16;

/// Store errors are retried this many times, with backoff, before the batch fails.
const ATTEMPTS: u32 = 4;

async fn with_retry<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(20);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::warn!(attempt, error = %e, "store write failed, retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
        }
    }
}

impl Writer {
    pub async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            tokio::select! {
                received = jobs.recv_many(&mut batch, self.max_batch) => {
                    if received == 0 {
                        break;
                    }
                    self.linger(&mut jobs, &mut batch).await;
                    self.process(std::mem::take(&mut batch)).await;
                }
                _ = tick.tick() => {
                    if let Err(e) = self.flush_counters().await {
                        tracing::error!(error = %e, "cannot store pipeline counters; kept in memory");
                    }
                }
            }
        }
        if let Err(e) = self.flush_counters().await {
            tracing::error!(error = %e, "pipeline counters lost at shutdown");
        }
    }

    /// Group commit: lets the callers answered by the previous commit send their next message
    /// before this batch is written, so that they share one commit. Without it, callers that
    /// wait for their answer (a box waiting for its PUBACK) split into two cohorts that commit
    /// in turn, each paying a commit for half the load (BENCHMARKS.md 1). A few yields of the
    /// task, not a timer (tokio's timers tick in milliseconds, a commit takes about two): the
    /// wait ends as soon as a yield brings nothing new.
    async fn linger(&self, jobs: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
        for _ in 0..LINGER_YIELDS {
            if batch.len() >= self.max_batch {
                return;
            }
            tokio::task::yield_now().await;
            let before = batch.len();
            while batch.len() < self.max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if batch.len() == before {
                return;
            }
        }
    }

    async fn process(&mut self, batch: Vec<Job>) {
        let mut readings = Vec::new();
        let mut replies = Vec::new();
        let mut letters = Vec::new();
        let mut flushes = Vec::new();
        for job in batch {
            match job {
                Job::Readings {
                    readings: mut rs,
                    reply,
                } => {
                    replies.push((reply, rs.len()));
                    readings.append(&mut rs);
                }
                Job::DeadLetter(letter) => letters.push(letter),
                Job::Flush(reply) => flushes.push(reply),
            }
        }
        if !letters.is_empty() {
            if let Err(e) = with_retry(|| self.store.put_dead_letters(&letters)).await {
                tracing::error!(error = %e, count = letters.len(), "dead letters could not be stored");
            }
        }
        if !readings.is_empty() {
            self.seed_sequences(&readings).await;
            let results = match with_retry(|| self.store.put_readings(&readings)).await {
                Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                Err(e) => self.per_device(&readings, e).await,
            };
            // Answer first: the callers send their next messages while this batch is counted.
            let mut answers = results.iter();
            for (reply, n) in replies {
                let _ = reply.send(answers.by_ref().take(n).cloned().collect());
            }
            self.count(&readings, &results);
        }
        for reply in flushes {
            let _ = reply.send(self.flush_counters().await);
        }
    }

    /// After a batch failed (retries included): each box's readings once more on their own, so
    /// that one box the store refuses (a throttled hot partition, say) does not fail the others.
    async fn per_device(&self, readings: &[Reading], error: StoreError) -> ReadingResults {
        let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, r) in readings.iter().enumerate() {
            groups.entry(r.device.as_str()).or_default().push(i);
        }
        let mut results: ReadingResults = vec![Err(error.to_string()); readings.len()];
        if groups.len() < 2 {
            tracing::error!(error = %error, count = readings.len(), "readings could not be stored");
            return results;
        }
        for (device, indexes) in groups {
            let group: Vec<Reading> = indexes.iter().map(|&i| readings[i].clone()).collect();
            match self.store.put_readings(&group).await {
                Ok(outcomes) => {
                    for (i, o) in indexes.into_iter().zip(outcomes) {
                        results[i] = Ok(o);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, device, count = group.len(), "readings could not be stored");
                    for i in indexes {
                        results[i] = Err(e.to_string());
                    }
                }
            }
        }
        results
    }

    /// After a restart, continue each box's sequence from what the store last kept.
    async fn seed_sequences(&mut self, readings: &[Reading]) {
        for r in readings {
            if self.seq.knows(&r.device) {
                continue;
            }
            // Unknown (or unreadable): no gap is counted rather than a false one.
            if let Ok(Some(device)) = self.store.get_device_latest(&r.device).await {
                if let (Some(seq), Some(ts)) = (device.latest_seq, device.latest_ts) {
                    self.seq.seed(&r.device, seq, ts);
                }
            }
        }
    }

    fn count(&mut self, readings: &[Reading], results: &[Result<WriteOutcome, String>]) {
        let stored_at = chrono::Utc::now().timestamp_millis();
        let mut counters = self.counters.lock().expect("counter lock");
        for (r, result) in readings.iter().zip(results) {
            let Ok(outcome) = result else { continue };
            let bucket = counters.bucket(Some(&r.fleet), Some(r.device.as_str()), r.received_at);
            match outcome {
                WriteOutcome::Stored => {
                    bucket.accepted += 1;
                    bucket.lost += self.seq.observe(&r.device, r.seq, r.ts);
                    if !self.meter_usage {
                        continue;
                    }
                    bucket.write_units += modelled_write_units(r);
                    let hour = r.ts - r.ts.rem_euclid(3_600_000);
                    if self.hours_metered.insert(r.device.clone(), hour) != Some(hour) {
                        bucket.write_units += ROLL_UP_WRITE_UNITS;
                        bucket.read_units += ROLL_UP_HALF_READ_UNITS;
                    }
                    // A box clock far off says nothing about the pipeline: latency is counted
                    // for readings stamped within the last day and not in the future.
                    let latency = stored_at - r.ts;
                    if (0..86_400_000).contains(&latency) {
                        bucket.latency_ms_sum += latency as u64;
                        bucket.latency_samples += 1;
                        bucket.latency_ms_max = bucket.latency_ms_max.max(latency as u64);
                    }
                }
                WriteOutcome::Duplicate => bucket.duplicates += 1,
            }
        }
    }

    async fn flush_counters(&self) -> Result<(), StoreError> {
        let deltas = self.counters.lock().expect("counter lock").drain();
        if deltas.is_empty() {
            return Ok(());
        }
        if let Err(e) = with_retry(|| self.store.add_counters(&deltas)).await {
            self.counters.lock().expect("counter lock").restore(deltas);
            return Err(e);
        }
        Ok(())
    }
}

/// What storing one reading costs in the DynamoDB shape (docs/DYNAMODB.md), as the cost model
/// counts it: the write units of the reading's item, its only write (its conditional put; no
/// read on the write path).
pub fn modelled_write_units(r: &Reading) -> u64 {
    monitor::usage::dynamodb_write_units(modelled_item_bytes(r))
}

/// What the roll-up of one box's hour costs in the DynamoDB shape, metered with the box's first
/// reading of the hour: the hour's aggregate item, the box's item and its copy in the fleet index
/// (3 write units); the Query of the hour's readings (strongly consistent, about 1 read unit for
/// a reading a minute, in halves: 2).
pub const ROLL_UP_WRITE_UNITS: u64 = 3;
pub const ROLL_UP_HALF_READ_UNITS: u64 = 2;

/// The size a reading would have as a DynamoDB item (the cost model's write units): key
/// attributes, then each metric's name and value, as DynamoDB sizes them (names count; numbers
/// up to 21 bytes; booleans 1 byte).
pub fn modelled_item_bytes(r: &Reading) -> u64 {
    use app::domain::MetricValue;
    let keys = 2 + r.device.as_str().len() + 4 + 2 + 24;
    let metrics: usize = r
        .metrics
        .iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    MetricValue::Number(_) => 21,
                    MetricValue::Bool(_) => 1,
                    MetricValue::Text(t) => t.len(),
                }
        })
        .sum();
    (keys + metrics) as u64
}

#[cfg(test)]
mod modelled_units_tests {
    use super::*;
    use app::domain::{DeviceId, FleetId, MetricValue};

    #[test]
    fn a_reading_under_a_kilobyte_costs_one_write_unit_and_no_read() {
        let r = Reading {
            device: DeviceId::parse("b1").unwrap(),
            fleet: FleetId::parse("f1").unwrap(),
            seq: 1,
            ts: 0,
            received_at: 0,
            metrics: [
                ("temp_c".to_owned(), MetricValue::Number(4.5)),
                ("door_open".to_owned(), MetricValue::Bool(false)),
                ("mode".to_owned(), MetricValue::Text("eco".into())),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(modelled_write_units(&r), 1);
        let mut big = r.clone();
        for i in 0..30 {
            big.metrics
                .insert(format!("metric_number_{i:02}"), MetricValue::Number(1.0));
        }
        assert_eq!(
            modelled_write_units(&big),
            2,
            "{} bytes",
            modelled_item_bytes(&big)
        );
    }
}
