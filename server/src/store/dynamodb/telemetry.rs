//! Telemetry on DynamoDB, shaped so that a reading costs one write unit: its own conditional put,
//! and nothing else in the usual case. What charts and the fleet view need beyond the raw
//! readings is derived from them:
//! - **hourly aggregates**, one item per box and hour with every chartable metric in it, written
//!   by `roll_up` once the hour has closed (the scheduled function every minute, or `serve`'s
//!   background task), from the hour's raw readings;
//! - **latest values**, kept on the box's item as of its last roll-up and brought up to date on
//!   read (`refresh_latest`) from the readings after them.
//!
//! A reading written too late for its hour's roll-up (a box flushing what it buffered offline) is
//! merged into that hour's aggregate and its box's latest values at once. Merges are idempotent,
//! so the roll-up and a late reading may both apply the same reading. docs/DYNAMODB.md has the
//! reasoning and the figures.
use super::aggregate::{hour_of, HourAgg, HOUR_MS};
use super::item::*;
use super::{
    keys, parse_device, reading_codec, run_all, BoxFut, DynamoStore, Expr, Query, Range,
    CAS_ATTEMPTS,
};
use crate::clock::now_ms;
use crate::store::latest::{apply_chain, apply_to_record, Applied};
use crate::store::{DeviceRecord, Reading, RollUpReport, StoreError, StoreResult, WriteOutcome};
use app::domain::{DeviceId, FleetId, MetricValue, SeriesPoint};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashSet};

/// An hour is rolled up this long after it closed, so that the readings sent at its end are in.
pub const ROLL_UP_GRACE_MS: i64 = 5 * 60_000;
/// A reading written less than this before its hour's roll-up may start is merged at once too:
/// the roll-up might miss it. The margin covers the clocks of different functions.
const LATE_MARGIN_MS: i64 = 2 * 60_000;
/// At most this many hours of a box are rolled up by one call; a scheduler that was stopped for
/// longer catches up over the next calls.
const MAX_HOURS_PER_ROLL_UP: i64 = 48;
/// The hour aggregates of a box start this long before the hour it was registered in (readings
/// may carry times a little before that).
const BEFORE_REGISTRATION_MS: i64 = 2 * HOUR_MS;

/// Whether a reading of box time `ts` written at `written_at` may be missed by its hour's roll-up.
fn is_late(ts: i64, written_at: i64) -> bool {
    written_at >= hour_of(ts) + HOUR_MS + ROLL_UP_GRACE_MS - LATE_MARGIN_MS
}

pub(super) fn chartable(v: &MetricValue) -> Option<f64> {
    match v {
        MetricValue::Number(x) => Some(*x),
        MetricValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        MetricValue::Text(_) => None,
    }
}

/// The aggregates of one box and hour, by metric.
type HourAggs = BTreeMap<String, HourAgg>;

fn add_reading(aggs: &mut HourAggs, ts: i64, metrics: &BTreeMap<String, MetricValue>) {
    for (name, value) in metrics {
        let Some(v) = chartable(value) else { continue };
        let point = HourAgg::of(ts, v);
        match aggs.get_mut(name) {
            Some(a) => a.merge(&point),
            None => {
                aggs.insert(name.clone(), point);
            }
        }
    }
}

/// `m`: metric -> [first t, v, last t, v, min t, v, max t, v].
fn aggs_attribute(aggs: &HourAggs) -> AttributeValue {
    AttributeValue::M(
        aggs.iter()
            .map(|(name, a)| {
                let mut l = Vec::with_capacity(8);
                for (t, v) in [a.first, a.last, a.min, a.max] {
                    l.push(n(t));
                    l.push(float(v));
                }
                (name.clone(), AttributeValue::L(l))
            })
            .collect(),
    )
}

fn parse_aggs(it: &Item) -> StoreResult<HourAggs> {
    let bad = || StoreError::Corrupt("hour aggregate item".into());
    let Some(AttributeValue::M(m)) = it.get("m") else {
        return Err(bad());
    };
    m.iter()
        .map(|(name, v)| {
            let l = match v {
                AttributeValue::L(l) if l.len() == 8 => l,
                _ => return Err(bad()),
            };
            let point = |i: usize| -> StoreResult<(i64, f64)> {
                let t = l[i]
                    .as_n()
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(bad)?;
                Ok((t, as_float(&l[i + 1]).ok_or_else(bad)?))
            };
            Ok((
                name.clone(),
                HourAgg {
                    first: point(0)?,
                    last: point(2)?,
                    min: point(4)?,
                    max: point(6)?,
                },
            ))
        })
        .collect()
}

