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
    let (service, caller) = super::super::context::caller().await?;
    service
        .telemetry(
            &caller,
            crate::service::TelemetryQuery {
                device,
                metric,
                from,
                to,
                max_points,
            },
        )
        .await
}
