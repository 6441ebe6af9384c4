//! Pipeline counters, buffered in memory per (fleet, minute, box) and flushed to the store.
use crate::store::{CounterDelta, PipelineCounts};
use app::domain::FleetId;
use std::collections::HashMap;

/// Messages that cannot be tied to a fleet (bad topic) are counted under this pseudo-fleet.
pub const UNATTRIBUTED_FLEET: &str = "_unattributed";

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

    pub fn drain(&mut self) -> Vec<CounterDelta> {
        self.buckets
            .drain()
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
