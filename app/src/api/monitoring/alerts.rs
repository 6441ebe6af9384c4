use crate::domain::{AlertsOverview, AppError, FleetId};
use leptos::prelude::*;

/// Active and recent alerts, the rules and the kinds of rule (support and admin).
#[server(endpoint = "monitoring/alerts")]
pub async fn list_alerts(fleet: Option<FleetId>) -> Result<AlertsOverview, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.alerts(&caller, fleet).await
        }
        .await,
    )
}
