//! boxpilot console: the shared domain types, the server functions and (with `csr`) the UI.
//!
//! The crate is compiled twice: to wasm32 with `csr` by trunk (the browser bundle), and natively
//! with `ssr` by the server, which links the server-function bodies and the service trait they call.
pub mod api;
pub mod domain;
pub mod mqtt_codec;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "csr")]
pub mod ui;
