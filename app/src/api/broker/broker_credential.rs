use crate::domain::{AppError, BrokerCredential};
use leptos::prelude::*;

/// A short-lived MQTT credential for this session, limited to the caller's fleets and role.
#[server(endpoint = "broker/credential")]
pub async fn issue_broker_credential() -> Result<BrokerCredential, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.broker_credential(&caller).await
        }
        .await,
    )
}
