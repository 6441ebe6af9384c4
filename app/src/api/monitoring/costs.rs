use crate::domain::{AppError, CostPeriod, CostReport, FleetId};
use leptos::prelude::*;

/// What a fleet would cost on AWS over the last hour, day or the month so far, with the
/// month-end projection (support and admin).
#[server(endpoint = "monitoring/costs")]
pub async fn fleet_costs(fleet: FleetId, period: CostPeriod) -> Result<CostReport, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.costs(&caller, &fleet, period).await
        }
        .await,
    )
}
