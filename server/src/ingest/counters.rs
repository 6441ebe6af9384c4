//! Pipeline counters, buffered in memory per (fleet, minute, box) and flushed to the store.
use crate::store::{CounterDelta, PipelineCounts};
use app::domain::FleetId;
use std::collections::HashMap;

/// Messages that cannot be tied to a fleet (bad topic) are counted under this pseudo-fleet.
pub const UNATTRIBUTED_FLEET: &str = "_unattributed";

/// The boxes of a minute with nothing to look at (no rejection, duplicate, drop or lost message)
/// are counted together under this pseudo-box: one counter item per fleet and minute instead of
/// one per box. On DynamoDB a counter item per box and minute costs a write unit per box and
/// minute, as much as the reading itself for boxes that send once a minute. The health page
/// lists the boxes that had something wrong; the fleet's totals include everything.
pub const CLEAN_BOXES: &str = "*";

/// Whether a box's counts have nothing to show on their own.
fn is_clean(c: &PipelineCounts) -> bool {
    c.duplicates == 0 && c.lost == 0 && c.dropped == 0 && c.rejected.is_empty()
}

#[derive(Debug, Default)]
pub struct CounterBuffer {
    buckets: HashMap<(FleetId, i64, String), PipelineCounts>,
}

pub fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

impl CounterBuffer {
    pub fn bucket(
        &mut self,
        fleet: Option<&FleetId>,
        device: Option<&str>,
        at_ms: i64,
    ) -> &mut PipelineCounts {
        let fleet = fleet
            .cloned()
            .unwrap_or_else(|| FleetId::parse(UNATTRIBUTED_FLEET).expect("valid id"));
        self.buckets
            .entry((fleet, minute_of(at_ms), device.unwrap_or("-").to_owned()))
            .or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The buffered counts, clean boxes summed per (fleet, minute) under [`CLEAN_BOXES`].
    pub fn drain(&mut self) -> Vec<CounterDelta> {
        let mut out: HashMap<(FleetId, i64, String), PipelineCounts> = HashMap::new();
        for ((fleet, minute, device), counts) in self.buckets.drain() {
            let device = if is_clean(&counts) {
                CLEAN_BOXES.to_owned()
            } else {
                device
            };
            out.entry((fleet, minute, device)).or_default().add(&counts);
        }
        out.into_iter()
            .map(|((fleet, minute, device), counts)| CounterDelta {
                fleet,
                minute,
                device,
                counts,
            })
            .collect()
    }

    /// Puts deltas back after a failed flush, so that no count is lost.
    pub fn restore(&mut self, deltas: Vec<CounterDelta>) {
        for d in deltas {
            self.buckets
                .entry((d.fleet, d.minute, d.device))
                .or_default()
                .add(&d.counts);
        }
    }
}
