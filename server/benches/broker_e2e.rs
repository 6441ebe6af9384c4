//! End to end through a broker with real MQTT clients: K publisher clients (rumqttc 0.25, QoS 1,
//! MQTT 3.1.1) each publish M telemetry messages as fast as their inflight window allows, to
//!
//! (a) boxpilot's embedded broker started by `boxpilot::runtime::start` (boxes registered with
//!     `boxpilot::cli::register_device`, secret as password, client id = box id): each message is
//!     authenticated, ACL-checked, validated and stored durably before its PUBACK;
//! (b) mosquitto 2.0 (`/usr/sbin/mosquitto`, started here with a temp config: one listener on
//!     127.0.0.1, anonymous, no persistence) which only routes (to no subscriber here).
//!
//! (c) the same embedded broker (rmqtt with boxpilot's hooks and ACL) with a host that stores
//!     nothing and trusts every box: the broker library's own ceiling, to read (a) against.
//!
//! Same clients, same payloads, same run. The rate is messages / time from the first publish to
//! the last PUBACK. After (a) the bench checks that every message is in the store.
//!
//! The embedded server runs on its own tokio runtime (its own threads, like mosquitto's process),
//! the clients on another.
//!
//!   cargo bench -p boxpilot --bench broker_e2e [-- --long] [--clients=K] [--messages=M] [--inflight=N]
//!
//! Goal: boxpilot at least as fast as mosquitto.
mod common;

use app::domain::{DeviceId, FleetId};
use boxpilot::access::Principal;
use boxpilot::broker::{
    BrokerAuthenticator, BrokerEvents, BrokerSettings, ConnectRefusal, Delivery, EmbeddedBroker,
};
use boxpilot::runtime::{self, ServeConfig};
use common::*;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

struct Target {
    port: u16,
    /// (client id, password) per client; `None` password: anonymous.
    clients: Vec<(String, Option<String>)>,
    fleet: String,
}

struct Outcome {
    elapsed: Duration,
    acked: u64,
    errors: Vec<String>,
}

async fn publisher(
    options: MqttOptions,
    topic: String,
    messages: u64,
    base_ts: i64,
    ready: tokio::sync::mpsc::Sender<()>,
    mut go: tokio::sync::watch::Receiver<bool>,
) -> Result<u64, String> {
    let (client, mut events) = AsyncClient::new(options, 100);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Err(_) => return Err("no CONNACK".into()),
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("connect: {e}")),
        }
    }
    let _ = ready.send(()).await;
    let _ = go.wait_for(|g| *g).await;
    let sender = client.clone();
    let send = tokio::spawn(async move {
        for seq in 1..=messages {
            let body = payload(seq, base_ts + seq as i64 * 1000);
            if sender
                .publish(topic.clone(), QoS::AtLeastOnce, false, body)
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut acked = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let result = loop {
        if acked == messages {
            break Ok(acked);
        }
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Err(_) => break Err(format!("timed out after {acked} PUBACKs")),
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => break Err(format!("after {acked} PUBACKs: {e}")),
        }
    };
    send.abort();
    let _ = client.try_disconnect();
    // Let the DISCONNECT go out (bounded).
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        while events.poll().await.is_ok() {}
    })
    .await;
    result
}

