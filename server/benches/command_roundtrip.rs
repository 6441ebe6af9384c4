//! Commands end to end, everything real on one machine: the server started in-process by
//! `boxpilot::runtime::start` (its own tokio runtime, 127.0.0.1 free ports, a temp data dir), an
//! operator's bearer token from `POST /api/v1/auth/login`, boxes that are rumqttc 0.25 clients
//! connected over TCP with their own secrets.
//!
//! 1. **Round trip**, sequential (one command at a time): `POST /api/v1/devices/{box}/commands`
//!    `{"name":"set_setpoint","params":{"value":4.0}}`; the box, subscribed to
//!    `cmd/boxpilot/bench/{box}/req`, answers `{"id","status":"succeeded"}` on `.../resp` at QoS 1;
//!    the round trip ends when the API shows the command `succeeded`: a reader loops on
//!    `GET /api/v1/devices/{box}/commands?limit=1` with no pause, starting when the POST has
//!    answered (if the POST answer already says `succeeded`, that is the end). The end is
//!    therefore seen at most one GET late: the GET's own duration (printed) is the resolution.
//!    Baseline, same run, same broker, same box: a bare MQTT round trip. The server's trusted
//!    publisher (`EmbeddedBroker::publisher()`, what the command service publishes with)
//!    publishes a request on the box's `req` topic, the box answers the same way, and a console
//!    client (TCP, broker credential from `/api/broker/credential`) subscribed to the box's `resp`
//!    topic receives the answer. No API, no command record (the reply's unknown id costs the
//!    command service one store read).
//! 2. **Bulk**: N boxes registered and connected (one client per tokio task, answering every
//!    command `accepted` then `succeeded`), then `POST /api/v1/rollouts`
//!    `{"fleet":"bulk","name":"set_setpoint","params":{"value":4.0},"rate_per_minute":60000}`,
//!    polled with `GET /api/v1/rollouts/{id}` every 10 ms until it is final. Checks that every
//!    box ends `succeeded` (progress.states) and received its command exactly once.
//!
//!   cargo bench -p boxpilot --bench command_roundtrip [-- --long] [--commands=N] [--boxes=N]
//!
//! Goal: round trip p99 <= 20 ms.
mod common;

use app::domain::{DeviceId, FleetId};
use boxpilot::runtime::{self, Running, ServeConfig};
use common::*;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};

const FLEET: &str = "bench";
const BULK_FLEET: &str = "bulk";
const BOX: &str = "cmd-box";
const NAGLE_BOX: &str = "nagle-box";
const WARMUP: usize = 20;

fn box_options(port: u16, id: &str, secret: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_credentials(id, secret);
    o.set_keep_alive(Duration::from_secs(60));
    o
}

/// A client with TCP_NODELAY on or off (rumqttc's default is off: Nagle's algorithm).
fn client_with(options: MqttOptions, nodelay: bool, cap: usize) -> (AsyncClient, EventLoop) {
    let (client, mut events) = AsyncClient::new(options, cap);
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(nodelay);
    events.set_network_options(net);
    (client, events)
}

/// Connects, waits for CONNACK, subscribes to `filter` and waits for SUBACK.
async fn connect_and_subscribe(
    options: MqttOptions,
    nodelay: bool,
    filter: &str,
) -> Result<(AsyncClient, EventLoop), String> {
    let (client, mut events) = client_with(options, nodelay, 64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut subscribed = false;
    loop {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Err(_) => {
                return Err(if subscribed {
                    "no SUBACK"
                } else {
                    "no CONNACK"
                }
                .into())
            }
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                client
                    .subscribe(filter, QoS::AtLeastOnce)
                    .await
                    .map_err(|e| e.to_string())?;
                subscribed = true;
            }
            Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => {
                return match ack.return_codes.first() {
                    Some(rumqttc::SubscribeReasonCode::Success(_)) => Ok((client, events)),
                    other => Err(format!("subscription refused: {other:?}")),
                };
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("connect: {e}")),
        }
    }
}

