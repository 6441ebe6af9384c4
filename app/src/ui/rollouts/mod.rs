//! `/rollouts`: bulk commands to a fleet or a set of its boxes, with live progress and cancel.
mod rollout_form;
mod rollout_row;
mod rollouts_page;
mod target_choice;

pub use rollout_form::RolloutForm;
pub use rollout_row::RolloutRow;
pub use rollouts_page::RolloutsPage;
pub use target_choice::TargetChoice;
