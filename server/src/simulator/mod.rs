//! Simulated boxes: real MQTT clients (rumqttc) with their own secrets, a `seq` per box, a retained
//! status and a last will, realistic signals, and `loss` to skip sequence numbers on purpose.
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
    if !(0.0..1.0).contains(&config.loss) {
        return Err("--loss must be a probability from 0 to below 1".into());
    }
    if config.boxes.is_empty() {
        return Err("no boxes to simulate".into());
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
async fn drive_connection(
    client: AsyncClient,
    mut events: rumqttc::EventLoop,
    status_topic: String,
    online: String,
    device: DeviceId,
    stats: Arc<SimulatorStats>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            event = events.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_publish(&status_topic, QoS::AtLeastOnce, true, online.clone().into_bytes());
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

async fn run_box(
    config: SimulatorConfig,
    endpoint: Endpoint,
    device: DeviceId,
    secret: String,
    index: u64,
    stats: Arc<SimulatorStats>,
    mut stop: watch::Receiver<bool>,
) {
    let (client, events) = AsyncClient::new(options(&config, &endpoint, &device, &secret), 64);
    let telemetry_topic = topics::telemetry(&config.fleet, &device);
    let online = format!(r#"{{"online":true,"fw":"{}"}}"#, config.firmware);
    let connection = tokio::spawn(drive_connection(
        client.clone(),
        events,
        topics::status(&config.fleet, &device),
        online,
        device.clone(),
        stats.clone(),
        stop.clone(),
    ));
    let period = Duration::from_secs_f64(1.0 / config.rate);
    let mut signals = BoxSignals::new(index.wrapping_mul(7919) ^ 0x5eed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(index ^ 0x1055);
    let mut seq: u64 = 0;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {
                seq += 1;
                if config.loss > 0.0 && rand::Rng::gen_bool(&mut rng, config.loss) {
                    stats.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let payload = serde_json::json!({
                    "seq": seq,
                    "ts": chrono::Utc::now().timestamp_millis(),
                    "metrics": signals.next(period.as_secs_f64()),
                });
                // Queued by rumqttc while disconnected (up to its capacity): a box buffers too.
                if client.publish(&telemetry_topic, QoS::AtLeastOnce, false, payload.to_string().into_bytes()).await.is_ok() {
                    stats.published.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    let _ = connection.await;
}

use rand::SeedableRng;

#[cfg(test)]
mod tests {
    use super::*;

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
}
