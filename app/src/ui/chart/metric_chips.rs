use super::{series_color, MAX_SERIES};
use leptos::prelude::*;

/// Toggle chips, one per chartable metric. A selected chip wears its line's colour.
#[component]
pub fn MetricChips(
    #[prop(into)] metrics: Signal<Vec<String>>,
    selected: RwSignal<Vec<String>>,
    /// Called with the metric the user toggled.
    on_toggle: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="chips" role="group" aria-label="Metrics to chart">
            <For
                each=move || metrics.get()
                key=|metric| metric.clone()
                children=move |metric| {
                    let name = metric.clone();
                    let position = {
                        let name = name.clone();
                        Memo::new(move |_| selected.with(|s| s.iter().position(|m| *m == name)))
                    };
                    let is_selected = move || position.get().is_some();
                    let full = move || selected.with(|s| s.len() >= MAX_SERIES);
                    let style = move || {
                        position
                            .get()
                            .map(|index| {
                                let (r, g, b) = series_color(index);
                                format!("--chip-color: rgb({r} {g} {b})")
                            })
                            .unwrap_or_default()
                    };
                    view! {
                        <button
                            type="button"
                            class="chip"
                            class:selected=is_selected
                            style=style
                            aria-pressed=move || is_selected().to_string()
                            disabled=move || !is_selected() && full()
                            title=move || {
                                if !is_selected() && full() {
                                    format!("At most {MAX_SERIES} metrics at once")
                                } else {
                                    String::new()
                                }
                            }
                            data-metric=name.clone()
                            on:click=move |_| on_toggle.run(metric.clone())
                        >
                            <span class="chip-swatch" aria-hidden="true"></span>
                            {name.clone()}
                        </button>
                    }
                }
            />
        </div>
    }
}
