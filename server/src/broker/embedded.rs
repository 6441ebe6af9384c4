//! The broker itself: rmqtt on the host's tokio runtime.
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rmqtt::codec::types::Publish as CodecPublish;
use rmqtt::context::ServerContext;
use rmqtt::net::{Builder, Listener};
use rmqtt::server::MqttServer;
use rmqtt::session::SessionState;
use rmqtt::types::{From, Id, Publish, QoS, Reason};
use rmqtt::utils::timestamp_millis;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connections::{Connections, Presence};
use super::hooks::{self, close_session, Counters, Hooks};
use super::refusal::UnavailableFitterManager;
use super::settings::{fixed, ListenerLimits};
use super::{BrokerAuthenticator, BrokerError, BrokerEvents, BrokerSettings};

/// Listener ids given to rmqtt (it keys listener configurations by them; ports may be 0).
const TCP_LISTENER_ID: u16 = 1;
const WS_LISTENER_ID: u16 = 2;

/// Name of the in-process retainer plugin; rmqtt finds its configuration under this name.
const RETAINER_PLUGIN: &str = "rmqtt-retainer";
/// Retained messages in memory, without expiry (a box's status stays until it publishes another
/// one); rmqtt's default would expire them with the message expiry interval (5 minutes).
/// They do not survive a restart: boxes publish their status again when they reconnect.
const RETAINER_CONFIG: &str = r#"
retained_message_ttl = "0s"
max_retained_messages = 0

[storage]
type = "ram"
"#;

/// Client id of the broker's own (trusted) publishes, as subscribers' hooks would see it.
const SERVER_CLIENT_ID: &str = "boxpilot-server";

/// The embedded MQTT broker (rmqtt 0.24), running on the caller's tokio runtime.
///
/// - Every client authenticates ([`BrokerAuthenticator`]); anonymous access is refused.
/// - ACL: [`Principal::may_publish`](crate::access::Principal::may_publish) and
///   [`Principal::may_subscribe`](crate::access::Principal::may_subscribe). A denied subscription
///   gets SUBACK failure (0x80). A denied publish gets PUBACK reason 0x87 from an MQTT 5 client
///   and closes the connection of an MQTT 3.1.1 client (AWS IoT Core's behaviour).
/// - Allowed publishes and last wills go to [`BrokerEvents::on_publish`] before they are
///   acknowledged; connections and disconnections to `on_connected` / `on_disconnected`.
/// - A console connection is closed when its credential expires.
/// - Retained messages (in memory) and last wills work.
///
/// Call [`shutdown`](Self::shutdown) to stop it; dropping it only closes the listeners.
pub struct EmbeddedBroker {
    scx: ServerContext,
    tcp_addr: SocketAddr,
    ws_addr: SocketAddr,
    max_packet_size: usize,
    server: Option<JoinHandle<()>>,
    connections: Arc<Connections>,
    counters: Arc<Counters>,
    shutdown_tx: watch::Sender<bool>,
    server_id: Id,
}

/// Trusted server-side publishes, usable after the broker has moved into its owner.
#[derive(Clone)]
pub struct BrokerPublisher {
    scx: ServerContext,
    max_packet_size: usize,
    server_id: Id,
}

