use crate::domain::{DeviceId, DeviceSummary, FleetId};
use crate::ui::mqtt::LiveEvent;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// One box of the fleet view. Its summary is a signal of its own, so a live message re-renders
/// that one row, not the table. Reference-counted rather than arena-owned: entries are created
/// inside effects and MQTT callbacks, whose reactive owners come and go.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEntry {
    pub id: DeviceId,
    pub fleet: FleetId,
    pub summary: ArcRwSignal<DeviceSummary>,
}

impl DeviceEntry {
    /// Case-insensitive match on box id, fleet or firmware; `needle` is lower case.
    fn matches(&self, needle: &str) -> bool {
        self.id.as_str().to_lowercase().contains(needle)
            || self.fleet.as_str().to_lowercase().contains(needle)
            // Untracked: a firmware change should not re-run the filter of every row.
            || self.summary.with_untracked(|s| {
                s.presence.firmware.as_ref().is_some_and(|fw| fw.to_lowercase().contains(needle))
            })
    }
}

#[derive(Clone, Copy)]
pub struct FleetStore {
    entries: RwSignal<BTreeMap<DeviceId, DeviceEntry>>,
}

impl FleetStore {
    pub fn new() -> Self {
        FleetStore {
            entries: RwSignal::new(BTreeMap::new()),
        }
    }

    /// Replaces the list with the server's, reusing the signals of boxes already shown so that
    /// their rows are updated in place.
    pub fn replace_all(&self, devices: Vec<DeviceSummary>) {
        let mut entries = self.entries.get_untracked();
        let mut next = BTreeMap::new();
        for summary in devices {
            let entry = match entries.remove(&summary.id) {
                Some(entry) if entry.fleet == summary.fleet => {
                    entry.summary.set(summary);
                    entry
                }
                _ => DeviceEntry {
                    id: summary.id.clone(),
                    fleet: summary.fleet.clone(),
                    summary: ArcRwSignal::new(summary),
                },
            };
            next.insert(entry.id.clone(), entry);
        }
        self.entries.set(next);
    }

    /// Applies a live event; a box not yet listed (registered after the page loaded) is added.
    pub fn apply(&self, event: &LiveEvent) {
        if !event.is_summary_event() {
            return;
        }
        // `try_`: the page may be going away while a message is dispatched.
        let Some(known) = self
            .entries
            .try_with_untracked(|e| e.get(event.device()).map(|entry| entry.summary.clone()))
        else {
            return;
        };
        match known {
            Some(summary) => summary.update(|s| event.apply_to(s)),
            None => {
                let summary = event.new_summary();
                let entry = DeviceEntry {
                    id: summary.id.clone(),
                    fleet: summary.fleet.clone(),
                    summary: ArcRwSignal::new(summary),
                };
                self.entries
                    .try_update(|e| e.insert(entry.id.clone(), entry));
            }
        }
    }

    /// The boxes matching `filter`, grouped by fleet, both in id order.
    pub fn groups(&self, filter: &str) -> Vec<(FleetId, Vec<DeviceEntry>)> {
        let needle = filter.trim().to_lowercase();
        self.entries.with(|entries| {
            let mut groups: BTreeMap<FleetId, Vec<DeviceEntry>> = BTreeMap::new();
            for entry in entries
                .values()
                .filter(|e| needle.is_empty() || e.matches(&needle))
            {
                groups
                    .entry(entry.fleet.clone())
                    .or_default()
                    .push(entry.clone());
            }
            groups.into_iter().collect()
        })
    }

    /// (online, total), tracked on every box's presence.
    pub fn counts(&self) -> (usize, usize) {
        self.entries.with(|entries| {
            let online = entries
                .values()
                .filter(|e| e.summary.with(|s| s.presence.online))
                .count();
            (online, entries.len())
        })
    }
}

impl Default for FleetStore {
    fn default() -> Self {
        Self::new()
    }
}
