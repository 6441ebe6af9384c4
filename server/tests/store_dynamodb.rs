//! The DynamoDB store against moto server (region us-east-1): the store conformance suite, then
//! what is particular to DynamoDB (idempotent conditional puts, retries, an endpoint that is down,
//! Query pages of a 30-day chart, consumed capacity, no Scan).
//!
//! Run: `cargo test -p boxpilot --features aws --test store_dynamodb` (scripts/setup.sh installs
//! moto in `~/.cache/boxpilot-tools/venv`). The tests start one moto server on a free port, give
//! each test a table of its own, and kill moto when the test binary exits.
#![cfg(feature = "aws")]

use app::domain::{DeviceId, MetricValue};
use boxpilot::store::conformance::{device, reading};
use boxpilot::store::dynamodb::retry::{self, Backoff, BatchError, Class, RetryCounters};
use boxpilot::store::{DynamoStore, Reading, Store, StoreError, WriteOutcome};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
use std::time::Duration;

use boxpilot::clock::now_ms;
use boxpilot::testing::moto::{self, REGION};
const HOUR: i64 = 3_600_000;

/// A fresh table on moto, and the store on it.
async fn fresh_store() -> Box<DynamoStore> {
    let endpoint = moto::endpoint().to_string();
    let store = DynamoStore::connect(moto::table_name(), Some(endpoint), REGION)
        .await
        .unwrap();
    assert!(store.create_table_if_missing().await.unwrap());
    Box::new(store)
}

boxpilot::store_conformance_tests!(fresh_store());

fn id(s: &str) -> DeviceId {
    DeviceId::parse(s).unwrap()
}

