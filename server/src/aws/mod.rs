//! The AWS shape's entry points (deploy/template.yaml, deploy/README.md): thin adapters between
//! Lambda events and the code `boxpilot serve` runs.
//!
//! - [`authorizer`]: the IoT Core custom authorizer (browser sessions' broker credentials) and
//!   [`iot_policy`], the embedded ACL as an IoT policy;
//! - [`rule_event`], [`presence_event`], [`sqs_event`] and [`ingest`]: IoT rule events (messages,
//!   lifecycle events), directly or in SQS batches, into the ingestion core, commands and desired
//!   state, with one EMF line each;
//! - [`api`]: the HTTP API's router over the AWS adapters.
//!
//! These modules make no AWS call and are tested without AWS (server/tests/aws_handlers.rs with
//! fixtures of the real event shapes). [`sdk`] (feature `aws`) holds what talks to AWS: the IoT
//! data-plane publisher, the signing key from Secrets Manager, the SDK configuration;
//! [`device_shadow`] (feature `aws`) keeps desired state in IoT Core's Device Shadow service. The
//! binaries are `server/src/bin/lambda-{ingest,authorizer,api}.rs`.
pub mod api;
pub mod authorizer;
#[cfg(feature = "aws")]
pub mod device_shadow;
pub mod ingest;
pub mod iot_policy;
pub mod presence_event;
pub mod rule_event;
pub mod scheduled;
#[cfg(feature = "aws")]
pub mod sdk;
pub mod sqs_event;
