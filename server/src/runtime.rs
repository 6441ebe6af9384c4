//! Wires the embedded shape together: store, identity, ingestion, broker and HTTP, on the ports
//! of the configuration. `boxpilot serve`, `boxpilot demo` and the integration tests start it.
use crate::access::{BrokerAccess, BrokerTokens};
use crate::broker::{BrokerSettings, EmbeddedBroker};
use crate::commands::{Catalogue, CommandService};
use crate::console::{Console, Monitoring};
use crate::http::{self, AppState, Health, HealthCheck, IdentityHealth, StaticFiles, StoreHealth};
use crate::identity::{BuiltinIdentity, IdentityChoice, SigningKeys, UserDirectory};
use crate::ingest::{BrokerFeed, IngestCore, IngestSettings};
use crate::monitoring::{AlertService, ConnectionSampler, CostModel, MonitoringSettings};
use crate::rollouts::RolloutService;
use crate::shadow::ShadowService;
use crate::store::{EmbeddedStore, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub mqtt_ws: SocketAddr,
    pub data_dir: PathBuf,
    pub static_dir: PathBuf,
    /// The URL people reach the console at (token issuer); default `http://<http address>`.
    pub public_url: Option<String>,
    /// The MQTT-over-WebSocket URL browsers use; default `ws://<ws address>/mqtt`.
    pub broker_public_url: Option<String>,
    /// Where everything is kept.
    pub store: StoreChoice,
    /// Who signs people in.
    pub identity: IdentityChoice,
}

/// The store adapter: the embedded file in the data directory, or a DynamoDB table (AWS, or any
/// DynamoDB-compatible endpoint) with a build that has the `aws` feature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreChoice {
    #[default]
    Embedded,
    DynamoDb {
        table: String,
        /// A DynamoDB-compatible endpoint (DynamoDB Local, moto, ScyllaDB Alternator).
        endpoint: Option<String>,
        region: String,
        /// Create the table when it does not exist (local endpoints; on AWS the template does).
        create_table: bool,
    },
}

impl StoreChoice {
    async fn open(&self, data_dir: &std::path::Path) -> Result<Arc<dyn Store>, StartError> {
        match self {
            StoreChoice::Embedded => Ok(Arc::new(EmbeddedStore::open(data_dir)?)),
            #[cfg(feature = "aws")]
            StoreChoice::DynamoDb {
                table,
                endpoint,
                region,
                create_table,
            } => {
                let store =
                    crate::store::DynamoStore::connect(table.clone(), endpoint.clone(), region.clone())
                        .await?;
                if *create_table {
                    store.create_table_if_missing().await?;
                }
                store.ping().await?;
                Ok(Arc::new(store))
            }
            #[cfg(not(feature = "aws"))]
            StoreChoice::DynamoDb { .. } => Err(StartError::Store(
                crate::store::StoreError::Unavailable(
                    "this boxpilot was built without DynamoDB support: build it with `--features aws`"
                        .into(),
                ),
            )),
        }
    }

