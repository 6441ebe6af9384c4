//! Lambda entry point: the IoT Core custom authorizer (`boxpilot::aws::authorizer`). Deployed by
//! deploy/template.yaml as `AuthorizerFunction`.
use boxpilot::access::BrokerTokens;
use boxpilot::aws::authorizer::{denied, Authorizer, AuthorizerRequest};
use boxpilot::aws::iot_policy::{PolicyContext, PolicyOptions};
use boxpilot::aws::sdk;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sdk::init_logging();
    let config = sdk::sdk_config().await;
    let keys = Arc::new(sdk::signing_keys(&config).await?);
    let issuer = sdk::env("BOXPILOT_PUBLIC_URL")?;
    // The verifying side only: the URL handed to browsers is the API's business.
    let tokens = BrokerTokens::new(keys, &issuer, "", 15 * 60);
    let options = PolicyOptions {
        console_publish: std::env::var("BOXPILOT_CONSOLE_MQTT_PUBLISH").as_deref() == Ok("true"),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let tokens = tokens.clone();
        async move {
            let Some((partition, region, account)) =
                sdk::arn_parts(&event.context.invoked_function_arn)
            else {
                tracing::error!(arn = %event.context.invoked_function_arn, "cannot tell the account from the function ARN");
                return Ok::<_, Error>(denied());
            };
            let context = PolicyContext {
                partition,
                region,
                account,
            };
            let request: AuthorizerRequest = match serde_json::from_value(event.payload) {
                Ok(r) => r,
                Err(e) => {
                    tracing::info!(error = %e, "IoT connection refused: not an authorizer request");
                    return Ok(denied());
                }
            };
            let authorizer = Authorizer::new(tokens, context, options);
            let now = chrono::Utc::now().timestamp_millis();
            Ok(authorizer.authorize(&request, now).await)
        }
    }))
    .await
}
