//! The boxes' latest values and last-seen times, kept in memory between the embedded store's
//! writes of their records: a batch of readings then writes the readings and nothing else (the
//! read, decode, encode and write of each box's JSON record cost the batch writer more than the
//! readings themselves; BENCHMARKS.md 1). `Store::roll_up` (every minute in `serve`, and at stop)
//! writes the records of the boxes that moved. After a crash, `open` applies the readings stored
//! after each record's latest values (their box time standing in for the time they were received).
use crate::store::latest::{apply, LatestFields};
use crate::store::{DeviceRecord, Reading};
use app::domain::MetricValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// What readings change on a box's record.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub latest_ts: Option<i64>,
    pub latest_seq: Option<u64>,
    pub latest: BTreeMap<String, MetricValue>,
    pub last_seen: Option<i64>,
}

impl Latest {
    pub fn of(d: &DeviceRecord) -> Self {
        Self {
            latest_ts: d.latest_ts,
            latest_seq: d.latest_seq,
            latest: d.latest.clone(),
            last_seen: d.presence.last_seen,
        }
    }

    /// Puts these values on `d`: the latest values as they are, the later of the two last-seen
    /// times (presence events move it too).
    pub fn overlay(&self, d: &mut DeviceRecord) {
        d.latest_ts = self.latest_ts;
        d.latest_seq = self.latest_seq;
        d.latest.clone_from(&self.latest);
        d.presence.last_seen = d.presence.last_seen.max(self.last_seen);
    }

    fn apply(&mut self, readings: &[&Reading]) {
        apply(
            LatestFields {
                ts: &mut self.latest_ts,
                seq: &mut self.latest_seq,
                values: &mut self.latest,
                last_seen: &mut self.last_seen,
            },
            readings,
        );
    }
}

#[derive(Default)]
struct Entry {
    latest: Option<Latest>,
    /// Changed since its record was last written.
    dirty: bool,
}

#[derive(Default)]
pub struct LatestCache {
    boxes: Mutex<HashMap<String, Entry>>,
}

impl LatestCache {
    /// Boxes among `ids` whose values are not in memory yet (read their records once).
    pub fn missing<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        let boxes = self.boxes.lock().expect("latest cache");
        ids.filter(|id| !boxes.contains_key(*id)).collect()
    }

    /// After a batch's commit, under one lock: remembers the values of boxes read from their
    /// records (`None`: not registered), then applies each box's readings just stored (in order).
    pub fn record(
        &self,
        loaded: Vec<(String, Option<Latest>)>,
        stored: &HashMap<&str, Vec<&Reading>>,
    ) {
        let mut boxes = self.boxes.lock().expect("latest cache");
        for (id, latest) in loaded {
            boxes.entry(id).or_insert(Entry {
                latest,
                dirty: false,
            });
        }
        for (device, readings) in stored {
            if let Some(Entry {
                latest: Some(latest),
                dirty,
            }) = boxes.get_mut(*device)
            {
                latest.apply(readings);
                *dirty = true;
            }
        }
    }

    /// Puts the values in memory on a record read from the table.
    pub fn overlay(&self, d: &mut DeviceRecord) {
        let boxes = self.boxes.lock().expect("latest cache");
        if let Some(Entry {
            latest: Some(latest),
            ..
        }) = boxes.get(d.id.as_str())
        {
            latest.overlay(d);
        }
    }

    /// The values changed since their records were written, marked clean (see `unwritten`).
    pub fn take_dirty(&self) -> Vec<(String, Latest)> {
        let mut boxes = self.boxes.lock().expect("latest cache");
        boxes
            .iter_mut()
            .filter(|(_, e)| e.dirty)
            .filter_map(|(id, e)| {
                e.dirty = false;
                e.latest.clone().map(|l| (id.clone(), l))
            })
            .collect()
    }

    /// Marks boxes dirty again after their records could not be written.
    pub fn unwritten(&self, ids: impl Iterator<Item = String>) {
        let mut boxes = self.boxes.lock().expect("latest cache");
        for id in ids {
            if let Some(e) = boxes.get_mut(&id) {
                e.dirty = true;
            }
        }
    }
}
