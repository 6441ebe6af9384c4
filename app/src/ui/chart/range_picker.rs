use crate::domain::TimeRange;
use leptos::prelude::*;

/// A time window as a group of toggle buttons: the chart's (15 min, 1 h, 24 h, 7 d) by default,
/// or the `options` given (the audit page's).
#[component]
pub fn RangePicker(
    range: RwSignal<TimeRange>,
    #[prop(default = &TimeRange::ALL)] options: &'static [TimeRange],
    #[prop(default = "Time range")] label: &'static str,
) -> impl IntoView {
    view! {
        <div class="segmented" role="group" aria-label=label>
            {options
                .iter()
                .copied()
                .map(|option| {
                    let pressed = move || range.get() == option;
                    view! {
                        <button
                            type="button"
                            class="segment"
                            class:active=pressed
                            aria-pressed=move || pressed().to_string()
                            data-range=option.label()
                            on:click=move |_| range.set(option)
                        >
                            {option.label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