    fn describe(&self) -> String {
        match self {
            StoreChoice::Embedded => "embedded".into(),
            StoreChoice::DynamoDb {
                table, endpoint, ..
            } => format!(
                "dynamodb table {table}{}",
                endpoint
                    .as_ref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// How boxes are reached: the embedded MQTT broker, or AWS IoT Core (`--broker iot`, a build with
/// the `aws` feature): commands and desired state are published through IoT Core's data plane and
/// desired state is kept in its Device Shadow service; boxes' messages reach boxpilot through the
/// IoT rules and the ingestion Lambda (deploy/template.yaml), not through this process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BrokerChoice {
    #[default]
    Embedded,
    IotCore {
        /// The account's `xxxx-ats.iot.<region>.amazonaws.com`, or a local endpoint (moto).
        data_endpoint: String,
        region: String,
    },
}

/// What `--broker iot` runs on instead of the embedded broker.
struct IotCore {
    publisher: Arc<dyn crate::outbound::DevicePublisher>,
    shadows: Arc<dyn crate::shadow::ShadowDocuments>,
    health: Arc<dyn HealthCheck>,
    name: String,
}

impl BrokerChoice {
    async fn connect(&self) -> Result<Option<IotCore>, StartError> {
        match self {
            BrokerChoice::Embedded => Ok(None),
            #[cfg(feature = "aws")]
            BrokerChoice::IotCore {
                data_endpoint,
                region,
            } => {
                use crate::aws::device_shadow::{DeviceShadows, IotCoreHealth};
                let client = crate::aws::sdk::iot_data_client_at(region, data_endpoint).await;
                let health = IotCoreHealth {
                    client: client.clone(),
                    endpoint: data_endpoint.clone(),
                };
                health.check().await.map_err(StartError::Config)?;
                Ok(Some(IotCore {
                    publisher: Arc::new(crate::aws::sdk::IotDataPublisher::from_client(
                        client.clone(),
                    )),
                    shadows: Arc::new(DeviceShadows::new(client)),
                    health: Arc::new(health),
                    name: format!("AWS IoT Core at {data_endpoint}"),
                }))
            }
            #[cfg(not(feature = "aws"))]
            BrokerChoice::IotCore { .. } => Err(StartError::Config(
                "--broker iot: this boxpilot was built without AWS support (build it with `--features aws`)"
                    .into(),
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("identity keys: {0}")]
    Keys(String),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Broker(#[from] crate::broker::BrokerError),
    #[error("{0}")]
    Config(String),
}

/// Notifiers beyond the webhooks: SNS when configured (a build with the `aws` feature).
async fn extra_notifiers(
    settings: &MonitoringSettings,
) -> Result<Vec<Arc<dyn crate::monitoring::Notifier>>, StartError> {
    let Some(target) = &settings.sns else {
        return Ok(Vec::new());
    };
    #[cfg(feature = "aws")]
    {
        let sns = crate::monitoring::SnsNotifier::connect(
            target.topic_arn.clone(),
            &target.region,
            target.endpoint.as_deref(),
        )
        .await;
        Ok(vec![Arc::new(sns)])
    }
    #[cfg(not(feature = "aws"))]
    Err(StartError::Config(format!(
        "alerts to SNS topic {}: this boxpilot was built without AWS support (build with `--features aws`)",
        target.topic_arn
    )))
}

/// A running embedded server.
pub struct Running {
    pub http_addr: SocketAddr,
    pub mqtt_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub public_url: String,
    pub store: Arc<dyn Store>,
    /// User administration of the identity provider in use (the store's users or a Cognito pool).
    pub users: Arc<dyn UserDirectory>,
    /// The built-in identity provider, when it is the one in use.
    builtin_identity: Option<Arc<BuiltinIdentity>>,
    /// `built-in` or the Cognito pool.
    pub identity_name: String,
    pub ingest: Arc<IngestCore>,
    pub commands: Arc<CommandService>,
    pub console_built: bool,
    /// What `/healthz` calls the broker: `embedded, listening on ...` or `AWS IoT Core at ...`.
    /// With `--broker iot` nothing listens for MQTT here: `mqtt_addr` and `ws_addr` are 0.0.0.0:0.
    pub broker_name: String,
    broker: Option<EmbeddedBroker>,
    sweeper: JoinHandle<()>,
    /// The alert loop, the connection sampler and the store's roll-ups.
    background: Vec<JoinHandle<()>>,
    pub alerts: Arc<AlertService>,
    stop_http: oneshot::Sender<()>,
    http_task: JoinHandle<()>,
}

struct BrokerHealth {
    tcp: SocketAddr,
}

#[async_trait::async_trait]
impl HealthCheck for BrokerHealth {
    fn name(&self) -> &'static str {
        "broker"
    }
    async fn check(&self) -> Result<String, String> {
        tokio::net::TcpStream::connect(self.tcp)
            .await
            .map(|_| format!("embedded, listening on {}", self.tcp))
            .map_err(|e| format!("MQTT listener {} does not answer: {e}", self.tcp))
    }
}

/// Starts with the built-in command catalogue.
pub async fn start(config: ServeConfig) -> Result<Running, StartError> {
    start_with(config, Catalogue::builtin()).await
}

/// Starts with the given command catalogue (`--command-catalogue`).
pub async fn start_with(config: ServeConfig, catalogue: Catalogue) -> Result<Running, StartError> {
    start_full(config, catalogue, MonitoringSettings::default()).await
}

/// Starts with a command catalogue and monitoring settings (alert webhooks, prices, how often
/// rules are evaluated).
pub async fn start_full(
    config: ServeConfig,
    catalogue: Catalogue,
    monitoring: MonitoringSettings,
) -> Result<Running, StartError> {
    start_on(config, catalogue, monitoring, BrokerChoice::Embedded).await
}

/// Starts on the given broker: the embedded one, or AWS IoT Core (`--broker iot`).
pub async fn start_on(
    config: ServeConfig,
    catalogue: Catalogue,
    monitoring: MonitoringSettings,
    broker_choice: BrokerChoice,
) -> Result<Running, StartError> {
    if broker_choice != BrokerChoice::Embedded && config.broker_public_url.is_none() {
        return Err(StartError::Config(
            "--broker iot needs --broker-public-url: the IoT Core WebSocket URL browsers connect to (wss://<endpoint>/mqtt?x-amz-customauthorizer-name=<authorizer>)".into(),
        ));
    }
    let iot = broker_choice.connect().await?;
    let store = config.store.open(&config.data_dir).await?;
    let keys = Arc::new(SigningKeys::load_or_create(&config.data_dir).map_err(StartError::Keys)?);

    let listener = tokio::net::TcpListener::bind(config.http)
        .await
        .map_err(|source| StartError::Http {
            addr: config.http,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Http {
        addr: config.http,
        source,
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{http_addr}"));

    let identity = config
        .identity
        .open(store.clone(), keys.clone(), &public_url)
        .await
        .map_err(|e| StartError::Config(format!("identity provider: {e}")))?;
    let ingest = IngestCore::start(store.clone(), IngestSettings::default());
    let commands = CommandService::new(store.clone(), catalogue);
    let rollouts = RolloutService::new(store.clone(), commands.clone());
    let shadows = match &iot {
        None => ShadowService::new(store.clone()),
        Some(iot) => ShadowService::with_documents(store.clone(), iot.shadows.clone()),
    };

    // The broker's WebSocket address is known once it is bound; the broker tokens name it.
    let broker_access = Arc::new(LateBrokerAccess::default());
    let broker = match &iot {
        Some(_) => None,
        None => Some(
            EmbeddedBroker::start(
                BrokerSettings::new(config.mqtt, config.mqtt_ws),
                broker_access.clone(),
                Arc::new(
                    BrokerFeed::new(ingest.clone())
                        .with_commands(commands.clone())
                        .with_shadows(shadows.clone()),
                ),
            )
            .await?,
        ),
    };
    let publisher: Arc<dyn crate::outbound::DevicePublisher> = match (&broker, &iot) {
        (Some(broker), _) => Arc::new(broker.publisher()),
        (None, Some(iot)) => iot.publisher.clone(),
        (None, None) => unreachable!("either the embedded broker or IoT Core"),
    };
    commands.set_publisher(publisher.clone());
    shadows.set_publisher(publisher);
    let sweeper = commands.start_sweeper();
    rollouts.resume().await;
    let ws_url = match (&config.broker_public_url, &broker) {
        (Some(url), _) => url.clone(),
        (None, Some(broker)) => format!("ws://{}/mqtt", broker.ws_addr()),
        (None, None) => unreachable!("checked above: --broker iot has --broker-public-url"),
    };
    let tokens = BrokerTokens::new(keys.clone(), &public_url, &ws_url, 15 * 60);
    broker_access.set(BrokerAccess::new(store.clone(), tokens.clone()));

    let costs = Arc::new(CostModel::from_settings(&monitoring));
    let sample_every = monitoring
        .evaluate_every
        .min(std::time::Duration::from_secs(60));
    let notifiers = extra_notifiers(&monitoring).await?;
    let alerts = AlertService::new(store.clone(), costs.clone(), monitoring, notifiers);
    let alert_loop = alerts.start();
    let sampler = ConnectionSampler::start(store.clone(), ingest.clone(), sample_every);
    let roll_ups = crate::store::start_roll_ups(store.clone());
    let console = Arc::new(
        Console::new(
            store.clone(),
            identity.provider.clone(),
            tokens,
            commands.clone(),
            rollouts,
            shadows,
            Monitoring {
                usage: ingest.clone(),
                costs,
                alerts: alerts.clone(),
            },
        )
        .with_users(identity.users.clone()),
    );
    let health = Health::default()
        .with(Arc::new(StoreHealth(
            store.clone(),
            config.store.describe(),
        )))
        .with(match (&broker, &iot) {
            (Some(broker), _) => Arc::new(BrokerHealth {
                tcp: broker.tcp_addr(),
            }) as Arc<dyn HealthCheck>,
            (None, Some(iot)) => iot.health.clone(),
            (None, None) => unreachable!("either the embedded broker or IoT Core"),
        })
        .with(Arc::new(IdentityHealth {
            description: identity.description.clone(),
            jwks_url: identity.jwks_url.clone(),
        }));
    let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
    let broker_name = match (&broker, &iot) {
        (Some(broker), _) => format!("embedded, listening on {}", broker.tcp_addr()),
        (None, Some(iot)) => iot.name.clone(),
        (None, None) => unreachable!("either the embedded broker or IoT Core"),
    };
    let state = AppState {
        console,
        ingest: ingest.clone(),
        commands: commands.clone(),
        jwks: Arc::new(keys.jwks()),
        health: Arc::new(health),
    };
    let static_files = StaticFiles::new(&config.static_dir);
    let console_built = static_files.present();
    if !console_built {
        tracing::warn!(
            dir = %config.static_dir.display(),
            "the console is not built (no index.html): run scripts/build-console.sh; the API and broker run without it"
        );
    }
    let app = http::router(state, static_files);
    let (stop_http, stopped) = oneshot::channel::<()>();
    let http_task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(Running {
        http_addr,
        mqtt_addr: broker.as_ref().map_or(nowhere, |b| b.tcp_addr()),
        ws_addr: broker.as_ref().map_or(nowhere, |b| b.ws_addr()),
        public_url,
        store,
        users: identity.users,
        builtin_identity: identity.builtin,
        identity_name: identity.description,
        ingest,
        commands,
        console_built,
        broker_name,
        broker,
        sweeper,
        background: vec![alert_loop, sampler, roll_ups],
        alerts,
        stop_http,
        http_task,
    })
}

impl Running {
    /// At the first start of the built-in provider (no user at all) creates `admin` with a
    /// random password, returned once. A Cognito pool is administered with `boxpilot user`.
    pub async fn ensure_initial_admin(&self) -> Result<Option<String>, String> {
        match &self.builtin_identity {
            Some(builtin) => builtin
                .ensure_initial_admin()
                .await
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// The embedded broker. Panics with `--broker iot` (see [`Running::embedded_broker`]).
    pub fn broker(&self) -> &EmbeddedBroker {
        self.broker
            .as_ref()
            .expect("the embedded broker runs (not --broker iot)")
    }

    /// The embedded broker, `None` with `--broker iot`.
    pub fn embedded_broker(&self) -> Option<&EmbeddedBroker> {
        self.broker.as_ref()
    }

    /// Stops HTTP, then the broker, then flushes the pipeline counters and the store's roll-up.
    pub async fn stop(self) {
        let _ = self.stop_http.send(());
        let _ = self.http_task.await;
        self.sweeper.abort();
        for task in &self.background {
            task.abort();
        }
        if let Some(broker) = self.broker {
            broker.shutdown().await;
        }
        if let Err(e) = self.ingest.flush().await {
            tracing::error!(error = %e, "pipeline counters not flushed");
        }
        // The embedded store writes the latest values it keeps in memory.
        if let Err(e) = self.store.roll_up(crate::clock::now_ms()).await {
            tracing::error!(error = %e, "latest values not written at stop");
        }
    }
}

/// The broker authenticator, set once the broker's own address is known (a connection before
/// that is refused as "unavailable").
#[derive(Default)]
struct LateBrokerAccess(std::sync::OnceLock<BrokerAccess>);

impl LateBrokerAccess {
    fn set(&self, access: BrokerAccess) {
        let _ = self.0.set(access);
    }
}

#[async_trait::async_trait]
impl crate::broker::BrokerAuthenticator for LateBrokerAccess {
    async fn authenticate(
        &self,
        client_id: &str,
        username: &str,
        password: &[u8],
    ) -> Result<crate::access::Principal, crate::broker::ConnectRefusal> {
        match self.0.get() {
            Some(access) => access.authenticate(client_id, username, password).await,
            None => Err(crate::broker::ConnectRefusal::Unavailable),
        }
    }
}
