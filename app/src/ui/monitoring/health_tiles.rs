use super::format::{format_count, format_latency, format_percent};
use crate::domain::PipelineCounts;
use leptos::prelude::*;

/// One count of the pipeline, with an explanation under it.
#[component]
fn Tile(
    name: &'static str,
    label: &'static str,
    value: String,
    /// The raw number, for tests.
    raw: String,
    #[prop(optional)] note: Option<String>,
    #[prop(optional)] alarm: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="health-tile" class:alarm=alarm data-health-tile=name data-value=raw>
            <dt>{label}</dt>
            <dd>
                <span class="tile-value">{value}</span>
                {note.map(|n| view! { <span class="tile-note">{n}</span> })}
                {children.map(|c| c())}
            </dd>
        </div>
    }
}

/// The counts of the window: received, accepted, rejected (by reason), duplicates, dropped by
/// the broker, ingestion latency.
#[component]
pub fn HealthTiles(counts: PipelineCounts) -> impl IntoView {
    let rejected = counts.rejected_total();
    let reasons = counts
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| {
            view! {
                <li data-reason=reason.clone()>
                    <span class="tag mono">{reason.clone()}</span>
                    " "
                    {format_count(*n)}
                </li>
            }
        })
        .collect_view();
    let latency = counts
        .latency_ms_avg()
        .map(format_latency)
        .unwrap_or_else(|| "–".into());
    let latency_note = (counts.latency_samples > 0).then(|| {
        format!(
            "max {} · {} readings",
            format_latency(counts.latency_ms_max as f64),
            format_count(counts.latency_samples)
        )
    });
    view! {
        <dl class="health-tiles">
            <Tile
                name="received"
                label="Received"
                value=format_count(counts.received)
                raw=counts.received.to_string()
                note="messages that reached the server".to_owned()
            />
            <Tile
                name="accepted"
                label="Accepted"
                value=format_count(counts.accepted)
                raw=counts.accepted.to_string()
                note="stored as readings".to_owned()
            />
            <Tile
                name="rejected"
                label="Rejected"
                value=format_count(rejected)
                raw=rejected.to_string()
                note=format!("{} of received", format_percent(counts.reject_percent()))
                alarm={rejected > 0}
            >
                {(rejected > 0).then(|| view! { <ul class="reason-list">{reasons}</ul> })}
            </Tile>
            <Tile
                name="duplicates"
                label="Duplicates"
                value=format_count(counts.duplicates)
                raw=counts.duplicates.to_string()
                note="sent twice, stored once".to_owned()
            />
            <Tile
                name="dropped"
                label="Dropped by the broker"
                value=format_count(counts.dropped)
                raw=counts.dropped.to_string()
                note="queue full, no route or refused".to_owned()
                alarm={counts.dropped > 0}
            />
            <Tile
                name="latency"
                label="Ingestion latency (avg)"
                value=latency
                raw=counts.latency_ms_avg().map(|v| format!("{v:.1}")).unwrap_or_default()
                note=latency_note.unwrap_or_else(|| "no timed reading".to_owned())
            />
        </dl>
    }
}
