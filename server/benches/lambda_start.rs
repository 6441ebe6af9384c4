//! The ingestion Lambda's cold start, measured locally: the `lambda-ingest` binary is started as
//! Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing at a local emulation of the Runtime API that
//! hands it one IoT rule event), against a DynamoDB table on moto server. Measured per run:
//!
//! - total: spawning the process to its response for that first event (the event is stored, so it
//!   includes the first DynamoDB calls), and the process's peak resident memory (VmHWM) then;
//! - init: spawning to the runtime's first `GET .../invocation/next` (logging, SDK configuration,
//!   clients, `IngestLambda`, the runtime's own start);
//! - event: that `next` to the response (the handler, its DynamoDB calls, the EMF line, the POST);
//! - endpoint: within the event, the time spent waiting on DynamoDB. For this the function is
//!   pointed at a small proxy in this process that forwards each call to moto over a warm
//!   connection and times moto's answer (request sent to response body read); ours = total -
//!   endpoint (the proxy's own hop stays in ours);
//! - the same function against a fast fake endpoint: the proxy answering each call with moto's
//!   recorded answer to the same call of the previous proxied run (same operation on the same
//!   item, digits of keys aside; moto's bytes, no moto).
//!
//! The three modes (moto direct, through the timing proxy, fake) alternate within each round.
//! Baseline, same run: `boxpilot --version` (the server binary: a Rust process that parses its
//! command line and exits), spawn to exit, and its peak memory.
//!
//!   cargo bench -p boxpilot --features aws --bench lambda_start [-- --long]
//!
//! Goals (issue 4): start to the first handled event <= 50 ms, peak memory <= 32 MB.
mod common;

use app::domain::{DeviceId, FleetId};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use boxpilot::store::{DynamoStore, Store};
use boxpilot::testing::moto;
use common::*;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const START_GOAL_MS: f64 = 50.0;
const MEMORY_GOAL_MB: f64 = 32.0;

/// The Runtime API of one invocation: hands out `event` once, then makes `next` wait; records
/// when the first `next` came and when the response (or an error) came.
#[derive(Clone)]
struct RuntimeApi {
    event: Arc<Mutex<Option<String>>>,
    asked: Arc<Mutex<Option<Instant>>>,
    answered: Arc<Mutex<Option<(Instant, bool, String)>>>,
    request: Arc<AtomicU64>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    api.asked.lock().unwrap().get_or_insert_with(Instant::now);
    let event = api.event.lock().unwrap().take();
    let Some(event) = event else {
        // No second event: the process is killed while it waits here.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return (HeaderMap::new(), String::new());
    };
    let id = api.request.fetch_add(1, Ordering::Relaxed).to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&(now_ms() + 30_000).to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:ingest"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (headers, event)
}

async fn answered(
    State(api): State<RuntimeApi>,
    Path((_, outcome)): Path<(String, String)>,
    body: String,
) {
    *api.answered.lock().unwrap() = Some((Instant::now(), outcome == "response", body));
}

