use super::DeviceView;
use crate::domain::DeviceId;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// `/devices/:id`: checks the id, then shows the box. Moving to another box builds a fresh view
/// (new chart, new subscriptions), so nothing of the previous box leaks into it.
#[component]
pub fn DevicePage() -> impl IntoView {
    let params = use_params_map();
    let device = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .map(|raw| DeviceId::parse(&raw).map_err(|e| e.to_string()))
    });
    move || match device.get() {
        Some(Ok(id)) => view! { <DeviceView device=id /> }.into_any(),
        Some(Err(reason)) => view! {
            <section class="page narrow">
                <h1>"Unknown box"</h1>
                <p class="error-text">{reason}</p>
                <A href="/" attr:class="button">"Back to the fleet"</A>
            </section>
        }
        .into_any(),
        None => ().into_any(),
    }
}
