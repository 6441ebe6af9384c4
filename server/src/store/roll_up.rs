//! `serve`'s roll-up loop: `Store::roll_up` every minute, as the scheduled function does on AWS.
//! The embedded store writes the latest values it keeps in memory to the boxes' records; the
//! DynamoDB store rolls up the hours that closed.
use super::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub const ROLL_UP_EVERY: Duration = Duration::from_secs(60);

pub fn start_roll_ups(store: Arc<dyn Store>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ROLL_UP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.roll_up(crate::clock::now_ms()).await {
                Ok(report) if report.hours > 0 || report.pending > 0 => {
                    tracing::info!(?report, "rolled up closed hours")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "roll-up failed; the next one retries"),
            }
        }
    })
}
