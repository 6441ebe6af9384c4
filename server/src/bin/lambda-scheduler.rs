//! Lambda entry point: the scheduled work (EventBridge, every minute; `boxpilot::aws::scheduled`):
//! command expiry, rollout steps, alert rules. Deployed by deploy/template.yaml as
//! `SchedulerFunction`, with at most one instance at a time.
use boxpilot::aws::scheduled::ScheduledWork;
use boxpilot::aws::sdk;
use boxpilot::clock::now_ms;
use boxpilot::monitoring::{MonitoringSettings, Notifier, SnsNotifier};
use boxpilot::store::Store;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;
use std::time::Duration;

/// Time kept free at the end of an invocation for the alert rules and the answer.
const MARGIN: Duration = Duration::from_secs(10);
/// Rollouts are stepped for at most this long per run (the schedule is one minute).
const MAX_ROLLOUT_BUDGET: Duration = Duration::from_secs(45);

#[tokio::main]
async fn main() -> Result<(), Error> {
    sdk::init_logging();
    let config = sdk::sdk_config().await;
    let store: Arc<dyn Store> = Arc::new(sdk::dynamo_store(&config)?);
    let iot = sdk::iot_data_client(&config, &sdk::env("BOXPILOT_IOT_DATA_ENDPOINT")?);
    let publisher = Arc::new(sdk::IotDataPublisher::from_client(iot));
    let mut notifiers: Vec<Arc<dyn Notifier>> = Vec::new();
    if let Ok(topic) = sdk::env("BOXPILOT_ALERT_TOPIC_ARN") {
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        notifiers.push(Arc::new(SnsNotifier::connect(topic, &region, None).await));
    }
    let work = Arc::new(ScheduledWork::new(
        store,
        publisher,
        MonitoringSettings::default(),
        notifiers,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let work = work.clone();
        async move {
            let left = event
                .context
                .deadline()
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            let budget = left.saturating_sub(MARGIN).min(MAX_ROLLOUT_BUDGET);
            let report = work.run(now_ms, budget).await;
            tracing::info!(?report, "scheduled work done");
            Ok::<_, Error>(serde_json::to_value(&report)?)
        }
    }))
    .await
}