/// One DynamoDB call seen by the proxy: its operation, when the endpoint was waited on, and the
/// answer (replayed by the fake endpoint).
#[derive(Clone)]
struct Call {
    target: String,
    /// The item the request names ([`shape`]).
    shape: String,
    /// When the endpoint was asked and when its answer was read.
    asked: Instant,
    done: Instant,
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// The DynamoDB endpoint the function is given in the proxied and fake modes.
#[derive(Clone)]
struct Endpoint {
    upstream: String,
    client: reqwest::Client,
    replay: Arc<AtomicBool>,
    /// The calls of the current run.
    calls: Arc<Mutex<Vec<Call>>>,
    /// moto's answers in the last proxied run.
    recorded: Arc<Mutex<Vec<Call>>>,
    /// Fake answers given to a call whose item differed from the recorded one (readings' sort
    /// keys hold hex digits that change between runs).
    loose: Arc<AtomicU64>,
}

/// The key of the item a request names (`Key`, or `pk` and `sk` of `Item`), without its digits
/// (readings' keys and hours differ between runs).
fn shape(body: &[u8]) -> String {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let item = request.get("Key").or_else(|| request.get("Item"));
    let part = |name: &str| {
        item.and_then(|i| i.get(name))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    format!("{} {}", part("pk"), part("sk"))
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect()
}

/// Answer headers kept (the SDK reads these; the CRC is of the same body).
const KEPT: [&str; 3] = ["content-type", "x-amz-crc32", "x-amzn-requestid"];

async fn dynamodb(
    State(e): State<Endpoint>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
        .unwrap_or_default();
    let shape = shape(&body);
    let call = if e.replay.load(Ordering::Relaxed) {
        // The recorded answer to the call of the same operation and shape (the calls of an event
        // run concurrently, so their order varies).
        let asked = Instant::now();
        // Failing that, the same operation on the same partition, then the same operation
        // (counted: ids that are not digits make a key differ between runs).
        let recorded = e.recorded.lock().unwrap();
        let pk = |s: &str| s.split(' ').next().unwrap_or_default().to_owned();
        let found = recorded
            .iter()
            .find(|c| c.target == target && c.shape == shape)
            .or_else(|| {
                e.loose.fetch_add(1, Ordering::Relaxed);
                recorded
                    .iter()
                    .find(|c| c.target == target && pk(&c.shape) == pk(&shape))
                    .or_else(|| recorded.iter().find(|c| c.target == target))
            })
            .cloned();
        drop(recorded);
        match found {
            Some(c) => Call {
                asked,
                done: Instant::now(),
                ..c
            },
            None => Call {
                target: target.clone(),
                shape,
                asked,
                done: Instant::now(),
                status: 400,
                headers: vec![("content-type".into(), "application/x-amz-json-1.0".into())],
                body: Bytes::from(format!(
                    r#"{{"__type":"com.amazon.coral.validate#ValidationException","message":"no recorded answer for {target}"}}"#
                )),
            },
        }
    } else {
        let mut request = e.client.request(method, format!("{}{}", e.upstream, uri));
        for (name, value) in &headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                request = request.header(name, value);
            }
        }
        let asked = Instant::now();
        let answer = match request.body(body).send().await {
            Ok(a) => a,
            Err(err) => return (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
        };
        let status = answer.status().as_u16();
        let kept = answer
            .headers()
            .iter()
            .filter(|(n, _)| KEPT.contains(&n.as_str()))
            .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = answer.bytes().await.unwrap_or_default();
        Call {
            target,
            shape,
            asked,
            done: Instant::now(),
            status,
            headers: kept,
            body,
        }
    };
    e.calls.lock().unwrap().push(call.clone());
    let mut response = Response::builder().status(call.status);
    for (n, v) in &call.headers {
        response = response.header(n, v);
    }
    response
        .body(axum::body::Body::from(call.body))
        .unwrap()
        .into_response()
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn event(device: &str, seq: u64) -> String {
    let payload = payload(seq, now_ms() - 100);
    serde_json::json!({
        "payload": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload),
        "topic": format!("dt/boxpilot/bench/{device}/telemetry"),
        "client_id": device,
        "received_at": now_ms(),
    })
    .to_string()
}

/// One cold start: spawn to the first `next` (init), `next` to the response (event), the sum.
struct Sample {
    init: Duration,
    event: Duration,
    total: Duration,
    mem: Option<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Moto,
    Proxied,
    Fake,
}

fn cold_start(
    rt: &tokio::runtime::Runtime,
    dynamodb_url: &str,
    table: &str,
    device: &str,
    seq: u64,
) -> Result<Sample, String> {
    let api = RuntimeApi {
        event: Arc::new(Mutex::new(Some(event(device, seq)))),
        asked: Arc::new(Mutex::new(None)),
        answered: Arc::new(Mutex::new(None)),
        request: Arc::new(AtomicU64::new(1)),
    };
    let (addr, server) = rt.block_on(async {
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/{outcome}",
                post(answered),
            )
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, server)
    });
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-ingest"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_REGION", moto::REGION)
        .env("AWS_ENDPOINT_URL", dynamodb_url)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("BOXPILOT_TABLE", table)
        .env("BOXPILOT_IOT_DATA_ENDPOINT", "127.0.0.1")
        .env("BOXPILOT_STAGE", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lambda-ingest");
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Some(a) = api.answered.lock().unwrap().clone() {
            break Some(a);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let mem = peak_rss_mb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let asked = *api.asked.lock().unwrap();
    match (answer, asked) {
        (Some((at, true, _)), Some(asked)) => Ok(Sample {
            init: asked - start,
            event: at - asked,
            total: at - start,
            mem,
        }),
        (Some((_, false, body)), _) => Err(format!("the function answered an error: {body}")),
        _ => Err("no answer within 20 s".into()),
    }
}

/// The wall time during which at least one call was waiting on the endpoint (the union of the
/// calls' intervals: a reading's calls partly run concurrently).
fn waited(calls: &[Call]) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = calls.iter().map(|c| (c.asked, c.done)).collect();
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (a, b) in spans {
        match current {
            Some((s, e)) if a <= e => current = Some((s, e.max(b))),
            Some((s, e)) => {
                total += e - s;
                current = Some((a, b));
            }
            None => current = Some((a, b)),
        }
    }
    total + current.map_or(Duration::ZERO, |(s, e)| e - s)
}

