//! Telemetry query: one box-day at 1 Hz (86,400 readings) in the embedded store, read with
//! `Store::metric_series` and reduced with `boxpilot::downsample::downsample(.., 1000)`, as the API
//! does for a chart. Median and p95 over `--runs` (default 30).
//!
//! Baseline, same run, same file: the bare redb range scan of the same rows, without decoding
//! the values. Then the same query once through the HTTP API of a server started with
//! `boxpilot::runtime::start` (cold: first request after start), and a median of 10 more.
//!
//!   cargo bench -p boxpilot --bench telemetry_query [-- --long] [--runs=N]
//!
//! Goal: <= 20 ms for metric_series + downsample.
mod common;

use app::domain::{DeviceId, FleetId, MetricValue};
use boxpilot::downsample::downsample;
use boxpilot::runtime::{self, ServeConfig};
use boxpilot::store::{EmbeddedStore, Reading, Store};
use common::*;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

const GOAL_MS: f64 = 20.0;
const DAY: i64 = 86_400;
const MAX_POINTS: usize = 1000;
const READINGS: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("readings");

fn reading(fleet: &FleetId, device: &DeviceId, i: i64, from: i64) -> Reading {
    let seq = i as u64 + 1;
    Reading {
        device: device.clone(),
        fleet: fleet.clone(),
        seq,
        ts: from + i * 1000,
        received_at: from + i * 1000 + 40,
        metrics: BTreeMap::from([
            (
                "temp_c".to_string(),
                MetricValue::Number(21.5 + ((i % 600) as f64 / 60.0).sin()),
            ),
            ("humidity_pct".to_string(), MetricValue::Number(40.1)),
            ("battery_pct".to_string(), MetricValue::Number(88.0)),
            ("door_open".to_string(), MetricValue::Bool(i % 3600 == 0)),
        ]),
    }
}

