//! Connection minutes, the IoT Core connectivity charge: once a minute, each online box counts one
//! minute to its fleet.
use crate::ingest::IngestCore;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

pub struct ConnectionSampler;

impl ConnectionSampler {
    /// Samples every `every` (a minute in production).
    pub fn start(
        store: Arc<dyn Store>,
        ingest: Arc<IngestCore>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let now = chrono::Utc::now().timestamp_millis();
                match store.list_devices(None).await {
                    Ok(devices) => {
                        for d in devices.iter().filter(|d| d.presence.online) {
                            ingest.record(&d.fleet, Some(&d.id), now, |c| {
                                c.connection_minutes += every.as_secs().div_ceil(60).max(1)
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "connection minutes not sampled"),
                }
            }
        })
    }
}
