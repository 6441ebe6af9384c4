use crate::domain::{AppError, FleetId, HealthWindow, PipelineHealth};
use leptos::prelude::*;

/// Pipeline health of a fleet: received, accepted, rejected by reason, duplicates, lost,
/// latency, dropped; boxes ranked by loss (support and admin).
#[server(endpoint = "monitoring/pipeline")]
pub async fn get_pipeline_health(
    fleet: FleetId,
    window: HealthWindow,
) -> Result<PipelineHealth, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.pipeline_health(&caller, &fleet, window).await
        }
        .await,
    )
}
