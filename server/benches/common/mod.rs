//! Shared helpers of the plain-text benchmarks (no harness): run size, machine description,
//! statistics, and the one-line results that scripts/bench.sh collects into its summary.
#![allow(dead_code)]

pub mod counting_store;

use std::time::{Duration, Instant};

/// `--long` on the command line (`cargo bench ... -- --long`) or `BOXPILOT_LONG=1`.
pub fn long_mode() -> bool {
    std::env::args().any(|a| a == "--long")
        || std::env::var("BOXPILOT_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A numeric option `--name=value` or environment variable, else the default for the mode.
pub fn opt(name: &str, env: &str, short: u64, long: u64) -> u64 {
    let flag = format!("--{name}=");
    std::env::args()
        .find_map(|a| a.strip_prefix(&flag).and_then(|v| v.parse().ok()))
        .or_else(|| std::env::var(env).ok().and_then(|v| v.parse().ok()))
        .unwrap_or(if long_mode() { long } else { short })
}

fn first_line_of(path: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// Prints the bench name, the machine and the mode.
pub fn header(name: &str) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = first_line_of("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    println!("== {name}");
    println!(
        "machine: {cpus} cores ({model}), load average {load} at start; mode: {}",
        if long_mode() {
            "long"
        } else {
            "short (pass --long or BOXPILOT_LONG=1 for bigger runs)"
        }
    );
}

/// Machine-readable result line: `RESULT <bench> <key>=<value> ...`, collected by scripts/bench.sh.
pub fn result(bench: &str, fields: &[(&str, String)]) {
    let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {bench} {}", fields.join(" "));
}

pub fn per_sec(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and p95 (nearest rank) of durations, in ms.
pub fn median_p95(samples: &[Duration]) -> (f64, f64) {
    let mut v: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    (median, v[rank - 1])
}

/// Times `f` `runs` times (after `warmup` untimed runs).
pub fn time_runs<T>(warmup: usize, runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut last = None;
    for _ in 0..warmup {
        last = Some(f());
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        samples.push(t.elapsed());
        last = Some(out);
    }
    (samples, last.expect("at least one run"))
}

/// Encodes metrics in the layout of the store's reading codec (server/src/store/reading_codec.rs,
/// which is private): `[count][name_len][name][tag][payload]...`, tag 0/1 bool, 2 f64 LE. Used by
/// the raw-store baselines so that they write values of the same size as the product does.
pub fn encode_metrics(metrics: &[(&str, Metric)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + metrics.len() * 18);
    out.push(metrics.len() as u8);
    for (name, value) in metrics {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        match value {
            Metric::Bool(false) => out.push(0),
            Metric::Bool(true) => out.push(1),
            Metric::Number(v) => {
                out.push(2);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
pub enum Metric {
    Bool(bool),
    Number(f64),
}

/// The four metrics of the benchmark payload, sorted by name as the product's BTreeMap is.
pub fn sample_metrics(seq: u64) -> Vec<u8> {
    encode_metrics(&[
        ("battery_pct", Metric::Number(88.0)),
        ("door_open", Metric::Bool(false)),
        ("humidity_pct", Metric::Number(40.1)),
        ("temp_c", Metric::Number(21.5 + (seq % 100) as f64 / 10.0)),
    ])
}

/// Finds one numeric metric in bytes of that layout (what the product's `metric_value` does).
pub fn decode_metric(bytes: &[u8], metric: &str) -> Option<f64> {
    let count = *bytes.first()? as usize;
    let mut pos = 1;
    for _ in 0..count {
        let len = *bytes.get(pos)? as usize;
        let name = bytes.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        let tag = *bytes.get(pos)?;
        pos += 1;
        let payload = match tag {
            0 | 1 => 0,
            2 => 8,
            _ => return None,
        };
        if name == metric.as_bytes() {
            return match tag {
                0 => Some(0.0),
                1 => Some(1.0),
                _ => Some(f64::from_le_bytes(
                    bytes.get(pos..pos + 8)?.try_into().ok()?,
                )),
            };
        }
        pos += payload;
    }
    None
}

/// The telemetry payload of the benchmarks (the device contract's shape).
pub fn payload(seq: u64, ts: i64) -> Vec<u8> {
    format!(
        r#"{{"seq":{seq},"ts":{ts},"metrics":{{"temp_c":{:.1},"humidity_pct":40.1,"battery_pct":88.0,"door_open":false}}}}"#,
        21.5 + (seq % 100) as f64 / 10.0
    )
    .into_bytes()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn fmt_rate(r: f64) -> String {
    format!("{:.0}", r)
}

/// Median latency (ms) of a durable redb commit of one row on this disk right now: the floor of
/// every group commit. It varies a lot on a shared machine (0.2 ms idle, several ms while others
/// build), so the benches that depend on it print it.
pub fn commit_latency(path: &std::path::Path) -> f64 {
    const READINGS: redb::TableDefinition<(&str, i64, u64), &[u8]> =
        redb::TableDefinition::new("readings");
    let db = redb::Database::create(path).expect("raw redb");
    let value = sample_metrics(1);
    let (samples, _) = time_runs(3, 30, || {
        let txn = db.begin_write().expect("txn");
        {
            let mut table = txn.open_table(READINGS).expect("table");
            let seq = now_ms() as u64;
            table
                .insert(("latency-box", seq as i64, seq), value.as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
    });
    median_p95(&samples).0
}
