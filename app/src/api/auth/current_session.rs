use crate::domain::{AppError, SessionInfo};
use leptos::prelude::*;

/// The logged-in user, or `None` when there is no valid session.
#[server(endpoint = "auth/session")]
pub async fn current_session() -> Result<Option<SessionInfo>, AppError> {
    use super::super::context;
    context::with_status(match context::caller().await {
        Ok((_, caller)) => Ok(Some(caller.info())),
        Err(AppError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    })
}
