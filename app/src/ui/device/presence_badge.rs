use leptos::prelude::*;

/// Online or offline, in words and colour (never colour alone). `data-online` is for tests.
#[component]
pub fn PresenceBadge(#[prop(into)] online: Signal<bool>) -> impl IntoView {
    view! {
        <span class="presence" class:online=online data-online=move || online.get().to_string()>
            <span class="presence-dot" aria-hidden="true"></span>
            {move || if online.get() { "Online" } else { "Offline" }}
        </span>
    }
}