/// A box: answers every request with `statuses` in order on its `resp` topic; reports
/// (command id, when the request arrived) on `seen`; ends when `stop` turns true.
async fn answering_box(
    client: AsyncClient,
    mut events: EventLoop,
    resp_topic: String,
    statuses: &'static [&'static str],
    seen: Option<mpsc::UnboundedSender<(String, Instant)>>,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let event = tokio::select! {
            e = events.poll() => e,
            _ = stop.wait_for(|s| *s) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let at = Instant::now();
                let cmd: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                let id = cmd["id"].as_str().unwrap_or_default().to_owned();
                received.fetch_add(1, Relaxed);
                for status in statuses {
                    let reply = json!({"id": id, "status": status}).to_string();
                    client
                        .publish(&resp_topic, QoS::AtLeastOnce, false, reply)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                if let Some(seen) = &seen {
                    let _ = seen.send((id, at));
                }
            }
            Ok(_) => {}
            Err(e) => return Err(format!("box connection: {e}")),
        }
    }
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_millis(100), async {
        while events.poll().await.is_ok() {}
    })
    .await;
    Ok(())
}

/// Percentile by nearest rank of sorted ms values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted_ms(samples: &[Duration]) -> Vec<f64> {
    let mut v: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

struct Dist {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn dist(samples: &[Duration]) -> Dist {
    let v = sorted_ms(samples);
    Dist {
        p50: pct(&v, 50.0),
        p90: pct(&v, 90.0),
        p99: pct(&v, 99.0),
        max: v.last().copied().unwrap_or(f64::NAN),
        mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
    }
}

fn fmt_dist(d: &Dist) -> String {
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (mean {:.2})",
        d.p50, d.p90, d.p99, d.max, d.mean
    )
}

/// Median of integer ms values.
fn median_i(mut v: Vec<i64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Result<Value, String> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("GET {path}: {status} {body}"));
        }
        Ok(body)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {body}"));
        }
        Ok(body)
    }
}

/// The time (ms) of the first change to `state` in a command record's history.
fn state_at(record: &Value, state: &str) -> Option<i64> {
    record["history"]
        .as_array()?
        .iter()
        .find(|h| h["state"] == state)
        .and_then(|h| h["at"].as_i64())
}

struct RoundTrips {
    total: Vec<Duration>,
    post: Vec<Duration>,
    to_box: Vec<Duration>,
    box_to_visible: Vec<Duration>,
    get: Vec<Duration>,
    gets_per_command: f64,
    seen_in_post: usize,
    server_created_to_sent: Vec<i64>,
    server_sent_to_succeeded: Vec<i64>,
    elapsed: Duration,
    failures: Vec<String>,
}

/// `n` commands one after the other through the REST API; `seen` reports the box's receipts.
async fn command_round_trips(
    api: &Api,
    box_id: &str,
    n: usize,
    seen: &mut mpsc::UnboundedReceiver<(String, Instant)>,
) -> RoundTrips {
    let issue_path = format!("/api/v1/devices/{box_id}/commands");
    let list_path = format!("/api/v1/devices/{box_id}/commands?limit=1");
    let body = json!({"name": "set_setpoint", "params": {"value": 4.0}});
    let mut r = RoundTrips {
        total: Vec::with_capacity(n),
        post: Vec::with_capacity(n),
        to_box: Vec::with_capacity(n),
        box_to_visible: Vec::with_capacity(n),
        get: Vec::with_capacity(n * 4),
        gets_per_command: 0.0,
        seen_in_post: 0,
        server_created_to_sent: Vec::new(),
        server_sent_to_succeeded: Vec::new(),
        elapsed: Duration::ZERO,
        failures: Vec::new(),
    };
    let mut gets = 0usize;
    let start = Instant::now();
    'commands: for _ in 0..n {
        let t0 = Instant::now();
        let created = match api.post(&issue_path, &body).await {
            Ok(c) => c,
            Err(e) => {
                r.failures.push(e);
                continue;
            }
        };
        let t_post = Instant::now();
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let (t_end, record) = if created["state"] == "succeeded" {
            r.seen_in_post += 1;
            (t_post, created)
        } else {
            let deadline = t0 + Duration::from_secs(10);
            loop {
                let tg = Instant::now();
                let list = match api.get(&list_path).await {
                    Ok(l) => l,
                    Err(e) => {
                        r.failures.push(e);
                        continue 'commands;
                    }
                };
                let te = Instant::now();
                r.get.push(te - tg);
                gets += 1;
                let newest = &list[0];
                if newest["id"] == id.as_str() && newest["state"] == "succeeded" {
                    break (te, newest.clone());
                }
                if te > deadline {
                    r.failures
                        .push(format!("command {id} not succeeded after 10 s: {newest}"));
                    continue 'commands;
                }
            }
        };
        r.total.push(t_end - t0);
        r.post.push(t_post - t0);
        // The box's receipt of this command (earlier ones were drained already).
        while let Ok((sid, at)) = seen.try_recv() {
            if sid == id {
                r.to_box.push(at - t0);
                r.box_to_visible.push(t_end.saturating_duration_since(at));
            }
        }
        if let (Some(c), Some(s), Some(ok)) = (
            state_at(&record, "created"),
            state_at(&record, "sent"),
            state_at(&record, "succeeded"),
        ) {
            r.server_created_to_sent.push(s - c);
            r.server_sent_to_succeeded.push(ok - s);
        }
    }
    r.elapsed = start.elapsed();
    r.gets_per_command = gets as f64 / r.total.len().max(1) as f64;
    r
}

