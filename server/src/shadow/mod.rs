//! Desired state per box (issue 3, item 5), on the AWS IoT Device Shadow model: desired,
//! reported, delta and a version that every update must name. The documents are kept by a
//! [`ShadowDocuments`] keeper: the store, or IoT Core's Device Shadow service (`--broker iot`).
mod documents;
mod record;
mod service;

pub use documents::{ShadowDocuments, StoreShadows};
pub use record::ShadowRecord;
pub use service::ShadowService;
