//! Lambda entry point: the HTTP API and server functions behind API Gateway (HTTP API, payload
//! 2.0), serving the router `boxpilot serve` runs (`boxpilot::aws::api`). Deployed by
//! deploy/template.yaml as `ApiFunction`.
use boxpilot::aws::api::{api_router, ApiConfig};
use boxpilot::aws::sdk;
use boxpilot::store::Store;
use lambda_http::Error;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sdk::init_logging();
    let config = sdk::sdk_config().await;
    let dynamo = sdk::dynamo_store(&config)?;
    let store_name = format!("dynamodb table {}", dynamo.table());
    let store: Arc<dyn Store> = Arc::new(dynamo);
    let keys = Arc::new(sdk::signing_keys(&config).await?);
    let publisher = Arc::new(sdk::IotDataPublisher::new(
        &config,
        &sdk::env("BOXPILOT_IOT_DATA_ENDPOINT")?,
    ));
    let api = ApiConfig {
        public_url: sdk::env("BOXPILOT_PUBLIC_URL")?,
        broker_public_url: sdk::env("BOXPILOT_BROKER_PUBLIC_URL")?,
        store_name,
    };
    let app = api_router(&api, store, keys, publisher);
    // As `boxpilot serve` at its first start: with no user at all, `admin` is created and its
    // password logged once (deploy/README.md, "First admin").
    match app.identity.ensure_initial_admin().await {
        Ok(Some(password)) => {
            tracing::warn!(
                "no user yet: created `admin`; its one-time password is on the next line"
            );
            println!("boxpilot initial admin password: {password}");
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "initial admin not created"),
    }
    lambda_http::run(app.router).await
}
