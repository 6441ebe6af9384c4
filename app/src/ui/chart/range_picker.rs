use crate::domain::TimeRange;
use leptos::prelude::*;

/// The chart window: 15 min, 1 h, 24 h, 7 d, as a group of toggle buttons.
#[component]
pub fn RangePicker(range: RwSignal<TimeRange>) -> impl IntoView {
    view! {
        <div class="segmented" role="group" aria-label="Time range">
            {TimeRange::ALL
                .into_iter()
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
