use crate::domain::{AppError, DeviceId, Series};
use leptos::prelude::*;

/// A series of one metric, downsampled on the server to at most `max_points` points.
#[server(endpoint = "devices/telemetry")]
pub async fn device_telemetry(
    device: DeviceId,
    metric: String,
    from: i64,
    to: i64,
    max_points: usize,
) -> Result<Series, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            let query = crate::service::TelemetryQuery {
                device,
                metric,
                from,
                to,
                max_points,
            };
            service.telemetry(&caller, query).await
        }
        .await,
    )
}
