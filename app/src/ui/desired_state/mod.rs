//! The desired-state card of the box view: desired, reported and the delta, edited by operators
//! with the version they saw, reloaded live when the box reports.
mod desired_state_card;
mod shadow_rows;

pub use desired_state_card::DesiredStateCard;
pub use shadow_rows::{shadow_rows, ShadowRow};
