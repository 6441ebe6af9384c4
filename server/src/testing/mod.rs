//! Support for tests that need outside services (like `store::conformance`, shipped in the crate
//! so that every test crate uses the same one).
#[cfg(feature = "aws")]
pub mod cognito_local;
#[cfg(feature = "aws")]
mod local_service;
#[cfg(feature = "aws")]
pub mod moto;
