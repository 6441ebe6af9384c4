use crate::domain::{AppError, FleetId, RolloutView};
use leptos::prelude::*;

/// The rollouts of a fleet, newest first.
#[server(endpoint = "rollouts/list")]
pub async fn list_rollouts(
    fleet: FleetId,
    limit: Option<usize>,
) -> Result<Vec<RolloutView>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.list_rollouts(&caller, &fleet, limit).await
        }
        .await,
    )
}
