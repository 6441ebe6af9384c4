use crate::domain::{AppError, DeadLetter, FleetId};
use leptos::prelude::*;

/// Rejected messages with their reason and a payload preview, newest first (support and admin).
#[server(endpoint = "monitoring/dead-letters")]
pub async fn list_dead_letters(
    fleet: Option<FleetId>,
    limit: usize,
) -> Result<Vec<DeadLetter>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.dead_letters(&caller, fleet, limit).await
        }
        .await,
    )
}
