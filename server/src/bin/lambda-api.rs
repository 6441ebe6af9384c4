//! Lambda entry point: the HTTP API and server functions behind API Gateway (HTTP API, payload
//! 2.0), serving the router `boxpilot serve` runs (`boxpilot::aws::api`). Deployed by
//! deploy/template.yaml as `ApiFunction`.
use boxpilot::aws::api::{api_router_on, ApiConfig, CognitoSignIn};
use boxpilot::aws::device_shadow::{DeviceShadows, IotCoreHealth};
use boxpilot::aws::sdk;
use boxpilot::identity::{CognitoIdentity, CognitoSettings};
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
    // Commands and desired state through IoT Core's data plane; desired state in the Device
    // Shadow service (named shadow `boxpilot` of the box's thing).
    let iot_endpoint = sdk::env("BOXPILOT_IOT_DATA_ENDPOINT")?;
    let iot = sdk::iot_data_client(&config, &iot_endpoint);
    let publisher = Arc::new(sdk::IotDataPublisher::from_client(iot.clone()));
    let shadow_documents = Arc::new(DeviceShadows::new(iot.clone()));
    let broker_health = Arc::new(IotCoreHealth {
        client: iot,
        endpoint: iot_endpoint,
    });
    let api = ApiConfig {
        public_url: sdk::env("BOXPILOT_PUBLIC_URL")?,
        broker_public_url: sdk::env("BOXPILOT_BROKER_PUBLIC_URL")?,
        store_name,
    };
    // People sign in with the stage's Cognito pool (the template sets both variables); without
    // them, with the built-in provider over the table.
    let cognito: Option<CognitoSignIn> = match (
        sdk::env("BOXPILOT_COGNITO_USER_POOL_ID"),
        sdk::env("BOXPILOT_COGNITO_CLIENT_ID"),
    ) {
        (Ok(user_pool_id), Ok(client_id)) => {
            let region = config
                .region()
                .map(|r| r.to_string())
                .ok_or("the Lambda has no AWS region")?;
            let settings = CognitoSettings {
                user_pool_id,
                client_id,
                client_secret: sdk::env("BOXPILOT_COGNITO_CLIENT_SECRET").ok(),
                region,
                endpoint: None,
            };
            let (description, jwks_url) = (
                format!("Cognito pool {}", settings.user_pool_id),
                settings.jwks_url(),
            );
            let cognito = Arc::new(CognitoIdentity::from_sdk_config(&config, settings));
            Some(CognitoSignIn {
                provider: cognito.clone(),
                users: cognito,
                description,
                jwks_url,
            })
        }
        _ => None,
    };
    let app = api_router_on(
        &api,
        store,
        keys,
        publisher,
        shadow_documents,
        Some(broker_health),
        cognito,
    );
    // With the built-in provider, as `boxpilot serve` at its first start: with no user at all,
    // `admin` is created and its password logged once (deploy/README.md, "First admin").
    if let Some(builtin) = &app.builtin_identity {
        match builtin.ensure_initial_admin().await {
            Ok(Some(password)) => {
                tracing::warn!(
                    "no user yet: created `admin`; its one-time password is on the next line"
                );
                println!("boxpilot initial admin password: {password}");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "initial admin not created"),
        }
    }
    lambda_http::run(app.router).await
}
