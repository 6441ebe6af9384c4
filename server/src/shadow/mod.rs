//! Desired state per box (issue 3, item 5), on the AWS IoT Device Shadow model: desired,
//! reported, delta and a version that every update must name.
mod record;
mod service;

pub use record::ShadowRecord;
pub use service::ShadowService;
