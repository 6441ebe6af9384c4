//! Store choice: redb (4.x, as used by the embedded store) against SQLite (rusqlite, bundled,
//! WAL) on boxpilot's workload, measured in the same run:
//!
//! 1. batched writes of readings keyed (device, ts, seq), 1,000 rows per durable transaction,
//!    rows interleaved across boxes as a live fleet sends them, 1% of them re-sent (QoS 1
//!    duplicates) with the idempotency check the product makes (redb: `insert` returns the
//!    previous value; SQLite: `INSERT OR IGNORE` and the change count);
//! 2. a range read of one box-day (86,400 rows at 1 Hz) decoding one metric from each value.
//!
//! SQLite runs twice: `synchronous=FULL` (durable at commit, as redb's default `Immediate`) and
//! `synchronous=NORMAL` (in WAL mode, a power loss can lose the last commits: not durable).
//!
//!   cargo bench -p boxpilot --features bench-sqlite --bench store_choice [-- --long]
//!
//! Without the feature only redb runs (normal builds never compile SQLite).
mod common;

use common::*;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::Path;
use std::time::Instant;

const READINGS: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("readings");
const DAY_BOX: &str = "day-box";
const DAY: u64 = 86_400;

#[derive(Clone, Copy)]
struct Row {
    device: usize,
    ts: i64,
    seq: u64,
}

trait Candidate {
    fn name(&self) -> String;
    /// Writes one batch in one durable transaction; returns how many rows were duplicates.
    fn write(&mut self, ids: &[String], values: &[Vec<u8>], rows: &[Row]) -> u64;
    /// Points of `metric` of one box in [from, to]: (count, sum of values).
    fn read(&mut self, device: &str, from: i64, to: i64, metric: &str) -> (usize, f64);
    fn file_bytes(&self) -> u64;
}

struct Redb {
    db: Database,
    path: std::path::PathBuf,
}

impl Redb {
    fn open(dir: &Path) -> Self {
        let path = dir.join("readings.redb");
        let db = Database::create(&path).expect("redb");
        let txn = db.begin_write().unwrap();
        txn.open_table(READINGS).unwrap();
        txn.commit().unwrap();
        Self { db, path }
    }
}

impl Candidate for Redb {
    fn name(&self) -> String {
        "redb 4 (Durability::Immediate)".into()
    }
    fn write(&mut self, ids: &[String], values: &[Vec<u8>], rows: &[Row]) -> u64 {
        let txn = self.db.begin_write().unwrap();
        let mut duplicates = 0;
        {
            let mut table = txn.open_table(READINGS).unwrap();
            for r in rows {
                let value = values[(r.seq % values.len() as u64) as usize].as_slice();
                if table
                    .insert((ids[r.device].as_str(), r.ts, r.seq), value)
                    .unwrap()
                    .is_some()
                {
                    duplicates += 1;
                }
            }
        }
        txn.commit().unwrap();
        duplicates
    }
    fn read(&mut self, device: &str, from: i64, to: i64, metric: &str) -> (usize, f64) {
        let txn = self.db.begin_read().unwrap();
        let table = txn.open_table(READINGS).unwrap();
        let (mut n, mut sum) = (0, 0.0);
        for entry in table
            .range((device, from, 0)..=(device, to, u64::MAX))
            .unwrap()
        {
            let (_key, value) = entry.unwrap();
            if let Some(v) = decode_metric(value.value(), metric) {
                n += 1;
                sum += v;
            }
        }
        (n, sum)
    }
    fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

#[cfg(feature = "bench-sqlite")]
struct Sqlite {
    conn: rusqlite::Connection,
    path: std::path::PathBuf,
    synchronous: &'static str,
}

#[cfg(feature = "bench-sqlite")]
impl Sqlite {
    fn open(dir: &Path, synchronous: &'static str) -> Self {
        let path = dir.join(format!("readings-{synchronous}.sqlite"));
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        conn.execute_batch(&format!("PRAGMA synchronous={synchronous};"))
            .unwrap();
        conn.execute_batch(
            "CREATE TABLE readings (device TEXT NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
               metrics BLOB NOT NULL, PRIMARY KEY (device, ts, seq)) WITHOUT ROWID;",
        )
        .unwrap();
        Self {
            conn,
            path,
            synchronous,
        }
    }
}

