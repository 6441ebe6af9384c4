//! The box view, and the small pieces it shares with the fleet view.
mod device_page;
mod device_view;
mod last_seen;
mod latest_values;
pub mod metric_format;
mod presence_badge;

pub use device_page::DevicePage;
pub use device_view::DeviceView;
pub use last_seen::LastSeen;
pub use latest_values::LatestValues;
pub use presence_badge::PresenceBadge;
