//! Simulated boxes: real MQTT clients (rumqttc) with their own secrets, a `seq` per box, a retained
//! status and a last will, realistic signals, and `loss` to skip sequence numbers on purpose.
//! Boxes honour commands (see [`handle_command`]): `set_setpoint`, `set_interval`, `reboot`
//! (offline ~2 s, then a new boot with `seq` from 1), `diagnostics`; unknown or expired commands
//! are rejected, and `fail_rate` makes some fail. They reconcile their desired state and report
//! it (see `desired_state.rs`).
mod desired_state;
mod secrets;
mod signals;

pub use secrets::{append_secrets, read_secrets};
pub use signals::BoxSignals;

use app::domain::{topics, DeviceId, FleetId};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, Transport};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// `mqtt://host:port` or `ws://host:port/mqtt`.
    pub broker: String,
    pub fleet: FleetId,
    pub boxes: Vec<(DeviceId, String)>,
    /// Messages per second per box.
    pub rate: f64,
    /// Probability of skipping a sequence number (a message "lost" on purpose).
    pub loss: f64,
    pub firmware: String,
    /// Probability that a command the box knows ends `failed` (`--fail-rate`).
    pub fail_rate: f64,
    /// A period of faster sending, to see a message-rate (and cost) spike flagged (`--burst`).
    pub burst: Option<Burst>,
}

/// Send `factor` times faster from `after` for `duration`, counted from the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub factor: f64,
    pub after: Duration,
    pub duration: Duration,
}

impl Burst {
    /// The sending period at `elapsed` since the start, given the normal one.
    pub fn period_at(&self, elapsed: Duration, normal: Duration) -> Duration {
        if elapsed >= self.after && elapsed < self.after + self.duration {
            normal.div_f64(self.factor)
        } else {
            normal
        }
    }
}

/// What the simulator did, shared while it runs.
#[derive(Debug, Default)]
pub struct SimulatorStats {
    pub published: AtomicU64,
    pub skipped: AtomicU64,
    pub connection_errors: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Tcp { host: String, port: u16 },
    WebSocket { url: String },
}

fn parse_broker(url: &str) -> Result<Endpoint, String> {
    if let Some(rest) = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
    {
        let (host, port) = rest
            .trim_end_matches('/')
            .rsplit_once(':')
            .ok_or_else(|| format!("{url}: expected mqtt://host:port"))?;
        let port = port.parse().map_err(|_| format!("{url}: bad port"))?;
        return Ok(Endpoint::Tcp {
            host: host.to_owned(),
            port,
        });
    }
    if url.starts_with("ws://") {
        return Ok(Endpoint::WebSocket {
            url: url.to_owned(),
        });
    }
    Err(format!(
        "{url}: the broker URL must start with mqtt:// or ws://"
    ))
}

pub fn validate(config: &SimulatorConfig) -> Result<(), String> {
    parse_broker(&config.broker)?;
    if !(config.rate > 0.0 && config.rate <= 1000.0) {
        return Err("--rate must be above 0 and at most 1000 messages per second per box".into());
    }
    if !(0.0..=1.0).contains(&config.fail_rate) {
        return Err("--fail-rate must be a probability from 0 to 1".into());
    }
    if !(0.0..1.0).contains(&config.loss) {
        return Err("--loss must be a probability from 0 to below 1".into());
    }
    if config.boxes.is_empty() {
        return Err("no boxes to simulate".into());
    }
    if let Some(b) = config.burst {
        if !(b.factor > 1.0 && b.factor <= 100.0) {
            return Err("--burst: a factor above 1 and at most 100 (e.g. 10)".into());
        }
        if config.rate * b.factor > 1000.0 {
            return Err("--burst: the burst rate (rate × factor) is at most 1000 messages per second per box".into());
        }
        if b.duration.is_zero() {
            return Err("--burst-for: at least one second".into());
        }
    }
    Ok(())
}

