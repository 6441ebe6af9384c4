//! Worked cost examples: each `fixtures/costs/*.json` describes a workload, the expected figures
//! worked out by hand (in its `assumptions`), and a tolerance. The usage is built with the crate's
//! own recording API, so the 5 KB / 1 KB / 4 KB metering steps are exercised, then priced with the
//! shipped table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use monitor::{cost, CostItem, MessageRoute, PriceTable, ReadConsistency, Usage};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    name: String,
    assumptions: String,
    period_days: u64,
    #[serde(default)]
    fleet: Option<Fleet>,
    #[serde(default)]
    console: Option<Console>,
    expected: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fleet {
    boxes: u64,
    message_interval_seconds: u64,
    metered_bytes: u64,
    route: MessageRoute,
    lambda_per_message: Option<Lambda>,
    /// Messages reach the function through an SQS queue, `batch` at a time (one invocation each).
    #[serde(default)]
    queue: Option<Queue>,
    dynamodb_writes_per_message: u64,
    item_bytes: u64,
    /// Eventually consistent reads made while storing a message (aggregates read before a merge).
    #[serde(default)]
    dynamodb_reads_per_message: u64,
    /// Derived data written once per box and hour (DynamoDB roll-ups: under 1 KB each).
    #[serde(default)]
    dynamodb_writes_per_box_hour: u64,
    /// Strongly consistent reads of the hour's readings by the roll-up (under 4 KB each).
    #[serde(default)]
    dynamodb_strong_reads_per_box_hour: u64,
    /// Pipeline counter updates per ingestion batch (under 1 KB each).
    #[serde(default)]
    dynamodb_writes_per_batch: u64,
    #[serde(default)]
    read_item_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Queue {
    batch: u64,
    lambda_per_batch: Lambda,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Console {
    monthly_active_users: u64,
    api_requests: u64,
    lambda_per_request: Option<Lambda>,
    dynamodb_reads_per_request: u64,
    read_item_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lambda {
    memory_mb: u32,
    billed_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    total_usd: f64,
    #[serde(default)]
    per_box_month_usd: Option<f64>,
    tolerance_usd: f64,
    #[serde(default)]
    lines: BTreeMap<String, f64>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/costs")
}

fn load(name: &str) -> Fixture {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Turns a fixture's workload description into a usage with the recording API.
fn usage_of(fixture: &Fixture) -> Usage {
    let period_seconds = fixture.period_days * 86_400;
    let mut usage = Usage::new();
    if let Some(fleet) = &fixture.fleet {
        assert_eq!(
            period_seconds % fleet.message_interval_seconds,
            0,
            "{}: the interval must divide the period",
            fixture.name
        );
        let messages = fleet.boxes * (period_seconds / fleet.message_interval_seconds);
        usage.record_connection(fleet.boxes, period_seconds / 60);
        usage.record_messages(messages, fleet.metered_bytes, fleet.route);
        if let Some(lambda) = &fleet.lambda_per_message {
            usage.record_lambda(messages, lambda.memory_mb, lambda.billed_ms);
        }
        if let Some(queue) = &fleet.queue {
            let batches = usage.record_queue_batches(messages, queue.batch);
            let lambda = &queue.lambda_per_batch;
            usage.record_lambda(batches, lambda.memory_mb, lambda.billed_ms);
            usage.record_dynamodb_writes(batches * fleet.dynamodb_writes_per_batch, 1024);
        }
        let box_hours = fleet.boxes * period_seconds / 3_600;
        usage.record_dynamodb_writes(box_hours * fleet.dynamodb_writes_per_box_hour, 1024);
        usage.record_dynamodb_reads(
            box_hours * fleet.dynamodb_strong_reads_per_box_hour,
            4096,
            ReadConsistency::Strong,
        );
        usage.record_dynamodb_writes(
            messages * fleet.dynamodb_writes_per_message,
            fleet.item_bytes,
        );
        usage.record_dynamodb_reads(
            messages * fleet.dynamodb_reads_per_message,
            fleet.read_item_bytes,
            ReadConsistency::Eventual,
        );
    }
    if let Some(console) = &fixture.console {
        usage.monthly_active_users += console.monthly_active_users as f64;
        usage.record_api_requests(console.api_requests);
        if let Some(lambda) = &console.lambda_per_request {
            usage.record_lambda(console.api_requests, lambda.memory_mb, lambda.billed_ms);
        }
        usage.record_dynamodb_reads(
            console.api_requests * console.dynamodb_reads_per_request,
            console.read_item_bytes,
            ReadConsistency::Strong,
        );
    }
    usage
}

fn item_named(name: &str) -> CostItem {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .unwrap_or_else(|e| panic!("unknown cost item `{name}` in a fixture: {e}"))
}

/// Checks one fixture and returns (total, per box-month) for the cross-fixture assertions.
fn check(name: &str) -> (f64, Option<f64>) {
    let fixture = load(name);
    assert!(
        fixture.assumptions.len() > 100,
        "{name}: the assumptions must show the arithmetic"
    );
    let breakdown = cost(&usage_of(&fixture), &PriceTable::aws_us_east_1()).unwrap();
    let tolerance = fixture.expected.tolerance_usd;
    assert!(
        (breakdown.total_usd - fixture.expected.total_usd).abs() <= tolerance,
        "{name}: total {} expected {} ± {tolerance}",
        breakdown.total_usd,
        fixture.expected.total_usd
    );
    for (item, expected) in &fixture.expected.lines {
        let actual = breakdown.line(item_named(item)).cost_usd;
        assert!(
            (actual - expected).abs() <= tolerance,
            "{name}: line {item} is {actual}, expected {expected} ± {tolerance}"
        );
    }
    let per_box = fixture.fleet.as_ref().map(|fleet| {
        let per_box = breakdown.per_box_usd(fleet.boxes).unwrap();
        if let Some(expected) = fixture.expected.per_box_month_usd {
            assert!(
                (per_box - expected).abs() <= tolerance / fleet.boxes as f64 + 1e-12,
                "{name}: per box-month {per_box}, expected {expected}"
            );
        }
        per_box
    });
    (breakdown.total_usd, per_box)
}

#[test]
fn ten_thousand_boxes_through_the_broker_cost_about_ten_cents_a_box_month() {
    let (_, per_box) = check("10k-boxes-broker.json");
    let per_box = per_box.unwrap();
    assert!((0.09..0.10).contains(&per_box), "{per_box}");
}

#[test]
fn ten_thousand_boxes_through_basic_ingest_cost_about_five_cents_a_box_month() {
    let (_, per_box) = check("10k-boxes-basic-ingest.json");
    let per_box = per_box.unwrap();
    assert!((0.05..0.055).contains(&per_box), "{per_box}");
}

#[test]
fn the_deployed_shape_pays_sqs_one_write_unit_a_reading_and_its_roll_ups() {
    let (_, per_box) = check("10k-boxes-deployed-shape.json");
    let fixture = load("10k-boxes-deployed-shape.json");
    let usage = usage_of(&fixture);
    assert_eq!(usage.lambda_invocations, usage.messages / 10.0);
    assert_eq!(usage.sqs_requests, usage.messages * 1.2);
    assert_eq!(
        fixture.fleet.as_ref().unwrap().dynamodb_writes_per_message,
        1
    );
    assert!((0.115..0.1155).contains(&per_box.unwrap()), "{per_box:?}");
}

#[test]
fn basic_ingest_saves_exactly_the_messaging_line() {
    let broker = load("10k-boxes-broker.json");
    let basic = load("10k-boxes-basic-ingest.json");
    let prices = PriceTable::aws_us_east_1();
    let with_broker = cost(&usage_of(&broker), &prices).unwrap();
    let with_basic = cost(&usage_of(&basic), &prices).unwrap();
    let saved = with_broker.total_usd - with_basic.total_usd;
    assert!((saved - with_broker.line(CostItem::IotMessaging).cost_usd).abs() < 1e-6);
    assert!((saved - 432.0).abs() < 1e-6);
}

#[test]
fn six_kb_messages_are_billed_two_units() {
    check("50-boxes-6kb-every-10s.json");
    let fixture = load("50-boxes-6kb-every-10s.json");
    let usage = usage_of(&fixture);
    assert_eq!(usage.messages, 12_960_000.0);
    assert_eq!(usage.billed_message_units, 2.0 * usage.messages);
    assert_eq!(usage.dynamodb_write_units, 6.0 * usage.messages);
}

#[test]
fn cognito_users_beyond_the_free_tier_are_charged() {
    let (total, _) = check("console-25k-users.json");
    assert!(total > 225.0);
}

#[test]
fn every_fixture_file_is_checked() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        check(name);
    }
}