#[cfg(feature = "bench-sqlite")]
impl Candidate for Sqlite {
    fn name(&self) -> String {
        format!(
            "SQLite {} (WAL, synchronous={}{})",
            rusqlite::version(),
            self.synchronous,
            if self.synchronous == "NORMAL" {
                ", not durable at commit"
            } else {
                ""
            }
        )
    }
    fn write(&mut self, ids: &[String], values: &[Vec<u8>], rows: &[Row]) -> u64 {
        let tx = self.conn.transaction().unwrap();
        let mut duplicates = 0;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO readings (device, ts, seq, metrics) VALUES (?1, ?2, ?3, ?4)")
                .unwrap();
            for r in rows {
                let value = values[(r.seq % values.len() as u64) as usize].as_slice();
                let changed = insert
                    .execute(rusqlite::params![ids[r.device], r.ts, r.seq as i64, value])
                    .unwrap();
                if changed == 0 {
                    duplicates += 1;
                }
            }
        }
        tx.commit().unwrap();
        duplicates
    }
    fn read(&mut self, device: &str, from: i64, to: i64, metric: &str) -> (usize, f64) {
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT ts, metrics FROM readings WHERE device = ?1 AND ts BETWEEN ?2 AND ?3 ORDER BY ts, seq",
            )
            .unwrap();
        let mut rows = select.query(rusqlite::params![device, from, to]).unwrap();
        let (mut n, mut sum) = (0, 0.0);
        while let Some(row) = rows.next().unwrap() {
            let _ts: i64 = row.get(0).unwrap();
            if let Some(v) = decode_metric(row.get_ref(1).unwrap().as_blob().unwrap(), metric) {
                n += 1;
                sum += v;
            }
        }
        (n, sum)
    }
    fn file_bytes(&self) -> u64 {
        let wal = self.path.with_extension("sqlite-wal");
        [&self.path, &wal]
            .iter()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum()
    }
}

struct Outcome {
    name: String,
    write_rate: f64,
    duplicates: u64,
    day_load_rate: f64,
    read_median: f64,
    read_p95: f64,
    points: usize,
    file_mb: f64,
    small_rate: f64,
}

fn run(c: &mut dyn Candidate, boxes: u64, per_box: u64, runs: usize, base_ts: i64) -> Outcome {
    let mut ids: Vec<String> = (0..boxes).map(|b| format!("bench-box-{b:04}")).collect();
    ids.push(DAY_BOX.into());
    let day_box = ids.len() - 1;
    let values: Vec<Vec<u8>> = (0..100).map(sample_metrics).collect();

    // 1. Fleet stream with 1% re-sends of a row sent 50 rows earlier.
    let mut stream = Vec::with_capacity((boxes * per_box * 101 / 100) as usize);
    for seq in 1..=per_box {
        for b in 0..boxes as usize {
            stream.push(Row {
                device: b,
                ts: base_ts + seq as i64 * 1000,
                seq,
            });
            if stream.len() % 100 == 0 && stream.len() > 50 {
                stream.push(stream[stream.len() - 50]);
            }
        }
    }
    let expected_duplicates = stream.len() as u64 - boxes * per_box;
    let start = Instant::now();
    let duplicates: u64 = stream
        .chunks(1000)
        .map(|batch| c.write(&ids, &values, batch))
        .sum();
    let write = start.elapsed();
    assert_eq!(
        duplicates,
        expected_duplicates,
        "{}: idempotency check",
        c.name()
    );

    let small_per_box = opt("small", "BOXPILOT_BENCH_SMALL", 100, 500);
    // 1b. The same fleet stream in 100-row transactions: the group-commit size the ingestion
    // pipeline reaches with ~200 boxes sending one message at a time (see ingest_throughput).
    let small: Vec<Row> = (per_box + 1..=per_box + small_per_box)
        .flat_map(|seq| {
            (0..boxes as usize).map(move |b| Row {
                device: b,
                ts: base_ts + seq as i64 * 1000,
                seq,
            })
        })
        .collect();
    let start = Instant::now();
    for batch in small.chunks(100) {
        c.write(&ids, &values, batch);
    }
    let small_rate = per_sec(small.len() as u64, start.elapsed());

    // 2. One box-day at 1 Hz, loaded the same way, then read back.
    let day: Vec<Row> = (0..DAY)
        .map(|i| Row {
            device: day_box,
            ts: base_ts + i as i64 * 1000,
            seq: i + 1,
        })
        .collect();
    let start = Instant::now();
    for batch in day.chunks(1000) {
        c.write(&ids, &values, batch);
    }
    let day_load = start.elapsed();
    let to = base_ts + DAY as i64 * 1000 - 1;
    let (samples, (points, _sum)) = time_runs(2, runs, || c.read(DAY_BOX, base_ts, to, "temp_c"));
    assert_eq!(points, DAY as usize);
    let (read_median, read_p95) = median_p95(&samples);
    Outcome {
        name: c.name(),
        write_rate: per_sec(stream.len() as u64, write),
        duplicates,
        day_load_rate: per_sec(DAY, day_load),
        read_median,
        read_p95,
        points,
        file_mb: c.file_bytes() as f64 / 1e6,
        small_rate,
    }
}

