//! The pipeline health of a fleet over a window.
use crate::console::store_error;
use crate::ingest::CLEAN_BOXES;
use crate::store::Store;
use app::domain::{
    AppError, BoxHealth, FleetId, HealthWindow, PipelineCounts, PipelineHealth, Role,
};
use app::service::Caller;
use std::collections::BTreeMap;

/// Totals and per-box counts over the window ending with the current minute (support and admin);
/// the boxes listed are those with something wrong (their counts over the minutes it happened,
/// see `CLEAN_BOXES`), ranked by loss, then by rejections.
pub async fn pipeline_health(
    store: &dyn Store,
    caller: &Caller,
    fleet: &FleetId,
    window: HealthWindow,
    now_ms: i64,
) -> Result<PipelineHealth, AppError> {
    caller.require(Role::Support)?;
    if !caller.may_see_fleet(fleet) {
        return Err(AppError::Forbidden(format!(
            "fleet {fleet} is not one of yours"
        )));
    }
    // Counts of the current minute are buffered for up to a second: the window ends a minute ahead.
    let to = now_ms - now_ms.rem_euclid(60_000) + 60_000;
    let from = to - window.millis();
    let mut total = PipelineCounts::default();
    let mut per_box: BTreeMap<String, PipelineCounts> = BTreeMap::new();
    for delta in store.counters(fleet, from, to).await.map_err(store_error)? {
        total.add(&delta.counts);
        if delta.device != CLEAN_BOXES {
            per_box.entry(delta.device).or_default().add(&delta.counts);
        }
    }
    let mut boxes: Vec<BoxHealth> = per_box
        .into_iter()
        .map(|(device, counts)| BoxHealth { device, counts })
        .collect();
    boxes.sort_by(|a, b| {
        b.counts
            .lost
            .cmp(&a.counts.lost)
            .then(b.counts.rejected_total().cmp(&a.counts.rejected_total()))
            .then(a.device.cmp(&b.device))
    });
    Ok(PipelineHealth {
        fleet: fleet.clone(),
        from,
        to,
        total,
        boxes,
    })
}
