//! The ingestion Lambda's handler, through the same code as the embedded broker's hooks
//! (`ingest::BrokerFeed`): telemetry and status into the ingestion core, command replies into
//! `CommandService`, reported state into `ShadowService`, presence and subscriptions as the
//! connected, disconnected and subscribed hooks. Each invocation prints one CloudWatch EMF line.
//!
//! Two event shapes ([`IngestLambda::handle_event`]): one IoT rule event (a box's message or a
//! lifecycle event) per invocation, as the rules that invoke the function directly send it; or an
//! SQS event of up to the mapping's batch size of messages whose bodies are the data rule's JSON
//! (the deployed path for telemetry, status and reported state: one invocation per batch instead
//! of one per message). A batch's telemetry and status go through the core as one batch
//! (`IngestCore::ingest_batch`), so its readings are written together; what could not be stored
//! is answered in `batchItemFailures` and only that is received again.
use super::presence_event::{apply_presence, Lifecycle, LifecycleEvent};
use super::rule_event::{parse_event, parse_value, RuleEvent, RuleEventError, RuleMessage};
use super::sqs_event::{is_sqs_event, SqsBatchResponse, SqsEvent};
use crate::broker::Delivery;
use crate::commands::{Catalogue, CommandService};
use crate::ingest::{IngestCore, IngestOutcome, IngestSettings};
use crate::outbound::DevicePublisher;
use crate::shadow::{ShadowDocuments, ShadowService, StoreShadows};
use crate::store::Store;
use app::domain::topics::{self, ContractTopic, TopicKind};
use app::domain::{DeviceId, FleetId};
use monitor::emf::{EmfDocument, EmfUnit};
use std::collections::HashMap;
use std::sync::Arc;

/// The CloudWatch namespace of the Lambdas' metrics.
pub const EMF_NAMESPACE: &str = "boxpilot";

/// What became of one invocation's message.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageOutcome {
    Stored,
    Duplicate,
    StatusUpdated,
    CommandReply,
    ShadowReport,
    /// Refused by the ingestion core: kept as a dead letter with this reason.
    Rejected(String),
    /// Refused before the core (a client that is no registered box publishing for another box):
    /// logged, not kept.
    Refused(String),
}

/// One invocation, summarised for the EMF line.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub kind: &'static str,
    pub received: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub duplicates: u32,
    pub failed: u32,
    /// From IoT Core's reception (`timestamp()`) to the durable outcome.
    pub latency_ms: Option<i64>,
    pub fleet: Option<String>,
    pub device: Option<String>,
    pub detail: Option<String>,
    pub outcome: Option<MessageOutcome>,
}

impl Invocation {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            received: 0,
            accepted: 0,
            rejected: 0,
            duplicates: 0,
            failed: 0,
            latency_ms: None,
            fleet: None,
            device: None,
            detail: None,
            outcome: None,
        }
    }

    /// Counts one message's outcome.
    fn count(&mut self, outcome: &MessageOutcome) {
        match outcome {
            MessageOutcome::Stored
            | MessageOutcome::StatusUpdated
            | MessageOutcome::CommandReply
            | MessageOutcome::ShadowReport => self.accepted += 1,
            MessageOutcome::Duplicate => self.duplicates += 1,
            MessageOutcome::Rejected(_) | MessageOutcome::Refused(_) => self.rejected += 1,
        }
    }

    /// The EMF document of this invocation: metrics `MessagesReceived`, `MessagesAccepted`,
    /// `MessagesRejected`, `MessagesDuplicate`, `MessagesFailed` (Count) and `IngestLatency`
    /// (Milliseconds, messages only), dimension `Stage`; fleet, box, kind and detail are
    /// properties (searchable in Logs Insights, no metric cardinality).
    pub fn emf(&self, stage: &str, now_ms: i64) -> EmfDocument {
        let at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let mut doc = EmfDocument::new(EMF_NAMESPACE, at)
            .dimension("Stage", stage)
            .metric("MessagesReceived", EmfUnit::Count, self.received.into())
            .metric("MessagesAccepted", EmfUnit::Count, self.accepted.into())
            .metric("MessagesRejected", EmfUnit::Count, self.rejected.into())
            .metric("MessagesDuplicate", EmfUnit::Count, self.duplicates.into())
            .metric("MessagesFailed", EmfUnit::Count, self.failed.into())
            .property("kind", self.kind.into());
        if let Some(latency) = self.latency_ms {
            doc = doc.metric(
                "IngestLatency",
                EmfUnit::Milliseconds,
                latency.max(0) as f64,
            );
        }
        for (name, value) in [
            ("fleet", &self.fleet),
            ("device", &self.device),
            ("detail", &self.detail),
        ] {
            if let Some(v) = value {
                doc = doc.property(name, v.clone().into());
            }
        }
        doc
    }
}