fn main() {
    header("telemetry query: one box-day (86,400 readings) -> metric_series + downsample(1000)");
    let runs = opt("runs", "BOXPILOT_BENCH_RUNS", 30, 200) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let fleet = FleetId::parse("bench").unwrap();
    let device = DeviceId::parse("day-box").unwrap();
    let to = now_ms() - 60_000;
    let from = to - (DAY - 1) * 1000;

    // The box-day, written through the Store port as the ingestion core would.
    let (query_samples, series_samples, downsample_samples, points) = rt.block_on(async {
        let store = Arc::new(EmbeddedStore::open(&data).expect("store"));
        boxpilot::cli::register_device(store.as_ref(), &fleet, &device)
            .await
            .unwrap();
        let t = Instant::now();
        let all: Vec<Reading> = (0..DAY)
            .map(|i| reading(&fleet, &device, i, from))
            .collect();
        for batch in all.chunks(2048) {
            store.put_readings(batch).await.unwrap();
        }
        // The readings journal merged into the readings table, as the minute's roll-up does in
        // `serve` (the baseline scans that table).
        store.roll_up(now_ms()).await.unwrap();
        println!(
            "loaded {DAY} readings through put_readings in {:.2} s",
            t.elapsed().as_secs_f64()
        );

        let mut query = Vec::new();
        let mut series = Vec::new();
        let mut reduce = Vec::new();
        let mut points = 0;
        for i in 0..runs + 2 {
            let t = Instant::now();
            let raw = store
                .metric_series(&device, "temp_c", from, to)
                .await
                .unwrap();
            let t_series = t.elapsed();
            let down = downsample(&raw, from, to, MAX_POINTS);
            let total = t.elapsed();
            assert_eq!(raw.len(), DAY as usize);
            assert!(down.len() <= MAX_POINTS);
            points = down.len();
            if i >= 2 {
                query.push(total);
                series.push(t_series);
                reduce.push(total - t_series);
            }
        }
        (query, series, reduce, points)
    });
    let (q_med, q_p95) = median_p95(&query_samples);
    let (s_med, s_p95) = median_p95(&series_samples);
    let (d_med, d_p95) = median_p95(&downsample_samples);

    // Baseline: the bare range scan of the same rows in the same file, no value decoding.
    let db = Database::open(data.join("boxpilot.redb")).expect("reopen the store file");
    let (scan_samples, scanned) = time_runs(2, runs, || {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(READINGS).unwrap();
        let mut n = 0usize;
        let mut last = 0i64;
        for entry in table
            .range(("day-box", from, 0)..=("day-box", to, u64::MAX))
            .unwrap()
        {
            let (key, _value) = entry.unwrap();
            last = key.value().1;
            n += 1;
        }
        std::hint::black_box(last);
        n
    });
    drop(db);
    assert_eq!(scanned, DAY as usize);
    let (b_med, b_p95) = median_p95(&scan_samples);

    println!("query     metric_series + downsample({MAX_POINTS}) -> {points} points: median {q_med:.1} ms, p95 {q_p95:.1} ms ({runs} runs)");
    println!("            of which metric_series median {s_med:.1} ms (p95 {s_p95:.1}), downsample median {d_med:.2} ms (p95 {d_p95:.2})");
    println!(
        "baseline  bare redb range scan, no decoding: median {b_med:.1} ms, p95 {b_p95:.1} ms"
    );
    let ratio = q_med / b_med;
    println!(
        "ratio     query / bare scan = {ratio:.2}; goal <= {GOAL_MS} ms: {}",
        if q_med <= GOAL_MS {
            "MET (median)"
        } else {
            "MISSED (median)"
        }
    );

    // Through HTTP: a server on the same data directory, an admin's bearer token.
    let (http_cold, http_samples, http_points, http_bytes) = rt.block_on(async {
        let any = "127.0.0.1:0".parse().unwrap();
        let running = runtime::start(ServeConfig {
            http: any,
            mqtt: any,
            mqtt_ws: any,
            data_dir: data.clone(),
            static_dir: dir.path().join("no-console"),
            public_url: None,
            broker_public_url: None,
            store: Default::default(),
            identity: Default::default(),
        })
        .await
        .expect("server starts");
        let password = "bench-admin-password-0123456789";
        running
            .users
            .add_user("bench-admin", password, &["admin".to_string()])
            .await
            .expect("user");
        let http = reqwest::Client::new();
        let base = format!("http://{}", running.http_addr);
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "bench-admin", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().expect("access token").to_owned();
        let url = format!("{base}/api/v1/devices/day-box/telemetry?metric=temp_c&from={from}&to={to}&max_points={MAX_POINTS}");
        let get = || async {
            let t = Instant::now();
            let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let body = r.bytes().await.unwrap();
            (t.elapsed(), body)
        };
        let (cold, body) = get().await;
        let series: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(series["raw_points"], DAY);
        let n = series["points"].as_array().map_or(0, |p| p.len());
        let mut samples = Vec::new();
        for _ in 0..10 {
            samples.push(get().await.0);
        }
        running.stop().await;
        (cold, samples, n, body.len())
    });
    let (h_med, h_p95) = median_p95(&http_samples);
    println!(
        "http      GET /api/v1/devices/day-box/telemetry?...&max_points={MAX_POINTS}: first request {:.1} ms, then median {h_med:.1} ms p95 {h_p95:.1} ms (10 runs); {http_points} points, {http_bytes} bytes of JSON",
        ms(http_cold)
    );
    result(
        "telemetry",
        &[
            ("median_ms", format!("{q_med:.1}")),
            ("p95_ms", format!("{q_p95:.1}")),
            ("baseline_scan_ms", format!("{b_med:.1}")),
            ("ratio", format!("{ratio:.2}")),
            ("http_first_ms", format!("{:.1}", ms(http_cold))),
            ("http_median_ms", format!("{h_med:.1}")),
            ("goal_ms", format!("{GOAL_MS}")),
            ("met", (q_med <= GOAL_MS).to_string()),
        ],
    );
}
