//! DynamoDB write units per stored reading through the ingestion Lambda's handler, for SQS
//! batches of 1, 10 and 100 messages, on moto server (the consumed capacity DynamoDB reports,
//! recorded by `DynamoStore::stats()`; docs/DYNAMODB.md). Two shapes of batch:
//!
//! - `one box`: every message of the batch from the same box (a box sending often, or a backlog);
//! - `fleet`: every message from a different box (many boxes each sending now and then: what a
//!   batching window gathers from a fleet).
//!
//! Each reading has 2 chartable metrics (`temp_c`, `door_open`) and the batches of a run fall in
//! the same hour. Counted: everything the invocation writes (the readings' conditional puts, the
//! pipeline counters; aggregates and latest values only for late readings, none here). Then the
//! hour's roll-up (`Store::roll_up`, what the scheduled function runs once the hour closed):
//! its write units per box, and the total per reading for a box sending once a minute (60
//! readings share a box-hour's roll-up). moto does not bill the index copy of the box item
//! (gsi1): on DynamoDB add 1 WCU per box-hour to the roll-up.
//!
//!   cargo bench -p boxpilot --features aws --bench lambda_write_units
//!
//! Goal (issue 4): <= 1 write unit per stored reading on average. A reading under 1 KB costs
//! exactly 1 WCU by itself, so the goal can only be approached: what the figure shows is the
//! per-batch overhead on top of that 1.
mod common;

use app::domain::{DeviceId, FleetId};
use boxpilot::aws::ingest::IngestLambda;
use boxpilot::outbound::DevicePublisher;
use boxpilot::store::dynamodb::DynamoStats;
use boxpilot::store::{DynamoStore, Store};
use boxpilot::testing::moto;
use common::*;
use std::sync::Arc;

struct NoPublisher;

#[async_trait::async_trait]
impl DevicePublisher for NoPublisher {
    async fn publish(&self, _topic: &str, _payload: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

fn rule_event(device: &str, seq: u64, ts: i64) -> serde_json::Value {
    let payload = format!(
        r#"{{"seq": {seq}, "ts": {ts}, "metrics": {{"temp_c": {}, "door_open": false}}}}"#,
        4.0 + (seq % 7) as f64 / 10.0
    );
    serde_json::json!({
        "payload": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload),
        "topic": format!("dt/boxpilot/bench/{device}/telemetry"),
        "client_id": device,
        "received_at": ts + 20,
    })
}

fn sqs_event(bodies: &[serde_json::Value]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::json!({
                "messageId": format!("m-{i}"),
                "receiptHandle": "r",
                "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:boxpilot-bench-ingest",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

fn delta(after: &DynamoStats, before: &DynamoStats) -> (f64, String) {
    let mut ops = Vec::new();
    for (op, n) in &after.requests {
        let d = n - before.requests_of(op);
        if d > 0 {
            ops.push(format!("{op} {d}"));
        }
    }
    (after.write_units - before.write_units, ops.join(", "))
}

fn main() {
    header("write units per stored reading through the ingestion Lambda (SQS batches, moto)");
    let batches = opt("batches", "BOXPILOT_BENCH_BATCHES", 3, 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let endpoint = moto::endpoint().to_string();
    let mut fields = Vec::new();
    let mut rolled = (0.0, 0usize, String::new());
    rt.block_on(async {
        let store = DynamoStore::connect(moto::table_name(), Some(endpoint), moto::REGION)
            .await
            .expect("store");
        store.create_table_if_missing().await.expect("table");
        let fleet = FleetId::parse("bench").unwrap();
        for i in 0..100 {
            boxpilot::cli::register_device(
                &store as &dyn Store,
                &fleet,
                &DeviceId::parse(&format!("wu-{i:03}")).unwrap(),
            )
            .await
            .expect("box registered");
        }
        let lambda = IngestLambda::new(Arc::new(store.clone()), Arc::new(NoPublisher));
        let now = chrono::Utc::now().timestamp_millis();
        // Readings stamped in the current hour's first minutes... or the last ones: keep them in
        // one hour so that the aggregates of a run are the same items.
        let hour = now - now.rem_euclid(3_600_000);
        let base = if now - hour > 10 * 60_000 {
            now - 5 * 60_000
        } else {
            now
        };
        // Each box's own sequence, without gaps: a clean fleet (a box that skips numbers is
        // counted on its own, as the health page needs).
        let mut seqs: std::collections::HashMap<String, u64> = Default::default();
        let mut tick = 0i64;
        for shape in ["one box", "fleet"] {
            for size in [1usize, 10, 100] {
                let mut units = Vec::new();
                let mut last_ops = String::new();
                for _ in 0..batches {
                    let bodies: Vec<serde_json::Value> = (0..size)
                        .map(|i| {
                            let device = match shape {
                                "one box" => "wu-000".to_string(),
                                _ => format!("wu-{i:03}"),
                            };
                            let seq = seqs.entry(device.clone()).or_default();
                            *seq += 1;
                            tick += 1;
                            rule_event(&device, *seq, base + tick)
                        })
                        .collect();
                    let before = store.stats();
                    let (inv, answer) = lambda
                        .handle_event(sqs_event(&bodies), || chrono::Utc::now().timestamp_millis())
                        .await;
                    let answer = answer.expect("SQS answer");
                    assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
                    assert_eq!(inv.accepted as usize, size, "{inv:?}");
                    let (wcu, ops) = delta(&store.stats(), &before);
                    units.push(wcu / size as f64);
                    last_ops = ops;
                }
                let mean = units.iter().sum::<f64>() / units.len() as f64;
                println!(
                    "{shape:<8} batch {size:>3}: {mean:.2} WCU per stored reading (mean of {batches} batches; last batch's requests: {last_ops})"
                );
                fields.push((
                    format!("{}_{size}", shape.replace(' ', "_")),
                    format!("{mean:.3}"),
                ));
            }
        }
        // The hour closes: the scheduled function's roll-up, as if two hours had passed.
        let before = store.stats();
        let report = store.roll_up(hour + 2 * 3_600_000).await.expect("roll-up");
        assert_eq!(report.pending, 0, "{report:?}");
        let (wcu, ops) = delta(&store.stats(), &before);
        rolled = (wcu, report.boxes, ops);
    });
    println!("goal      <= 1 WCU per stored reading on average (1 is the reading's own put)");
    let roll_up_per_box = rolled.0 / rolled.1 as f64;
    let fleet_10 = fields
        .iter()
        .find(|(k, _)| k == "fleet_10")
        .map(|(_, v)| v.parse::<f64>().unwrap())
        .unwrap_or(0.0);
    println!(
        "roll-up   the hour of {} boxes: {:.0} WCU ({roll_up_per_box:.2} per box-hour; requests: {}), +1 per box-hour on DynamoDB (index copy)",
        rolled.1, rolled.0, rolled.2
    );
    let minute_sender = fleet_10 + (roll_up_per_box + 1.0) / 60.0;
    println!(
        "total     a box sending once a minute, batches of 10 from a fleet: {fleet_10:.3} + ({roll_up_per_box:.2} + 1) / 60 = {minute_sender:.3} WCU per stored reading"
    );
    fields.push((
        "roll_up_per_box_hour".into(),
        format!("{roll_up_per_box:.3}"),
    ));
    fields.push(("minute_sender_total".into(), format!("{minute_sender:.3}")));
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    result("lambda_write_units", &fields);
}
