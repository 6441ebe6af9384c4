mod get_device;
mod list_devices;
mod telemetry;

pub use get_device::*;
pub use list_devices::*;
pub use telemetry::*;