/// Why an invocation fails (the Lambda returns an error: IoT Core's asynchronous invocation is
/// retried, then kept in the function's dead-letter queue).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestLambdaError {
    #[error("{0}")]
    Event(#[from] RuleEventError),
    #[error("not stored, to be retried: {0}")]
    Store(String),
}

/// Where a message goes after the checks of the Lambda adapter.
enum Routed {
    Done(MessageOutcome),
    Core(crate::ingest::Inbound),
}

fn core_outcome(outcome: IngestOutcome) -> Result<MessageOutcome, IngestLambdaError> {
    match outcome {
        IngestOutcome::Stored => Ok(MessageOutcome::Stored),
        IngestOutcome::Duplicate => Ok(MessageOutcome::Duplicate),
        IngestOutcome::StatusUpdated => Ok(MessageOutcome::StatusUpdated),
        IngestOutcome::Rejected(r) => Ok(MessageOutcome::Rejected(r.reason.as_str().to_owned())),
        IngestOutcome::Failed(e) => Err(IngestLambdaError::Store(e)),
    }
}

pub struct IngestLambda {
    store: Arc<dyn Store>,
    core: Arc<IngestCore>,
    commands: Arc<CommandService>,
    shadows: Arc<ShadowService>,
}

impl IngestLambda {
    /// The ingestion core, the command and desired-state services over `store`, sending to boxes
    /// through `publisher` (IoT Core's data plane on AWS). Starts the core's writer on the
    /// current runtime.
    pub fn new(store: Arc<dyn Store>, publisher: Arc<dyn DevicePublisher>) -> Self {
        let shadow_documents = Arc::new(StoreShadows(store.clone()));
        Self::with_shadow_documents(store, publisher, shadow_documents)
    }

    /// As [`IngestLambda::new`], with desired state kept by `shadow_documents` (the Device Shadow
    /// service on AWS: boxes' reports on `dt/.../shadow` are applied to it).
    pub fn with_shadow_documents(
        store: Arc<dyn Store>,
        publisher: Arc<dyn DevicePublisher>,
        shadow_documents: Arc<dyn ShadowDocuments>,
    ) -> Self {
        let core = IngestCore::start(store.clone(), IngestSettings::default());
        let commands = CommandService::new(store.clone(), Catalogue::builtin());
        commands.set_publisher(publisher.clone());
        let shadows = ShadowService::with_documents(store.clone(), shadow_documents);
        shadows.set_publisher(publisher);
        Self {
            store,
            core,
            commands,
            shadows,
        }
    }

    pub fn core(&self) -> &Arc<IngestCore> {
        &self.core
    }

