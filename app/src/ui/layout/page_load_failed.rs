use leptos::prelude::*;

/// Shown instead of a page whose code could not be fetched (it loads on demand: lazy_pages.rs),
/// typically on a lost connection. Nothing is cached from the failed attempt, so trying again
/// fetches it anew.
#[component]
pub fn PageLoadFailed() -> impl IntoView {
    let reload = |_| {
        if let Err(error) = window().location().reload() {
            leptos::logging::error!("reload failed: {error:?}");
        }
    };
    view! {
        <section class="page narrow" data-page-load-failed>
            <h1>"This page could not be loaded"</h1>
            <p role="alert">
                "Its code did not arrive: check the connection, then try again."
            </p>
            <button type="button" class="button" on:click=reload>"Try again"</button>
        </section>
    }
}
