use super::{shutdown_signal, DataDir};
use crate::monitoring::{CostAssumptions, MonitoringSettings, SnsTarget};
use crate::runtime::{self, BrokerChoice, Running, ServeConfig, StoreChoice};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub identity: super::identity_args::IdentityArgs,
    /// HTTP address of the console and API.
    #[arg(long, env = "BOXPILOT_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// MQTT (TCP) address of the embedded broker.
    #[arg(long, env = "BOXPILOT_MQTT", default_value = "127.0.0.1:1883")]
    pub mqtt: SocketAddr,
    /// MQTT over WebSocket address (path /mqtt, subprotocol mqtt).
    #[arg(long, env = "BOXPILOT_MQTT_WS", default_value = "127.0.0.1:8083")]
    pub mqtt_ws: SocketAddr,
    /// The console's built files (trunk's output).
    #[arg(long, env = "BOXPILOT_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// The URL people reach the console at; the issuer of tokens. Default: http://<--http>.
    #[arg(long, env = "BOXPILOT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The MQTT-over-WebSocket URL browsers connect to. Default: ws://<--mqtt-ws>/mqtt.
    #[arg(long, env = "BOXPILOT_BROKER_PUBLIC_URL")]
    pub broker_public_url: Option<String>,
    /// A command catalogue (JSON) replacing the built-in one of the coldbox model.
    #[arg(long, env = "BOXPILOT_COMMAND_CATALOGUE")]
    pub command_catalogue: Option<PathBuf>,
    /// Alert notifications are POSTed as JSON to this URL (repeat the flag for several; the
    /// environment variable takes a comma-separated list).
    #[arg(
        long = "alert-webhook",
        env = "BOXPILOT_ALERT_WEBHOOK",
        value_delimiter = ','
    )]
    pub alert_webhooks: Vec<String>,
    /// Seconds between two evaluations of the alert rules.
    #[arg(long, env = "BOXPILOT_ALERT_EVERY", default_value_t = 60)]
    pub alert_every: u64,
    /// A JSON file overriding entries of the price table (region, any price): see
    /// monitor/prices/aws-us-east-1.json for the names.
    #[arg(long, env = "BOXPILOT_PRICES")]
    pub prices: Option<PathBuf>,
    /// Model messages as sent through IoT Core Basic Ingest (no messaging charge).
    #[arg(long, env = "BOXPILOT_BASIC_INGEST")]
    pub basic_ingest: bool,
    /// Messages per ingestion batch the cost model assumes (SQS to the ingestion function; the
    /// template batches up to 100 within 1 s, so a quiet fleet has smaller batches).
    #[arg(long, env = "BOXPILOT_INGEST_BATCH", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub ingest_batch: u64,
    /// Where data is kept: `embedded` (a file in --data-dir) or `dynamodb` (needs a build with
    /// `--features aws`).
    #[arg(long, env = "BOXPILOT_STORE", default_value = "embedded", value_parser = ["embedded", "dynamodb"])]
    pub store: String,
    /// The DynamoDB table (with --store dynamodb).
    #[arg(long, env = "BOXPILOT_DYNAMODB_TABLE", default_value = "boxpilot")]
    pub dynamodb_table: String,
    /// A DynamoDB-compatible endpoint (DynamoDB Local, ScyllaDB Alternator, moto); the table is
    /// created there if missing. Default: the region's DynamoDB.
    #[arg(long, env = "BOXPILOT_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub aws_region: String,
    /// Alert notifications are also published to this SNS topic (a build with `--features aws`).
    #[arg(long, env = "BOXPILOT_ALERT_SNS_TOPIC")]
    pub alert_sns_topic: Option<String>,
    /// An SNS-compatible endpoint for --alert-sns-topic (moto); default: the region's SNS.
    #[arg(long, env = "BOXPILOT_SNS_ENDPOINT")]
    pub sns_endpoint: Option<String>,
    /// How boxes are reached: `embedded` (the MQTT broker of this process) or `iot` (AWS IoT
    /// Core: publish through its data plane at --iot-data-endpoint, desired state in its Device
    /// Shadow service, browsers at --broker-public-url; a build with `--features aws`).
    #[arg(long, env = "BOXPILOT_BROKER", default_value = "embedded", value_parser = ["embedded", "iot"])]
    pub broker: String,
    /// IoT Core's data endpoint with --broker iot (`aws iot describe-endpoint --endpoint-type
    /// iot:Data-ATS`), or a local http:// endpoint (moto).
    #[arg(long, env = "BOXPILOT_IOT_DATA_ENDPOINT")]
    pub iot_data_endpoint: Option<String>,
}

