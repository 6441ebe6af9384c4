//! boxpilot's pipeline-monitoring domain: what the cloud pipeline costs, when that cost or the
//! message rate jumps, which alert rules an admin set, and how alerts fire and resolve; plus the two
//! metric exposition formats (Prometheus text, CloudWatch Embedded Metric Format).
//!
//! Pure: no I/O, no clock, no async. Callers measure, pass `now`, and persist what they need.
//! See `README.md` for the design notes (price date, detection method, projection method).

pub mod alerts;
pub mod baseline;
pub mod cost;
pub mod detect;
pub mod emf;
pub mod prices;
pub mod prometheus_text;
pub mod rules;
pub mod usage;

pub use alerts::{ActiveAlert, AlertError, AlertEvaluator, Notification, Observation};
pub use cost::{
    cost, month_containing, project_month_end, CostBreakdown, CostError, CostItem, CostLine,
    MonthEndProjection, RunRate,
};
pub use detect::{Assessment, DetectError, DetectorConfig, SpikeDetector};
pub use prices::{LambdaArchitecture, PriceError, PriceTable, Prices};
pub use rules::{AlertKind, AlertRule, RuleError, Signal};
pub use usage::{billed_message_units, MessageRoute, ReadConsistency, Usage, UsageError};
