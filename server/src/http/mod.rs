//! The HTTP face of `boxpilot serve`: the v1 REST API, the server functions, health, JWKS, the
//! OpenAPI document and the console's static files.
mod caller;
mod csrf;
mod error;
mod extract;
mod health;
mod openapi;
mod routes_auth;
mod routes_commands;
mod routes_devices;
mod routes_ingest;
mod routes_monitoring;
mod routes_rollouts;
mod routes_shadow;
mod server_fns;
mod static_files;

pub use error::ApiError;
pub use health::{Health, HealthCheck, IdentityHealth, StoreHealth};
pub use static_files::StaticFiles;

use crate::console::Console;
use crate::ingest::IngestCore;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub console: Arc<Console>,
    pub ingest: Arc<IngestCore>,
    pub commands: Arc<crate::commands::CommandService>,
    pub jwks: Arc<serde_json::Value>,
    pub health: Arc<Health>,
}

/// Counts API calls (REST and server functions) for the cost model (API Gateway requests).
async fn count_api_requests(
    axum::extract::State(s): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.uri().path().starts_with("/api/") {
        s.console.count_api_request();
    }
    next.run(request).await
}

/// Request bodies are refused above this size (the ingest payload limit plus room for JSON).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState, static_files: StaticFiles) -> Router {
    let v1 = Router::new()
        .merge(routes_auth::routes())
        .merge(routes_devices::routes())
        .merge(routes_commands::routes())
        .merge(routes_ingest::routes())
        .merge(routes_monitoring::routes())
        .merge(routes_rollouts::routes())
        .merge(routes_shadow::routes())
        .fallback(|| async {
            ApiError(app::domain::AppError::NotFound("no such API route".into()))
        });
    Router::new()
        .route("/healthz", get(health::healthz))
        .route(
            "/.well-known/jwks.json",
            get(
                |axum::extract::State(s): axum::extract::State<AppState>| async move {
                    axum::Json((*s.jwks).clone())
                },
            ),
        )
        .route("/api/openapi.json", get(openapi::openapi))
        .route("/metrics", get(routes_monitoring::metrics))
        .nest("/api/v1", v1)
        .merge(server_fns::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_api_requests,
        ))
        .layer(axum::middleware::from_fn(csrf::refuse_cross_site))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // API answers (a 1,000-point series is ~44 KB of JSON) go compressed to clients that accept it;
        // the console's files are precompressed instead.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .br(true)
                .gzip(true),
        )
        .with_state(state)
        .merge(static_files.router())
}
