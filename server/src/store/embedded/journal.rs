//! The readings journal: how a batch of readings becomes durable with a few page writes.
//!
//! The readings table is keyed by box first, so a batch from 200 boxes dirties ~200 B-tree leaves
//! and its durable commit writes them all (~4 KB per reading; BENCHMARKS.md, section 1). Instead, a
//! batch is committed as one entry of the `readings_journal` table (keys only grow: the same
//! rightmost leaf), kept in memory meanwhile (`Pending`), and moved into the readings table in
//! bulk later (`merge_in_background`: tens of readings per box leaf, in commits that need no
//! fsync of their own because the next journal commit makes them durable; the last one deletes
//! the entries moved, so a crash before it leaves them in the journal, merged again: inserting a
//! reading twice under its key changes nothing). At open, whatever the journal holds is merged
//! before anything reads the store.
//!
//! Readers take the pending readings before their read transaction, so that a merge between the
//! two shows a reading in both places (deduplicated by key) rather than in neither.
use super::{unavailable, Row, READINGS};
use crate::store::{StoreError, StoreResult};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

pub(super) const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("readings_journal");

/// A reading's key in the readings table: box, box time, seq.
type ReadingKey = (String, i64, u64);

/// Readings committed to the journal but not yet to the readings table, by readings-table key.
type PendingRows = BTreeMap<ReadingKey, Vec<u8>>;

/// A merge starts once this many readings are pending: ~20 per box for a fleet of 200, a few
/// hundred KB of memory, a merge commit of a few milliseconds.
const MERGE_AT: usize = 4_096;

/// Readings per merge transaction: a few milliseconds of redb's write lock each.
const MERGE_CHUNK: usize = 1_024;

#[derive(Default)]
pub(super) struct Journal {
    pending: Mutex<Pending>,
    /// Held by the merge running, if any.
    merging: Mutex<()>,
}

#[derive(Default)]
pub(super) struct Pending {
    rows: PendingRows,
    /// Journal entries not merged yet, with the keys of their readings.
    entries: BTreeMap<u64, Vec<ReadingKey>>,
    next_entry: u64,
}

impl Pending {
    pub(super) fn contains(&self, key: &ReadingKey) -> bool {
        self.rows.contains_key(key)
    }

    /// Records a committed journal entry (call after its commit succeeded).
    pub(super) fn add(&mut self, entry: u64, rows: Vec<Row>) {
        let keys = rows
            .iter()
            .map(|(d, ts, seq, _)| (d.clone(), *ts, *seq))
            .collect();
        for (d, ts, seq, encoded) in rows {
            self.rows.insert((d, ts, seq), encoded);
        }
        self.entries.insert(entry, keys);
        self.next_entry = self.next_entry.max(entry + 1);
    }

    pub(super) fn next_entry(&self) -> u64 {
        self.next_entry
    }

    /// The pending readings of `device` with box time in `from..=to`, in key order.
    pub(super) fn of_device(&self, device: &str, from: i64, to: i64) -> Vec<(i64, u64, Vec<u8>)> {
        let (lo, hi) = (
            (device.to_owned(), from, 0),
            (device.to_owned(), to, u64::MAX),
        );
        if lo > hi {
            return Vec::new();
        }
        self.rows
            .range(lo..=hi)
            .map(|((_, ts, seq), v)| (*ts, *seq, v.clone()))
            .collect()
    }
}

impl Journal {
    pub(super) fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave `Pending` half-updated in a way that loses
        // data (the journal on disk is the truth), so a poisoned lock is taken over.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether enough is pending for a merge.
    pub(super) fn wants_merge(&self) -> bool {
        self.lock().rows.len() >= MERGE_AT
    }