async fn drive(target: &Target, messages: u64, inflight: u16, base_ts: i64) -> Outcome {
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(target.clients.len());
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for (id, password) in &target.clients {
        let mut o = MqttOptions::new(id.clone(), "127.0.0.1", target.port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_inflight(inflight);
        if let Some(p) = password {
            o.set_credentials(id.clone(), p.clone());
        }
        let topic = format!("dt/boxpilot/{}/{id}/telemetry", target.fleet);
        tasks.push(tokio::spawn(publisher(
            o,
            topic,
            messages,
            base_ts,
            ready_tx.clone(),
            go_rx.clone(),
        )));
    }
    drop(ready_tx);
    let mut connected = 0;
    while connected < target.clients.len() && ready_rx.recv().await.is_some() {
        connected += 1;
    }
    let start = Instant::now();
    go_tx.send(true).unwrap();
    let mut acked = 0;
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.expect("publisher task") {
            Ok(n) => acked += n,
            Err(e) => errors.push(e),
        }
    }
    Outcome {
        elapsed: start.elapsed(),
        acked,
        errors,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// mosquitto, stopped (by its own pid) when dropped.
struct Mosquitto {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mosquitto(port: u16) -> Result<Mosquitto, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"),
    )
    .map_err(|e| e.to_string())?;
    let child = Command::new(MOSQUITTO)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {MOSQUITTO}: {e}"))?;
    let m = Mosquitto {
        child,
        port,
        _dir: dir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(m);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("mosquitto did not listen within 5 s".into())
}

fn version_of_mosquitto() -> String {
    Command::new(MOSQUITTO)
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "mosquitto".into())
}

fn report(name: &str, o: &Outcome, total: u64) -> f64 {
    let rate = per_sec(o.acked, o.elapsed);
    println!(
        "{name}: {} of {total} PUBACKs in {:.2} s = {} msg/s{}",
        o.acked,
        o.elapsed.as_secs_f64(),
        fmt_rate(rate),
        if o.errors.is_empty() {
            String::new()
        } else {
            format!(
                " ({} clients failed, first: {})",
                o.errors.len(),
                o.errors[0]
            )
        }
    );
    rate
}

/// (c)'s host: every box is who it says (no secret check), and nothing is stored.
struct NothingStored;

#[async_trait::async_trait]
impl BrokerAuthenticator for NothingStored {
    async fn authenticate(
        &self,
        client_id: &str,
        _username: &str,
        _password: &[u8],
    ) -> Result<Principal, ConnectRefusal> {
        Ok(Principal::Device {
            fleet: FleetId::parse("bench").unwrap(),
            device: DeviceId::parse(client_id).map_err(|_| ConnectRefusal::NotAuthorized)?,
        })
    }
}

#[async_trait::async_trait]
impl BrokerEvents for NothingStored {
    async fn on_publish(&self, _: &Principal, _: &str, _: &[u8]) -> Delivery {
        Delivery::Done
    }
    async fn on_connected(&self, _: &Principal) {}
    async fn on_disconnected(&self, _: &Principal) {}
}

/// (c): the embedded broker alone, on its own runtime.
fn broker_alone(
    k: u64,
    m: u64,
    inflight: u16,
    base_ts: i64,
    clients_rt: &tokio::runtime::Runtime,
) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("broker runtime");
    let any = "127.0.0.1:0".parse().unwrap();
    let host = Arc::new(NothingStored);
    let broker = rt
        .block_on(EmbeddedBroker::start(
            BrokerSettings::new(any, any),
            host.clone(),
            host,
        ))
        .expect("broker starts");
    let target = Target {
        port: broker.tcp_addr().port(),
        clients: (0..k)
            .map(|i| (format!("bench-box-{i:04}"), Some("unchecked".into())))
            .collect(),
        fleet: "bench".into(),
    };
    let o = clients_rt.block_on(drive(&target, m, inflight, base_ts));
    let rate = report(
        "rmqtt      embedded broker alone (hooks, nothing stored)",
        &o,
        k * m,
    );
    rt.block_on(broker.shutdown());
    rate
}

