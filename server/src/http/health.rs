//! `GET /healthz`: liveness, and readiness of each adapter.
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::sync::Arc;

/// A readiness probe of one adapter.
#[async_trait::async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<String, String>;
}

/// The store answers a cheap round trip; `.1` names it (`embedded`, `dynamodb table ...`).
pub struct StoreHealth(pub Arc<dyn crate::store::Store>, pub String);

#[async_trait::async_trait]
impl HealthCheck for StoreHealth {
    fn name(&self) -> &'static str {
        "store"
    }
    async fn check(&self) -> Result<String, String> {
        self.0
            .ping()
            .await
            .map(|_| self.1.clone())
            .map_err(|e| e.to_string())
    }
}

#[derive(Default)]
pub struct Health {
    checks: Vec<Arc<dyn HealthCheck>>,
}

impl Health {
    pub fn with(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.checks.push(check);
        self
    }
}

pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let mut adapters = serde_json::Map::new();
    let mut ready = true;
    for check in &state.health.checks {
        let entry = match check.check().await {
            Ok(detail) => serde_json::json!({ "ready": true, "detail": detail }),
            Err(error) => {
                ready = false;
                serde_json::json!({ "ready": false, "detail": error })
            }
        };
        adapters.insert(check.name().to_owned(), entry);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "live": true, "ready": ready, "adapters": adapters })),
    )
}
