//! A box's latest values and last-seen time, as readings advance them: the one rule both stores
//! follow. A reading older than the latest applied one is not applied; each metric keeps the
//! value of the last reading applied that carried it; every reading moves `last_seen`.
use super::{DeviceRecord, Reading};
use app::domain::MetricValue;
use std::collections::BTreeMap;

/// The fields readings move, wherever they are kept.
pub struct LatestFields<'a> {
    pub ts: &'a mut Option<i64>,
    pub seq: &'a mut Option<u64>,
    pub values: &'a mut BTreeMap<String, MetricValue>,
    pub last_seen: &'a mut Option<i64>,
}

/// Applies `readings` in order. Updates values in place: a metric already known costs no
/// allocation (the embedded store applies every batch this way).
pub fn apply(f: LatestFields<'_>, readings: &[&Reading]) {
    for r in readings {
        if f.ts.is_none_or(|ts| r.ts >= ts) {
            *f.ts = Some(r.ts);
            *f.seq = Some(r.seq);
            for (name, value) in &r.metrics {
                match f.values.get_mut(name) {
                    Some(slot) => slot.clone_from(value),
                    None => {
                        f.values.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        *f.last_seen = (*f.last_seen).max(Some(r.received_at));
    }
}

/// Applies `readings` (in order) to a box's record.
pub fn apply_to_record(d: &mut DeviceRecord, readings: &[&Reading]) {
    apply(
        LatestFields {
            ts: &mut d.latest_ts,
            seq: &mut d.latest_seq,
            values: &mut d.latest,
            last_seen: &mut d.presence.last_seen,
        },
        readings,
    );
}

/// What applying readings changes on latest values at time `current`, if anything.
#[cfg(feature = "aws")]
pub struct Applied {
    pub ts: i64,
    pub seq: u64,
    /// The metrics the applied readings set (the others keep their values).
    pub metrics: BTreeMap<String, MetricValue>,
}

/// The change `readings` make to latest values at time `current` (the DynamoDB store writes
/// only that).
#[cfg(feature = "aws")]
pub fn apply_chain(current: Option<i64>, readings: &[&Reading]) -> Option<Applied> {
    let (mut ts, mut seq, mut metrics, mut seen) = (current, None, BTreeMap::new(), None);
    apply(
        LatestFields {
            ts: &mut ts,
            seq: &mut seq,
            values: &mut metrics,
            last_seen: &mut seen,
        },
        readings,
    );
    Some(Applied {
        ts: ts?,
        seq: seq?,
        metrics,
    })
}
