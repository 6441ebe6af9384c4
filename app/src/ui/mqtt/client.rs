//! The console's MQTT client: MQTT 3.1.1 over a browser WebSocket (subprotocol `mqtt`).
//!
//! One connection per signed-in session, shared by every page. It asks the server for a
//! short-lived broker credential, subscribes to the credential's topic filters, pings to detect a
//! dead connection (an idle or sleeping tab), reconnects with jittered exponential backoff, and
//! switches to a fresh credential a minute before the current one expires, so a long-open tab
//! never reconnects with a stale one.
use super::codec::{
    ConnectReturnCode, FrameDecoder, Packet, Publish, QoS, Subscribe, SubscribeReturnCode,
};
use super::LiveEvent;
use crate::api::broker::issue_broker_credential;
use crate::domain::{AppError, BrokerCredential};
use crate::ui::clock::now_ms;
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::future::poll_fn;
use futures::{select, FutureExt, Sink, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State as SocketState};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::pin::Pin;
use std::rc::Rc;

/// Keep-alive announced in CONNECT: the broker drops us after 1.5 times this without a packet.
/// Generous because hidden tabs get their timers throttled to about once a minute.
const KEEP_ALIVE_SECS: u16 = 60;
/// How often to ping; a ping still unanswered at the next tick means the connection is dead.
const PING_EVERY_MS: u32 = 20_000;
/// Time allowed to open the socket and get CONNACK and SUBACK.
const HANDSHAKE_TIMEOUT_MS: u32 = 10_000;
/// Switch to a fresh credential this long before the current one expires.
const RENEW_BEFORE_EXPIRY_MS: i64 = 60_000;
const BACKOFF_MIN_MS: u32 = 1_000;
const BACKOFF_MAX_MS: u32 = 30_000;
const SUBSCRIBE_PACKET_ID: u16 = 1;

/// The state the connection indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First attempt of this session.
    Connecting,
    /// Connected and subscribed: live updates flow.
    Live,
    /// Lost or refused; retrying after a backoff.
    Reconnecting,
    /// Not connected and not trying: signed out, or the browser reports no network.
    Offline,
}

impl ConnectionState {
    /// The value of `data-mqtt-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Live => "live",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "Connecting",
            ConnectionState::Live => "Live",
            ConnectionState::Reconnecting => "Reconnecting",
            ConnectionState::Offline => "Offline",
        }
    }
}

enum Command {
    Stop,
    /// The network came back or the tab became visible: retry now rather than after the backoff,
    /// or check a live connection at once.
    Wake,
}

type Listener = Rc<dyn Fn(&LiveEvent)>;

#[derive(Default)]
struct Inner {
    listeners: Vec<(u64, Listener)>,
    next_listener_id: u64,
    commands: Option<UnboundedSender<Command>>,
    /// Increases with each start, so that a stopped run cannot overwrite a newer run's state.
    generation: u64,
}

/// Handle to the shared connection (a context, `Copy`).
#[derive(Clone, Copy)]
pub struct MqttClient {
    state: RwSignal<ConnectionState>,
    inner: StoredValue<Inner, LocalStorage>,
}

impl MqttClient {
    pub fn provide() -> Self {
        let client = MqttClient {
            state: RwSignal::new(ConnectionState::Offline),
            inner: StoredValue::new_local(Inner::default()),
        };
        provide_context(client);
        // A phone waking up or a network coming back should not wait out a 30 s backoff.
        // Both listeners live as long as the page.
        for event in ["online", "visibilitychange"] {
            let handle = window_event_listener_untyped(event, move |_| client.send(Command::Wake));
            std::mem::forget(handle);
        }
        client
    }

    pub fn expect() -> Self {
        expect_context::<MqttClient>()
    }

    /// The connection state, tracked.
    pub fn state(&self) -> ConnectionState {
        self.state.get()
    }

    /// Calls `listener` with every live event until the current reactive owner (the page or
    /// component registering it) is cleaned up.
    pub fn on_event(&self, listener: impl Fn(&LiveEvent) + 'static) {
        let id = self
            .inner
            .try_update_value(|inner| {
                inner.next_listener_id += 1;
                let id = inner.next_listener_id;
                inner.listeners.push((id, Rc::new(listener)));
                id
            })
            .unwrap_or_default();
        let inner = self.inner;
        on_cleanup(move || {
            inner.try_update_value(|inner| inner.listeners.retain(|(other, _)| *other != id));
        });
    }

    /// Starts the connection loop unless it runs already. `on_session_lost` is called when the
    /// server refuses a credential because the session has ended.
    pub fn start(&self, on_session_lost: impl Fn() + 'static) {
        let (sender, receiver) = unbounded();
        let started = self.inner.try_update_value(|inner| {
            if inner.commands.is_some() {
                return None;
            }
            inner.commands = Some(sender);
            inner.generation += 1;
            Some(inner.generation)
        });
        let Some(generation) = started.flatten() else {
            return;
        };
        self.state.set(ConnectionState::Connecting);
        spawn_local(run(*self, generation, receiver, Rc::new(on_session_lost)));
    }

