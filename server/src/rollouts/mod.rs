//! Bulk commands (issue 3, item 4): one command to a fleet or a filtered set of its boxes, at a
//! rate, with an abort rule, live progress and cancel, on the model of AWS IoT Jobs. Each box's
//! command goes through the command service like any other, so the lifecycle and the audit are
//! the same.
mod record;
mod service;

pub use record::RolloutRecord;
pub use service::{RolloutService, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, STEP_EVERY};
