//! boxpilot's server: the service layer and the adapters it runs on (ports and adapters, see
//! ARCHITECTURE.md). `main.rs` is a thin command-line entry point over this library.
pub mod access;
pub mod aws;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod console;
pub mod downsample;
pub mod http;
pub mod identity;
pub mod ingest;
pub mod monitoring;
pub mod outbound;
pub mod rollouts;
pub mod runtime;
pub mod shadow;
pub mod simulator;
pub mod store;
pub mod testing;
