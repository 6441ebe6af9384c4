//! The one ingestion core: validate -> deduplicate -> store -> count. The broker hook, the HTTP
//! ingest endpoint and (on AWS) the Lambda handler are thin adapters around `IngestCore::ingest`.
mod broker_feed;
mod core;
mod counters;
mod seq;
mod validate;
mod writer;

pub use self::core::{Inbound, IngestCore, IngestOutcome, IngestSettings, Source};
pub use broker_feed::BrokerFeed;
pub use counters::{CounterBuffer, CLEAN_BOXES, UNATTRIBUTED_FLEET};
pub use seq::SeqTracker;
pub use validate::{
    validate_status, validate_telemetry, RejectReason, Rejection, StatusMessage, TelemetryMessage,
    MAX_PAYLOAD_BYTES,
};
