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

/// The identity provider: the built-in one is always there (it lives in the store); a remote one
/// (Cognito) must serve its signing keys, without which no token can be checked.
pub struct IdentityHealth {
    pub description: String,
    /// The provider's JWKS URL, fetched by each check; `None` for the built-in provider.
    pub jwks_url: Option<String>,
}

#[async_trait::async_trait]
impl HealthCheck for IdentityHealth {
    fn name(&self) -> &'static str {
        "identity"
    }
    async fn check(&self) -> Result<String, String> {
        let Some(url) = &self.jwks_url else {
            return Ok(self.description.clone());
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string())?;
        match client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            Ok(_) => Ok(format!("{}, signing keys served", self.description)),
            Err(e) => Err(format!(
                "{}: signing keys not reachable at {url}: {e}",
                self.description
            )),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_remote_identity_provider_without_its_keys_is_not_ready() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let down = IdentityHealth {
            description: "Cognito pool x".into(),
            jwks_url: Some(format!("http://127.0.0.1:{port}/x/.well-known/jwks.json")),
        };
        let error = down.check().await.unwrap_err();
        assert!(error.contains("signing keys not reachable"), "{error}");
        let builtin = IdentityHealth {
            description: "built-in".into(),
            jwks_url: None,
        };
        assert_eq!(builtin.check().await, Ok("built-in".into()));
    }
}
