use crate::domain::AppError;
use leptos::prelude::*;

/// Deletes an alert rule (admins); alerts it was firing resolve.
#[server(endpoint = "monitoring/delete-rule")]
pub async fn delete_alert_rule(id: String) -> Result<(), AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.delete_alert_rule(&caller, &id).await
        }
        .await,
    )
}