impl BrokerPublisher {
    /// Trusted server-side publish (no hooks), e.g. commands to boxes; QoS 1, optional retain.
    ///
    /// Goes straight to rmqtt's router: no authentication, no ACL, no `on_publish`. Subscribers
    /// receive it at the lower of QoS 1 and their subscription's QoS. Returns once the message is
    /// queued for every matching session (online or persistent offline), not when they acknowledge.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
    ) -> Result<(), BrokerError> {
        if topic.is_empty()
            || topic.contains(['+', '#', '\0'])
            || topic.len() > usize::from(u16::MAX)
        {
            return Err(BrokerError::InvalidTopic(topic.to_owned()));
        }
        if payload.len() > self.max_packet_size {
            return Err(BrokerError::PayloadTooLarge {
                size: payload.len(),
                max: self.max_packet_size,
            });
        }
        let publish = Publish::from(CodecPublish {
            dup: false,
            retain,
            qos: QoS::AtLeastOnce,
            topic: topic.into(),
            packet_id: None,
            payload: payload.into(),
            properties: None,
        })
        .create_time(timestamp_millis());
        let from = From::from_system(self.server_id.clone());
        // The expiry only matters to the retained copy, and the retainer is configured without one.
        let expiry = retain.then_some(fixed::MESSAGE_EXPIRY);
        SessionState::forwards(&self.scx, from, publish, false, expiry)
            .await
            .map_err(|e| BrokerError::Publish {
                topic: topic.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl EmbeddedBroker {
    /// Binds both listeners, then starts the broker in a task of the current runtime.
    ///
    /// Fails if a port is taken (`BrokerError::AddressInUse`); listeners set `SO_REUSEADDR`, so a
    /// quick restart on the same ports works.
    pub async fn start(
        settings: BrokerSettings,
        auth: Arc<dyn BrokerAuthenticator>,
        events: Arc<dyn BrokerEvents>,
    ) -> Result<EmbeddedBroker, BrokerError> {
        let limits = settings.validate()?;
        let tcp = bind("TCP", settings.tcp, &limits, |l| l.tcp())?;
        let ws = bind("WebSocket", settings.ws, &limits, |l| l.ws())?;
        let (tcp_addr, ws_addr) = (tcp.cfg.laddr, ws.cfg.laddr);

        let scx = ServerContext::new()
            // The busy check refuses every CONNECT while the machine's CPU load is above 90 %:
            // not what a console sharing its machine wants.
            .busy_check_enable(false)
            .plugins_config_map_add(RETAINER_PLUGIN, RETAINER_CONFIG)
            .build()
            .await;
        rmqtt_retainer::register_named(&scx, RETAINER_PLUGIN, true, false)
            .await
            .map_err(|e| BrokerError::Retainer(e.to_string()))?;

        let connections = Arc::new(Connections::default());
        let counters = Arc::new(Counters::default());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        *scx.extends.fitter_mgr_mut().await =
            Box::new(UnavailableFitterManager::new(connections.clone()));
        hooks::register(Arc::new(Hooks {
            scx: scx.clone(),
            auth,
            events,
            connections: connections.clone(),
            presence: Presence::default(),
            counters: counters.clone(),
            shutdown: shutdown_rx,
        }))
        .await;

        let server = MqttServer::new(scx.clone())
            .listener_by_id(tcp, TCP_LISTENER_ID)
            .listener_by_id(ws, WS_LISTENER_ID)
            .build();
        // `run`, not `start`: `start` exits the process when a listener fails.
        let server = tokio::spawn(async move {
            if let Err(e) = server.run().await {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        });
        tracing::info!(tcp = %tcp_addr, ws = %ws_addr, "embedded MQTT broker listening");

        let server_id = Id::new(scx.node.id(), 0, None, None, SERVER_CLIENT_ID.into(), None);
        Ok(EmbeddedBroker {
            scx,
            tcp_addr,
            ws_addr,
            max_packet_size: settings.max_packet_size,
            server: Some(server),
            connections,
            counters,
            shutdown_tx,
            server_id,
        })
    }

    /// The bound address of the TCP listener (the real port when the settings asked for port 0).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The bound address of the WebSocket listener.
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// Trusted server-side publish (no hooks), e.g. commands to boxes; QoS 1, optional retain.
    /// See [`BrokerPublisher::publish`].
    pub async fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
    ) -> Result<(), BrokerError> {
        self.publisher().publish(topic, payload, retain).await
    }

    /// A cloneable handle for trusted server-side publishes (the command service holds one).
    pub fn publisher(&self) -> BrokerPublisher {
        BrokerPublisher {
            scx: self.scx.clone(),
            max_packet_size: self.max_packet_size,
            server_id: self.server_id.clone(),
        }
    }

    /// Messages the broker dropped since it started: a subscriber's queue overflowed
    /// (`max_mqueue_len`), a queued or in-flight message expired, a session ended with messages
    /// still queued, a client exceeded its inflight window. Counted from rmqtt's `MessageDropped`
    /// hook. Publishes denied by the ACL are not included (see [`denied_publishes`](Self::denied_publishes)),
    /// nor publishes that matched no subscriber (ingestion sees every publish through the hook).
    pub fn dropped_messages(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Publishes the ACL denied since the broker started.
    pub fn denied_publishes(&self) -> u64 {
        self.counters.denied_publishes.load(Ordering::Relaxed)
    }

    /// Clients currently connected.
    pub fn connected_clients(&self) -> usize {
        self.connections.connected_count()
    }

    /// Stops accepting connections, closes every client connection (their last wills are
    /// published and `on_disconnected` is called for each) and waits up to 5 s for that.
    ///
    /// rmqtt keeps a few things of its own until the process exits: the offline state of
    /// persistent sessions (until their expiry) and the retainer's timer.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await; // the listeners are closed once the task is dropped
        }
        for id in self.connections.connected_ids() {
            // rmqtt tells MQTT 5 clients "server shutting down" (0x8B) for this reason.
            close_session(&self.scx, &id, Reason::ConnectRemoteClose).await;
        }
        let deadline = Instant::now() + fixed::SHUTDOWN_GRACE;
        while self.connections.connected_count() > 0 && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let left = self.connections.connected_count();
        if left > 0 {
            tracing::warn!(
                left,
                "embedded MQTT broker stopped with connections still closing"
            );
        } else {
            tracing::info!("embedded MQTT broker stopped");
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("tcp_addr", &self.tcp_addr)
            .field("ws_addr", &self.ws_addr)
            .field("running", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

/// Binds one listener with the broker's settings; its configuration then carries the bound address.
fn bind(
    name: &'static str,
    addr: SocketAddr,
    limits: &ListenerLimits,
    kind: impl FnOnce(Listener) -> rmqtt::Result<Listener>,
) -> Result<Listener, BrokerError> {
    let builder = Builder::new()
        .name(format!("boxpilot/{name}"))
        .laddr(addr)
        .reuseaddr(Some(true))
        .backlog(fixed::BACKLOG)
        .nodelay(true)
        .allow_anonymous(false)
        .max_connections(fixed::MAX_CONNECTIONS)
        .max_handshaking_limit(fixed::MAX_HANDSHAKING)
        .handshake_timeout(fixed::HANDSHAKE_TIMEOUT)
        .send_timeout(fixed::SEND_TIMEOUT)
        .max_packet_size(limits.max_packet_size)
        .max_inflight(limits.max_inflight)
        .max_mqueue_len(limits.max_mqueue_len)
        .max_clientid_len(fixed::MAX_CLIENT_ID_LEN)
        .max_qos_allowed(QoS::AtLeastOnce)
        .session_expiry_interval(fixed::SESSION_EXPIRY)
        .max_session_expiry_interval(fixed::SESSION_EXPIRY)
        .message_expiry_interval(fixed::MESSAGE_EXPIRY);
    let listener = builder
        .bind()
        .map_err(|e| BrokerError::bind(name, addr, e))?;
    let mut listener = kind(listener).map_err(|e| BrokerError::bind(name, addr, e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| BrokerError::bind(name, addr, e))?;
    // rmqtt keys its per-listener handshake executor by the configured port and logs it: make it
    // the real one. The configuration is not shared yet, so this does not copy.
    Arc::make_mut(&mut listener.cfg).laddr = bound;
    Ok(listener)
}
