use crate::domain::{AppError, AuditEntry, AuditQuery};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The audit trail of commands, newest first: who sent what to which box, when, with what outcome.
/// The same rules as `GET /api/v1/audit/commands` (any role, own fleets only).
#[server(endpoint = "commands/audit", input = Json)]
pub async fn command_audit(query: AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.command_audit(&caller, query).await
        }
        .await,
    )
}
