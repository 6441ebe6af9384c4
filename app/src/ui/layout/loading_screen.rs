use super::BrandMark;
use leptos::prelude::*;

/// The same brand and "Loading…" as the static shell in index.html, so the hand-over from the
/// static page to the app is seamless.
#[component]
pub fn LoadingScreen() -> impl IntoView {
    view! {
        <div class="loading-screen" role="status">
            <div class="loading-brand">
                <BrandMark />
                <span class="brand-name">"boxpilot"</span>
            </div>
            <div class="loading">
                <span class="spinner" aria-hidden="true"></span>
                "Loading…"
            </div>
        </div>
    }
}
