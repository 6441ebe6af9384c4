use super::counters::CounterBuffer;
use super::validate::{reject, validate_status, validate_telemetry, RejectReason, Rejection};
use super::writer::{Job, ReadingResults, Writer};
use super::SeqTracker;
use crate::store::{DeadLetter, Reading, Store, StoreError, WriteOutcome};
use app::domain::topics::{ContractTopic, TopicKind};
use app::domain::{DeviceId, FleetId, Presence};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Where a message came from, as recorded in dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Mqtt { client_id: String },
    Http { username: String },
    Lambda { client_id: String },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Mqtt { client_id } => format!("mqtt:{client_id}"),
            Source::Http { username } => format!("http:{username}"),
            Source::Lambda { client_id } => format!("iot-rule:{client_id}"),
        }
    }
}

/// One message entering the pipeline.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub topic: String,
    pub payload: Vec<u8>,
    pub source: Source,
    /// Server time of arrival, ms.
    pub received_at: i64,
    /// The box an authenticated connection belongs to; `None` for HTTP ingest, which looks the box
    /// up from the topic and refuses unknown ones.
    pub publisher: Option<(FleetId, DeviceId)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Stored,
    Duplicate,
    StatusUpdated,
    Rejected(Rejection),
    /// The store could not take it after retries; nothing was acknowledged as stored.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// Readings per store transaction at most.
    pub max_batch: usize,
    /// How often counters reach the store.
    pub flush_every: Duration,
    pub queue: usize,
    /// Meter what the cost model and the health page need (bytes, 5 KB units, write units,
    /// latency). On by default; off only to measure what monitoring costs (the ingest benchmark).
    pub meter_usage: bool,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_batch: 2048,
            flush_every: Duration::from_secs(1),
            queue: 65_536,
            meter_usage: true,
        }
    }
}

pub struct IngestCore {
    store: Arc<dyn Store>,
    meter_usage: bool,
    jobs: mpsc::Sender<Job>,
    counters: Arc<Mutex<CounterBuffer>>,
}

const PREVIEW_BYTES: usize = 1024;

/// What checking a message gave, short of a rejection.
enum Checked {
    /// A valid reading, to be written with the others of its batch.
    Reading(Reading),
    /// Handled already (a status update).
    Done(IngestOutcome),
}