impl ServeArgs {
    /// Monitoring settings from the flags; a bad webhook URL or price file is a clear error.
    pub fn monitoring(&self) -> Result<MonitoringSettings, String> {
        for url in &self.alert_webhooks {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "--alert-webhook {url:?}: an http:// or https:// URL"
                ));
            }
        }
        if !(1..=3600).contains(&self.alert_every) {
            return Err("--alert-every: 1 to 3600 seconds".into());
        }
        let defaults = MonitoringSettings::default();
        let prices = match &self.prices {
            None => defaults.prices.clone(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--prices {}: {e}", path.display()))?;
                defaults
                    .prices
                    .with_overrides(&text)
                    .map_err(|e| format!("--prices {}: {e}", path.display()))?
            }
        };
        Ok(MonitoringSettings {
            evaluate_every: std::time::Duration::from_secs(self.alert_every),
            webhooks: self.alert_webhooks.clone(),
            prices,
            assumptions: CostAssumptions {
                basic_ingest: self.basic_ingest,
                messages_per_batch: self.ingest_batch,
                ..CostAssumptions::default()
            },
            sns: match &self.alert_sns_topic {
                Some(arn) if !arn.starts_with("arn:") => {
                    return Err(format!(
                        "--alert-sns-topic {arn:?}: an SNS topic ARN (arn:aws:sns:...)"
                    ))
                }
                Some(arn) => Some(SnsTarget {
                    topic_arn: arn.clone(),
                    region: self.aws_region.clone(),
                    endpoint: self.sns_endpoint.clone(),
                }),
                None => None,
            },
            ..defaults
        })
    }

    /// The broker from the flags; `--broker iot` needs its endpoint and the browsers' URL.
    pub fn broker_choice(&self) -> Result<BrokerChoice, String> {
        if self.broker != "iot" {
            return Ok(BrokerChoice::Embedded);
        }
        let data_endpoint = self.iot_data_endpoint.clone().ok_or(
            "--broker iot needs --iot-data-endpoint (aws iot describe-endpoint --endpoint-type iot:Data-ATS)",
        )?;
        if self.broker_public_url.is_none() {
            return Err("--broker iot needs --broker-public-url: wss://<iot data endpoint>/mqtt?x-amz-customauthorizer-name=<authorizer> (deploy/template.yaml's BrokerUrl output)".into());
        }
        Ok(BrokerChoice::IotCore {
            data_endpoint,
            region: self.aws_region.clone(),
        })
    }

    pub fn config(&self) -> Result<ServeConfig, String> {
        Ok(ServeConfig {
            identity: self.identity.choice()?,
            http: self.http,
            mqtt: self.mqtt,
            mqtt_ws: self.mqtt_ws,
            data_dir: self.data.data_dir.clone(),
            static_dir: self.static_dir.clone(),
            public_url: self.public_url.clone(),
            broker_public_url: self.broker_public_url.clone(),
            store: match self.store.as_str() {
                "dynamodb" => StoreChoice::DynamoDb {
                    table: self.dynamodb_table.clone(),
                    endpoint: self.dynamodb_endpoint.clone(),
                    region: self.aws_region.clone(),
                    create_table: self.dynamodb_endpoint.is_some(),
                },
                _ => StoreChoice::Embedded,
            },
        })
    }
}

/// Starts the server and, at first start, creates the admin with a printed random password.
pub async fn start(args: &ServeArgs) -> Result<Running, String> {
    let catalogue = match &args.command_catalogue {
        Some(path) => crate::commands::Catalogue::load(path)?,
        None => crate::commands::Catalogue::builtin(),
    };
    let running = runtime::start_on(
        args.config()?,
        catalogue,
        args.monitoring()?,
        args.broker_choice()?,
    )
    .await
    .map_err(|e| e.to_string())?;
    if let Some(password) = running.ensure_initial_admin().await? {
        println!("First start: created user `admin` with password `{password}` (shown once; change it with `boxpilot user passwd admin`).");
    }
    println!("boxpilot console  {}", running.public_url);
    match running.embedded_broker() {
        Some(_) => println!(
            "MQTT              mqtt://{}   (WebSocket ws://{}/mqtt)",
            running.mqtt_addr, running.ws_addr
        ),
        None => println!("broker            {}", running.broker_name),
    }
    println!("data              {}", args.data.data_dir.display());
    println!("sign-in           {}", running.identity_name);
    if !running.console_built {
        println!("note: the console is not built in {} (run scripts/build-console.sh); the API and broker run.", args.static_dir.display());
    }
    Ok(running)
}

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let running = start(&args).await?;
    shutdown_signal().await;
    println!("stopping…");
    running.stop().await;
    Ok(())
}
