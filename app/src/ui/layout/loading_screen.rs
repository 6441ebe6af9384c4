use leptos::prelude::*;

/// The same "Loading…" as the static shell in index.html, so the hand-over is seamless.
#[component]
pub fn LoadingScreen() -> impl IntoView {
    view! {
        <div class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            "Loading…"
        </div>
    }
}
