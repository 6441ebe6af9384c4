//! Types shared by the browser and the server: they derive serde on both sides.
mod device;
mod error;
mod ids;
mod role;
mod session;
mod telemetry;
pub mod topics;

pub use device::{DeviceSummary, Presence};
pub use error::AppError;
pub use ids::{DeviceId, FleetId, IdError};
pub use role::Role;
pub use session::{BrokerCredential, SessionInfo};
pub use telemetry::{MetricValue, Series, SeriesPoint, TimeRange};