    /// Handles one event. On success the pipeline counters are flushed: nothing is left in memory
    /// when Lambda freezes the instance.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        now_ms: impl Fn() -> i64,
    ) -> (Invocation, Result<(), IngestLambdaError>) {
        let parsed = match parse_value(event) {
            Ok(p) => p,
            Err(e) => {
                let mut inv = Invocation::new("malformed");
                inv.received = 1;
                inv.rejected = 1;
                inv.detail = Some(e.to_string());
                return (inv, Err(e.into()));
            }
        };
        let (inv, result) = match parsed {
            RuleEvent::Message(m) => self.message(m, &now_ms).await,
            RuleEvent::Lifecycle(e) => self.lifecycle(e).await,
        };
        if let Err(e) = self.core.flush().await {
            tracing::error!(error = %e, "pipeline counters not flushed");
        }
        (inv, result)
    }

    async fn message(
        &self,
        m: RuleMessage,
        now_ms: &impl Fn() -> i64,
    ) -> (Invocation, Result<(), IngestLambdaError>) {
        let mut inv = Invocation::new("message");
        inv.received = 1;
        let topic = ContractTopic::parse(&m.topic);
        inv.fleet = topic.as_ref().map(|t| t.fleet.to_string());
        inv.device = topic.as_ref().map(|t| t.device.to_string());
        let result = self.route(&m, topic).await;
        inv.latency_ms = Some(now_ms() - m.received_at);
        let outcome = match result {
            Ok(o) => o,
            Err(IngestLambdaError::Event(e)) => {
                inv.rejected = 1;
                inv.detail = Some(e.to_string());
                return (inv, Err(e.into()));
            }
            Err(e) => {
                inv.failed = 1;
                inv.detail = Some(e.to_string());
                return (inv, Err(e));
            }
        };
        inv.count(&outcome);
        if let MessageOutcome::Rejected(reason) | MessageOutcome::Refused(reason) = &outcome {
            inv.detail = Some(reason.clone());
        }
        inv.outcome = Some(outcome);
        (inv, Ok(()))
    }

    /// The registered box a client id belongs to.
    async fn registered(&self, client_id: &str) -> Result<Option<(FleetId, DeviceId)>, String> {
        let Ok(id) = DeviceId::parse(client_id) else {
            return Ok(None);
        };
        self.store
            .get_device(&id)
            .await
            .map(|d| d.map(|d| (d.fleet, d.id)))
            .map_err(|e| e.to_string())
    }

    async fn route(
        &self,
        m: &RuleMessage,
        topic: Option<ContractTopic>,
    ) -> Result<MessageOutcome, IngestLambdaError> {
        let publisher = self
            .registered(&m.client_id)
            .await
            .map_err(IngestLambdaError::Store)?;
        match self.classify(m, topic, publisher).await? {
            Routed::Done(outcome) => Ok(outcome),
            Routed::Core(inbound) => core_outcome(self.core.ingest(inbound).await),
        }
    }

    /// Handles what goes elsewhere than the ingestion core (command replies, reported state,
    /// refusals); telemetry and status are returned for the core. `publisher`: the registered
    /// box the client id belongs to.
    async fn classify(
        &self,
        m: &RuleMessage,
        topic: Option<ContractTopic>,
        publisher: Option<(FleetId, DeviceId)>,
    ) -> Result<Routed, IngestLambdaError> {
        let own = |t: &ContractTopic| {
            publisher
                .as_ref()
                .is_some_and(|(f, d)| (f, d) == (&t.fleet, &t.device))
        };
        let done = |o| Ok(Routed::Done(o));
        match (&topic, &publisher) {
            (Some(t), Some((_, device))) if t.kind == TopicKind::CommandResponse => {
                if !own(t) {
                    return done(MessageOutcome::Refused(format!(
                        "box {device} may not reply for box {}",
                        t.device
                    )));
                }
                self.commands.on_reply(device, &m.payload_bytes()?).await;
                done(MessageOutcome::CommandReply)
            }
            (Some(t), Some((fleet, device))) if t.kind == TopicKind::ShadowReported => {
                if !own(t) {
                    return done(MessageOutcome::Refused(format!(
                        "box {device} may not report for box {}",
                        t.device
                    )));
                }
                match self
                    .shadows
                    .on_report(fleet, device, &m.payload_bytes()?)
                    .await
                {
                    Delivery::Retry => {
                        Err(IngestLambdaError::Store("reported state not stored".into()))
                    }
                    Delivery::Done | Delivery::Refuse => done(MessageOutcome::ShadowReport),
                }
            }
            // An unknown client publishing for another box: IoT Core's box policy makes this
            // impossible (client id = thing name = the topic's box); refused if it ever happens.
            (Some(t), None) if t.device.as_str() != m.client_id => {
                done(MessageOutcome::Refused(format!(
                    "client {:?} is not a registered box and may not publish for box {}",
                    m.client_id, t.device
                )))
            }
            (Some(t), None) if t.kind == TopicKind::CommandResponse => done(
                MessageOutcome::Refused(format!("box {} is not registered", t.device)),
            ),
            // Telemetry and status (the core checks the topic is the publisher's own), and
            // anything else the rule selected (the core refuses it as an invalid topic).
            _ => Ok(Routed::Core(m.to_inbound(publisher)?)),
        }
    }

    /// Handles an SQS event: each record's body is a rule event. Telemetry and status of all
    /// records go through the ingestion core as one batch; command replies, reported state and
    /// lifecycle events one by one. Records whose outcome is not durable (a store failure, a
    /// body that is not a rule event) are answered in `batchItemFailures`: the queue hands them
    /// out again, and after `maxReceiveCount` receives moves them to its dead-letter queue.
    /// Messages the core rejects are kept as dead letters in the store, as on the direct path,
    /// and are not retried.
    pub async fn handle_sqs(
        &self,
        event: SqsEvent,
        now_ms: impl Fn() -> i64,
    ) -> (Invocation, SqsBatchResponse) {
        let mut inv = Invocation::new("sqs_batch");
        let mut answer = SqsBatchResponse::default();
        let mut problems: Vec<String> = Vec::new();
        let mut oldest: Option<i64> = None;
        let mut devices: HashMap<String, Option<(FleetId, DeviceId)>> = HashMap::new();
        let mut for_core = Vec::new();
        let mut core_ids = Vec::new();
        let mut fleets = std::collections::BTreeSet::new();
        inv.received = event.records.len() as u32;
        for record in &event.records {
            let failed = |inv: &mut Invocation, answer: &mut SqsBatchResponse, why: String| {
                inv.failed += 1;
                answer.add_failure(record.message_id.clone());
                why
            };
            let parsed = match parse_event(record.body.as_bytes()) {
                Ok(p) => p,
                Err(e) => {
                    let why = failed(&mut inv, &mut answer, e.to_string());
                    tracing::warn!(message_id = %record.message_id, receives = record.receive_count(), error = %why, "SQS record is not a rule event");
                    problems.push(why);
                    continue;
                }
            };
            let m = match parsed {
                RuleEvent::Message(m) => m,
                RuleEvent::Lifecycle(e) => {
                    let (one, result) = self.lifecycle(e).await;
                    if let Err(e) = result {
                        problems.push(failed(&mut inv, &mut answer, e.to_string()));
                    } else {
                        inv.accepted += 1;
                    }
                    fleets.extend(one.fleet);
                    continue;
                }
            };
            oldest = Some(oldest.map_or(m.received_at, |o: i64| o.min(m.received_at)));
            let topic = ContractTopic::parse(&m.topic);
            fleets.extend(topic.as_ref().map(|t| t.fleet.to_string()));
            let publisher = match devices.get(&m.client_id) {
                Some(p) => p.clone(),
                None => match self.registered(&m.client_id).await {
                    Ok(p) => {
                        devices.insert(m.client_id.clone(), p.clone());
                        p
                    }
                    Err(e) => {
                        problems.push(failed(&mut inv, &mut answer, e));
                        continue;
                    }
                },
            };
            match self.classify(&m, topic, publisher).await {
                Ok(Routed::Done(outcome)) => inv.count(&outcome),
                Ok(Routed::Core(inbound)) => {
                    for_core.push(inbound);
                    core_ids.push(record.message_id.clone());
                }
                Err(e) => problems.push(failed(&mut inv, &mut answer, e.to_string())),
            }
        }
        if !for_core.is_empty() {
            let outcomes = self.core.ingest_batch(for_core).await;
            for (id, outcome) in core_ids.into_iter().zip(outcomes) {
                match core_outcome(outcome) {
                    Ok(o) => inv.count(&o),
                    Err(e) => {
                        inv.failed += 1;
                        answer.add_failure(id);
                        problems.push(e.to_string());
                    }
                }
            }
        }
        if let Err(e) = self.core.flush().await {
            tracing::error!(error = %e, "pipeline counters not flushed");
        }
        // In the order of the records.
        let position: HashMap<&str, usize> = event
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.message_id.as_str(), i))
            .collect();
        answer
            .batch_item_failures
            .sort_by_key(|f| position.get(f.item_identifier.as_str()).copied());
        inv.latency_ms = oldest.map(|t| now_ms() - t);
        if fleets.len() == 1 {
            inv.fleet = fleets.pop_first();
        }
        if !problems.is_empty() {
            inv.detail = Some(format!(
                "{} of {} records to be received again; first: {}",
                answer.batch_item_failures.len(),
                inv.received,
                problems[0]
            ));
        }
        (inv, answer)
    }

    /// Handles either event shape: an SQS event answers its `batchItemFailures` (an error only
    /// when it is not one), a rule event `{"kind": ...}` or its error.
    pub async fn handle_event(
        &self,
        event: serde_json::Value,
        now_ms: impl Fn() -> i64,
    ) -> (Invocation, Result<serde_json::Value, IngestLambdaError>) {
        if is_sqs_event(&event) {
            let event: SqsEvent = match serde_json::from_value(event) {
                Ok(e) => e,
                Err(e) => {
                    let mut inv = Invocation::new("sqs_batch");
                    let e = RuleEventError::UnknownShape(format!("SQS event: {e}"));
                    inv.detail = Some(e.to_string());
                    return (inv, Err(e.into()));
                }
            };
            let (inv, answer) = self.handle_sqs(event, now_ms).await;
            let answer = serde_json::to_value(answer).unwrap_or_default();
            return (inv, Ok(answer));
        }
        let (inv, result) = self.handle(event, now_ms).await;
        let kind = inv.kind;
        (inv, result.map(|()| serde_json::json!({ "kind": kind })))
    }

    async fn lifecycle(&self, e: LifecycleEvent) -> (Invocation, Result<(), IngestLambdaError>) {
        let mut inv = Invocation::new("lifecycle");
        inv.device = Some(e.client_id.clone());
        let result = match e.interpret() {
            Lifecycle::Ignored(why) => {
                inv.detail = Some(why);
                Ok(())
            }
            Lifecycle::Presence { device, online, at } => self
                .presence(&device, online, at, &mut inv)
                .await
                .map_err(IngestLambdaError::Store),
            Lifecycle::Subscribed { device, filters } => {
                self.subscribed(&device, &filters, &mut inv).await
            }
        };
        if let Err(e) = &result {
            inv.failed = 1;
            inv.detail = Some(e.to_string());
        }
        (inv, result)
    }

    async fn presence(
        &self,
        device: &DeviceId,
        online: bool,
        at: i64,
        inv: &mut Invocation,
    ) -> Result<(), String> {
        let Some(record) = self
            .store
            .get_device(device)
            .await
            .map_err(|e| e.to_string())?
        else {
            inv.detail = Some(format!("box {device} is not registered"));
            return Ok(());
        };
        inv.fleet = Some(record.fleet.to_string());
        match apply_presence(&record.presence, online, at) {
            Some(next) => {
                self.store
                    .set_presence(device, &next)
                    .await
                    .map_err(|e| e.to_string())?;
                inv.detail = Some(if online { "online" } else { "offline" }.into());
            }
            None => inv.detail = Some("older than the known presence: ignored".into()),
        }
        Ok(())
    }

    async fn subscribed(
        &self,
        device: &DeviceId,
        filters: &[String],
        inv: &mut Invocation,
    ) -> Result<(), IngestLambdaError> {
        let record = self
            .store
            .get_device(device)
            .await
            .map_err(|e| IngestLambdaError::Store(e.to_string()))?;
        let Some(record) = record else {
            inv.detail = Some(format!("box {device} is not registered"));
            return Ok(());
        };
        inv.fleet = Some(record.fleet.to_string());
        for filter in filters {
            if *filter == topics::command_request(&record.fleet, device) {
                self.commands.deliver_pending(device).await;
            } else if *filter == topics::shadow_desired(&record.fleet, device) {
                self.shadows.on_subscribed(&record.fleet, device).await;
            }
        }
        Ok(())
    }
}