    /// Disconnects (politely, with DISCONNECT) and stops reconnecting.
    pub fn stop(&self) {
        self.send(Command::Stop);
        self.inner.try_update_value(|inner| inner.commands = None);
        self.state.set(ConnectionState::Offline);
    }

    fn send(&self, command: Command) {
        self.inner.with_value(|inner| {
            if let Some(commands) = &inner.commands {
                let _ = commands.unbounded_send(command);
            }
        });
    }

    fn set_state(&self, generation: u64, state: ConnectionState) {
        if self
            .inner
            .with_value(|inner| inner.generation == generation && inner.commands.is_some())
        {
            self.state.set(state);
        }
    }

    fn dispatch(&self, event: &LiveEvent) {
        // Copy the list first: a listener may register or drop listeners (a page change).
        let listeners: Vec<Listener> = self
            .inner
            .with_value(|inner| inner.listeners.iter().map(|(_, l)| Rc::clone(l)).collect());
        for listener in listeners {
            listener(event);
        }
    }
}

/// How one connection ended.
enum SessionEnd {
    Stopped,
    /// The credential is about to expire: reconnect at once, with the fresh credential if it
    /// could be fetched while the old connection still ran.
    Renew(Option<BrokerCredential>),
    Failed(String),
}

async fn run(
    client: MqttClient,
    generation: u64,
    mut commands: UnboundedReceiver<Command>,
    on_session_lost: Rc<dyn Fn()>,
) {
    let mut failures: u32 = 0;
    let mut prefetched: Option<BrokerCredential> = None;
    loop {
        let credential = match prefetched.take() {
            Some(credential) => Ok(credential),
            None => issue_broker_credential().await,
        };
        let end = match credential {
            Ok(credential) => {
                serve(
                    client,
                    generation,
                    &credential,
                    &mut commands,
                    &mut failures,
                )
                .await
            }
            Err(AppError::Unauthenticated) => {
                client.set_state(generation, ConnectionState::Offline);
                on_session_lost();
                return;
            }
            Err(error) => SessionEnd::Failed(format!("no broker credential: {error}")),
        };
        match end {
            SessionEnd::Stopped => return,
            SessionEnd::Renew(fresh) => prefetched = fresh,
            SessionEnd::Failed(reason) => {
                leptos::logging::warn!("MQTT: {reason}");
                let state = if browser_online() {
                    ConnectionState::Reconnecting
                } else {
                    ConnectionState::Offline
                };
                client.set_state(generation, state);
                let delay = backoff_delay_ms(failures, js_sys::Math::random());
                failures = failures.saturating_add(1);
                let command = select! {
                    _ = TimeoutFuture::new(delay).fuse() => None,
                    command = commands.next() => Some(command),
                };
                if let Some(None | Some(Command::Stop)) = command {
                    return;
                }
                client.set_state(generation, ConnectionState::Reconnecting);
            }
        }
    }
}

/// Exponential backoff with "equal jitter": half of the ceiling fixed, half random, so that a
/// fleet of consoles cut off together does not reconnect in lockstep. 1 s, then up to 2, 4, 8,
/// 16 and 30 s.
fn backoff_delay_ms(failures: u32, random_unit: f64) -> u32 {
    let ceiling = BACKOFF_MIN_MS
        .saturating_mul(1 << failures.min(5))
        .min(BACKOFF_MAX_MS);
    let half = f64::from(ceiling / 2);
    ((half + random_unit.clamp(0.0, 1.0) * half) as u32).max(BACKOFF_MIN_MS)
}

/// When to switch credentials. Bounded on both sides because the browser's clock may disagree
/// with the server's: a skewed clock must not cause a reconnect loop.
fn renew_delay_ms(expires_at: i64, now: i64) -> u32 {
    let remaining = expires_at - now;
    (remaining - RENEW_BEFORE_EXPIRY_MS)
        .max(remaining / 2)
        .clamp(30_000, 15 * 60_000) as u32
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

enum Event {
    Socket(Option<Result<Message, gloo_net::websocket::WebSocketError>>),
    PingDue,
    HandshakeTimeout,
    RenewDue,
    Command(Option<Command>),
}

/// One WebSocket connection and its MQTT session state.
struct Connection<'a> {
    client: MqttClient,
    generation: u64,
    credential: &'a BrokerCredential,
    socket: WebSocket,
    decoder: FrameDecoder,
    connected: bool,
    live: bool,
    awaiting_pong: bool,
}

