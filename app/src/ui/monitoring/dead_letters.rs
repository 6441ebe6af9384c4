use super::format::format_count;
use crate::domain::DeadLetter;
use crate::ui::clock::{local_date_time, relative_age, Clock};
use leptos::prelude::*;

/// One rejected message: when, which box, why, and what it carried.
#[component]
fn DeadLetterItem(letter: DeadLetter) -> impl IntoView {
    let clock = Clock::expect();
    let at = letter.received_at;
    let device = match letter.device.clone() {
        Some(d) => {
            let href = format!("/devices/{d}");
            view! { <a href=href class="device-link">{d}</a> }.into_any()
        }
        None => view! { <span class="muted">"unknown box"</span> }.into_any(),
    };
    let bytes = match letter.payload_bytes {
        1 => "1 byte".to_owned(),
        n => format!("{} bytes", format_count(n as u64)),
    };
    let truncated = letter.payload_bytes > letter.payload_preview.len();
    view! {
        <li class="dead-letter" data-dead-letter data-reason=letter.reason.clone()>
            <div class="dead-letter-head">
                <time title=local_date_time(at) data-ts=at>
                    {move || relative_age(clock.now.get(), at)}
                </time>
                {device}
                <span class="tag tag-danger mono">{letter.reason.clone()}</span>
            </div>
            {(!letter.detail.is_empty())
                .then(|| view! { <p class="dead-letter-detail">{letter.detail.clone()}</p> })}
            <p class="dead-letter-topic mono muted">{letter.topic.clone()}</p>
            <details class="payload">
                <summary>
                    "Payload (" {bytes} {truncated.then_some(", first 1 KiB shown")} ")"
                </summary>
                <pre class="payload-preview mono">{letter.payload_preview.clone()}</pre>
            </details>
        </li>
    }
}

/// The rejected messages of the fleet, newest first. Keyed by id, so that a payload someone
/// opened stays open across refreshes.
#[component]
pub fn DeadLetters(
    letters: RwSignal<Option<Vec<DeadLetter>>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let count = move || {
        letters.with(|l| match l.as_ref().map(Vec::len) {
            Some(0) | None => String::new(),
            Some(1) => "1 message".to_owned(),
            Some(n) => format!("{n} messages, newest first"),
        })
    };
    view! {
        <section class="dead-letters" aria-labelledby="dead-letters-title" data-dead-letters>
            <div class="section-head">
                <h2 id="dead-letters-title" class="section-title">"Rejected messages"</h2>
                <span class="muted">{count}</span>
            </div>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            {move || match letters.get() {
                None if error.with(Option::is_none) => {
                    view! {
                        <p class="loading inline" role="status">
                            <span class="spinner" aria-hidden="true"></span>
                            "Loading the rejected messages…"
                        </p>
                    }
                        .into_any()
                }
                None => ().into_any(),
                Some(list) if list.is_empty() => {
                    view! {
                        <p class="empty" data-dead-letters-empty>
                            "No rejected message in this fleet."
                        </p>
                    }
                        .into_any()
                }
                Some(_) => ().into_any(),
            }}
            <ul class="dead-letter-list">
                <For
                    each=move || letters.get().unwrap_or_default()
                    key=|letter| letter.id.clone()
                    let:letter
                >
                    <DeadLetterItem letter=letter />
                </For>
            </ul>
        </section>
    }
}
