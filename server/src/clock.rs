//! The server's clock: milliseconds since the epoch, as every record and message stamps time.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