/// `n` bare MQTT round trips: server publisher -> box -> console client.
async fn bare_round_trips(
    server: &tokio::runtime::Handle,
    publisher: &boxpilot::broker::BrokerPublisher,
    box_id: &str,
    console_rx: &mut mpsc::UnboundedReceiver<(String, Instant)>,
    n: usize,
) -> (Vec<Duration>, Duration, Vec<String>) {
    let topic = format!("cmd/boxpilot/{FLEET}/{box_id}/req");
    let mut samples = Vec::with_capacity(n);
    let mut failures = Vec::new();
    let start = Instant::now();
    for _ in 0..n {
        let id = uuid::Uuid::new_v4().to_string();
        let payload = json!({"id": id, "name": "set_setpoint", "params": {"value": 4.0},
                             "expires_at": now_ms() + 60_000})
        .to_string()
        .into_bytes();
        let t0 = Instant::now();
        let p = publisher.clone();
        let t = topic.clone();
        // Published from the server's runtime, as the command service does.
        match server
            .spawn(async move { p.publish(&t, payload, false).await })
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failures.push(e.to_string());
                continue;
            }
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, console_rx.recv()).await {
                Ok(Some((rid, at))) if rid == id => {
                    samples.push(at - t0);
                    break;
                }
                Ok(Some(_)) => {}
                _ => {
                    failures.push(format!("no answer to {id} within 10 s"));
                    break;
                }
            }
        }
    }
    (samples, start.elapsed(), failures)
}

/// A console client on the TCP listener, subscribed to `filter`; reports (reply id, arrival).
async fn console_listener(
    credential: &Value,
    port: u16,
    filter: &str,
    nodelay: bool,
    tx: mpsc::UnboundedSender<(String, Instant)>,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let mut o = MqttOptions::new(
        credential["client_id"].as_str().ok_or("no client_id")?,
        "127.0.0.1",
        port,
    );
    o.set_credentials(
        credential["username"].as_str().ok_or("no username")?,
        credential["password"].as_str().ok_or("no password")?,
    );
    o.set_keep_alive(Duration::from_secs(60));
    let (client, mut events) = connect_and_subscribe(o, nodelay, filter).await?;
    Ok(tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                e = events.poll() => e,
                _ = stop.wait_for(|s| *s) => break,
            };
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let at = Instant::now();
                    let v: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    let _ = tx.send((v["id"].as_str().unwrap_or_default().to_owned(), at));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = client.try_disconnect();
    }))
}

