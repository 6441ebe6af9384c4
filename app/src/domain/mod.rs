//! Types shared by the browser and the server: they derive serde on both sides.
mod command;
mod device;
mod error;
mod ids;
mod monitoring;
mod role;
mod rollout;
mod session;
mod shadow;
mod sign_in;
mod telemetry;
pub mod topics;
mod user_admin;

pub use command::{
    params_text, AuditEntry, AuditQuery, CatalogueCommand, CommandCatalogue, CommandParam,
    CommandState, CommandStateChange, CommandView, ParamType,
};
pub use device::{DeviceSummary, Presence};
pub use error::AppError;
pub use ids::{DeviceId, FleetId, IdError};
pub use monitoring::{
    AlertView, AlertsOverview, BoxHealth, CostLineView, CostPeriod, CostPoint, CostReport,
    DeadLetter, DeliveryView, HealthWindow, MonthProjection, PipelineCounts, PipelineHealth,
    RuleFieldSpec, RuleKindSpec,
};
pub use role::Role;
pub use rollout::{
    AbortRule, RolloutProgress, RolloutRequest, RolloutStatus, RolloutTarget, RolloutView,
    MAX_ROLLOUT_RATE_PER_MINUTE, MAX_ROLLOUT_TARGETS,
};
pub use session::{BrokerCredential, SessionInfo};
pub use shadow::{
    apply_patch, delta, parse_typed_value, ShadowDelta, ShadowDoc, ShadowReport, ShadowUpdate,
    ShadowView, MAX_SHADOW_KEYS, MAX_SHADOW_TEXT,
};
pub use sign_in::{
    check_totp_code, AccountSecurity, ChallengeKind, SignInChallenge, SignInStep, TotpSetup,
};
pub use telemetry::{MetricValue, Series, SeriesPoint, TimeRange};
pub use user_admin::{parse_groups, CreatedUser, UserView};
