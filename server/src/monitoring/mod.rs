//! Pipeline monitoring, cost and alerts (issue 5), on the pure domain of the `monitor` crate:
//! this module measures (the ingestion counters), reads the store, runs the alert loop and
//! delivers notifications.
mod alerting;
mod costs;
mod health;
mod metrics;
mod notify;
mod rule_kinds;
mod sampler;
mod settings;
#[cfg(feature = "aws")]
mod sns;

pub use alerting::AlertService;
pub use costs::{usage_from_counts, CostModel};
pub use health::pipeline_health;
pub use metrics::render_metrics;
pub use notify::{Notifier, WebhookNotifier};
pub use rule_kinds::rule_kinds;
pub use sampler::ConnectionSampler;
pub use settings::{CostAssumptions, MonitoringSettings, SnsTarget};
#[cfg(feature = "aws")]
pub use sns::SnsNotifier;

/// An alert as stored: the view the API shows, keyed by (fired_at, rule, subject).
pub use app::domain::AlertView as AlertRecord;

/// Usage that no fleet owns (API requests of the console) is counted under this fleet id.
pub const CONSOLE_FLEET: &str = "_console";