/// A raw reading item back as a reading (its box and fleet given).
fn parse_reading(it: &Item, device: &DeviceId, fleet: &FleetId) -> StoreResult<Reading> {
    let bad = || StoreError::Corrupt(format!("reading item of box {device}"));
    let (ts, seq) = get_s(it, SK)?.split_once('#').ok_or_else(bad)?;
    let metrics = match it.get("m") {
        Some(AttributeValue::B(b)) => reading_codec::decode(b.as_ref()).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok(Reading {
        device: device.clone(),
        fleet: fleet.clone(),
        ts: unord_i64(ts).ok_or_else(bad)?,
        seq: u64::from_str_radix(seq, 16).map_err(|_| bad())?,
        received_at: get_n(it, "rcv")?,
        metrics,
    })
}

impl DynamoStore {
    /// The conditional put that makes ingestion idempotent on (box, ts, seq).
    async fn put_reading(&self, r: &Reading) -> StoreResult<WriteOutcome> {
        let it = item(
            keys::readings(r.device.as_str()),
            format!("{}#{}", ord_i64(r.ts), ord_u64(r.seq)),
            [
                (
                    "m",
                    AttributeValue::B(Blob::new(reading_codec::encode(&r.metrics))),
                ),
                ("rcv", n(r.received_at)),
                (
                    TTL,
                    n(r.received_at.div_euclid(1000) + self.reading_retention_secs),
                ),
            ],
        );
        let cond = Expr::default().name("#pk", PK);
        Ok(
            if self
                .put(it, Some(("attribute_not_exists(#pk)", cond)))
                .await?
            {
                WriteOutcome::Stored
            } else {
                WriteOutcome::Duplicate
            },
        )
    }

    /// `put_readings`: the conditional puts, then, for late readings only, their hours'
    /// aggregates and their boxes' latest values.
    pub(super) async fn store_readings(
        &self,
        readings: &[Reading],
    ) -> StoreResult<Vec<WriteOutcome>> {
        if readings.is_empty() {
            return Ok(Vec::new());
        }
        // 1. One conditional PutItem per reading, concurrently (BatchWriteItem cannot be
        //    conditional). A key repeated inside the batch is a duplicate without a request.
        let mut seen = HashSet::new();
        let mut outcomes = vec![WriteOutcome::Duplicate; readings.len()];
        let firsts: Vec<usize> = (0..readings.len())
            .filter(|&i| {
                let r = &readings[i];
                seen.insert((r.device.as_str(), r.ts, r.seq))
            })
            .collect();
        let written = run_all(
            firsts
                .into_iter()
                .map(|i| -> BoxFut<'_, (usize, WriteOutcome)> {
                    Box::pin(async move { self.put_reading(&readings[i]).await.map(|o| (i, o)) })
                })
                .collect(),
        )
        .await?;
        for (i, o) in written {
            outcomes[i] = o;
        }
        // 2. Late readings, judged once they are written. Duplicates too: a redelivery after a
        //    failure between the put and the merge repairs what that attempt missed.
        let written_at = now_ms();
        let late: Vec<&Reading> = readings
            .iter()
            .filter(|r| is_late(r.ts, written_at))
            .collect();
        if late.is_empty() {
            return Ok(outcomes);
        }
        let mut hours: BTreeMap<(&str, i64), HourAggs> = BTreeMap::new();
        let mut by_device: BTreeMap<&str, Vec<&Reading>> = BTreeMap::new();
        for r in &late {
            add_reading(
                hours.entry((r.device.as_str(), hour_of(r.ts))).or_default(),
                r.ts,
                &r.metrics,
            );
            by_device.entry(r.device.as_str()).or_default().push(r);
        }
        run_all(
            hours
                .iter()
                .filter(|(_, aggs)| !aggs.is_empty())
                .map(|((d, h), aggs)| -> BoxFut<'_, ()> { Box::pin(self.merge_hour(d, *h, aggs)) })
                .collect(),
        )
        .await?;
        run_all(
            by_device
                .into_iter()
                .map(|(d, rs)| -> BoxFut<'_, ()> {
                    Box::pin(async move { self.advance_latest(d, &rs).await })
                })
                .collect(),
        )
        .await?;
        Ok(outcomes)
    }

    /// Merges `aggs` into the (box, hour) item: a conditional create first (the usual case, one
    /// write), else read, merge and put on the version read, again on a lost race. Nothing is
    /// written when the merge changes nothing.
    async fn merge_hour(&self, device: &str, hour: i64, aggs: &HourAggs) -> StoreResult<()> {
        let (pk, sk) = (keys::hours(device), ord_i64(hour));
        let item_of = |aggs: &HourAggs, version: u64| {
            item(
                pk.clone(),
                sk.clone(),
                [("m", aggs_attribute(aggs)), ("ver", n(version))],
            )
        };
        // The item is read only after a create failed (it exists), and created again if it
        // went meanwhile (a TTL or a repair).
        let mut exists = false;
        for _ in 0..CAS_ATTEMPTS {
            let current = if exists {
                self.get(key(&pk, &sk), true).await?
            } else {
                None
            };
            let Some(current) = current else {
                let absent = Expr::default().name("#pk", PK);
                let create = Some(("attribute_not_exists(#pk)", absent));
                if self.put(item_of(aggs, 1), create).await? {
                    return Ok(());
                }
                exists = true;
                continue;
            };
            let version: u64 = get_n(&current, "ver")?;
            let old = parse_aggs(&current)?;
            let mut merged = old.clone();
            for (name, a) in aggs {
                merged
                    .entry(name.clone())
                    .and_modify(|m| m.merge(a))
                    .or_insert(*a);
            }
            if merged == old {
                return Ok(());
            }
            let cond = Expr::default()
                .name("#ver", "ver")
                .value(":ver", n(version));
            if self
                .put(item_of(&merged, version + 1), Some(("#ver = :ver", cond)))
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB: aggregate {pk}/{hour} kept changing under {CAS_ATTEMPTS} attempts"
        )))
    }

    /// Advances a box's latest values and last-seen time with its late readings (in batch
    /// order), as the embedded store does: a reading older than the latest one is not applied.
    /// Read first: a redelivery usually changes nothing, and then nothing is written.
    async fn advance_latest(&self, device: &str, stored: &[&Reading]) -> StoreResult<()> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(it) = self.get(key(keys::device(device), keys::ONE), true).await? else {
                return Ok(()); // readings of an unregistered box: nothing to advance
            };
            if self.apply_to_box_item(&it, stored, None).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB: latest values of box {device} kept changing under {CAS_ATTEMPTS} attempts"
        )))
    }

    async fn raw_series(
        &self,
        device: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>> {
        let items = self
            .query(Query::table(keys::readings(device), Range::times(from, to)))
            .await?;
        let mut points = Vec::with_capacity(items.len());
        for it in &items {
            let ts = unord_i64(get_s(it, SK)?)
                .ok_or_else(|| StoreError::Corrupt(format!("reading key of {device}")))?;
            let bytes = match it.get("m") {
                Some(AttributeValue::B(b)) => b.as_ref(),
                _ => return Err(StoreError::Corrupt(format!("reading of {device} at {ts}"))),
            };
            if let Some(value) = reading_codec::metric_value(bytes, metric) {
                points.push(SeriesPoint { ts, value });
            }
        }
        Ok(points)
    }

    /// Readings of `device` (box time in `[from, to]`), in time order.
    async fn readings_of(
        &self,
        device: &DeviceRecord,
        from: i64,
        to: i64,
        consistent: bool,
    ) -> StoreResult<Vec<Reading>> {
        let mut q = Query::table(keys::readings(device.id.as_str()), Range::times(from, to));
        if consistent {
            q = q.consistent();
        }
        self.query(q)
            .await?
            .iter()
            .map(|it| parse_reading(it, &device.id, &device.fleet))
            .collect()
    }

    /// `refresh_latest`: each box's latest values as of its last roll-up, with the readings
    /// after them applied (one Query per box, from the latest reading's time on).
    pub(super) async fn bring_latest_up_to_date(
        &self,
        devices: &mut [DeviceRecord],
    ) -> StoreResult<()> {
        run_all(
            devices
                .iter_mut()
                .map(|d| -> BoxFut<'_, ()> {
                    Box::pin(async move {
                        let from = d.latest_ts.unwrap_or(i64::MIN);
                        let tail = self.readings_of(d, from, i64::MAX, false).await?;
                        let refs: Vec<&Reading> = tail.iter().collect();
                        apply_to_record(d, &refs);
                        Ok(())
                    })
                })
                .collect(),
        )
        .await?;
        Ok(())
    }

    /// `metric_series`: raw readings up to `raw_series_max`; beyond, the hour aggregates of
    /// the hours rolled up and the raw readings after them.
    pub(super) async fn series(
        &self,
        device: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>> {
        if to < from {
            return Ok(Vec::new());
        }
        if to.saturating_sub(from) <= self.raw_series_max_ms {
            return self.raw_series(device, metric, from, to).await;
        }
        let rolled_to: Option<i64> = match self
            .get(key(keys::device(device), keys::ONE), false)
            .await?
        {
            Some(it) => opt_n(&it, "rolled_to")?,
            None => None,
        };
        let mut points = Vec::new();
        let raw_from = match rolled_to {
            Some(rolled) if rolled > hour_of(from) => {
                let items = self
                    .query(Query::table(
                        keys::hours(device),
                        Range::Between(ord_i64(hour_of(from)), ord_i64(rolled - HOUR_MS)),
                    ))
                    .await?;
                for it in &items {
                    if let Some(a) = parse_aggs(it)?.get(metric) {
                        a.points(from, to, &mut points);
                    }
                }
                from.max(rolled)
            }
            _ => from,
        };
        if raw_from <= to {
            points.extend(self.raw_series(device, metric, raw_from, to).await?);
        }
        Ok(points)
    }

    /// `roll_up`: the closed hours of every box not rolled up yet. A bookmark item remembers the
    /// last hour done for all boxes, so that the calls of the other 59 minutes cost one read.
    pub(super) async fn roll_up_closed_hours(&self, now: i64) -> StoreResult<RollUpReport> {
        let until = hour_of(now - ROLL_UP_GRACE_MS);
        let bookmark = key(keys::ROLLED_UP, keys::ONE);
        if let Some(it) = self.get(bookmark.clone(), true).await? {
            if opt_n::<i64>(&it, "until")?.is_some_and(|done| done >= until) {
                return Ok(RollUpReport::default());
            }
        }
        let due: Vec<Item> = self
            .device_items(None)
            .await?
            .into_iter()
            .filter(|it| rolled_to(it).map_or(true, |r| r.is_none_or(|r| r < until)))
            .collect();
        let done = run_all(
            due.into_iter()
                .map(|it| -> BoxFut<'_, (usize, bool)> {
                    Box::pin(async move { self.roll_up_box(it, until).await })
                })
                .collect(),
        )
        .await?;
        let report = RollUpReport {
            boxes: done.iter().filter(|(hours, _)| *hours > 0).count(),
            hours: done.iter().map(|(hours, _)| hours).sum(),
            pending: done.iter().filter(|(_, finished)| !finished).count(),
        };
        if report.pending == 0 {
            self.put(
                item(keys::ROLLED_UP, keys::ONE, [("until", n(until))]),
                None,
            )
            .await?;
        }
        Ok(report)
    }

    /// Rolls one box up to `until` (at most `MAX_HOURS_PER_ROLL_UP` hours): its hours' aggregates,
    /// then its item (latest values, last seen, `rolled_to`), on the values read. Returns the
    /// hours with readings, and whether the box reached `until`.
    async fn roll_up_box(&self, listed: Item, until: i64) -> StoreResult<(usize, bool)> {
        let device = parse_device(&listed)?;
        // A box never rolled up starts before its registration, but not before the oldest raw
        // readings still kept (a box registered long before roll-ups existed).
        let kept_since = hour_of(until - self.reading_retention_secs * 1_000) - HOUR_MS;
        let mut start = rolled_to(&listed)?
            .unwrap_or((hour_of(device.created_at) - BEFORE_REGISTRATION_MS).max(kept_since));
        // More than one call's worth to do: skip the hours before the box's first reading since
        // (all of them, when it sent nothing).
        if until - start > MAX_HOURS_PER_ROLL_UP * HOUR_MS {
            let since = Range::times(start, until - 1);
            let first = self
                .query(Query::table(keys::readings(device.id.as_str()), since).oldest_first(1))
                .await?;
            start = match first.first() {
                Some(it) => hour_of(parse_reading(it, &device.id, &device.fleet)?.ts).max(start),
                None => until,
            };
        }
        let end = until.min(start + MAX_HOURS_PER_ROLL_UP * HOUR_MS);
        if end <= start {
            return Ok((0, true));
        }
        let readings = self.readings_of(&device, start, end - 1, true).await?;
        let mut hours: BTreeMap<i64, HourAggs> = BTreeMap::new();
        for r in &readings {
            add_reading(hours.entry(hour_of(r.ts)).or_default(), r.ts, &r.metrics);
        }
        run_all(
            hours
                .iter()
                .filter(|(_, aggs)| !aggs.is_empty())
                .map(|(h, aggs)| -> BoxFut<'_, ()> {
                    Box::pin(self.merge_hour(device.id.as_str(), *h, aggs))
                })
                .collect(),
        )
        .await?;
        let refs: Vec<&Reading> = readings.iter().collect();
        let mut current = listed;
        for _ in 0..CAS_ATTEMPTS {
            // Another roll-up went past us (an index read behind): it did this work.
            if rolled_to(&current)?.is_some_and(|r| r >= end) {
                return Ok((hours.len(), end == until));
            }
            if self.apply_to_box_item(&current, &refs, Some(end)).await? {
                return Ok((hours.len(), end == until));
            }
            match self
                .get(key(keys::device(device.id.as_str()), keys::ONE), true)
                .await?
            {
                Some(it) => current = it,
                None => return Ok((0, true)), // retired meanwhile
            }
        }
        Err(StoreError::Unavailable(format!(
            "DynamoDB: box {} kept changing under {CAS_ATTEMPTS} roll-up attempts",
            device.id
        )))
    }

    /// Applies `readings` to the box item `current` (as read): its latest values and last-seen
    /// time, and `rolled_to` when given. Written only if something changes, on the condition that
    /// none of them moved since `current` was read: `Ok(false)` when they did (read it again).
    async fn apply_to_box_item(
        &self,
        current: &Item,
        readings: &[&Reading],
        new_rolled_to: Option<i64>,
    ) -> StoreResult<bool> {
        let before = parse_device(current)?;
        let old_rolled_to = rolled_to(current)?;
        let mut after = before.clone();
        apply_to_record(&mut after, readings);
        if after == before && new_rolled_to.is_none_or(|r| old_rolled_to == Some(r)) {
            return Ok(true);
        }
        let applied = apply_chain(before.latest_ts, readings);
        let seen = after.presence.last_seen.unwrap_or(0);
        let (mut update, mut ph) = match &applied {
            Some(a) => latest_update(a, seen),
            None => (
                "SET #seen = :seen".to_string(),
                Expr::default()
                    .name("#seen", "last_seen")
                    .value(":seen", n(seen)),
            ),
        };
        ph = ph
            .name("#pk", PK)
            .name("#rt", "rolled_to")
            .name("#lt", "latest_ts")
            .name("#seen", "last_seen");
        if let Some(end) = new_rolled_to {
            update.push_str(", #rt = :end");
            ph = ph.value(":end", n(end));
        }
        let mut conds = vec!["attribute_exists(#pk)".to_string()];
        for (name, placeholder, value) in [
            ("#rt", ":old_rt", old_rolled_to),
            ("#lt", ":old_lt", before.latest_ts),
            ("#seen", ":old_seen", before.presence.last_seen),
        ] {
            match value {
                Some(v) => {
                    conds.push(format!("{name} = {placeholder}"));
                    ph = ph.value(placeholder, n(v));
                }
                None => conds.push(format!("attribute_not_exists({name})")),
            }
        }
        self.update(
            key(keys::device(before.id.as_str()), keys::ONE),
            &update,
            Some(&conds.join(" AND ")),
            ph,
        )
        .await
    }
}

/// `SET latest_ts, latest_seq, last_seen, latest.<metric>...` for `a`.
fn latest_update(a: &Applied, seen: i64) -> (String, Expr) {
    let mut ph = Expr::default()
        .name("#lt", "latest_ts")
        .name("#ls", "latest_seq")
        .name("#seen", "last_seen")
        .name("#latest", "latest")
        .value(":t", n(a.ts))
        .value(":s", n(a.seq))
        .value(":seen", n(seen));
    let mut sets = vec![
        "#lt = :t".to_string(),
        "#ls = :s".to_string(),
        "#seen = :seen".to_string(),
    ];
    for (i, (name, value)) in a.metrics.iter().enumerate() {
        sets.push(format!("#latest.#k{i} = :v{i}"));
        ph = ph
            .name(&format!("#k{i}"), name)
            .value(&format!(":v{i}"), metric(value));
    }
    (format!("SET {}", sets.join(", ")), ph)
}
/// A box item's `rolled_to` (the hour its aggregates are rolled up to), if any.
fn rolled_to(it: &Item) -> StoreResult<Option<i64>> {
    opt_n(it, "rolled_to")
}
