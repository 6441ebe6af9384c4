//! Types shared by the browser and the server: they derive serde on both sides.
mod command;
mod device;
mod error;
mod ids;
mod role;
mod session;
mod telemetry;
pub mod topics;

pub use command::{
    AuditEntry, AuditQuery, CatalogueCommand, CommandCatalogue, CommandParam, CommandState,
    CommandStateChange, CommandView, ParamType,
};
pub use device::{DeviceSummary, Presence};
pub use error::AppError;
pub use ids::{DeviceId, FleetId, IdError};
pub use role::Role;
pub use session::{BrokerCredential, SessionInfo};
pub use telemetry::{MetricValue, Series, SeriesPoint, TimeRange};