fn main() {
    header("store choice: redb vs SQLite on boxpilot's write and read workload");
    let boxes = opt("boxes", "BOXPILOT_BENCH_BOXES", 200, 200);
    let per_box = opt("messages", "BOXPILOT_BENCH_MESSAGES", 500, 5_000);
    let runs = opt("runs", "BOXPILOT_BENCH_RUNS", 10, 30) as usize;
    let base_ts = now_ms() - 86_400_000;
    println!(
        "workload: {} rows ({boxes} boxes x {per_box}, +1% re-sent duplicates) in 1,000-row transactions, then one box-day ({DAY} rows) read back {runs} times decoding one metric",
        boxes * per_box
    );
    let dir = tempfile::tempdir().expect("temp dir");
    #[cfg_attr(not(feature = "bench-sqlite"), allow(unused_mut))]
    let mut outcomes = vec![run(
        &mut Redb::open(dir.path()),
        boxes,
        per_box,
        runs,
        base_ts,
    )];
    #[cfg(feature = "bench-sqlite")]
    for sync in ["FULL", "NORMAL"] {
        outcomes.push(run(
            &mut Sqlite::open(dir.path(), sync),
            boxes,
            per_box,
            runs,
            base_ts,
        ));
    }
    #[cfg(not(feature = "bench-sqlite"))]
    println!("(SQLite not compiled: run with --features bench-sqlite to compare)");

    for o in &outcomes {
        println!("{}", o.name);
        println!(
            "  write {} rows/s ({} duplicates detected), in 100-row transactions {} rows/s, box-day load {} rows/s, box-day read median {:.1} ms p95 {:.1} ms ({} points), file {:.1} MB",
            fmt_rate(o.write_rate), o.duplicates, fmt_rate(o.small_rate), fmt_rate(o.day_load_rate), o.read_median, o.read_p95, o.points, o.file_mb
        );
    }
    let redb = &outcomes[0];
    for o in &outcomes[1..] {
        println!(
            "ratio redb / [{}]: writes {:.2}x (in 100-row transactions {:.2}x), box-day read {:.2}x faster",
            o.name,
            redb.write_rate / o.write_rate,
            redb.small_rate / o.small_rate,
            o.read_median / redb.read_median
        );
    }
    let mut fields = vec![
        ("redb_write_rows_per_s", fmt_rate(redb.write_rate)),
        ("redb_read_ms", format!("{:.1}", redb.read_median)),
    ];
    for (o, key) in outcomes[1..].iter().zip(["sqlite_full", "sqlite_normal"]) {
        fields.push((
            if key == "sqlite_full" {
                "sqlite_full_write_rows_per_s"
            } else {
                "sqlite_normal_write_rows_per_s"
            },
            fmt_rate(o.write_rate),
        ));
        fields.push((
            if key == "sqlite_full" {
                "sqlite_full_read_ms"
            } else {
                "sqlite_normal_read_ms"
            },
            format!("{:.1}", o.read_median),
        ));
    }
    result("store_choice", &fields);
}