/// Runs every box until `stop` turns true.
pub async fn run(
    config: SimulatorConfig,
    stop: watch::Receiver<bool>,
) -> Result<Arc<SimulatorStats>, String> {
    validate(&config)?;
    let endpoint = parse_broker(&config.broker)?;
    let stats = Arc::new(SimulatorStats::default());
    let mut tasks = Vec::new();
    for (index, (device, secret)) in config.boxes.iter().enumerate() {
        let task = run_box(
            config.clone(),
            endpoint.clone(),
            device.clone(),
            secret.clone(),
            index as u64,
            stats.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(task));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(stats)
}

fn options(
    config: &SimulatorConfig,
    endpoint: &Endpoint,
    device: &DeviceId,
    secret: &str,
) -> MqttOptions {
    let mut options = match endpoint {
        Endpoint::Tcp { host, port } => MqttOptions::new(device.as_str(), host.as_str(), *port),
        Endpoint::WebSocket { url } => {
            let mut o = MqttOptions::new(device.as_str(), url.as_str(), 0);
            o.set_transport(Transport::Ws);
            o
        }
    };
    options.set_credentials(device.as_str(), secret);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_clean_session(true);
    let will = LastWill::new(
        topics::status(&config.fleet, device),
        br#"{"online":false}"#.to_vec(),
        QoS::AtLeastOnce,
        true,
    );
    options.set_last_will(will);
    options
}

/// Drives one connection. rumqttc's `poll` must not be cancelled while it connects (a cancelled
/// CONNECT is retried at once, and the broker refuses the second handshake of the same client id),
/// so the event loop runs alone in this task and only the stop signal interrupts it.
#[allow(clippy::too_many_arguments)]
async fn drive_connection(
    client: AsyncClient,
    mut events: rumqttc::EventLoop,
    status_topic: String,
    request_topic: String,
    desired_topic: String,
    online: String,
    device: DeviceId,
    stats: Arc<SimulatorStats>,
    inbound: tokio::sync::mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            event = events.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, online.clone().into_bytes());
                    // A clean session: subscribe again after every connection.
                    let _ = client.try_subscribe(&request_topic, QoS::AtLeastOnce);
                    let _ = client.try_subscribe(&desired_topic, QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == request_topic => {
                    let _ = inbound.try_send(Inbound::Command(p.payload.to_vec()));
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == desired_topic => {
                    let _ = inbound.try_send(Inbound::Desired(p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(e) => {
                    stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%device, error = %e, "simulated box lost its connection; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    // Say goodbye: offline status, DISCONNECT, then close the socket by dropping the event loop.
    let _ = client.try_publish(
        &status_topic,
        QoS::AtLeastOnce,
        true,
        br#"{"online":false}"#.to_vec(),
    );
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(event) = events.poll().await {
            if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}

/// A ticker whose first tick is one period from now (a new sending rate).
fn ticker_from_now(period: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker
}

/// What the cloud sent a box.
enum Inbound {
    Command(Vec<u8>),
    Desired(Vec<u8>),
}

/// What a box does after a command.
#[derive(Debug, PartialEq)]
enum After {
    Nothing,
    NewPeriod(Duration),
    Reboot,
}

/// Runs one command on the box's state; returns the replies to publish (status, detail) and what
/// to do next.
fn handle_command(
    payload: &[u8],
    signals: &mut BoxSignals,
    fail: bool,
    now_ms: i64,
) -> (Option<String>, Vec<(&'static str, String)>, After) {
    let cmd: serde_json::Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(_) => return (None, Vec::new(), After::Nothing),
    };
    let Some(id) = cmd.get("id").and_then(|v| v.as_str()).map(str::to_owned) else {
        return (None, Vec::new(), After::Nothing);
    };
    let name = cmd.get("name").and_then(|v| v.as_str()).unwrap_or_default();
    let params = cmd.get("params").cloned().unwrap_or_default();
    if cmd
        .get("expires_at")
        .and_then(|v| v.as_i64())
        .is_some_and(|at| at <= now_ms)
    {
        return (
            Some(id),
            vec![("rejected", "expired".into())],
            After::Nothing,
        );
    }
    let known = matches!(
        name,
        "set_setpoint" | "set_interval" | "reboot" | "diagnostics"
    );
    if !known {
        return (
            Some(id),
            vec![("rejected", format!("unknown command {name:?}"))],
            After::Nothing,
        );
    }
    let accepted = ("accepted", String::new());
    if fail {
        return (
            Some(id),
            vec![accepted, ("failed", "simulated failure".into())],
            After::Nothing,
        );
    }
    let (detail, after) = match name {
        "set_setpoint" => match params.get("value").and_then(|v| v.as_f64()) {
            Some(v) => {
                signals.setpoint_c = v;
                (format!("setpoint {v} °C"), After::Nothing)
            }
            None => {
                return (
                    Some(id),
                    vec![("rejected", "value must be a number".into())],
                    After::Nothing,
                )
            }
        },
        "set_interval" => match params.get("seconds").and_then(|v| v.as_u64()) {
            Some(s) if (1..=3600).contains(&s) => (
                format!("interval {s} s"),
                After::NewPeriod(Duration::from_secs(s)),
            ),
            _ => {
                return (
                    Some(id),
                    vec![(
                        "rejected",
                        "seconds must be an integer from 1 to 3600".into(),
                    )],
                    After::Nothing,
                )
            }
        },
        "reboot" => ("rebooting".into(), After::Reboot),
        _ => (
            format!("setpoint {:.1} °C, all sensors answer", signals.setpoint_c),
            After::Nothing,
        ),
    };
    (Some(id), vec![accepted, ("succeeded", detail)], after)
}

async fn run_box(
    config: SimulatorConfig,
    endpoint: Endpoint,
    device: DeviceId,
    secret: String,
    index: u64,
    stats: Arc<SimulatorStats>,
    mut stop: watch::Receiver<bool>,
) {
    let telemetry_topic = topics::telemetry(&config.fleet, &device);
    let response_topic = topics::command_response(&config.fleet, &device);
    let reported_topic = topics::shadow_reported(&config.fleet, &device);
    let online = format!(r#"{{"online":true,"fw":"{}"}}"#, config.firmware);
    let mut period = Duration::from_secs_f64(1.0 / config.rate);
    let mut signals = BoxSignals::new(index.wrapping_mul(7919) ^ 0x5eed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(index ^ 0x1055);
    let started = tokio::time::Instant::now();
    // Each turn of this loop is one boot: a new connection, `seq` from 1.
    'boots: loop {
        let (client, mut events) =
            AsyncClient::new(options(&config, &endpoint, &device, &secret), 64);
        // A box answers a command right after acknowledging it: without TCP_NODELAY, Nagle's
        // algorithm holds the answer until the broker's delayed ACK (~40 ms) (BENCHMARKS.md).
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        events.set_network_options(network);
        let (inbound_tx, mut inbound) = tokio::sync::mpsc::channel(64);
        let (stop_boot, boot_stopped) = watch::channel(false);
        let connection = tokio::spawn(drive_connection(
            client.clone(),
            events,
            topics::status(&config.fleet, &device),
            topics::command_request(&config.fleet, &device),
            topics::shadow_desired(&config.fleet, &device),
            online.clone(),
            device.clone(),
            stats.clone(),
            inbound_tx,
            boot_stopped,
        ));
        // Each boot starts by telling what it runs with (queued until connected).
        let state = desired_state::report(&signals, period, &config.firmware, None);
        let _ = client
            .publish(&reported_topic, QoS::AtLeastOnce, false, state)
            .await;
        let mut seq: u64 = 0;
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The period the ticker runs at: `period`, or shorter during a burst.
        let mut ticking = period;
        let reboot = loop {
            tokio::select! {
                _ = stop.changed() => break false,
                Some(message) = inbound.recv() => match message {
                    Inbound::Desired(payload) => {
                        if let Some((version, new_period)) = desired_state::reconcile(&payload, &mut signals, period) {
                            if new_period != period {
                                period = new_period;
                                ticking = period;
                                ticker = ticker_from_now(period);
                            }
                            let state = desired_state::report(&signals, period, &config.firmware, Some(version));
                            let _ = client.publish(&reported_topic, QoS::AtLeastOnce, false, state).await;
                        }
                    }
                    Inbound::Command(payload) => {
                        let fail = config.fail_rate > 0.0 && rand::Rng::gen_bool(&mut rng, config.fail_rate);
                        let now = chrono::Utc::now().timestamp_millis();
                        let (id, replies, after) = handle_command(&payload, &mut signals, fail, now);
                        if let Some(id) = id {
                            for (status, detail) in replies {
                                let reply = serde_json::json!({"id": id, "status": status, "detail": detail});
                                let _ = client.publish(&response_topic, QoS::AtLeastOnce, false, reply.to_string().into_bytes()).await;
                            }
                        }
                        match after {
                            After::Nothing => {}
                            After::NewPeriod(p) => {
                                period = p;
                                ticking = period;
                                ticker = ticker_from_now(period);
                            }
                            After::Reboot => break true,
                        }
                    }
                },
                _ = ticker.tick() => {
                    if let Some(burst) = config.burst {
                        let want = burst.period_at(started.elapsed(), period);
                        if want != ticking {
                            tracing::info!(%device, period_ms = want.as_millis() as u64, "simulated burst {}", if want < period { "starts" } else { "ends" });
                            ticking = want;
                            ticker = ticker_from_now(want);
                        }
                    }
                    seq += 1;
                    if config.loss > 0.0 && rand::Rng::gen_bool(&mut rng, config.loss) {
                        stats.skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let payload = serde_json::json!({
                        "seq": seq,
                        "ts": chrono::Utc::now().timestamp_millis(),
                        "metrics": signals.next(ticking.as_secs_f64()),
                    });
                    // Queued by rumqttc while disconnected (up to its capacity): a box buffers too.
                    if client.publish(&telemetry_topic, QoS::AtLeastOnce, false, payload.to_string().into_bytes()).await.is_ok() {
                        stats.published.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        };
        if reboot {
            // Let the replies go out, then go away for about two seconds.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = stop_boot.send(true);
        let _ = connection.await;
        if !reboot {
            break 'boots;
        }
        tracing::info!(%device, "simulated box rebooting");
        tokio::select! {
            _ = stop.changed() => break 'boots,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

use rand::SeedableRng;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_shortens_the_period_only_within_its_window() {
        let b = Burst {
            factor: 10.0,
            after: Duration::from_secs(60),
            duration: Duration::from_secs(30),
        };
        let normal = Duration::from_secs(1);
        assert_eq!(b.period_at(Duration::from_secs(59), normal), normal);
        assert_eq!(
            b.period_at(Duration::from_secs(60), normal),
            Duration::from_millis(100)
        );
        assert_eq!(
            b.period_at(Duration::from_secs(89), normal),
            Duration::from_millis(100)
        );
        assert_eq!(b.period_at(Duration::from_secs(90), normal), normal);
    }

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_broker("mqtt://127.0.0.1:1883").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 1883
            }
        );
        assert!(matches!(
            parse_broker("ws://127.0.0.1:8083/mqtt").unwrap(),
            Endpoint::WebSocket { .. }
        ));
        assert!(parse_broker("http://x").is_err());
        assert!(parse_broker("mqtt://nohost").is_err());
    }

    #[test]
    fn commands_move_the_box_or_are_rejected() {
        let mut s = BoxSignals::new(1);
        let now = 1_000;
        let cmd = |name: &str, params: serde_json::Value, expires_at: i64| {
            serde_json::json!({"id": "c", "name": name, "params": params, "expires_at": expires_at})
                .to_string()
                .into_bytes()
        };
        let (id, replies, after) = handle_command(
            &cmd("set_setpoint", serde_json::json!({"value": -18.0}), now + 1),
            &mut s,
            false,
            now,
        );
        assert_eq!(id.as_deref(), Some("c"));
        assert_eq!(replies[0].0, "accepted");
        assert_eq!(replies[1].0, "succeeded");
        assert_eq!(after, After::Nothing);
        assert_eq!(s.setpoint_c, -18.0);
        let (_, _, after) = handle_command(
            &cmd("set_interval", serde_json::json!({"seconds": 5}), now + 1),
            &mut s,
            false,
            now,
        );
        assert_eq!(after, After::NewPeriod(Duration::from_secs(5)));
        let (_, _, after) = handle_command(
            &cmd("reboot", serde_json::json!({}), now + 1),
            &mut s,
            false,
            now,
        );
        assert_eq!(after, After::Reboot);
        let (_, replies, _) = handle_command(
            &cmd("fly", serde_json::json!({}), now + 1),
            &mut s,
            false,
            now,
        );
        assert_eq!(
            replies,
            vec![("rejected", "unknown command \"fly\"".to_string())]
        );
        let (_, replies, _) = handle_command(
            &cmd("reboot", serde_json::json!({}), now),
            &mut s,
            false,
            now,
        );
        assert_eq!(replies, vec![("rejected", "expired".to_string())]);
        let (_, replies, after) = handle_command(
            &cmd("reboot", serde_json::json!({}), now + 1),
            &mut s,
            true,
            now,
        );
        assert_eq!(replies[1].0, "failed");
        assert_eq!(after, After::Nothing, "a failed reboot does not reboot");
    }
}