impl Connection<'_> {
    /// Waits until the socket is open; an error if it failed to open instead.
    async fn opened(&mut self) -> Result<(), String> {
        // The sink is "ready" once the socket leaves CONNECTING, open or not.
        poll_fn(|cx| Pin::new(&mut self.socket).poll_ready(cx))
            .await
            .map_err(|e| format!("WebSocket: {e}"))?;
        match self.socket.state() {
            SocketState::Open => Ok(()),
            _ => Err("WebSocket connection failed".to_owned()),
        }
    }

    async fn send(&mut self, packet: &Packet) -> Result<(), String> {
        // Sending on a closed socket only logs a browser error; report it as a failure instead.
        if !matches!(self.socket.state(), SocketState::Open) {
            return Err("WebSocket closed".to_owned());
        }
        let bytes = packet.to_bytes().map_err(|e| e.to_string())?;
        self.socket
            .send(Message::Bytes(bytes))
            .await
            .map_err(|e| format!("WebSocket send: {e}"))
    }

    async fn on_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.decoder.push(bytes);
        while let Some(packet) = self.decoder.next_packet().map_err(|e| e.to_string())? {
            self.on_packet(packet).await?;
        }
        Ok(())
    }

    async fn on_packet(&mut self, packet: Packet) -> Result<(), String> {
        match packet {
            Packet::ConnAck(ack) if !self.connected => {
                if ack.code != ConnectReturnCode::Accepted {
                    return Err(format!("broker refused the connection: {}", ack.code));
                }
                self.connected = true;
                if self.credential.subscribe.is_empty() {
                    self.go_live();
                } else {
                    let filters = self
                        .credential
                        .subscribe
                        .iter()
                        .map(|filter| (filter.clone(), QoS::AtLeastOnce))
                        .collect();
                    self.send(&Packet::Subscribe(Subscribe {
                        packet_id: SUBSCRIBE_PACKET_ID,
                        filters,
                    }))
                    .await?;
                }
            }
            Packet::SubAck(ack) if self.connected && !self.live => {
                if ack.packet_id != SUBSCRIBE_PACKET_ID {
                    return Err("SUBACK for an unknown packet id".into());
                }
                let refused: Vec<&String> = ack
                    .return_codes
                    .iter()
                    .zip(&self.credential.subscribe)
                    .filter(|(code, _)| **code == SubscribeReturnCode::Failure)
                    .map(|(_, filter)| filter)
                    .collect();
                if refused.len() == self.credential.subscribe.len() {
                    return Err("broker refused every subscription".into());
                }
                if !refused.is_empty() {
                    leptos::logging::warn!("MQTT: broker refused {refused:?}");
                }
                self.go_live();
            }
            Packet::Publish(publish) => self.on_publish(publish).await?,
            Packet::PingResp => self.awaiting_pong = false,
            other => return Err(format!("unexpected {} from the broker", other.name())),
        }
        Ok(())
    }

    async fn on_publish(&mut self, publish: Publish) -> Result<(), String> {
        if publish.qos == QoS::ExactlyOnce {
            return Err("unexpected QoS 2 publish (subscribed at QoS 1)".into());
        }
        if let Some(event) =
            LiveEvent::parse(&publish.topic, &publish.payload, publish.retain, now_ms())
        {
            self.client.dispatch(&event);
        }
        if let Some(packet_id) = publish.packet_id {
            self.send(&Packet::PubAck { packet_id }).await?;
        }
        Ok(())
    }

    fn go_live(&mut self) {
        self.live = true;
        self.client
            .set_state(self.generation, ConnectionState::Live);
    }

    async fn ping(&mut self) -> Result<(), String> {
        self.awaiting_pong = true;
        self.send(&Packet::PingReq).await
    }

    /// Handles what arrived while the loop was busy elsewhere (fetching a credential).
    async fn drain(&mut self) -> Result<(), String> {
        while let Some(Some(Ok(Message::Bytes(bytes)))) = self.socket.next().now_or_never() {
            self.on_bytes(&bytes).await?;
        }
        Ok(())
    }

    async fn disconnect(mut self) {
        let _ = self.send(&Packet::Disconnect).await;
        // Dropping the socket closes it.
    }
}

