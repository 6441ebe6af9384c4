//! The ingestion Lambda's cold start, measured locally: the `lambda-ingest` binary is started as
//! Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing at a local emulation of the Runtime API that
//! hands it one IoT rule event), against a DynamoDB table on moto server. Measured: the time from
//! spawning the process to its response for that first event (the event is stored, so it includes
//! the first DynamoDB calls), and the process's peak resident memory (VmHWM) at that moment.
//!
//! Baseline, same run: `boxpilot --version` (the server binary: a Rust process that parses its
//! command line and exits), spawn to exit, and its peak memory.
//!
//!   cargo bench -p boxpilot --features aws --bench lambda_start [-- --long]
//!
//! Goals (issue 4): start to the first handled event <= 50 ms, peak memory <= 32 MB.
mod common;

use app::domain::{DeviceId, FleetId};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use boxpilot::store::{DynamoStore, Store};
use boxpilot::testing::moto;
use common::*;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const START_GOAL_MS: f64 = 50.0;
const MEMORY_GOAL_MB: f64 = 32.0;

/// The Runtime API of one invocation: hands out `event` once, then makes `next` wait; records
/// when the response (or an error) comes.
#[derive(Clone)]
struct RuntimeApi {
    event: Arc<Mutex<Option<String>>>,
    answered: Arc<Mutex<Option<(Instant, bool, String)>>>,
    request: Arc<AtomicU64>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
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

fn main() {
    header("lambda cold start (lambda-ingest, local Runtime API, DynamoDB on moto)");
    let runs = opt("runs", "BOXPILOT_BENCH_RUNS", 5, 20) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let endpoint = moto::endpoint().to_string();
    let table = moto::table_name();
    let device = "lambda-box";
    rt.block_on(async {
        let store = DynamoStore::connect(table.clone(), Some(endpoint.clone()), moto::REGION)
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

    let mut times = Vec::new();
    let mut mems = Vec::new();
    let mut failures = 0;
    for run in 0..runs {
        let api = RuntimeApi {
            event: Arc::new(Mutex::new(Some(event(device, run as u64 + 1)))),
            answered: Arc::new(Mutex::new(None)),
            request: Arc::new(AtomicU64::new(1)),
        };
        let addr = rt.block_on(async {
            let app = axum::Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/{outcome}",
                    post(answered),
                )
                .with_state(api.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        });
        let start = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-ingest"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "ingest")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_REGION", moto::REGION)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("BOXPILOT_TABLE", &table)
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
        match answer {
            Some((at, true, _)) => {
                times.push(at - start);
                mems.extend(mem);
            }
            Some((_, false, body)) => {
                failures += 1;
                eprintln!("run {run}: the function answered an error: {body}");
            }
            None => {
                failures += 1;
                eprintln!("run {run}: no answer within 20 s");
            }
        }
    }
    let (base_median, _) = median_p95(&base_times);
    let base_mem_max = base_mem.iter().cloned().fold(0.0, f64::max);
    println!("baseline  boxpilot --version, spawn to exit: median {base_median:.1} ms over {runs}; peak memory {base_mem_max:.1} MB");
    if times.is_empty() {
        println!("FAILED    no run of lambda-ingest answered ({failures} failures)");
        result("lambda_start", &[("ok", "false".into())]);
        return;
    }
    let (median, p95) = median_p95(&times);
    let mem_max = mems.iter().cloned().fold(0.0, f64::max);
    println!(
        "lambda    lambda-ingest, spawn to the response of its first event (stored in DynamoDB): median {median:.1} ms, p95 {p95:.1} ms over {} runs{}",
        times.len(),
        if failures > 0 { format!(" ({failures} failed)") } else { String::new() }
    );
    println!("memory    peak resident (VmHWM) at the response: {mem_max:.1} MB");
    println!(
        "ratio     start / baseline = {:.1}; goals: start <= {START_GOAL_MS} ms: {}, memory <= {MEMORY_GOAL_MB} MB: {}",
        median / base_median.max(0.001),
        if median <= START_GOAL_MS { "MET" } else { "MISSED" },
        if mem_max <= MEMORY_GOAL_MB { "MET" } else { "MISSED" }
    );
    result(
        "lambda_start",
        &[
            ("start_ms", format!("{median:.1}")),
            ("start_p95_ms", format!("{p95:.1}")),
            ("peak_mb", format!("{mem_max:.1}")),
            ("baseline_ms", format!("{base_median:.1}")),
            ("baseline_mb", format!("{base_mem_max:.1}")),
            ("failures", failures.to_string()),
            ("start_met", (median <= START_GOAL_MS).to_string()),
            ("memory_met", (mem_max <= MEMORY_GOAL_MB).to_string()),
        ],
    );
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
