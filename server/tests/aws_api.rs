//! The HTTP API Lambda: API Gateway HTTP API (payload 2.0) events, as lambda_http turns them
//! into requests, served by the router `boxpilot serve` runs (`boxpilot::aws::api`). The store is
//! the embedded one; the IoT data plane a recording publisher. Feature `aws` (lambda_http).
#![cfg(feature = "aws")]
use boxpilot::aws::api::{api_router, ApiConfig};
use boxpilot::aws::sdk::keys_from_pem;
use boxpilot::identity::SigningKeys;
use boxpilot::outbound::DevicePublisher;
use boxpilot::store::{EmbeddedStore, Store};
use std::sync::Arc;
use tower::ServiceExt;

struct Nowhere;

#[async_trait::async_trait]
impl DevicePublisher for Nowhere {
    async fn publish(&self, _topic: &str, _payload: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn body_json(response: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
}

#[tokio::test]
async fn api_gateway_events_reach_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let keys = Arc::new(SigningKeys::load_or_create(dir.path()).unwrap());
    let config = ApiConfig {
        public_url: "https://d111111abcdef8.cloudfront.net".into(),
        broker_public_url: "wss://a1b2c3-ats.iot.eu-west-1.amazonaws.com/mqtt?x-amz-customauthorizer-name=boxpilot-dev-console".into(),
        store_name: "embedded (test)".into(),
    };
    let app = api_router(&config, store.clone(), keys, Arc::new(Nowhere));
    assert!(app
        .builtin_identity
        .as_ref()
        .expect("the built-in provider without Cognito")
        .ensure_initial_admin()
        .await
        .unwrap()
        .is_some());

    let request = lambda_http::request::from_str(&fixture("apigw-http-v2-healthz.json")).unwrap();
    assert_eq!(request.uri().path(), "/healthz");
    let response = app
        .router
        .clone()
        .oneshot(request.map(axum::body::Body::new))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let health = body_json(response).await;
    assert!(health.to_string().contains("embedded (test)"), "{health}");
    assert_eq!(
        health["adapters"]["identity"]["detail"], "built-in",
        "{health}"
    );

    // A base64 body (as API Gateway sends binary or JSON bodies) is decoded: a wrong password
    // is a 401 from the service layer, not a 400 about the body.
    let request = lambda_http::request::from_str(&fixture("apigw-http-v2-login.json")).unwrap();
    assert_eq!(request.method(), "POST");
    let response = app
        .router
        .clone()
        .oneshot(request.map(axum::body::Body::new))
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "{:?}", body_json(response).await);

    // The API counts its requests (cost model) and the layer flushed them to the store.
    let console = app_fleet_counts(&store).await;
    assert!(console >= 1, "API requests counted: {console}");
}

async fn app_fleet_counts(store: &Arc<dyn Store>) -> u64 {
    let now = chrono::Utc::now().timestamp_millis();
    let fleet = app::domain::FleetId::parse("_console").unwrap();
    store
        .counters(&fleet, now - 120_000, now + 120_000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.counts.api_requests)
        .sum()
}

#[test]
fn the_signing_key_loads_from_a_pem() {
    let dir = tempfile::tempdir().unwrap();
    let err = keys_from_pem("not a key", dir.path()).err().unwrap();
    assert!(err.contains("PKCS#8"));
    let made = tempfile::tempdir().unwrap();
    SigningKeys::load_or_create(made.path()).unwrap();
    let pem = std::fs::read_to_string(made.path().join("identity-signing-key.pem")).unwrap();
    let from_secret = keys_from_pem(&pem, &dir.path().join("k")).unwrap();
    let original = SigningKeys::load_or_create(made.path()).unwrap();
    assert_eq!(from_secret.kid(), original.kid());
}
