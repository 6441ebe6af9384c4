//! Lost-message counting from `seq`, which a box increases by one per message and restarts at 1
//! after a reboot.
use app::domain::DeviceId;
use std::collections::HashMap;

/// The highest (seq, box time) seen per box in its current boot.
#[derive(Debug, Default)]
pub struct SeqTracker {
    last: HashMap<DeviceId, (u64, i64)>,
}

impl SeqTracker {
    pub fn knows(&self, device: &DeviceId) -> bool {
        self.last.contains_key(device)
    }

    /// Starts tracking a box from what the store last saw of it.
    pub fn seed(&mut self, device: &DeviceId, seq: u64, ts: i64) {
        self.last.entry(device.clone()).or_insert((seq, ts));
    }

    /// A newly stored reading (duplicates are not observed). Returns the change in the count of
    /// lost messages: a jump forward adds the skipped numbers; a lower seq with an older box time is
    /// a late arrival filling a gap (-1); a lower seq with a newer box time is a reboot, whose
    /// skipped first numbers count as lost.
    pub fn observe(&mut self, device: &DeviceId, seq: u64, ts: i64) -> i64 {
        let Some(&(last_seq, last_ts)) = self.last.get(device) else {
            self.last.insert(device.clone(), (seq, ts));
            return 0;
        };
        if seq > last_seq {
            self.last.insert(device.clone(), (seq, ts));
            (seq - last_seq - 1) as i64
        } else if ts > last_ts {
            self.last.insert(device.clone(), (seq, ts));
            seq.saturating_sub(1) as i64
        } else {
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[(u64, i64)]) -> i64 {
        let mut t = SeqTracker::default();
        let d = DeviceId::parse("b").unwrap();
        events.iter().map(|&(s, ts)| t.observe(&d, s, ts)).sum()
    }

    #[test]
    fn counts_gaps() {
        assert_eq!(run(&[(1, 1), (2, 2), (3, 3)]), 0);
        assert_eq!(run(&[(1, 1), (4, 4), (5, 5)]), 2);
    }

    #[test]
    fn late_arrivals_fill_gaps() {
        assert_eq!(run(&[(1, 1), (3, 3), (2, 2)]), 0);
    }

    #[test]
    fn reboots_restart_the_sequence() {
        assert_eq!(run(&[(1, 1), (2, 2), (3, 3), (1, 10), (2, 11)]), 0);
        // Reboot whose first two messages were lost.
        assert_eq!(run(&[(1, 1), (2, 2), (3, 10), (4, 11)]), 0);
        assert_eq!(run(&[(5, 1), (6, 2), (3, 10)]), 2);
    }
}
