use crate::domain::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Creates or replaces an alert rule (admins): `{"id", "fleet", "enabled", "kind", ...fields}`.
#[server(endpoint = "monitoring/save-rule", input = Json)]
pub async fn save_alert_rule(rule: serde_json::Value) -> Result<serde_json::Value, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.save_alert_rule(&caller, rule).await
        }
        .await,
    )
}
