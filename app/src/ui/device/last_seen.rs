use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// "12 s ago", refreshed by the shared clock; the exact time in the tooltip.
#[component]
pub fn LastSeen(#[prop(into)] at: Signal<Option<i64>>) -> impl IntoView {
    let clock = Clock::expect();
    move || match at.get() {
        Some(ms) => view! {
            <time class="last-seen" title=local_date_time(ms) data-ts=ms>
                {move || relative_age(clock.now.get(), ms)}
            </time>
        }
        .into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    }
}
