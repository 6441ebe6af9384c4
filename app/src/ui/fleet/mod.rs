//! The fleet view: every box of the user's fleets, grouped by fleet, live.
mod device_row;
mod fleet_group;
mod fleet_page;
mod fleet_picker;
mod store;

pub use device_row::DeviceRow;
pub use fleet_group::FleetGroup;
pub use fleet_page::FleetPage;
pub use fleet_picker::FleetPicker;
pub use store::{DeviceEntry, FleetStore};
