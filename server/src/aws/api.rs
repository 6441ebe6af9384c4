//! The HTTP API Lambda's application: the router `boxpilot serve` runs (`http::router`), over the
//! store and the device publisher of the AWS shape, built by [`api_router`].
use crate::access::BrokerTokens;
use crate::commands::{Catalogue, CommandService};
use crate::console::{Console, Monitoring};
use crate::http::{self, AppState, Health, HealthCheck, IdentityHealth, StaticFiles, StoreHealth};
use crate::identity::{
    BuiltinIdentity, BuiltinSettings, IdentityProvider, SigningKeys, UserDirectory,
};
use crate::ingest::{IngestCore, IngestSettings};
use crate::monitoring::{AlertService, CostModel, MonitoringSettings};
use crate::outbound::DevicePublisher;
use crate::rollouts::RolloutService;
use crate::shadow::{ShadowDocuments, ShadowService, StoreShadows};
use crate::store::Store;
use std::sync::Arc;

/// What the API Lambda is configured with (environment variables, `deploy/template.yaml`).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `BOXPILOT_PUBLIC_URL`: where people reach the console (CloudFront); the token issuer.
    pub public_url: String,
    /// `BOXPILOT_BROKER_PUBLIC_URL`: the IoT Core WebSocket URL with the authorizer's name.
    pub broker_public_url: String,
    /// Names the store in `/healthz`.
    pub store_name: String,
}

/// The API Lambda's application.
pub struct ApiApp {
    /// `http::router` plus a layer that flushes the buffered usage counters after each request
    /// (a frozen Lambda instance runs no background flush).
    pub router: axum::Router,
    pub ingest: Arc<IngestCore>,
    /// The built-in identity provider, when people sign in with it rather than with Cognito.
    pub builtin_identity: Option<Arc<BuiltinIdentity>>,
}

/// The application with desired state in the store (tests; the embedded shape).
pub fn api_router(
    config: &ApiConfig,
    store: Arc<dyn Store>,
    keys: Arc<SigningKeys>,
    publisher: Arc<dyn DevicePublisher>,
) -> ApiApp {
    let shadow_documents = Arc::new(StoreShadows(store.clone()));
    api_router_on(config, store, keys, publisher, shadow_documents, None, None)
}

/// People signing in with a Cognito pool (the deployed shape).
pub struct CognitoSignIn {
    pub provider: Arc<dyn IdentityProvider>,
    pub users: Arc<dyn UserDirectory>,
    /// What `/healthz` calls it (`Cognito pool eu-west-1_abc`).
    pub description: String,
    /// The pool's signing keys, fetched by each `/healthz` (not ready without them).
    pub jwks_url: String,
}

/// The application with desired state kept by `shadow_documents` (the Device Shadow service on
/// AWS), if given a `/healthz` check of the broker (IoT Core's data plane), and people signing
/// in with `cognito` (the deployed shape) or else the built-in provider over the store.
pub fn api_router_on(
    config: &ApiConfig,
    store: Arc<dyn Store>,
    keys: Arc<SigningKeys>,
    publisher: Arc<dyn DevicePublisher>,
    shadow_documents: Arc<dyn ShadowDocuments>,
    broker_health: Option<Arc<dyn HealthCheck>>,
    cognito: Option<CognitoSignIn>,
) -> ApiApp {
    let (identity, users, builtin_identity, identity_health): (
        Arc<dyn IdentityProvider>,
        Arc<dyn UserDirectory>,
        _,
        _,
    ) = match cognito {
        Some(c) => (
            c.provider,
            c.users,
            None,
            IdentityHealth {
                description: c.description,
                jwks_url: Some(c.jwks_url),
            },
        ),
        None => {
            let builtin = Arc::new(BuiltinIdentity::new(
                store.clone(),
                keys.clone(),
                BuiltinSettings::new(config.public_url.clone()),
            ));
            let health = IdentityHealth {
                description: "built-in".into(),
                jwks_url: None,
            };
            (builtin.clone(), builtin.clone(), Some(builtin), health)
        }
    };
    let ingest = IngestCore::start(store.clone(), IngestSettings::default());
    let commands = CommandService::new(store.clone(), Catalogue::builtin());
    commands.set_publisher(publisher.clone());
    let rollouts = RolloutService::new(store.clone(), commands.clone());
    let shadows = ShadowService::with_documents(store.clone(), shadow_documents);
    shadows.set_publisher(publisher);
    let tokens = BrokerTokens::new(
        keys.clone(),
        &config.public_url,
        &config.broker_public_url,
        15 * 60,
    );
    let monitoring = MonitoringSettings::default();
    let costs = Arc::new(CostModel::from_settings(&monitoring));
    let alerts = AlertService::new(store.clone(), costs.clone(), monitoring, Vec::new());
    let console = Arc::new(
        Console::new(
            store.clone(),
            identity.clone(),
            tokens,
            commands.clone(),
            rollouts,
            shadows,
            Monitoring {
                usage: ingest.clone(),
                costs,
                alerts,
            },
        )
        .with_users(users),
    );
    let mut health = Health::default()
        .with(Arc::new(StoreHealth(
            store.clone(),
            config.store_name.clone(),
        )))
        .with(Arc::new(identity_health));
    if let Some(check) = broker_health {
        health = health.with(check);
    }
    let state = AppState {
        console,
        ingest: ingest.clone(),
        commands,
        jwks: Arc::new(keys.jwks()),
        health: Arc::new(health),
    };
    // The console's files are on S3 behind CloudFront; only API paths reach this function.
    let router = http::router(state, StaticFiles::new("/nonexistent/boxpilot-console"));
    let flushing = ingest.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let ingest = flushing.clone();
            async move {
                let response = next.run(request).await;
                if let Err(e) = ingest.flush().await {
                    tracing::error!(error = %e, "usage counters not flushed");
                }
                response
            }
        },
    ));
    ApiApp {
        router,
        ingest,
        builtin_identity,
    }
}