/// Logs in through the `login` server function; the session cookie pair.
async fn session_cookie(http: &reqwest::Client, base: &str, user: &str, pw: &str) -> String {
    let r = http
        .post(format!("{base}/api/auth/login"))
        .form(&[("username", user), ("password", pw)])
        .send()
        .await
        .expect("session login");
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

async fn online_count(running: &Running, fleet: &FleetId) -> usize {
    running
        .store
        .list_devices(Some(fleet))
        .await
        .map(|d| d.iter().filter(|d| d.presence.online).count())
        .unwrap_or(0)
}

struct Section<'a> {
    api: &'a Api,
    http: &'a reqwest::Client,
    base: &'a str,
    password: &'a str,
    mqtt_port: u16,
    server: &'a tokio::runtime::Handle,
    publisher: &'a boxpilot::broker::BrokerPublisher,
    stop: watch::Receiver<bool>,
}

struct SectionRun {
    bare: Vec<Duration>,
    bare_elapsed: Duration,
    bare_failures: Vec<String>,
    cmds: RoundTrips,
}

/// Connects `box_id` (and a console listening to its answers), then `n` bare MQTT round trips
/// and `n` command round trips, each after [`WARMUP`] untimed ones.
async fn round_trip_section(
    ctx: &Section<'_>,
    box_id: &str,
    secret: &str,
    nodelay: bool,
    n: usize,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> SectionRun {
    let (client, events) = connect_and_subscribe(
        box_options(ctx.mqtt_port, box_id, secret),
        nodelay,
        &format!("cmd/boxpilot/{FLEET}/{box_id}/req"),
    )
    .await
    .expect("box connects");
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let answering = tokio::spawn(answering_box(
        client,
        events,
        format!("cmd/boxpilot/{FLEET}/{box_id}/resp"),
        &["succeeded"],
        Some(seen_tx),
        Arc::default(),
        ctx.stop.clone(),
    ));
    tasks.push(tokio::spawn(async move {
        let _ = answering.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ctx
        .api
        .get(&format!("/api/v1/devices/{box_id}"))
        .await
        .is_ok_and(|d| d["presence"]["online"] == true)
    {
        assert!(Instant::now() < deadline, "{box_id} never came online");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A console listening to the box's answers (a credential of its own: its own client id).
    let cookie = session_cookie(ctx.http, ctx.base, "bench-ops", ctx.password).await;
    let credential: Value = ctx
        .http
        .post(format!("{}/api/broker/credential", ctx.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("broker credential")
        .json()
        .await
        .expect("broker credential answer");
    let (console_tx, mut console_rx) = mpsc::unbounded_channel();
    let console = console_listener(
        &credential,
        ctx.mqtt_port,
        &format!("cmd/boxpilot/{FLEET}/{box_id}/resp"),
        nodelay,
        console_tx,
        ctx.stop.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("console client: {e} (credential {credential})"));
    tasks.push(console);
    let _ = bare_round_trips(ctx.server, ctx.publisher, box_id, &mut console_rx, WARMUP).await;
    let (bare, bare_elapsed, bare_failures) =
        bare_round_trips(ctx.server, ctx.publisher, box_id, &mut console_rx, n).await;
    while seen_rx.try_recv().is_ok() {}
    let _ = command_round_trips(ctx.api, box_id, WARMUP, &mut seen_rx).await;
    let cmds = command_round_trips(ctx.api, box_id, n, &mut seen_rx).await;
    SectionRun {
        bare,
        bare_elapsed,
        bare_failures,
        cmds,
    }
}

fn failures_note(f: &[String]) -> String {
    if f.is_empty() {
        String::new()
    } else {
        format!(" ({} FAILED, first: {})", f.len(), f[0])
    }
}

/// Prints a section; returns (commands, bare, commands/s, goal met).
fn print_section(run: &SectionRun, n: usize, verdict: bool) -> (Dist, Dist, f64, bool) {
    let (bare, cmds) = (&run.bare, &run.cmds);
    let b = dist(bare);
    let c = dist(&cmds.total);
    println!(
        "bare MQTT  server publish -> box -> answer at a console client: {} round trips in {:.2} s = {} /s{}",
        bare.len(),
        run.bare_elapsed.as_secs_f64(),
        fmt_rate(per_sec(bare.len() as u64, run.bare_elapsed)),
        failures_note(&run.bare_failures)
    );
    println!("           {}", fmt_dist(&b));
    let cmd_rate = per_sec(cmds.total.len() as u64, cmds.elapsed);
    println!(
        "command    POST -> box answers succeeded -> succeeded seen by GET: {} of {n} in {:.2} s = {} commands/s (sequential){}",
        cmds.total.len(),
        cmds.elapsed.as_secs_f64(),
        fmt_rate(cmd_rate),
        failures_note(&cmds.failures)
    );
    println!("           {}", fmt_dist(&c));
    println!("  where    POST answered: {}", fmt_dist(&dist(&cmds.post)));
    println!(
        "           request at the box: {}",
        fmt_dist(&dist(&cmds.to_box))
    );
    println!(
        "           box's receipt -> succeeded seen: {}",
        fmt_dist(&dist(&cmds.box_to_visible))
    );
    println!(
        "           reader GET ?limit=1 (the resolution of the end): {}; {:.2} GETs per command; {} commands already succeeded in the POST answer",
        fmt_dist(&dist(&cmds.get)),
        cmds.gets_per_command,
        cmds.seen_in_post
    );
    println!(
        "           server's own record (ms clock): created -> sent median {:.1} ms, sent -> succeeded median {:.1} ms",
        median_i(cmds.server_created_to_sent.clone()),
        median_i(cmds.server_sent_to_succeeded.clone())
    );
    let met = c.p99 <= 20.0 && cmds.failures.is_empty() && cmds.total.len() == n;
    println!(
        "ratio vs bare MQTT: p50 {:.1}x, p99 {:.1}x{}",
        c.p50 / b.p50,
        c.p99 / b.p99,
        if verdict {
            format!(
                "; goal p99 <= 20 ms: {}",
                if met { "MET" } else { "MISSED" }
            )
        } else {
            String::new()
        }
    );
    (c, b, cmd_rate, met)
}

fn main() {
    header("commands: REST -> box -> state visible in the API, vs bare MQTT; bulk rollout");
    let n = opt("commands", "BOXPILOT_BENCH_COMMANDS", 1_000, 5_000) as usize;
    let nagle_n = opt("nagle-commands", "BOXPILOT_BENCH_NAGLE_COMMANDS", 100, 500) as usize;
    let boxes = opt("boxes", "BOXPILOT_BENCH_BOXES", 1_000, 1_000) as usize;
    println!(
        "workload: {n} sequential commands and {n} bare MQTT round trips (each after {WARMUP} untimed), then {nagle_n} of each without TCP_NODELAY; bulk rollout to {boxes} boxes"
    );

    let probe = tempfile::tempdir().expect("temp dir");
    let floor_before = commit_latency(&probe.path().join("before.redb"));
    println!("disk       one-row durable redb commit: {floor_before:.2} ms (median of 30)");

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("boxpilot-server")
        .build()
        .expect("server runtime");
    let clients_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let data = tempfile::tempdir().expect("temp dir");
    let fleet = FleetId::parse(FLEET).unwrap();
    let bulk_fleet = FleetId::parse(BULK_FLEET).unwrap();
    let password = "pw-bench-operator-0123456789";
    let (running, box_secret, nagle_secret) = server_rt.block_on(async {
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
        running
            .users
            .add_user(
                "bench-ops",
                password,
                &[
                    "operator".to_owned(),
                    format!("fleet:{FLEET}"),
                    format!("fleet:{BULK_FLEET}"),
                ],
            )
            .await
            .expect("operator added");
        let mut secrets = Vec::new();
        for id in [BOX, NAGLE_BOX] {
            secrets.push(
                boxpilot::cli::register_device(
                    running.store.as_ref(),
                    &fleet,
                    &DeviceId::parse(id).unwrap(),
                )
                .await
                .expect("box registered"),
            );
        }
        let nagle = secrets.pop().unwrap();
        (running, secrets.pop().unwrap(), nagle)
    });
    let base = format!("http://{}", running.http_addr);
    let mqtt_port = running.mqtt_addr.port();
    let server = server_rt.handle().clone();
    let publisher = running.broker().publisher();
    let (stop_tx, stop_rx) = watch::channel(false);

    // ---- 1. round trip, and the bare MQTT baseline
    let (api, http) = clients_rt.block_on(async {
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "bench-ops", "password": password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login answer");
        let token = login["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {login}"))
            .to_owned();
        (
            Api {
                http: http.clone(),
                base: base.clone(),
                token,
            },
            http,
        )
    });
    let ctx = Section {
        api: &api,
        http: &http,
        base: &base,
        password,
        mqtt_port,
        server: &server,
        publisher: &publisher,
        stop: stop_rx.clone(),
    };
    let mut tasks = Vec::new();
    let main_run = clients_rt.block_on(round_trip_section(
        &ctx,
        BOX,
        &box_secret,
        true,
        n,
        &mut tasks,
    ));
    println!(
        "-- boxes and console with TCP_NODELAY (rumqttc NetworkOptions::set_tcp_nodelay(true)):"
    );
    let (c, b, cmd_rate, met) = print_section(&main_run, n, true);
    let nagle_run = clients_rt.block_on(round_trip_section(
        &ctx,
        NAGLE_BOX,
        &nagle_secret,
        false,
        nagle_n,
        &mut tasks,
    ));
    println!("-- the same with rumqttc's default socket options (Nagle on, TCP_NODELAY off), {nagle_n} commands:");
    let (nc, _, _, _) = print_section(&nagle_run, nagle_n, false);

    // ---- 2. bulk rollout
    let t_reg = Instant::now();
    let secrets: Vec<(String, String)> = server_rt.block_on(async {
        let mut out = Vec::with_capacity(boxes);
        for i in 0..boxes {
            let id = format!("bulk-{i:05}");
            let secret = boxpilot::cli::register_device(
                running.store.as_ref(),
                &bulk_fleet,
                &DeviceId::parse(&id).unwrap(),
            )
            .await
            .expect("box registered");
            out.push((id, secret));
        }
        out
    });
    let reg_elapsed = t_reg.elapsed();
    let per_box: Vec<Arc<AtomicU64>> = (0..boxes).map(|_| Arc::default()).collect();
    let t_conn = Instant::now();
    let (bulk_tasks, connect_errors) = clients_rt.block_on(async {
        // At most 64 handshakes at a time (a fleet does not all connect in the same ms).
        let gate = Arc::new(Semaphore::new(64));
        let mut starting = Vec::with_capacity(boxes);
        for (i, (id, secret)) in secrets.iter().enumerate() {
            let gate = gate.clone();
            let o = box_options(mqtt_port, id, secret);
            let filter = format!("cmd/boxpilot/{BULK_FLEET}/{id}/req");
            let resp = format!("cmd/boxpilot/{BULK_FLEET}/{id}/resp");
            let counter = per_box[i].clone();
            let stop = stop_rx.clone();
            starting.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.unwrap();
                let (client, events) = connect_and_subscribe(o, true, &filter).await?;
                drop(permit);
                Ok::<_, String>(tokio::spawn(answering_box(
                    client,
                    events,
                    resp,
                    &["accepted", "succeeded"],
                    None,
                    counter,
                    stop,
                )))
            }));
        }
        let mut tasks = Vec::new();
        let mut errors = Vec::new();
        for s in starting {
            match s.await.expect("connect task") {
                Ok(t) => tasks.push(t),
                Err(e) => errors.push(e),
            }
        }
        (tasks, errors)
    });
    let connect_elapsed = t_conn.elapsed();
    let online_deadline = Instant::now() + Duration::from_secs(60);
    let online = server_rt.block_on(async {
        loop {
            let online = online_count(&running, &bulk_fleet).await;
            if online == boxes || Instant::now() > online_deadline {
                return online;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let online_elapsed = t_conn.elapsed();
    println!(
        "bulk       {boxes} boxes registered in {:.2} s; {} connected and subscribed in {:.2} s, {online} online in the store after {:.2} s{}",
        reg_elapsed.as_secs_f64(),
        bulk_tasks.len(),
        connect_elapsed.as_secs_f64(),
        online_elapsed.as_secs_f64(),
        if connect_errors.is_empty() {
            String::new()
        } else {
            format!(" ({} FAILED to connect, first: {})", connect_errors.len(), connect_errors[0])
        }
    );

    let bulk = clients_rt.block_on(async {
        let t0 = Instant::now();
        let started = api
            .post(
                "/api/v1/rollouts",
                &json!({"fleet": BULK_FLEET, "name": "set_setpoint", "params": {"value": 4.0},
                        "rate_per_minute": 60000}),
            )
            .await?;
        let id = started["id"].as_str().unwrap_or_default().to_owned();
        let deadline = t0 + Duration::from_secs(300);
        loop {
            let r = api.get(&format!("/api/v1/rollouts/{id}")).await?;
            if r["status"] != "running" || Instant::now() > deadline {
                return Ok::<_, String>((t0.elapsed(), r));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // Let the last replies' PUBACKs reach the boxes before counting and stopping them.
    std::thread::sleep(Duration::from_millis(200));
    let got: Vec<u64> = per_box.iter().map(|c| c.load(Relaxed)).collect();
    let once = got.iter().filter(|&&g| g == 1).count();
    let total_received: u64 = got.iter().sum();
    let bulk_fields = match &bulk {
        Ok((elapsed, r)) => {
            let succeeded = r["progress"]["states"]["succeeded"].as_u64().unwrap_or(0) as usize;
            let server_ms = r["finished_at"]
                .as_i64()
                .zip(r["created_at"].as_i64())
                .map(|(f, c)| f - c);
            let rate = per_sec(boxes as u64, *elapsed);
            println!(
                "rollout    {} to {boxes} boxes at 60,000/min: {} in {:.2} s (server's created_at -> finished_at: {} ms) = {} commands/s",
                r["name"].as_str().unwrap_or("?"),
                r["status"].as_str().unwrap_or("?"),
                elapsed.as_secs_f64(),
                server_ms.map_or("?".into(), |m| m.to_string()),
                fmt_rate(rate)
            );
            println!(
                "           progress: issued {}, states {}; boxes that received their command exactly once: {once} of {boxes} ({total_received} requests received)",
                r["progress"]["issued"],
                r["progress"]["states"]
            );
            let ok = r["status"] == "completed" && succeeded == boxes && once == boxes;
            if !ok {
                println!(
                    "FAILED     not every box ended succeeded exactly once: status {}, succeeded {succeeded} of {boxes}, received once {once}",
                    r["status"]
                );
            }
            vec![
                ("boxes", boxes.to_string()),
                ("complete_s", format!("{:.2}", elapsed.as_secs_f64())),
                ("cmd_per_s", fmt_rate(rate)),
                ("succeeded", succeeded.to_string()),
                ("connect_s", format!("{:.2}", online_elapsed.as_secs_f64())),
                ("ok", ok.to_string()),
            ]
        }
        Err(e) => {
            println!("FAILED     rollout: {e}");
            vec![("boxes", boxes.to_string()), ("ok", "false".into())]
        }
    };

    let _ = stop_tx.send(true);
    clients_rt.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
        for t in bulk_tasks {
            let _ = t.await;
        }
    });
    server_rt.block_on(running.stop());
    let floor_after = commit_latency(&probe.path().join("after.redb"));
    println!("disk       one-row durable redb commit now {floor_after:.2} ms");

    result(
        "commands",
        &[
            ("p50_ms", format!("{:.2}", c.p50)),
            ("p90_ms", format!("{:.2}", c.p90)),
            ("p99_ms", format!("{:.2}", c.p99)),
            ("max_ms", format!("{:.2}", c.max)),
            ("cmd_per_s", fmt_rate(cmd_rate)),
            ("bare_p50_ms", format!("{:.2}", b.p50)),
            ("bare_p99_ms", format!("{:.2}", b.p99)),
            ("ratio_p50", format!("{:.1}", c.p50 / b.p50)),
            ("ratio_p99", format!("{:.1}", c.p99 / b.p99)),
            ("commands", main_run.cmds.total.len().to_string()),
            ("no_nodelay_p50_ms", format!("{:.2}", nc.p50)),
            ("no_nodelay_p99_ms", format!("{:.2}", nc.p99)),
            ("commit_ms", format!("{floor_before:.2}/{floor_after:.2}")),
            ("met", met.to_string()),
        ],
    );
    result("commands_bulk", &bulk_fields);
    drop(clients_rt);
    drop(server_rt);
}
