use super::cost_draw::draw_costs;
use super::format::format_usd;
use crate::domain::CostReport;
use leptos::prelude::*;

/// The cost series as bars on a canvas, redrawn when the window is resized.
#[component]
pub fn CostChart(report: CostReport) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let drawn = RwSignal::new(0usize);
    let failure = RwSignal::new(None::<String>);
    let resized = RwSignal::new(0u32);
    let resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || resize.remove());

    let total: f64 = report.series.iter().map(|p| p.cost_usd).sum();
    let label = format!(
        "Bar chart of the modelled cost, {} bars, {} in all{}",
        report.series.len(),
        format_usd(total),
        report
            .projection
            .as_ref()
            .map(|p| format!(", projected {} for the month", format_usd(p.projected_usd)))
            .unwrap_or_default()
    );
    let empty = report.series.iter().all(|p| p.cost_usd <= 0.0);
    let report = StoredValue::new(report);
    Effect::new(move |_| {
        resized.track();
        let Some(element) = canvas.get() else { return };
        match report.with_value(|r| draw_costs(&element, r)) {
            Ok(n) => {
                drawn.set(n);
                failure.set(None);
            }
            Err(e) => failure.set(Some(format!("cannot draw the chart: {e}"))),
        }
    });
    view! {
        <div class="chart-frame cost-chart">
            <canvas
                node_ref=canvas
                role="img"
                aria-label=label
                data-cost-chart
                data-points=move || drawn.get()
            >
                "Cost chart"
            </canvas>
            {move || {
                let failed = failure.get();
                let is_error = failed.is_some();
                failed
                    .or_else(|| empty.then(|| "No cost in this period yet.".to_owned()))
                    .map(|text| {
                        view! {
                            <p class="chart-status" class:error=is_error role="status">
                                {text}
                            </p>
                        }
                    })
            }}
        </div>
    }
}
