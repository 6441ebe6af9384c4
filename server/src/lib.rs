//! boxpilot's server: the service layer and the adapters it runs on (ports and adapters, see
//! ARCHITECTURE.md). `main.rs` is a thin command-line entry point over this library.
pub mod access;
pub mod broker;
pub mod identity;
pub mod ingest;
pub mod store;