impl IngestCore {
    /// Starts the batch writer on the current runtime.
    pub fn start(store: Arc<dyn Store>, settings: IngestSettings) -> Arc<Self> {
        let (jobs, rx) = mpsc::channel(settings.queue);
        let counters = Arc::new(Mutex::new(CounterBuffer::default()));
        let writer = Writer {
            store: store.clone(),
            counters: counters.clone(),
            max_batch: settings.max_batch,
            flush_every: settings.flush_every,
            seq: SeqTracker::default(),
            meter_usage: settings.meter_usage,
            hours_metered: Default::default(),
        };
        tokio::spawn(writer.run(rx));
        Arc::new(Self {
            store,
            meter_usage: settings.meter_usage,
            jobs,
            counters,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Validates, stores and counts one message. Returns once the outcome is durable.
    ///
    /// The work runs in its own task: when the caller is cancelled (a broker connection closing
    /// mid-publish, an HTTP client going away), what was received is still stored and counted.
    pub async fn ingest(self: &Arc<Self>, msg: Inbound) -> IngestOutcome {
        self.ingest_batch(vec![msg])
            .await
            .pop()
            .unwrap_or_else(|| IngestOutcome::Failed("no outcome".into()))
    }

    /// The same for several messages at once (a Lambda invocation's SQS batch): each is checked
    /// as [`IngestCore::ingest`] checks it, and their readings reach the store as one batch (one
    /// conditional put per reading, but each box's latest values and each (box, metric, hour)
    /// aggregate written once). One outcome per message, in order.
    pub async fn ingest_batch(self: &Arc<Self>, msgs: Vec<Inbound>) -> Vec<IngestOutcome> {
        let n = msgs.len();
        let core = self.clone();
        tokio::spawn(async move { core.process(msgs).await })
            .await
            .unwrap_or_else(|e| {
                vec![IngestOutcome::Failed(format!("ingestion task failed: {e}")); n]
            })
    }

    async fn process(&self, msgs: Vec<Inbound>) -> Vec<IngestOutcome> {
        let mut outcomes: Vec<Option<IngestOutcome>> = vec![None; msgs.len()];
        let mut readings = Vec::new();
        let mut reading_of = Vec::new();
        for (i, msg) in msgs.iter().enumerate() {
            let topic = ContractTopic::parse(&msg.topic);
            let (fleet, device) = match (&topic, &msg.publisher) {
                (_, Some((f, d))) => (Some(f.clone()), Some(d.clone())),
                (Some(t), None) => (Some(t.fleet.clone()), Some(t.device.clone())),
                (None, None) => (None, None),
            };
            let metered = self.meter_usage.then(|| {
                monitor::usage::metered_message_bytes(&msg.topic, msg.payload.len() as u64)
            });
            self.count(fleet.as_ref(), device.as_ref(), msg.received_at, |c| {
                c.received += 1;
                if let Some(bytes) = metered {
                    c.bytes += bytes;
                    c.message_units += monitor::usage::billed_message_units(bytes);
                }
            });
            match self.check(msg, topic).await {
                Ok(Checked::Reading(reading)) => {
                    readings.push(reading);
                    reading_of.push(i);
                }
                Ok(Checked::Done(outcome)) => outcomes[i] = Some(outcome),
                Err(rejection) => {
                    self.count(fleet.as_ref(), device.as_ref(), msg.received_at, |c| {
                        *c.rejected
                            .entry(rejection.reason.as_str().to_owned())
                            .or_default() += 1
                    });
                    self.dead_letter(msg, fleet, device, &rejection).await;
                    outcomes[i] = Some(IngestOutcome::Rejected(rejection));
                }
            }
        }
        if !readings.is_empty() {
            let results = self.write(readings).await;
            for (i, result) in reading_of.into_iter().zip(results) {
                outcomes[i] = Some(match result {
                    Ok(WriteOutcome::Stored) => IngestOutcome::Stored,
                    Ok(WriteOutcome::Duplicate) => IngestOutcome::Duplicate,
                    Err(e) => IngestOutcome::Failed(e),
                });
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| IngestOutcome::Failed("no outcome".into())))
            .collect()
    }

    /// Checks one message: a reading to store, a status applied, or a rejection.
    async fn check(
        &self,
        msg: &Inbound,
        topic: Option<ContractTopic>,
    ) -> Result<Checked, Rejection> {
        let topic = topic.ok_or_else(|| {
            reject(RejectReason::InvalidTopic, "topic must be dt/boxpilot/{fleet}/{box}/telemetry or .../status, without wildcards")
        })?;
        match &msg.publisher {
            Some((fleet, device)) if (fleet, device) != (&topic.fleet, &topic.device) => {
                return Err(reject(
                    RejectReason::WrongFleet,
                    "a box may publish only on its own topics",
                ));
            }
            Some(_) => {}
            None => {
                let known = self
                    .store
                    .get_device(&topic.device)
                    .await
                    .map_err(|e| reject(RejectReason::StoreUnavailable, e.to_string()))?;
                match known {
                    None => {
                        return Err(reject(
                            RejectReason::UnknownDevice,
                            format!("no box {} is registered", topic.device),
                        ))
                    }
                    Some(d) if d.fleet != topic.fleet => {
                        return Err(reject(
                            RejectReason::WrongFleet,
                            format!("box {} is not in fleet {}", topic.device, topic.fleet),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        match topic.kind {
            TopicKind::Telemetry => {
                let m = validate_telemetry(&msg.payload, msg.received_at)?;
                let reading = Reading {
                    device: topic.device,
                    fleet: topic.fleet,
                    seq: m.seq,
                    ts: m.ts,
                    received_at: msg.received_at,
                    metrics: m.metrics,
                };
                Ok(Checked::Reading(reading))
            }
            TopicKind::Status => {
                let status = validate_status(&msg.payload)?;
                // A status without `fw` (a last will, say) keeps the firmware known so far.
                let change = |p: &mut Presence| {
                    p.online = status.online;
                    p.last_seen = Some(msg.received_at);
                    p.firmware = status.firmware.or(p.firmware.take());
                };
                Ok(Checked::Done(
                    match self.update_presence(&topic.device, change).await {
                        Ok(()) => {
                            let (fleet, device) = (Some(&topic.fleet), Some(&topic.device));
                            self.count(fleet, device, msg.received_at, |c| c.accepted += 1);
                            IngestOutcome::StatusUpdated
                        }
                        Err(e) => IngestOutcome::Failed(e.to_string()),
                    },
                ))
            }
            TopicKind::CommandRequest
            | TopicKind::CommandResponse
            | TopicKind::ShadowReported
            | TopicKind::ShadowDesired => Err(reject(
                RejectReason::InvalidTopic,
                "command and desired-state topics are not telemetry",
            )),
        }
    }

    /// Hands readings to the batch writer as one job; one result per reading.
    async fn write(&self, readings: Vec<Reading>) -> ReadingResults {
        let n = readings.len();
        let (reply, results) = oneshot::channel();
        let down = || {
            vec![Err(StoreError::Unavailable("ingestion is shutting down".into()).to_string()); n]
        };
        if self
            .jobs
            .send(Job::Readings { readings, reply })
            .await
            .is_err()
        {
            return down();
        }
        results.await.unwrap_or_else(|_| down())
    }

    fn count(
        &self,
        fleet: Option<&FleetId>,
        device: Option<&DeviceId>,
        at: i64,
        f: impl FnOnce(&mut crate::store::PipelineCounts),
    ) {
        let mut counters = self.counters.lock().expect("counter lock");
        f(counters.bucket(fleet, device.map(DeviceId::as_str), at));
    }

    /// Adds to the usage counted for a fleet (and box) at `at` (ms): the same buckets as the
    /// pipeline counts, flushed with them. For usage measured outside ingestion (API requests,
    /// telemetry reads, connection minutes, broker drops).
    pub fn record(
        &self,
        fleet: &FleetId,
        device: Option<&DeviceId>,
        at: i64,
        f: impl FnOnce(&mut crate::store::PipelineCounts),
    ) {
        self.count(Some(fleet), device, at, f)
    }

    /// The broker dropped a message on this topic (queue full, no route): counted against its
    /// fleet and box when the topic names them.
    pub fn record_dropped(&self, topic: &str) {
        let now = chrono::Utc::now().timestamp_millis();
        let parsed = ContractTopic::parse(topic);
        self.count(
            parsed.as_ref().map(|t| &t.fleet),
            parsed.as_ref().map(|t| &t.device),
            now,
            |c| c.dropped += 1,
        );
    }

    async fn dead_letter(
        &self,
        msg: &Inbound,
        fleet: Option<FleetId>,
        device: Option<DeviceId>,
        rejection: &Rejection,
    ) {
        let cut = msg.payload.len().min(PREVIEW_BYTES);
        let letter = DeadLetter {
            id: uuid::Uuid::new_v4().to_string(),
            received_at: msg.received_at,
            fleet,
            device: device.map(|d| d.to_string()),
            topic: msg.topic.chars().take(256).collect(),
            source: msg.source.describe(),
            reason: rejection.reason.as_str().to_owned(),
            detail: rejection.detail.clone(),
            payload_preview: String::from_utf8_lossy(&msg.payload[..cut]).into_owned(),
            payload_bytes: msg.payload.len(),
        };
        if self.jobs.send(Job::DeadLetter(letter)).await.is_err() {
            tracing::error!("dead letter dropped: ingestion is shutting down");
        }
    }

    async fn update_presence(
        &self,
        device: &DeviceId,
        change: impl FnOnce(&mut Presence),
    ) -> Result<(), StoreError> {
        let mut presence = self
            .store
            .get_device(device)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("box {device}")))?
            .presence;
        change(&mut presence);
        self.store.set_presence(device, &presence).await
    }

    /// A box's connection opened or closed (broker events).
    pub async fn set_connected(&self, device: &DeviceId, online: bool) {
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(e) = self
            .update_presence(device, |p| {
                p.online = online;
                p.last_seen = Some(now);
            })
            .await
        {
            tracing::warn!(%device, error = %e, "presence not recorded");
        }
    }

    /// Writes buffered counters now (tests, shutdown); returns once they are stored.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        self.jobs
            .send(Job::Flush(reply))
            .await
            .map_err(|_| StoreError::Unavailable("ingestion stopped".into()))?;
        done.await
            .map_err(|_| StoreError::Unavailable("ingestion stopped".into()))?
    }
}