    /// In the background, once enough is pending: moves every journal entry committed so far
    /// into the readings table, in a commit that the next journal commit makes durable; does
    /// nothing if a merge is running.
    pub(super) fn merge_in_background(&self, db: &Database) -> StoreResult<usize> {
        let _running = match self.merging.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(0),
        };
        self.merge_once(db, false)
    }

    /// At open and at roll-up: moves every journal entry committed so far into the readings
    /// table durably, after the merge running, if any.
    pub(super) fn merge_now(&self, db: &Database) -> StoreResult<usize> {
        let _running = self.merging.lock().unwrap_or_else(|p| p.into_inner());
        self.merge_once(db, true)
    }

    fn merge_once(&self, db: &Database, durable: bool) -> StoreResult<usize> {
        let (entries, mut rows): (Vec<u64>, Vec<(ReadingKey, Vec<u8>)>) = {
            let pending = self.lock();
            let entries: Vec<u64> = pending.entries.keys().copied().collect();
            let rows = pending
                .entries
                .values()
                .flatten()
                .filter_map(|k| pending.rows.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            (entries, rows)
        };
        if entries.is_empty() {
            return Ok(0);
        }
        // In key order (a box's readings together, each leaf written once), and in chunks, so
        // that batches commit between them instead of waiting for the whole merge (redb has one
        // write lock). No chunk needs an fsync: the journal keeps its readings until the end.
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for chunk in rows.chunks(MERGE_CHUNK) {
            let mut txn = db.begin_write().map_err(unavailable)?;
            txn.set_durability(Durability::None).map_err(unavailable)?;
            {
                let mut readings = txn.open_table(READINGS).map_err(unavailable)?;
                for ((d, ts, seq), encoded) in chunk {
                    readings
                        .insert((d.as_str(), *ts, *seq), encoded.as_slice())
                        .map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)?;
            let mut pending = self.lock();
            for (key, _) in chunk {
                pending.rows.remove(key);
            }
        }
        // The entries leave the journal once all their readings are in the table.
        let mut txn = db.begin_write().map_err(unavailable)?;
        if !durable {
            txn.set_durability(Durability::None).map_err(unavailable)?;
        }
        {
            let mut journal = txn.open_table(JOURNAL).map_err(unavailable)?;
            for entry in &entries {
                journal.remove(entry).map_err(unavailable)?;
            }
        }
        txn.commit().map_err(unavailable)?;
        let mut pending = self.lock();
        for entry in &entries {
            pending.entries.remove(entry);
        }
        Ok(rows.len())
    }

    /// At open: loads what the journal holds (left by a crash or a stop before a merge) and
    /// merges it durably.
    pub(super) fn recover(&self, db: &Database) -> StoreResult<usize> {
        {
            let txn = db.begin_read().map_err(unavailable)?;
            let journal = txn.open_table(JOURNAL).map_err(unavailable)?;
            let mut pending = self.lock();
            for entry in journal.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let rows = decode_entry(value.value()).ok_or_else(|| {
                    StoreError::Corrupt(format!("readings journal entry {}", key.value()))
                })?;
                pending.add(key.value(), rows);
            }
        }
        self.merge_now(db)
    }
}

// A journal entry is the batch's rows, each as: box id length (u16 LE) and bytes, box time
// (i64 LE), seq (u64 LE), encoded metrics length (u32 LE) and bytes. Written by hand: a fixed
// layout of four fields that serde formats would only wrap.

pub(super) fn encode_entry(rows: &[Row]) -> Vec<u8> {
    let size: usize = rows.iter().map(|(d, _, _, v)| 22 + d.len() + v.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (device, ts, seq, encoded) in rows {
        out.extend_from_slice(&(device.len() as u16).to_le_bytes());
        out.extend_from_slice(device.as_bytes());
        out.extend_from_slice(&ts.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
        out.extend_from_slice(encoded);
    }
    out
}

fn decode_entry(mut bytes: &[u8]) -> Option<Vec<Row>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = tail;
        Some(head)
    }
    let mut rows = Vec::new();
    while !bytes.is_empty() {
        let len = u16::from_le_bytes(take(&mut bytes, 2)?.try_into().ok()?) as usize;
        let device = std::str::from_utf8(take(&mut bytes, len)?).ok()?.to_owned();
        let ts = i64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let seq = u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let len = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?) as usize;
        let encoded = take(&mut bytes, len)?.to_vec();
        rows.push((device, ts, seq, encoded));
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_truncation_is_detected() {
        let rows: Vec<Row> = vec![
            ("box-1".into(), 1_700_000_000_000, 7, vec![1, 2, 3]),
            ("b".into(), -5, u64::MAX, vec![]),
        ];
        let bytes = encode_entry(&rows);
        assert_eq!(decode_entry(&bytes), Some(rows));
        assert_eq!(decode_entry(&bytes[..bytes.len() - 1]), None);
    }
}
