use super::draw::draw_chart;
use super::series::{insert_point, merge_history, prune_before, ChartSeries};
use super::{MetricChips, RangePicker, MAX_SERIES};
use crate::api::devices::device_telemetry;
use crate::domain::{DeviceId, SeriesPoint, TimeRange};
use crate::ui::auth::AuthContext;
use crate::ui::clock::{now_ms, Clock};
use crate::ui::mqtt::{LiveEvent, MqttClient};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Points requested when the canvas has no width yet (not laid out).
const FALLBACK_MAX_POINTS: usize = 600;

/// `metrics` lists numbers before booleans (see `chartable_metrics`).
fn default_metric(metrics: &[String]) -> Option<&str> {
    metrics
        .iter()
        .find(|m| m.starts_with("temp"))
        .or_else(|| metrics.first())
        .map(String::as_str)
}

/// The box view's chart: metric chips, time range, and a canvas that shows the server's history
/// (downsampled to one point per CSS pixel of width, Grafana's rule) plus live MQTT points.
#[component]
pub fn TelemetryChart(
    device: DeviceId,
    #[prop(into)] metrics: Signal<Vec<String>>,
) -> impl IntoView {
    let auth = AuthContext::expect();
    let mqtt = MqttClient::expect();
    let clock = Clock::expect();

    let range = RwSignal::new(TimeRange::Hour1);
    let selected = RwSignal::new(Vec::<String>::new());
    let user_chose = RwSignal::new(false);
    let series = RwSignal::new(Vec::<ChartSeries>::new());
    let live_points = RwSignal::new(0u64);
    let points_drawn = RwSignal::new(0usize);
    let draw_error = RwSignal::new(None::<String>);
    let resized = RwSignal::new(0u32);
    let next_request = StoredValue::new(0u64);
    let canvas = NodeRef::<leptos::html::Canvas>::new();

    // Default: a temperature if the box has one (what operators look at first), otherwise the
    // first numeric metric, as soon as the box's metrics are known.
    Effect::new(move |_| {
        let available = metrics.get();
        if !user_chose.get_untracked() && selected.with_untracked(Vec::is_empty) {
            if let Some(first) = default_metric(&available) {
                selected.set(vec![first.to_owned()]);
            }
        }
    });

    let on_toggle = Callback::new(move |metric: String| {
        user_chose.set(true);
        selected.update(|chosen| match chosen.iter().position(|m| *m == metric) {
            Some(index) => {
                chosen.remove(index);
            }
            None if chosen.len() < MAX_SERIES => chosen.push(metric),
            None => {}
        });
    });

    // History: a new range refetches every metric; a newly chosen metric fetches only itself.
    let fetch_history = move |device: DeviceId, metric: String, request: u64, range: TimeRange| {
        let max_points = canvas
            .get_untracked()
            .map(|c| c.client_width())
            .filter(|width| *width > 0)
            .map_or(FALLBACK_MAX_POINTS, |width| width as usize);
        let to = now_ms();
        let from = to - range.millis();
        spawn_local(async move {
            let result = device_telemetry(device, metric.clone(), from, to, max_points).await;
            let message = result.as_ref().err().map(|e| auth.message_for(e));
            series.try_update(|all| {
                let Some(one) = all
                    .iter_mut()
                    .find(|s| s.metric == metric && s.request == request)
                else {
                    return; // superseded by a newer request, or no longer selected
                };
                one.loading = false;
                match result {
                    Ok(history) => {
                        one.raw_points = history.raw_points;
                        one.points = merge_history(history.points, history.to, &one.points);
                        one.error = None;
                    }
                    Err(_) => one.error = message,
                }
            });
        });
    };
    {
        let device = device.clone();
        Effect::new(move |previous_range: Option<TimeRange>| {
            let current_range = range.get();
            let wanted = selected.get();
            let refetch_all = previous_range != Some(current_range);
            let mut to_fetch = Vec::new();
            series.update(|all| {
                let mut next = Vec::with_capacity(wanted.len());
                for metric in &wanted {
                    match all.iter().find(|s| &s.metric == metric) {
                        Some(existing) if !refetch_all => next.push(existing.clone()),
                        _ => {
                            let request = next_request.get_value() + 1;
                            next_request.set_value(request);
                            to_fetch.push((metric.clone(), request));
                            next.push(ChartSeries::pending(metric.clone(), request));
                        }
                    }
                }
                *all = next;
            });
            for (metric, request) in to_fetch {
                fetch_history(device.clone(), metric, request, current_range);
            }
            current_range
        });
    }

    // Live points of this box, appended without reload.
    {
        let device = device.clone();
        mqtt.on_event(move |event| {
            let LiveEvent::Telemetry {
                device: source,
                ts,
                metrics: values,
                ..
            } = event
            else {
                return;
            };
            if *source != device {
                return;
            }
            // `try_`: the chart may be going away while a message is dispatched.
            let Some(range) = range.try_get_untracked() else {
                return;
            };
            let window_start = now_ms() - range.millis();
            let mut added = 0u64;
            series.try_update(|all| {
                for one in all.iter_mut() {
                    let Some(value) = values.get(&one.metric).and_then(|v| v.as_f64()) else {
                        continue;
                    };
                    if insert_point(&mut one.points, SeriesPoint { ts: *ts, value }) {
                        added += 1;
                    }
                    prune_before(&mut one.points, window_start);
                }
            });
            if added > 0 {
                live_points.try_update(|n| *n += added);
            }
        });
    }

    let resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    on_cleanup(move || resize.remove());

    // The window slides with time: redraw when it has moved by about a pixel's worth, not on
    // every clock tick of a 7-day chart.
    let slide = Memo::new(move |_| {
        let step = (range.get().millis() / 600).max(1_000);
        clock.now.get() / step
    });
    Effect::new(move |_| {
        slide.track();
        resized.track();
        let Some(element) = canvas.get() else { return };
        let all = series.read();
        // A box whose clock runs ahead still shows its newest point.
        let newest = all
            .iter()
            .filter_map(|s| s.points.last().map(|p| p.ts))
            .max();
        let to = newest.map_or(now_ms(), |ts| ts.max(now_ms()));
        let from = to - range.get().millis();
        match draw_chart(&element, &all, (from, to)) {
            Ok(count) => {
                points_drawn.set(count);
                draw_error.set(None);
            }
            Err(error) => draw_error.set(Some(format!("cannot draw the chart: {error}"))),
        }
    });

    let status = move || -> Option<String> {
        if metrics.with(Vec::is_empty) {
            return Some("This box has not reported a numeric metric yet.".into());
        }
        if selected.with(Vec::is_empty) {
            return Some("Choose a metric to chart.".into());
        }
        if let Some(error) = draw_error.get() {
            return Some(error);
        }
        let (loading, errors) = series.with(|all| {
            let loading = all.iter().any(|s| s.loading);
            let errors: Vec<String> = all
                .iter()
                .filter_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.metric)))
                .collect();
            (loading, errors)
        });
        if !errors.is_empty() {
            return Some(errors.join(" · "));
        }
        if loading {
            return Some("Loading…".into());
        }
        (points_drawn.get() == 0).then(|| format!("No data in the last {}.", range.get().label()))
    };
    let is_error = move || {
        series.with(|all| all.iter().any(|s| s.error.is_some())) || draw_error.with(Option::is_some)
    };
    let aria_label = move || {
        let names = selected.get();
        if names.is_empty() {
            "Telemetry chart, no metric selected".to_owned()
        } else {
            format!(
                "Chart of {} over the last {}",
                names.join(", "),
                range.get().label()
            )
        }
    };
    let footnote = move || {
        series.with(|all| {
            let shown: usize = all.iter().map(|s| s.points.len()).sum();
            let raw: u64 = all.iter().map(|s| s.raw_points).sum();
            (raw > shown as u64).then(|| {
                format!(
                    "{raw} readings in range, {shown} points drawn \
                     (downsampled by the server, keeping minima and maxima)"
                )
            })
        })
    };
    let panels = move || series.with(Vec::len).max(1);

    view! {
        <section class="card chart-card" aria-labelledby="chart-title">
            <div class="chart-toolbar">
                <h2 id="chart-title" class="section-title">"Telemetry"</h2>
                <RangePicker range=range />
            </div>
            <MetricChips metrics=metrics selected=selected on_toggle=on_toggle />
            <div class="chart-frame" style=move || format!("--panels: {}", panels())>
                <canvas
                    id="telemetry-chart"
                    node_ref=canvas
                    role="img"
                    aria-label=aria_label
                    data-points=move || points_drawn.get()
                    data-live-points=move || live_points.get()
                    data-range=move || range.get().label()
                >
                    "Telemetry chart"
                </canvas>
                {move || {
                    status()
                        .map(|text| {
                            view! {
                                <p class="chart-status" class:error=is_error role="status">
                                    {text}
                                </p>
                            }
                        })
                }}
            </div>
            <p class="chart-foot muted">{footnote}</p>
        </section>
    }
}