fn main() {
    header("end to end through the broker: rumqttc QoS 1 publishers -> boxpilot (embedded) vs mosquitto");
    let k = opt("clients", "BOXPILOT_BENCH_CLIENTS", 50, 200);
    let m = opt("messages", "BOXPILOT_BENCH_MESSAGES", 1_000, 2_500);
    let inflight = opt("inflight", "BOXPILOT_BENCH_INFLIGHT", 100, 100) as u16;
    let total = k * m;
    let base_ts = now_ms() - 86_400_000;
    println!("workload: {k} clients x {m} messages = {total} QoS 1 publishes, client inflight window {inflight}, payload {} bytes", payload(1, base_ts).len());

    let clients_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("client runtime");

    let probe = tempfile::tempdir().expect("temp dir");
    let floor_before = commit_latency(&probe.path().join("before.redb"));
    println!("disk       one-row durable redb commit: {floor_before:.2} ms (median of 30; the floor of every group commit)");

    // (b) mosquitto first: it needs no set-up.
    let mosquitto_rate = match start_mosquitto(free_port()) {
        Ok(mosq) => {
            let target = Target {
                port: mosq.port,
                clients: (0..k)
                    .map(|i| (format!("bench-box-{i:04}"), None))
                    .collect(),
                fleet: "bench".into(),
            };
            let o = clients_rt.block_on(drive(&target, m, inflight, base_ts));
            drop(mosq);
            Some(report(
                &format!("mosquitto  {}", version_of_mosquitto()),
                &o,
                total,
            ))
        }
        Err(e) => {
            println!("mosquitto: not run ({e})");
            None
        }
    };

    let alone_rate = broker_alone(k, m, inflight, base_ts, &clients_rt);

    // (a) boxpilot, on its own runtime.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("boxpilot-server")
        .build()
        .expect("server runtime");
    let data = tempfile::tempdir().expect("temp dir");
    let fleet = FleetId::parse("bench").unwrap();
    let (running, clients) = server_rt.block_on(async {
        let any = "127.0.0.1:0".parse().unwrap();
        let running = runtime::start(ServeConfig {
            http: any,
            mqtt: any,
            mqtt_ws: any,
            data_dir: data.path().join("data"),
            static_dir: data.path().join("no-console"),
            public_url: None,
            broker_public_url: None,
            store: Default::default(),
            identity: Default::default(),
        })
        .await
        .expect("server starts");
        let mut clients = Vec::new();
        for i in 0..k {
            let id = format!("bench-box-{i:04}");
            let secret = boxpilot::cli::register_device(
                running.store.as_ref(),
                &fleet,
                &DeviceId::parse(&id).unwrap(),
            )
            .await
            .expect("box registered");
            clients.push((id, Some(secret)));
        }
        (running, clients)
    });
    let target = Target {
        port: running.mqtt_addr.port(),
        clients,
        fleet: "bench".into(),
    };
    let o = clients_rt.block_on(drive(&target, m, inflight, base_ts));
    let boxpilot_rate = report("boxpilot   embedded broker + durable ingest", &o, total);
    // Every acknowledged message must be in the store.
    let stored: usize = server_rt.block_on(async {
        let mut n = 0;
        for (id, _) in &target.clients {
            n += running
                .store
                .metric_series(
                    &DeviceId::parse(id).unwrap(),
                    "temp_c",
                    base_ts,
                    base_ts + (m as i64 + 1) * 1000,
                )
                .await
                .unwrap()
                .len();
        }
        n
    });
    let dropped = running.broker().dropped_messages();
    let floor_after = commit_latency(&probe.path().join("after.redb"));
    println!(
        "           stored readings: {stored} (PUBACKs {}), broker-dropped messages: {dropped}; one-row durable commit now {floor_after:.2} ms",
        o.acked
    );
    server_rt.block_on(running.stop());

    match mosquitto_rate {
        Some(mr) => {
            let ratio = boxpilot_rate / mr;
            println!(
                "ratio      boxpilot / mosquitto = {ratio:.2}; goal >= 1.00: {}",
                if ratio >= 1.0 { "MET" } else { "MISSED" }
            );
            println!(
                "ratio      broker alone / mosquitto = {:.2}; boxpilot / broker alone = {:.2}",
                alone_rate / mr,
                boxpilot_rate / alone_rate
            );
            result(
                "broker_e2e",
                &[
                    ("boxpilot_msg_per_s", fmt_rate(boxpilot_rate)),
                    ("mosquitto_msg_per_s", fmt_rate(mr)),
                    ("broker_alone_msg_per_s", fmt_rate(alone_rate)),
                    ("ratio", format!("{ratio:.2}")),
                    ("clients", k.to_string()),
                    ("messages", total.to_string()),
                    ("stored", stored.to_string()),
                    ("commit_ms", format!("{floor_before:.2}/{floor_after:.2}")),
                    ("met", (ratio >= 1.0).to_string()),
                ],
            );
        }
        None => result(
            "broker_e2e",
            &[
                ("boxpilot_msg_per_s", fmt_rate(boxpilot_rate)),
                ("mosquitto_msg_per_s", "n/a".into()),
            ],
        ),
    }
    drop(server_rt);
}
