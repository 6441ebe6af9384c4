//! The ingestion Lambda's handler: one IoT rule event (a box's message or a lifecycle event) per
//! invocation, through the same code as the embedded broker's hooks (`ingest::BrokerFeed`):
//! telemetry and status into `IngestCore::ingest`, command replies into `CommandService`,
//! reported state into `ShadowService`, presence and subscriptions as the connected,
//! disconnected and subscribed hooks. Each invocation prints one CloudWatch EMF line.
use super::presence_event::{apply_presence, Lifecycle, LifecycleEvent};
use super::rule_event::{parse_value, RuleEvent, RuleEventError, RuleMessage};
use crate::broker::Delivery;
use crate::commands::{Catalogue, CommandService};
use crate::ingest::{IngestCore, IngestOutcome, IngestSettings};
use crate::outbound::DevicePublisher;
use crate::shadow::{ShadowDocuments, ShadowService, StoreShadows};
use crate::store::Store;
use app::domain::topics::{self, ContractTopic, TopicKind};
use app::domain::{DeviceId, FleetId};
use monitor::emf::{EmfDocument, EmfUnit};
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
        match &outcome {
            MessageOutcome::Stored
            | MessageOutcome::StatusUpdated
            | MessageOutcome::CommandReply
            | MessageOutcome::ShadowReport => inv.accepted = 1,
            MessageOutcome::Duplicate => inv.duplicates = 1,
            MessageOutcome::Rejected(reason) | MessageOutcome::Refused(reason) => {
                inv.rejected = 1;
                inv.detail = Some(reason.clone());
            }
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
        let own = |t: &ContractTopic| {
            publisher
                .as_ref()
                .is_some_and(|(f, d)| (f, d) == (&t.fleet, &t.device))
        };
        match (&topic, &publisher) {
            (Some(t), Some((_, device))) if t.kind == TopicKind::CommandResponse => {
                if !own(t) {
                    return Ok(MessageOutcome::Refused(format!(
                        "box {device} may not reply for box {}",
                        t.device
                    )));
                }
                self.commands.on_reply(device, &m.payload_bytes()?).await;
                Ok(MessageOutcome::CommandReply)
            }
            (Some(t), Some((fleet, device))) if t.kind == TopicKind::ShadowReported => {
                if !own(t) {
                    return Ok(MessageOutcome::Refused(format!(
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
                    Delivery::Done | Delivery::Refuse => Ok(MessageOutcome::ShadowReport),
                }
            }
            // An unknown client publishing for another box: IoT Core's box policy makes this
            // impossible (client id = thing name = the topic's box); refused if it ever happens.
            (Some(t), None) if t.device.as_str() != m.client_id => {
                Ok(MessageOutcome::Refused(format!(
                    "client {:?} is not a registered box and may not publish for box {}",
                    m.client_id, t.device
                )))
            }
            (Some(t), None) if t.kind == TopicKind::CommandResponse => Ok(MessageOutcome::Refused(
                format!("box {} is not registered", t.device),
            )),
            // Telemetry and status (the core checks the topic is the publisher's own), and
            // anything else the rule selected (the core refuses it as an invalid topic).
            _ => {
                let inbound = m.to_inbound(publisher)?;
                match self.core.ingest(inbound).await {
                    IngestOutcome::Stored => Ok(MessageOutcome::Stored),
                    IngestOutcome::Duplicate => Ok(MessageOutcome::Duplicate),
                    IngestOutcome::StatusUpdated => Ok(MessageOutcome::StatusUpdated),
                    IngestOutcome::Rejected(r) => {
                        Ok(MessageOutcome::Rejected(r.reason.as_str().to_owned()))
                    }
                    IngestOutcome::Failed(e) => Err(IngestLambdaError::Store(e)),
                }
            }
        }
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
