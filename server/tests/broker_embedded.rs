//! The embedded broker (rmqtt) against real MQTT clients (rumqttc): authentication, ACL, the
//! publish feed and its PUBACK timing, server publishes, WebSocket, retained messages, last wills,
//! drop counting, port errors and restart.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::{DeviceId, FleetId};
use boxpilot::access::Principal;
use boxpilot::broker::{
    BrokerAuthenticator, BrokerError, BrokerEvents, BrokerSettings, ConnectRefusal, Delivery,
    EmbeddedBroker,
};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions,
    Outgoing, Packet, QoS, SubscribeReasonCode, Transport,
};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

const TELEMETRY_B1: &str = "dt/boxpilot/f1/b1/telemetry";
const STATUS_B1: &str = "dt/boxpilot/f1/b1/status";
const CMD_REQ_B1: &str = "cmd/boxpilot/f1/b1/req";

fn device(fleet: &str, id: &str) -> Principal {
    Principal::Device {
        fleet: FleetId::parse(fleet).expect("fleet id"),
        device: DeviceId::parse(id).expect("device id"),
    }
}

fn console(expires_at: i64) -> Principal {
    Principal::Console {
        username: "ann".into(),
        client_id_prefix: "console-ann-".into(),
        subscribe: vec!["dt/boxpilot/f1/+/+".into()],
        publish: vec!["cmd/boxpilot/f1/+/req".into()],
        expires_at,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Users: boxes b1 and b2 of fleet f1, console user ann (valid), old (expired) and brief (expires
/// 1.5 s after it authenticates), "down" (the identity store is unavailable); anything else is a bad
/// credential.
struct FakeAuth;

#[async_trait::async_trait]
impl BrokerAuthenticator for FakeAuth {
    async fn authenticate(
        &self,
        _client_id: &str,
        username: &str,
        password: &[u8],
    ) -> Result<Principal, ConnectRefusal> {
        let (secret, principal) = match username {
            "b1" => ("secret-b1", device("f1", "b1")),
            "b2" => ("secret-b2", device("f1", "b2")),
            "ann" => ("token-ann", console(now_ms() + 600_000)),
            "old" => ("token-old", console(now_ms() - 1_000)),
            "brief" => ("token-brief", console(now_ms() + 1_500)),
            "down" => return Err(ConnectRefusal::Unavailable),
            _ => return Err(ConnectRefusal::BadCredentials),
        };
        if password != secret.as_bytes() {
            return Err(ConnectRefusal::BadCredentials);
        }
        Ok(principal)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Publish {
        by: Principal,
        topic: String,
        payload: Vec<u8>,
    },
    Connected(Principal),
    Disconnected(Principal),
}

/// Records the broker's events. A payload starting with `slow` waits in `on_publish` until the
/// test adds a permit to `gate`.
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    gate: Semaphore,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            seen: Mutex::new(Vec::new()),
            gate: Semaphore::new(0),
        }
    }

    fn push(&self, s: Seen) {
        self.seen.lock().expect("recorder lock").push(s);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("recorder lock").clone()
    }

    fn publishes_on(&self, topic: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| matches!(s, Seen::Publish { topic: t, .. } if t == topic))
            .collect()
    }

    async fn wait_for(&self, what: &str, pred: impl Fn(&[Seen]) -> bool) {
        let found = timeout(WAIT, async {
            while !pred(&self.seen()) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "timed out waiting for {what}; seen: {:?}",
            self.seen()
        );
    }
}

#[async_trait::async_trait]
impl BrokerEvents for Recorder {
    async fn on_publish(&self, principal: &Principal, topic: &str, payload: &[u8]) -> Delivery {
        if payload.starts_with(b"slow") {
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
        }
        self.push(Seen::Publish {
            by: principal.clone(),
            topic: topic.into(),
            payload: payload.to_vec(),
        });
        // A payload saying "unstorable" plays a store that is down.
        if payload.starts_with(b"unstorable") {
            Delivery::Retry
        } else {
            Delivery::Done
        }
    }

    async fn on_connected(&self, principal: &Principal) {
        self.push(Seen::Connected(principal.clone()));
    }

    async fn on_disconnected(&self, principal: &Principal) {
        self.push(Seen::Disconnected(principal.clone()));
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn start_with(settings: BrokerSettings) -> (EmbeddedBroker, Arc<Recorder>) {
    let events = Arc::new(Recorder::new());
    let broker = EmbeddedBroker::start(settings, Arc::new(FakeAuth), events.clone())
        .await
        .expect("broker starts");
    assert_ne!(broker.tcp_addr().port(), 0, "the bound port is reported");
    assert_ne!(broker.ws_addr().port(), 0, "the bound port is reported");
    (broker, events)
}

async fn start() -> (EmbeddedBroker, Arc<Recorder>) {
    start_with(BrokerSettings::new(any_port(), any_port())).await
}

fn tcp_options(
    broker: &EmbeddedBroker,
    client_id: &str,
    credentials: Option<(&str, &str)>,
) -> MqttOptions {
    let addr = broker.tcp_addr();
    let mut options = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    if let Some((username, password)) = credentials {
        options.set_credentials(username, password);
    }
    options
}

/// A connected client whose event loop runs in a task and hands incoming packets over.
struct Client {
    client: AsyncClient,
    incoming: mpsc::UnboundedReceiver<Result<Packet, String>>,
    pump: JoinHandle<()>,
}

impl Client {
    async fn connect(options: MqttOptions) -> Client {
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        if let Err(e) = connack(&mut eventloop).await {
            panic!("connection refused: {e}");
        }
        let (tx, incoming) = mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => {
                        let _ = tx.send(Ok(packet));
                    }
                    // After DISCONNECT the client must close the connection; rumqttc's event
                    // loop does not, and rmqtt waits for it: stop polling, which closes it.
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return; // no reconnection
                    }
                }
            }
        });
        Client {
            client,
            incoming,
            pump,
        }
    }

    /// The next incoming packet for which `pick` returns something.
    async fn next<T>(&mut self, what: &str, pick: impl Fn(&Packet) -> Option<T>) -> T {
        let found = timeout(WAIT, async {
            loop {
                match self.incoming.recv().await {
                    Some(Ok(packet)) => {
                        if let Some(t) = pick(&packet) {
                            return Ok(t);
                        }
                    }
                    Some(Err(e)) => return Err(format!("connection closed: {e}")),
                    None => return Err("connection closed".to_string()),
                }
            }
        })
        .await;
        match found {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => panic!("waiting for {what}: {e}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }

    async fn puback(&mut self) {
        self.next("PUBACK", |p| matches!(p, Packet::PubAck(_)).then_some(()))
            .await
    }

    async fn suback(&mut self) -> Vec<SubscribeReasonCode> {
        self.next("SUBACK", |p| match p {
            Packet::SubAck(ack) => Some(ack.return_codes.clone()),
            _ => None,
        })
        .await
    }

    async fn publish_on(&mut self, topic: &str) -> rumqttc::Publish {
        self.next(&format!("a PUBLISH on {topic}"), |p| match p {
            Packet::Publish(p) if p.topic == topic => Some(p.clone()),
            _ => None,
        })
        .await
    }

    /// Waits until the broker closes the connection; fails if a packet arrives first.
    async fn closed_by_broker(&mut self) {
        let outcome = timeout(WAIT, self.incoming.recv()).await;
        match outcome {
            Ok(Some(Err(_))) | Ok(None) => {}
            Ok(Some(Ok(packet))) => panic!("expected the connection to be closed, got {packet:?}"),
            Err(_) => panic!("the broker did not close the connection"),
        }
    }

    /// Drops the TCP connection without DISCONNECT (as a box losing power would).
    async fn vanish(self) {
        self.pump.abort();
        let _ = self.pump.await;
    }
}

async fn connack(eventloop: &mut EventLoop) -> Result<(), ConnectionError> {
    let result = timeout(WAIT, async {
        loop {
            if let Event::Incoming(Packet::ConnAck(_)) = eventloop.poll().await? {
                return Ok(());
            }
        }
    })
    .await;
    result.expect("CONNACK in time")
}

async fn refusal(options: MqttOptions) -> ConnectReturnCode {
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    match connack(&mut eventloop).await {
        Err(ConnectionError::ConnectionRefused(code)) => code,
        Err(e) => panic!("expected a refused CONNACK, got {e}"),
        Ok(()) => panic!("expected a refused CONNACK, the connection was accepted"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_publish_reaches_on_publish_with_its_principal() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    events
        .wait_for("on_connected(b1)", |s| {
            s.contains(&Seen::Connected(device("f1", "b1")))
        })
        .await;

    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            b"{\"seq\":1}".to_vec(),
        )
        .await
        .expect("publish");
    b1.puback().await;
    assert_eq!(
        events.publishes_on(TELEMETRY_B1),
        vec![Seen::Publish {
            by: device("f1", "b1"),
            topic: TELEMETRY_B1.into(),
            payload: b"{\"seq\":1}".to_vec()
        }]
    );
    assert_eq!(broker.connected_clients(), 1);

    b1.client.disconnect().await.expect("disconnect");
    events
        .wait_for("on_disconnected(b1)", |s| {
            s.contains(&Seen::Disconnected(device("f1", "b1")))
        })
        .await;
    assert!(
        events.publishes_on(STATUS_B1).is_empty(),
        "no last will was set"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_puback_waits_for_on_publish() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .publish(TELEMETRY_B1, QoS::AtLeastOnce, false, b"slow 1".to_vec())
        .await
        .expect("publish");

    // on_publish is blocked on the gate: no PUBACK may arrive.
    let early = timeout(Duration::from_millis(500), b1.puback()).await;
    assert!(early.is_err(), "PUBACK arrived before on_publish completed");
    assert!(events.publishes_on(TELEMETRY_B1).is_empty());

    events.gate.add_permits(1);
    b1.puback().await;
    assert_eq!(events.publishes_on(TELEMETRY_B1).len(), 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_that_was_not_kept_is_not_acknowledged() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            b"unstorable".to_vec(),
        )
        .await
        .expect("publish");
    // No PUBACK: the connection ends instead (any packet first, a PUBACK included, fails here),
    // and the client will send the message again.
    b1.closed_by_broker().await;
    assert_eq!(events.publishes_on(TELEMETRY_B1).len(), 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_get_the_right_connack_codes() {
    let (broker, events) = start().await;
    // Wrong password: 4, bad user name or password.
    assert_eq!(
        refusal(tcp_options(&broker, "b1", Some(("b1", "wrong")))).await,
        ConnectReturnCode::BadUserNamePassword
    );
    // No credentials at all: 5, not authorized (no anonymous access).
    assert_eq!(
        refusal(tcp_options(&broker, "b1", None)).await,
        ConnectReturnCode::NotAuthorized
    );
    // The identity store cannot answer: 3, server unavailable (try again later).
    assert_eq!(
        refusal(tcp_options(&broker, "b9", Some(("down", "x")))).await,
        ConnectReturnCode::ServiceUnavailable
    );
    // A box must use its own id as client id.
    assert_eq!(
        refusal(tcp_options(&broker, "b2", Some(("b1", "secret-b1")))).await,
        ConnectReturnCode::NotAuthorized
    );
    // A console's client id starts with its prefix, and its credential must not have expired.
    assert_eq!(
        refusal(tcp_options(&broker, "b1", Some(("ann", "token-ann")))).await,
        ConnectReturnCode::NotAuthorized
    );
    assert_eq!(
        refusal(tcp_options(
            &broker,
            "console-ann-1",
            Some(("old", "token-old"))
        ))
        .await,
        ConnectReturnCode::NotAuthorized
    );
    // A last will on a topic the box may not publish to.
    let mut options = tcp_options(&broker, "b1", Some(("b1", "secret-b1")));
    options.set_last_will(LastWill::new(
        "dt/boxpilot/f1/b2/status",
        "{}",
        QoS::AtLeastOnce,
        true,
    ));
    assert_eq!(refusal(options).await, ConnectReturnCode::NotAuthorized);

    // Nothing reached the host, and the broker still serves good clients.
    assert!(events.seen().is_empty(), "{:?}", events.seen());
    let _b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    events
        .wait_for("on_connected(b1)", |s| {
            s.contains(&Seen::Connected(device("f1", "b1")))
        })
        .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_authentication_never_takes_over_a_session() {
    let (broker, events) = start().await;
    let _b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    // Same client id, authentication unavailable: refused without kicking the connected box.
    assert_eq!(
        refusal(tcp_options(&broker, "b1", Some(("down", "x")))).await,
        ConnectReturnCode::NotAuthorized
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(broker.connected_clients(), 1);
    assert!(
        !events
            .seen()
            .iter()
            .any(|s| matches!(s, Seen::Disconnected(_))),
        "{:?}",
        events.seen()
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_on_another_box_topic_is_dropped_and_disconnects() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .publish(
            "dt/boxpilot/f1/b2/telemetry",
            QoS::AtLeastOnce,
            false,
            b"{\"seq\":1}".to_vec(),
        )
        .await
        .expect("publish");
    b1.closed_by_broker().await;
    events
        .wait_for("on_disconnected(b1)", |s| {
            s.contains(&Seen::Disconnected(device("f1", "b1")))
        })
        .await;
    assert!(
        !events
            .seen()
            .iter()
            .any(|s| matches!(s, Seen::Publish { .. })),
        "a denied publish reached on_publish: {:?}",
        events.seen()
    );
    assert_eq!(broker.denied_publishes(), 1);
    assert_eq!(broker.dropped_messages(), 0, "an ACL denial is not a drop");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt5_client_gets_reason_135_for_a_denied_publish() {
    use rumqttc::v5::mqttbytes::v5::{Packet as Packet5, PubAckReason};
    use rumqttc::v5::mqttbytes::QoS as QoS5;
    use rumqttc::v5::{AsyncClient as AsyncClient5, Event as Event5, MqttOptions as MqttOptions5};

    let (broker, events) = start().await;
    let addr = broker.tcp_addr();
    let mut options = MqttOptions5::new("b1", addr.ip().to_string(), addr.port());
    options.set_credentials("b1", "secret-b1");
    let (client, mut eventloop) = AsyncClient5::new(options, 10);
    client
        .publish(
            "dt/boxpilot/f1/b2/telemetry",
            QoS5::AtLeastOnce,
            false,
            b"x".to_vec(),
        )
        .await
        .expect("publish");
    client
        .publish(TELEMETRY_B1, QoS5::AtLeastOnce, false, b"y".to_vec())
        .await
        .expect("publish");
    let reasons = timeout(WAIT, async {
        let mut reasons = Vec::new();
        while reasons.len() < 2 {
            match eventloop.poll().await {
                Ok(Event5::Incoming(Packet5::PubAck(ack))) => reasons.push(ack.reason),
                Ok(_) => {}
                Err(e) => panic!("MQTT 5 connection failed: {e}"),
            }
        }
        reasons
    })
    .await
    .expect("two PUBACKs");
    assert_eq!(
        reasons,
        vec![PubAckReason::NotAuthorized, PubAckReason::Success]
    );
    assert_eq!(events.publishes_on("dt/boxpilot/f1/b2/telemetry"), vec![]);
    assert_eq!(events.publishes_on(TELEMETRY_B1).len(), 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_subscribes_within_its_filters_only() {
    let (broker, _events) = start().await;
    let mut ann = Client::connect(tcp_options(
        &broker,
        "console-ann-1",
        Some(("ann", "token-ann")),
    ))
    .await;
    ann.client
        .subscribe("dt/boxpilot/f1/+/+", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(
        ann.suback().await,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    ann.client
        .subscribe("dt/boxpilot/f2/+/+", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(ann.suback().await, vec![SubscribeReasonCode::Failure]);
    ann.client
        .subscribe("#", QoS::AtMostOnce)
        .await
        .expect("subscribe");
    assert_eq!(ann.suback().await, vec![SubscribeReasonCode::Failure]);

    // The granted subscription works: a box's telemetry reaches the console.
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            b"{\"seq\":7}".to_vec(),
        )
        .await
        .expect("publish");
    b1.puback().await;
    let got = ann.publish_on(TELEMETRY_B1).await;
    assert_eq!(&got.payload[..], b"{\"seq\":7}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_publish_reaches_a_subscribed_device() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .subscribe(CMD_REQ_B1, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(
        b1.suback().await,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );

    broker
        .publish(CMD_REQ_B1, b"{\"id\":\"c1\"}".to_vec(), false)
        .await
        .expect("server publish");
    let got = b1.publish_on(CMD_REQ_B1).await;
    assert_eq!(&got.payload[..], b"{\"id\":\"c1\"}");
    assert_eq!(got.qos, QoS::AtLeastOnce);
    assert!(
        events.publishes_on(CMD_REQ_B1).is_empty(),
        "server publishes bypass the hooks"
    );

    assert!(matches!(
        broker.publish("cmd/+/x", vec![], false).await,
        Err(BrokerError::InvalidTopic(_))
    ));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_listener_authenticates_and_routes() {
    let (broker, events) = start().await;
    let port = broker.ws_addr().port();
    let url = format!("ws://127.0.0.1:{port}/mqtt");

    let mut bad = MqttOptions::new("b1", url.clone(), port);
    bad.set_transport(Transport::Ws);
    bad.set_credentials("b1", "wrong");
    assert_eq!(refusal(bad).await, ConnectReturnCode::BadUserNamePassword);

    let mut options = MqttOptions::new("b1", url, port);
    options.set_transport(Transport::Ws);
    options.set_credentials("b1", "secret-b1");
    let mut b1 = Client::connect(options).await;
    b1.client
        .subscribe(CMD_REQ_B1, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(
        b1.suback().await,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            b"{\"seq\":2}".to_vec(),
        )
        .await
        .expect("publish");
    b1.puback().await;
    assert_eq!(events.publishes_on(TELEMETRY_B1).len(), 1);

    broker
        .publish(CMD_REQ_B1, b"go".to_vec(), false)
        .await
        .expect("server publish");
    assert_eq!(&b1.publish_on(CMD_REQ_B1).await.payload[..], b"go");

    // Publishing outside the ACL over WebSocket closes the connection too.
    b1.client
        .publish(
            "dt/boxpilot/f1/b2/status",
            QoS::AtLeastOnce,
            false,
            b"x".to_vec(),
        )
        .await
        .expect("publish");
    b1.closed_by_broker().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_status_reaches_a_later_subscriber() {
    let (broker, events) = start().await;
    let mut b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    b1.client
        .publish(
            STATUS_B1,
            QoS::AtLeastOnce,
            true,
            b"{\"online\":true}".to_vec(),
        )
        .await
        .expect("publish");
    b1.puback().await;
    assert_eq!(events.publishes_on(STATUS_B1).len(), 1);

    let mut ann = Client::connect(tcp_options(
        &broker,
        "console-ann-7",
        Some(("ann", "token-ann")),
    ))
    .await;
    ann.client
        .subscribe("dt/boxpilot/f1/+/+", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let got = ann.publish_on(STATUS_B1).await;
    assert!(got.retain, "delivered as a retained message");
    assert_eq!(&got.payload[..], b"{\"online\":true}");

    // A retained server publish is kept too.
    broker
        .publish(
            "dt/boxpilot/f1/b2/status",
            b"{\"online\":false}".to_vec(),
            true,
        )
        .await
        .expect("server publish");
    let mut ann2 = Client::connect(tcp_options(
        &broker,
        "console-ann-8",
        Some(("ann", "token-ann")),
    ))
    .await;
    ann2.client
        .subscribe("dt/boxpilot/f1/b2/status", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert!(ann2.publish_on("dt/boxpilot/f1/b2/status").await.retain);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_will_is_published_and_reported() {
    let (broker, events) = start().await;
    let mut ann = Client::connect(tcp_options(
        &broker,
        "console-ann-1",
        Some(("ann", "token-ann")),
    ))
    .await;
    ann.client
        .subscribe(STATUS_B1, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(
        ann.suback().await,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );

    let mut options = tcp_options(&broker, "b1", Some(("b1", "secret-b1")));
    options.set_last_will(LastWill::new(
        STATUS_B1,
        "{\"online\":false}",
        QoS::AtLeastOnce,
        true,
    ));
    let b1 = Client::connect(options).await;
    events
        .wait_for("on_connected(b1)", |s| {
            s.contains(&Seen::Connected(device("f1", "b1")))
        })
        .await;
    b1.vanish().await;

    let will = ann.publish_on(STATUS_B1).await;
    assert_eq!(&will.payload[..], b"{\"online\":false}");
    events
        .wait_for("the will in on_publish, then on_disconnected", |s| {
            let will = s
                .iter()
                .position(|x| matches!(x, Seen::Publish { topic, .. } if topic == STATUS_B1));
            let gone = s
                .iter()
                .position(|x| *x == Seen::Disconnected(device("f1", "b1")));
            matches!((will, gone), (Some(w), Some(g)) if w < g)
        })
        .await;
    assert_eq!(
        events.publishes_on(STATUS_B1),
        vec![Seen::Publish {
            by: device("f1", "b1"),
            topic: STATUS_B1.into(),
            payload: b"{\"online\":false}".to_vec()
        }]
    );

    // The will was retained: a later subscriber sees the box offline.
    let mut ann2 = Client::connect(tcp_options(
        &broker,
        "console-ann-2",
        Some(("ann", "token-ann")),
    ))
    .await;
    ann2.client
        .subscribe(STATUS_B1, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert!(ann2.publish_on(STATUS_B1).await.retain);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow_is_counted_as_dropped() {
    let mut settings = BrokerSettings::new(any_port(), any_port());
    settings.max_mqueue_len = 2;
    let (broker, events) = start_with(settings).await;

    // A persistent session subscribed to its commands, then offline.
    let mut options = tcp_options(&broker, "b1", Some(("b1", "secret-b1")));
    options.set_clean_session(false);
    let mut b1 = Client::connect(options).await;
    b1.client
        .subscribe(CMD_REQ_B1, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    b1.suback().await;
    b1.client.disconnect().await.expect("disconnect");
    events
        .wait_for("on_disconnected(b1)", |s| {
            s.contains(&Seen::Disconnected(device("f1", "b1")))
        })
        .await;

    for i in 0..5u8 {
        broker
            .publish(CMD_REQ_B1, vec![i], false)
            .await
            .expect("server publish");
    }
    let dropped = timeout(WAIT, async {
        while broker.dropped_messages() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(dropped.is_ok(), "dropped: {}", broker.dropped_messages());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(broker.dropped_messages(), 3, "5 messages into a queue of 2");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_port_is_a_clear_error_and_a_restart_reuses_the_ports() {
    let (broker, events) = start().await;
    let (tcp, ws) = (broker.tcp_addr(), broker.ws_addr());

    let second = EmbeddedBroker::start(
        BrokerSettings::new(tcp, any_port()),
        Arc::new(FakeAuth),
        events.clone(),
    )
    .await;
    let err = second.expect_err("the TCP port is taken");
    assert!(matches!(err, BrokerError::AddressInUse { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("address {tcp} already in use")),
        "{err}"
    );

    // Shutdown closes the client connections (and reports them), then the same ports can be bound.
    let _b1 = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    events
        .wait_for("on_connected(b1)", |s| {
            s.contains(&Seen::Connected(device("f1", "b1")))
        })
        .await;
    broker.shutdown().await;
    assert!(
        events
            .seen()
            .contains(&Seen::Disconnected(device("f1", "b1"))),
        "{:?}",
        events.seen()
    );

    let again = EmbeddedBroker::start(
        BrokerSettings::new(tcp, ws),
        Arc::new(FakeAuth),
        events.clone(),
    )
    .await
    .expect("restart on the same ports");
    assert_eq!((again.tcp_addr(), again.ws_addr()), (tcp, ws));
    let _b1 = Client::connect(tcp_options(&again, "b1", Some(("b1", "secret-b1")))).await;
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_is_disconnected_when_its_credential_expires() {
    let (broker, events) = start().await;
    let mut ann = Client::connect(tcp_options(
        &broker,
        "console-ann-3",
        Some(("brief", "token-brief")),
    ))
    .await;
    ann.client
        .subscribe("dt/boxpilot/f1/+/+", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    assert_eq!(
        ann.suback().await,
        vec![SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    ann.closed_by_broker().await;
    events
        .wait_for("on_disconnected(console)", |s| {
            s.iter()
                .any(|x| matches!(x, Seen::Disconnected(Principal::Console { .. })))
        })
        .await;
    assert_eq!(broker.connected_clients(), 0);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payloads_reach_ingestion_up_to_the_packet_limit() {
    let (broker, events) = start().await;
    let mut options = tcp_options(&broker, "b1", Some(("b1", "secret-b1")));
    options.set_max_packet_size(1 << 20, 1 << 20); // rumqttc's own default is 10 KiB
    let mut b1 = Client::connect(options).await;

    // Above the 128 KiB payload limit of the contract, below the broker's 256 KiB packet limit:
    // delivered, so that ingestion can keep it as a dead letter.
    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            vec![b'x'; 200 * 1024],
        )
        .await
        .expect("publish");
    b1.puback().await;
    assert!(
        matches!(&events.publishes_on(TELEMETRY_B1)[..], [Seen::Publish { payload, .. }] if payload.len() == 200 * 1024)
    );

    // Above the packet limit: the connection is closed, nothing is delivered.
    b1.client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            vec![b'x'; 300 * 1024],
        )
        .await
        .expect("publish");
    b1.closed_by_broker().await;
    assert_eq!(events.publishes_on(TELEMETRY_B1).len(), 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_over_keeps_the_box_present() {
    let (broker, events) = start().await;
    let mut first = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    events
        .wait_for("on_connected(b1)", |s| {
            s.contains(&Seen::Connected(device("f1", "b1")))
        })
        .await;

    // The box reconnects before the broker noticed its old connection was dead.
    let mut second = Client::connect(tcp_options(&broker, "b1", Some(("b1", "secret-b1")))).await;
    first.closed_by_broker().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        events.seen(),
        vec![Seen::Connected(device("f1", "b1"))],
        "no presence change on a take-over"
    );
    assert_eq!(broker.connected_clients(), 1);

    // The new connection works, and its end is reported.
    second
        .client
        .publish(
            TELEMETRY_B1,
            QoS::AtLeastOnce,
            false,
            b"{\"seq\":3}".to_vec(),
        )
        .await
        .expect("publish");
    second.puback().await;
    second.client.disconnect().await.expect("disconnect");
    events
        .wait_for("on_disconnected(b1)", |s| {
            s.contains(&Seen::Disconnected(device("f1", "b1")))
        })
        .await;
    assert_eq!(broker.connected_clients(), 0);
    broker.shutdown().await;
}