async fn serve(
    client: MqttClient,
    generation: u64,
    credential: &BrokerCredential,
    commands: &mut UnboundedReceiver<Command>,
    failures: &mut u32,
) -> SessionEnd {
    // The URL is used exactly as the server gives it (it may name 127.0.0.1 while the page is on
    // localhost): the credential is not tied to the page's origin.
    let socket = match WebSocket::open_with_protocol(&credential.url, "mqtt") {
        Ok(socket) => socket,
        Err(error) => {
            return SessionEnd::Failed(format!("cannot open {}: {error}", credential.url))
        }
    };
    let mut connection = Connection {
        client,
        generation,
        credential,
        socket,
        decoder: FrameDecoder::default(),
        connected: false,
        live: false,
        awaiting_pong: false,
    };
    let connect = Packet::Connect(super::codec::Connect {
        client_id: credential.client_id.clone(),
        username: Some(credential.username.clone()),
        password: Some(credential.password.clone().into_bytes()),
        keep_alive_secs: KEEP_ALIVE_SECS,
        clean_session: true,
    });
    let opened = select! {
        opened = connection.opened().fuse() => opened,
        _ = TimeoutFuture::new(HANDSHAKE_TIMEOUT_MS).fuse() => Err("WebSocket did not open".into()),
    };
    if let Err(reason) = opened {
        return SessionEnd::Failed(reason);
    }
    if let Err(reason) = connection.send(&connect).await {
        return SessionEnd::Failed(reason);
    }

    let mut handshake_deadline = TimeoutFuture::new(HANDSHAKE_TIMEOUT_MS).fuse();
    let mut ping_ticks = IntervalStream::new(PING_EVERY_MS).fuse();
    let mut renew_timer =
        TimeoutFuture::new(renew_delay_ms(credential.expires_at, now_ms())).fuse();
    loop {
        let event = select! {
            message = connection.socket.next().fuse() => Event::Socket(message),
            _ = ping_ticks.next() => Event::PingDue,
            _ = handshake_deadline => Event::HandshakeTimeout,
            _ = renew_timer => Event::RenewDue,
            command = commands.next() => Event::Command(command),
        };
        let outcome = match event {
            Event::Socket(Some(Ok(Message::Bytes(bytes)))) => {
                let was_live = connection.live;
                let result = connection.on_bytes(&bytes).await;
                if !was_live && connection.live {
                    *failures = 0;
                }
                result
            }
            Event::Socket(Some(Ok(Message::Text(_)))) => {
                Err("text frame on the MQTT WebSocket".to_owned())
            }
            Event::Socket(Some(Err(error))) => Err(format!("WebSocket: {error}")),
            Event::Socket(None) => Err("WebSocket closed".to_owned()),
            Event::PingDue if connection.live => {
                if connection.awaiting_pong {
                    Err("no answer to the keep-alive ping".to_owned())
                } else {
                    connection.ping().await
                }
            }
            Event::PingDue => Ok(()),
            Event::HandshakeTimeout if !connection.live => {
                Err("no CONNACK or SUBACK in time".to_owned())
            }
            Event::HandshakeTimeout => Ok(()),
            Event::RenewDue => {
                // Fetch the next credential while this connection still delivers, then switch.
                match issue_broker_credential().await {
                    Ok(fresh) => {
                        let _ = connection.drain().await;
                        connection.disconnect().await;
                        return SessionEnd::Renew(Some(fresh));
                    }
                    Err(AppError::Unauthenticated) => {
                        connection.disconnect().await;
                        return SessionEnd::Renew(None);
                    }
                    Err(error) => {
                        leptos::logging::warn!("MQTT: credential renewal failed: {error}");
                        if now_ms() < credential.expires_at - 15_000 {
                            renew_timer = TimeoutFuture::new(10_000).fuse();
                            Ok(())
                        } else {
                            Err(format!("credential renewal failed: {error}"))
                        }
                    }
                }
            }
            Event::Command(Some(Command::Wake)) => {
                if connection.live && !connection.awaiting_pong {
                    connection.ping().await
                } else {
                    Ok(())
                }
            }
            Event::Command(Some(Command::Stop) | None) => {
                connection.disconnect().await;
                return SessionEnd::Stopped;
            }
        };
        if let Err(reason) = outcome {
            return SessionEnd::Failed(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_from_one_to_thirty_seconds_with_jitter() {
        assert_eq!(backoff_delay_ms(0, 0.0), 1_000);
        assert_eq!(backoff_delay_ms(0, 1.0), 1_000);
        assert_eq!(backoff_delay_ms(2, 0.0), 2_000);
        assert_eq!(backoff_delay_ms(2, 1.0), 4_000);
        assert_eq!(backoff_delay_ms(10, 0.0), 15_000);
        assert_eq!(backoff_delay_ms(40, 1.0), 30_000);
    }

    #[test]
    fn renews_a_minute_before_expiry_within_bounds() {
        assert_eq!(renew_delay_ms(15 * 60_000, 0), 14 * 60_000);
        assert_eq!(renew_delay_ms(90_000, 0), 45_000);
        // A browser clock far ahead of the server's must not make it reconnect in a loop.
        assert_eq!(renew_delay_ms(0, 3_600_000), 30_000);
        assert_eq!(renew_delay_ms(i64::MAX / 2, 0), 15 * 60_000);
    }
}
