//! What monitoring is configured with: how often alerts are evaluated, where notifications go,
//! the price table and what the cost model assumes.
use monitor::prices::PriceTable;
use std::time::Duration;

/// What the cost model assumes about the AWS shape (ARCHITECTURE.md): every message goes through
/// IoT Core to one rule whose action invokes the ingestion Lambda, which writes to DynamoDB.
#[derive(Debug, Clone, PartialEq)]
pub struct CostAssumptions {
    /// Messages published to `$aws/rules/...` (no messaging charge) instead of the broker.
    pub basic_ingest: bool,
    pub lambda_memory_mb: u32,
    /// Billed duration of one ingestion invocation (one batch).
    pub lambda_ms: u64,
    /// Messages per ingestion invocation: the data rule sends each message to an SQS queue and
    /// the function takes them in batches (deploy/template.yaml: up to 100 within 1 s).
    pub messages_per_batch: u64,
}

impl Default for CostAssumptions {
    fn default() -> Self {
        Self {
            basic_ingest: false,
            lambda_memory_mb: 128,
            lambda_ms: 30,
            messages_per_batch: 10,
        }
    }
}

impl CostAssumptions {
    pub fn describe(&self) -> Vec<String> {
        vec![
            if self.basic_ingest {
                "Messages reach the rule through IoT Core Basic Ingest (no messaging charge).".into()
            } else {
                "Messages go through the IoT Core broker to one rule with one action.".into()
            },
            format!(
                "The rule sends each message to an SQS queue; the ingestion Lambda takes {} at a time ({} MB, {} ms billed per batch, arm64).",
                self.messages_per_batch, self.lambda_memory_mb, self.lambda_ms
            ),
            "DynamoDB on-demand: each stored reading's item, its hourly aggregates (read and written back) and the box's latest values with their index copy, as if alone in its batch; reads from the telemetry the console charts.".into(),
            "Free tiers are left out, except Cognito's; first volume tier prices.".into(),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct MonitoringSettings {
    /// How often alert rules are evaluated (a minute in production; shorter in tests).
    pub evaluate_every: Duration,
    /// Alert notifications are POSTed as JSON to each of these URLs.
    pub webhooks: Vec<String>,
    /// Tries per webhook notification, and the first wait between tries (doubled each time).
    pub webhook_attempts: u32,
    pub webhook_backoff: Duration,
    pub webhook_timeout: Duration,
    pub prices: PriceTable,
    pub assumptions: CostAssumptions,
    /// Alert notifications are also published to this SNS topic (needs the `aws` feature).
    pub sns: Option<SnsTarget>,
}

/// An SNS topic for alert notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsTarget {
    pub topic_arn: String,
    pub region: String,
    /// An SNS-compatible endpoint (moto), else the region's.
    pub endpoint: Option<String>,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            evaluate_every: Duration::from_secs(60),
            webhooks: Vec::new(),
            webhook_attempts: 5,
            webhook_backoff: Duration::from_secs(1),
            webhook_timeout: Duration::from_secs(5),
            prices: PriceTable::aws_us_east_1(),
            assumptions: CostAssumptions::default(),
            sns: None,
        }
    }
}
