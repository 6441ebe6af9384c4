//! Lambda entry point: IoT rule events (box messages, lifecycle events), one per invocation, and
//! SQS batches of the data rule's messages (answered with `batchItemFailures`) into the ingestion
//! core (`boxpilot::aws::ingest`), one CloudWatch EMF line per invocation. Deployed by
//! deploy/template.yaml as `IngestFunction`.
use boxpilot::aws::device_shadow::DeviceShadows;
use boxpilot::aws::ingest::IngestLambda;
use boxpilot::aws::sdk;
use boxpilot::clock::now_ms;
use boxpilot::store::Store;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sdk::init_logging();
    let config = sdk::sdk_config().await;
    let store: Arc<dyn Store> = Arc::new(sdk::dynamo_store(&config)?);
    let iot = sdk::iot_data_client(&config, &sdk::env("BOXPILOT_IOT_DATA_ENDPOINT")?);
    let publisher = Arc::new(sdk::IotDataPublisher::from_client(iot.clone()));
    // Reports on dt/.../shadow go to the Device Shadow service, where the API keeps desired state.
    let shadow_documents = Arc::new(DeviceShadows::new(iot));
    let stage = sdk::env("BOXPILOT_STAGE").unwrap_or_else(|_| "dev".into());
    let handler = Arc::new(IngestLambda::with_shadow_documents(
        store,
        publisher,
        shadow_documents,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (handler, stage) = (handler.clone(), stage.clone());
        async move {
            let (invocation, result) = handler.handle_event(event.payload, now_ms).await;
            match invocation.emf(&stage, now_ms()).to_log_line() {
                Ok(line) => println!("{line}"),
                Err(e) => tracing::error!(error = %e, "EMF line not rendered"),
            }
            result.map_err(Error::from)
        }
    }))
    .await
}