#[tokio::test]
async fn the_table_is_created_once_with_ttl_on_raw_readings() {
    let store = fresh_store().await;
    assert!(!store.create_table_if_missing().await.unwrap());
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let desc = ttl.time_to_live_description.unwrap();
    assert_eq!(desc.attribute_name.as_deref(), Some("ttl"));
    // A reading received at t is deleted 30 days later.
    store.create_device(&device("b1", "north")).await.unwrap();
    let r = reading("b1", "north", 1, 1_764_489_600_000, 20.0);
    store.put_readings(std::slice::from_ref(&r)).await.unwrap();
    let items = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("R#b1".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 1);
    let ttl: i64 = items[0]["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, r.received_at / 1000 + 30 * 24 * 3600);
}

/// The box as the console shows it: its latest values brought up to date.
async fn fresh_device(store: &DynamoStore, d: &str) -> boxpilot::store::DeviceRecord {
    store.get_device_latest(&id(d)).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_reading_is_one_conditional_put_and_a_redelivery_is_a_duplicate() {
    let store = fresh_store().await;
    store.create_device(&device("b1", "north")).await.unwrap();
    let r = reading("b1", "north", 7, now_ms(), 20.0);
    let before = store.stats();
    assert_eq!(
        store.put_readings(&[r.clone(), r.clone()]).await.unwrap(),
        vec![WriteOutcome::Stored, WriteOutcome::Duplicate],
        "a key repeated in one batch"
    );
    let mid = store.stats();
    let sent: u64 = mid.requests.values().sum::<u64>() - before.requests.values().sum::<u64>();
    assert_eq!(
        (
            mid.requests_of("PutItem") - before.requests_of("PutItem"),
            sent
        ),
        (1, 1),
        "one conditional put for the reading, nothing else: {mid:?}"
    );
    assert_eq!(mid.write_units - before.write_units, 1.0, "one write unit");
    assert_eq!(
        store.put_readings(std::slice::from_ref(&r)).await.unwrap(),
        vec![WriteOutcome::Duplicate]
    );
    let after = store.stats();
    assert_eq!(after.requests_of("PutItem") - mid.requests_of("PutItem"), 1);
    assert_eq!(
        after.requests.values().sum::<u64>() - mid.requests.values().sum::<u64>(),
        1
    );
    let s = store
        .metric_series(&id("b1"), "temp_c", r.ts - 1_000, r.ts + 1_000)
        .await
        .unwrap();
    assert_eq!(s.len(), 1);
    // The box's item was not written: the latest values come from the reading, on read.
    let d = fresh_device(&store, "b1").await;
    assert_eq!((d.latest_ts, d.latest_seq), (Some(r.ts), Some(7)));
    assert_eq!(d.presence.last_seen, Some(r.received_at));
}

#[tokio::test]
async fn a_late_reading_is_merged_into_its_hour_and_the_latest_values_at_once() {
    let store = fresh_store().await;
    let mut b1 = device("b1", "north");
    b1.created_at = now_ms() - 5 * HOUR;
    store.create_device(&b1).await.unwrap();
    let now = now_ms();
    let hour = now - now.rem_euclid(HOUR) - 3 * HOUR;
    store.roll_up(now).await.unwrap();
    // Rolled up past `hour`: a reading of that hour arriving now (a box flushing what it kept
    // while offline) cannot wait for a roll-up.
    let before = store.stats();
    let late = reading("b1", "north", 1, hour + 60_000, -40.0);
    assert_eq!(
        store
            .put_readings(std::slice::from_ref(&late))
            .await
            .unwrap(),
        vec![WriteOutcome::Stored]
    );
    let after = store.stats();
    assert_eq!(
        after.requests_of("PutItem") - before.requests_of("PutItem"),
        2,
        "the reading and its hour: {after:?}"
    );
    let long = store
        .metric_series(&id("b1"), "temp_c", now - 24 * HOUR, now)
        .await
        .unwrap();
    assert_eq!(
        long.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![-40.0]
    );
    let d = store.get_device(&id("b1")).await.unwrap().unwrap();
    assert_eq!(
        d.latest_ts,
        Some(late.ts),
        "written on the box's item at once"
    );
}

fn fast_backoff(throttle_attempts: u32) -> Backoff {
    Backoff {
        base: Duration::from_millis(1),
        max: Duration::from_millis(4),
        throttle_attempts,
        transient_attempts: 3,
    }
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_counted() {
    let counters = RetryCounters::default();
    let calls = AtomicU64::new(0);
    let classify = |e: &&str| match *e {
        "throttled" => Class::Throttled,
        "down" => Class::Transient,
        _ => Class::Final,
    };
    // Throttled 4 times, then it goes through: nothing lost, 4 retries counted.
    let out: Result<u32, &str> =
        retry::with_retries(&fast_backoff(10), &counters, classify, || {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            async move {
                if n < 4 {
                    Err("throttled")
                } else {
                    Ok(42)
                }
            }
        })
        .await;
    assert_eq!(out, Ok(42));
    assert_eq!(counters.throttle_retries.load(Ordering::Relaxed), 4);
    // Throttled for ever: gives up after the attempts allowed, with the throttling error.
    calls.store(0, Ordering::Relaxed);
    let out: Result<u32, &str> = retry::with_retries(&fast_backoff(5), &counters, classify, || {
        calls.fetch_add(1, Ordering::Relaxed);
        async { Err("throttled") }
    })
    .await;
    assert_eq!(out, Err("throttled"));
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    // A final error (a failed condition) is not retried; a transient one a few times only.
    calls.store(0, Ordering::Relaxed);
    let out: Result<u32, &str> = retry::with_retries(&fast_backoff(5), &counters, classify, || {
        calls.fetch_add(1, Ordering::Relaxed);
        async { Err("condition") }
    })
    .await;
    assert_eq!((out, calls.load(Ordering::Relaxed)), (Err("condition"), 1));
    calls.store(0, Ordering::Relaxed);
    let _ = retry::with_retries(&fast_backoff(5), &counters, classify, || {
        calls.fetch_add(1, Ordering::Relaxed);
        async { Err::<u32, _>("down") }
    })
    .await;
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(counters.transient_retries.load(Ordering::Relaxed), 2);
}

#[test]
fn backoff_grows_exponentially_up_to_its_cap() {
    let b = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_millis(1_000),
        throttle_attempts: 10,
        transient_attempts: 3,
    };
    for (retry, full) in [
        (1, 100),
        (2, 200),
        (3, 400),
        (4, 800),
        (5, 1_000),
        (9, 1_000),
    ] {
        let d = b.delay(retry).as_millis() as u64;
        assert!(
            (full / 2..=full).contains(&d),
            "retry {retry}: {d} ms not in [{}, {full}]",
            full / 2
        );
    }
}

#[tokio::test]
async fn unprocessed_batch_items_are_resent_until_written() {
    let counters = RetryCounters::default();
    let written = Mutex::new(Vec::new());
    let calls = AtomicU64::new(0);
    let items: Vec<u32> = (0..60).collect();
    // A fake BatchWriteItem: never more than 25 items; the first two calls leave their second
    // half unprocessed, as DynamoDB does when a partition is throttled.
    let result: Result<(), BatchError<()>> =
        retry::write_batches(&fast_backoff(10), &counters, items.clone(), |batch| {
            assert!(batch.len() <= 25);
            let n = calls.fetch_add(1, Ordering::Relaxed);
            let (done, left) = if n < 2 {
                let half = batch.len() / 2;
                (batch[..half].to_vec(), batch[half..].to_vec())
            } else {
                (batch, Vec::new())
            };
            written.lock().unwrap().extend(done);
            async move { Ok(left) }
        })
        .await;
    result.unwrap();
    let mut got = written.into_inner().unwrap();
    got.sort();
    assert_eq!(got, items, "nothing lost, nothing written twice");
    assert_eq!(counters.unprocessed_retries.load(Ordering::Relaxed), 2);
    // Never processed: an error naming how many are left, after the attempts allowed.
    let result: Result<(), BatchError<()>> = retry::write_batches(
        &fast_backoff(4),
        &counters,
        vec![1, 2, 3],
        |batch| async move { Ok(batch) },
    )
    .await;
    assert!(
        matches!(result, Err(BatchError::Unprocessed(3))),
        "{result:?}"
    );
}

#[tokio::test]
async fn dead_letters_go_through_batch_writes() {
    let store = fresh_store().await;
    let letters: Vec<_> = (0..60)
        .map(|i| app::domain::DeadLetter {
            id: format!("dl-{i}"),
            received_at: i,
            fleet: Some(app::domain::FleetId::parse("north").unwrap()),
            device: None,
            topic: "dt/boxpilot/north/b1/telemetry".into(),
            source: "mqtt".into(),
            reason: "malformed_json".into(),
            detail: "expected value".into(),
            payload_preview: "{".into(),
            payload_bytes: 1,
        })
        .collect();
    store.put_dead_letters(&letters).await.unwrap();
    assert_eq!(store.stats().requests_of("BatchWriteItem"), 3);
    let newest = store.list_dead_letters(None, 100).await.unwrap();
    assert_eq!(newest.len(), 60);
    assert_eq!(newest[0].received_at, 59);
}

#[tokio::test]
async fn an_endpoint_that_is_down_is_a_clear_error_and_nothing_is_acknowledged() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let store = DynamoStore::connect("boxpilot-down", Some(endpoint.clone()), REGION)
        .await
        .unwrap()
        .with_backoff(fast_backoff(3));
    let ping = store.ping().await;
    match &ping {
        Err(StoreError::Unavailable(msg)) => {
            assert!(msg.contains("unreachable"), "{msg}");
            assert!(msg.contains(&endpoint), "{msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let put = store
        .put_readings(&[reading("b1", "north", 1, 1_000, 20.0)])
        .await;
    assert!(matches!(put, Err(StoreError::Unavailable(_))), "{put:?}");
    let stats = store.stats();
    assert_eq!(
        stats.transient_retries, 4,
        "2 retries for each call: {stats:?}"
    );
    assert_eq!(stats.write_units, 0.0);
}

#[tokio::test]
async fn a_missing_table_is_named_in_the_error() {
    let store = DynamoStore::connect(
        "boxpilot-no-such-table",
        Some(moto::endpoint().into()),
        REGION,
    )
    .await
    .unwrap();
    match store.ping().await {
        Err(StoreError::Unavailable(msg)) => {
            assert!(
                msg.contains("boxpilot-no-such-table does not exist"),
                "{msg}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn temp_reading(seq: u64, ts: i64, temp: f64) -> Reading {
    Reading {
        device: id("b1"),
        fleet: app::domain::FleetId::parse("north").unwrap(),
        seq,
        ts,
        received_at: ts + 5,
        metrics: BTreeMap::from([("temp_c".to_string(), MetricValue::Number(temp))]),
    }
}

#[tokio::test]
async fn a_30_day_chart_reads_at_most_two_query_pages_and_keeps_the_extremes() {
    let store = fresh_store().await;
    let days = 30;
    let now = now_ms();
    let start = now - now.rem_euclid(HOUR) - days * 24 * HOUR;
    let mut b1 = device("b1", "north");
    b1.created_at = start;
    store.create_device(&b1).await.unwrap();
    // A reading every 10 minutes, a spike and a dip in the middle of the month.
    let readings: Vec<Reading> = (0..days * 24 * 6)
        .map(|i| {
            let ts = start + i * HOUR / 6 + 60_000;
            let temp = match i {
                2_000 => 90.0,
                2_001 => -40.0,
                _ => 4.0 + (i % 7) as f64 / 10.0,
            };
            temp_reading(i as u64, ts, temp)
        })
        .collect();
    for batch in readings.chunks(500) {
        store.put_readings(batch).await.unwrap();
    }
    // The scheduled function's roll-ups, caught up (48 hours a call).
    let mut calls = 0;
    while store.roll_up(now).await.unwrap().pending > 0 {
        calls += 1;
        assert!(calls < 20, "the roll-ups catch up");
    }
    let before = store.stats();
    let to = start + days * 24 * HOUR - 1;
    let series = store
        .metric_series(&id("b1"), "temp_c", start, to)
        .await
        .unwrap();
    let after = store.stats();
    let pages = after.query_pages - before.query_pages;
    let read_units = after.read_units - before.read_units;
    println!(
        "30-day chart: {pages} Query page(s), {read_units} read units, {} points from {} readings",
        series.len(),
        readings.len()
    );
    assert!(pages <= 2, "{pages} pages");
    assert!(series.len() <= 4 * 24 * days as usize, "{}", series.len());
    assert!(
        series.windows(2).all(|w| w[0].ts < w[1].ts),
        "in time order"
    );
    assert!(series.iter().any(|p| p.value == 90.0), "the spike is kept");
    assert!(series.iter().any(|p| p.value == -40.0), "the dip is kept");
    // The same range read raw, for comparison.
    let raw = DynamoStore::connect(
        store.table().to_string(),
        Some(moto::endpoint().into()),
        REGION,
    )
    .await
    .unwrap()
    .with_raw_series_max(Duration::from_secs(31 * 24 * 3600));
    let all = raw
        .metric_series(&id("b1"), "temp_c", start, to)
        .await
        .unwrap();
    assert_eq!(all.len(), readings.len());
    let raw_stats = raw.stats();
    println!(
        "the same range raw: {} Query page(s), {} read units",
        raw_stats.query_pages, raw_stats.read_units
    );
    // A short range is read raw: every reading.
    let day = store
        .metric_series(&id("b1"), "temp_c", start, start + 6 * HOUR)
        .await
        .unwrap();
    assert_eq!(day.len(), 36);
}

#[tokio::test]
async fn consumed_capacity_is_recorded() {
    let store = fresh_store().await;
    store.create_device(&device("b1", "north")).await.unwrap();
    let before = store.stats();
    // One message with 3 metrics (2 chartable), as the simulator sends.
    store
        .put_readings(&[reading("b1", "north", 1, 1_000, 20.0)])
        .await
        .unwrap();
    let one = store.stats();
    let (w, r) = (
        one.write_units - before.write_units,
        one.read_units - before.read_units,
    );
    println!("one reading alone: {w} write units, {r} read units; {one:?}");
    assert!(w > 0.0, "{one:?}");
    // A batch of 60 readings of one box within one hour.
    let batch: Vec<_> = (2..62)
        .map(|i| reading("b1", "north", i, i as i64 * 1_000, 20.0 + i as f64))
        .collect();
    store.put_readings(&batch).await.unwrap();
    let after = store.stats();
    println!(
        "60 readings in a batch: {:.2} write units and {:.2} read units per reading",
        (after.write_units - one.write_units) / 60.0,
        (after.read_units - one.read_units) / 60.0
    );
    store.get_device(&id("b1")).await.unwrap().unwrap();
    assert!(store.stats().read_units > after.read_units);
}

#[tokio::test]
async fn no_request_is_a_scan() {
    use boxpilot::store::conformance as c;
    // Every method of the port, through the conformance checks (each on a table of its own).
    let mut requests: BTreeMap<String, u64> = BTreeMap::new();
    macro_rules! run {
        ($($check:ident),*) => {$(
            let store = fresh_store().await;
            c::$check(&*store).await;
            if stringify!($check) == "pending_commands_are_created_and_unexpired" {
                store.ping().await.unwrap();
            }
            for (op, n) in store.stats().requests {
                *requests.entry(op).or_default() += n;
            }
        )*};
    }
    run!(
        device_ids_are_unique_across_fleets,
        devices_are_listed_per_fleet_in_id_order,
        presence_is_replaced_and_unknown_boxes_refused,
        readings_are_idempotent_and_advance_latest,
        latest_values_and_long_series_hold_across_roll_ups,
        series_cover_the_range_of_one_metric_of_one_box,
        dead_letters_list_newest_first_per_fleet,
        counters_accumulate_per_bucket,
        users_round_trip,
        grants_are_kept_per_kind_and_deleted,
        commands_round_trip_and_list_newest_first,
        command_updates_replace_and_ids_are_never_reused,
        pending_commands_are_created_and_unexpired,
        fleet_commands_list_newest_first_in_a_window,
        rollouts_list_newest_first_and_running_ones_are_indexed,
        shadow_writes_are_conditional_on_the_version,
        hourly_counters_sum_the_minutes_of_each_hour,
        alert_rules_and_alerts_round_trip
    );
    println!("requests of the whole suite: {requests:?}");
    assert!(!requests.contains_key("Scan"));
    let allowed = [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "BatchWriteItem",
        "TransactWriteItems",
        // create_table_if_missing
        "DescribeTable",
        "CreateTable",
        "UpdateTimeToLive",
    ];
    for op in requests.keys() {
        assert!(allowed.contains(&op.as_str()), "unexpected operation {op}");
    }
}

#[tokio::test]
async fn a_redelivery_repairs_an_aggregate_that_a_failed_attempt_missed() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = fresh_store().await;
    let now = now_ms();
    let mut b1 = device("b1", "north");
    b1.created_at = now - 6 * HOUR;
    store.create_device(&b1).await.unwrap();
    store.roll_up(now).await.unwrap();
    let start = now - now.rem_euclid(HOUR) - 3 * HOUR;
    let readings: Vec<_> = (0..3)
        .map(|i| temp_reading(i, start + i as i64 * 60_000, 10.0 + i as f64))
        .collect();
    store.put_readings(&readings).await.unwrap();
    // As if the first attempt had died between the readings and their hour's aggregate.
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S("H#b1".into()))
        .key(
            "sk",
            AttributeValue::S(format!("{:016x}", (start as u64) ^ (1 << 63))),
        )
        .send()
        .await
        .unwrap();
    let long = |s: &DynamoStore| {
        let s = s.clone();
        async move {
            s.metric_series(&id("b1"), "temp_c", start, start + 12 * HOUR)
                .await
                .unwrap()
        }
    };
    assert!(long(&store).await.is_empty());
    // The box resends: duplicates, and the aggregate is back.
    let again = store.put_readings(&readings).await.unwrap();
    assert_eq!(again, vec![WriteOutcome::Duplicate; 3]);
    let series = long(&store).await;
    assert_eq!(
        series.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![10.0, 12.0]
    );
    // A second redelivery changes nothing and writes nothing: its conditional puts fail, and
    // the hour's aggregate is read and found complete.
    let before = store.stats();
    store.put_readings(&readings).await.unwrap();
    let after = store.stats();
    assert_eq!(
        after.requests_of("PutItem") - before.requests_of("PutItem"),
        4,
        "3 readings and the hour's create, all refused"
    );
    assert_eq!(
        after.requests_of("UpdateItem"),
        before.requests_of("UpdateItem"),
        "the box's latest values are read, found current and not written: {after:?}"
    );
}

#[tokio::test]
async fn latest_values_follow_the_embedded_rule_when_a_batch_mixes_old_and_new() {
    let store = fresh_store().await;
    store.create_device(&device("b1", "north")).await.unwrap();
    store
        .put_readings(&[reading("b1", "north", 5, 5_000, 50.0)])
        .await
        .unwrap();
    // An old reading (not applied) then a newer one (applied): the one-request path cannot
    // apply this batch, the read-and-write path does.
    let mut newer = reading("b1", "north", 6, 6_000, 60.0);
    newer.metrics.remove("mode");
    let mut old = reading("b1", "north", 3, 3_000, 30.0);
    old.metrics.insert("extra".into(), MetricValue::Number(1.0));
    store.put_readings(&[old, newer]).await.unwrap();
    let d = fresh_device(&store, "b1").await;
    assert_eq!((d.latest_ts, d.latest_seq), (Some(6_000), Some(6)));
    assert_eq!(d.latest.get("temp_c"), Some(&MetricValue::Number(60.0)));
    assert_eq!(
        d.latest.get("extra"),
        None,
        "the old reading is not applied"
    );
    assert_eq!(
        d.latest.get("mode"),
        Some(&MetricValue::Text("eco".into())),
        "kept from before"
    );
    assert_eq!(d.presence.last_seen, Some(6_005));
}

#[tokio::test]
async fn a_box_registered_long_ago_is_rolled_up_from_the_readings_still_kept() {
    let store = fresh_store().await;
    // `device` registers it in 1970: its first roll-up starts at the retention, not there.
    store.create_device(&device("b1", "north")).await.unwrap();
    let now = now_ms();
    let this_hour = now - now.rem_euclid(HOUR);
    store
        .put_readings(&[temp_reading(1, this_hour + 60_000, 7.5)])
        .await
        .unwrap();
    // One call: the empty hours before its first reading are skipped, not walked 48 at a time.
    let report = store.roll_up(this_hour + 2 * HOUR).await.unwrap();
    assert_eq!((report.pending, report.hours), (0, 1), "{report:?}");
    let long = store
        .metric_series(&id("b1"), "temp_c", now - 24 * HOUR, now + HOUR)
        .await
        .unwrap();
    assert_eq!(long.iter().map(|p| p.value).collect::<Vec<_>>(), vec![7.5]);
}