/// `median / p95` of durations, in ms.
fn stat(samples: &[Duration]) -> (f64, f64) {
    median_p95(samples)
}

fn show(samples: &[Duration]) -> String {
    let (m, p) = stat(samples);
    format!("{m:.1} / {p:.1}")
}

fn main() {
    header("lambda cold start (lambda-ingest, local Runtime API, DynamoDB on moto)");
    let runs = opt("runs", "BOXPILOT_BENCH_RUNS", 10, 40) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let moto_url = moto::endpoint().to_string();
    let table = moto::table_name();
    let device = "lambda-box";
    rt.block_on(async {
        let store = DynamoStore::connect(table.clone(), Some(moto_url.clone()), moto::REGION)
            .await
            .expect("store");
        store.create_table_if_missing().await.expect("table");
        boxpilot::cli::register_device(
            &store as &dyn Store,
            &FleetId::parse("bench").unwrap(),
            &DeviceId::parse(device).unwrap(),
        )
        .await
        .expect("box registered");
    });
    let endpoint = Endpoint {
        upstream: moto_url.clone(),
        client: reqwest::Client::new(),
        replay: Arc::new(AtomicBool::new(false)),
        calls: Arc::new(Mutex::new(Vec::new())),
        recorded: Arc::new(Mutex::new(Vec::new())),
        loose: Arc::new(AtomicU64::new(0)),
    };
    let proxy_url = rt.block_on(async {
        let app = axum::Router::new()
            .fallback(dynamodb)
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });

    // Baseline: the server binary printing its version.
    let mut base_times = Vec::new();
    let mut base_mem = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_boxpilot"))
            .arg("--version")
            .output()
            .expect("boxpilot --version");
        base_times.push(start.elapsed());
        assert!(out.status.success());
        // Peak memory of a finished child: from getrusage of children (max so far, KB).
        let usage = rusage_children_max_kb();
        base_mem.push(usage / 1024.0);
    }

    // One untimed round (the binary in the page cache, moto's table warm, the proxy's connection
    // to moto open, answers recorded for the fake), then `runs` timed rounds of the three modes.
    let modes = [Mode::Moto, Mode::Proxied, Mode::Fake];
    let mut samples: Vec<(Mode, Sample, Duration)> = Vec::new();
    let mut failures = 0;
    let mut seq = 0;
    let mut calls_seen = Vec::new();
    for round in 0..=runs {
        for mode in modes {
            seq += 1;
            endpoint.calls.lock().unwrap().clear();
            endpoint.replay.store(mode == Mode::Fake, Ordering::Relaxed);
            let url = if mode == Mode::Moto {
                &moto_url
            } else {
                &proxy_url
            };
            let outcome = cold_start(&rt, url, &table, device, seq);
            let calls = std::mem::take(&mut *endpoint.calls.lock().unwrap());
            let waited = waited(&calls);
            if mode == Mode::Proxied {
                calls_seen = calls.iter().map(|c| c.target.clone()).collect();
                *endpoint.recorded.lock().unwrap() = calls;
            }
            match outcome {
                Ok(s) if round > 0 => samples.push((mode, s, waited)),
                Ok(_) => {}
                Err(e) => {
                    failures += 1;
                    eprintln!("round {round}, mode {}: {e}", mode_name(mode));
                }
            }
        }
    }

    let (base_median, base_p95) = median_p95(&base_times);
    let base_mem_max = base_mem.iter().cloned().fold(0.0, f64::max);
    println!("baseline  boxpilot --version, spawn to exit: median {base_median:.1} ms, p95 {base_p95:.1} over {runs}; peak memory {base_mem_max:.1} MB");
    if samples.is_empty() {
        println!("FAILED    no run of lambda-ingest answered ({failures} failures)");
        result("lambda_start", &[("ok", "false".into())]);
        return;
    }
    let of = |mode: Mode, f: &dyn Fn(&Sample, Duration) -> Duration| -> Vec<Duration> {
        samples
            .iter()
            .filter(|(m, _, _)| *m == mode)
            .map(|(_, s, w)| f(s, *w))
            .collect()
    };
    println!("          median / p95 in ms over {runs} rounds{}; init = spawn to the first GET next, event = that next to the response", if failures > 0 { format!(" ({failures} failed)") } else { String::new() });
    let mut figures = Vec::new();
    for mode in modes {
        let total = of(mode, &|s, _| s.total);
        let init = of(mode, &|s, _| s.init);
        let event = of(mode, &|s, _| s.event);
        let waited = of(mode, &|_, w| w);
        let ours = of(mode, &|s, w| s.total.saturating_sub(w));
        let ours_event = of(mode, &|s, w| s.event.saturating_sub(w));
        println!(
            "{:<9} total {}   init {}   event {}   endpoint {}   ours (total - endpoint) {}   event - endpoint {}",
            mode_name(mode),
            show(&total),
            show(&init),
            show(&event),
            if mode == Mode::Moto { "(not seen)".into() } else { show(&waited) },
            if mode == Mode::Moto { "(not seen)".into() } else { show(&ours) },
            if mode == Mode::Moto { "(not seen)".into() } else { show(&ours_event) },
        );
        figures.push((
            mode,
            stat(&total),
            stat(&init),
            stat(&event),
            stat(&waited),
            stat(&ours),
        ));
    }
    println!(
        "calls     the first event's DynamoDB calls: {} ({}); fake answers whose item differed from the recorded call (its partition or only its operation matched): {}",
        calls_seen.len(),
        calls_seen.join(", "),
        endpoint.loose.load(Ordering::Relaxed)
    );
    if std::env::var_os("BOXPILOT_BENCH_SHAPES").is_some() {
        for c in endpoint.recorded.lock().unwrap().iter() {
            println!(
                "          {} {} -> {} {}",
                c.target,
                c.shape,
                c.status,
                String::from_utf8_lossy(&c.body)
            );
        }
    }
    let mem_max = samples
        .iter()
        .filter_map(|(_, s, _)| s.mem)
        .fold(0.0, f64::max);
    println!("memory    peak resident (VmHWM) at the response, all modes: {mem_max:.1} MB");
    let total = figures[0].1 .0;
    let ours = figures[1].5 .0;
    println!(
        "ratio     total (moto) / baseline = {:.1}, ours / baseline = {:.1}; goals: start <= {START_GOAL_MS} ms: total {}, ours {}; memory <= {MEMORY_GOAL_MB} MB: {}",
        total / base_median.max(0.001),
        ours / base_median.max(0.001),
        if total <= START_GOAL_MS { "MET" } else { "MISSED" },
        if ours <= START_GOAL_MS { "MET" } else { "MISSED" },
        if mem_max <= MEMORY_GOAL_MB { "MET" } else { "MISSED" }
    );
    result(
        "lambda_start",
        &[
            ("start_ms", format!("{total:.1}")),
            ("start_p95_ms", format!("{:.1}", figures[0].1 .1)),
            ("init_ms", format!("{:.1}", figures[0].2 .0)),
            ("event_ms", format!("{:.1}", figures[0].3 .0)),
            ("endpoint_ms", format!("{:.1}", figures[1].4 .0)),
            ("ours_ms", format!("{ours:.1}")),
            ("ours_p95_ms", format!("{:.1}", figures[1].5 .1)),
            ("fake_ms", format!("{:.1}", figures[2].1 .0)),
            ("peak_mb", format!("{mem_max:.1}")),
            ("baseline_ms", format!("{base_median:.1}")),
            ("baseline_mb", format!("{base_mem_max:.1}")),
            ("failures", failures.to_string()),
            ("start_met", (total <= START_GOAL_MS).to_string()),
            ("ours_met", (ours <= START_GOAL_MS).to_string()),
            ("memory_met", (mem_max <= MEMORY_GOAL_MB).to_string()),
        ],
    );
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Moto => "moto",
        Mode::Proxied => "proxied",
        Mode::Fake => "fake",
    }
}

/// The largest peak resident size of the children waited for so far, in KB (getrusage).
fn rusage_children_max_kb() -> f64 {
    // SAFETY: getrusage only fills the struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss as f64
    }
}
