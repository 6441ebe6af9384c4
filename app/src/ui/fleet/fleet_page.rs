use super::{FleetGroup, FleetStore};
use crate::api::devices::list_devices;
use crate::domain::FleetId;
use crate::ui::auth::AuthContext;
use crate::ui::lazy_pages::DeviceRoute;
use crate::ui::mqtt::{ConnectionState, MqttClient};
use leptos::prelude::*;
use leptos_router::LazyRoute;

/// `/`: every box of the user's fleets, grouped by fleet, with a filter; live over MQTT.
#[component]
pub fn FleetPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let mqtt = MqttClient::expect();
    let store = FleetStore::new();
    let error = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);
    let filter = RwSignal::new(String::new());

    let devices = LocalResource::new(list_devices);
    Effect::new(move |_| match devices.get() {
        Some(Ok(list)) => {
            store.replace_all(list);
            if !loaded.get_untracked() {
                // A box page is the likely next step: fetch its code while the user reads.
                leptos::task::spawn_local(DeviceRoute::preload());
            }
            loaded.set(true);
            error.set(None);
        }
        Some(Err(failure)) => error.set(Some(auth.message_for(&failure))),
        None => {}
    });

    mqtt.on_event(move |event| store.apply(event));
    // After a reconnect, reload what may have been missed while the connection was down.
    Effect::new(move |previous: Option<ConnectionState>| {
        let state = mqtt.state();
        if state == ConnectionState::Live
            && matches!(
                previous,
                Some(ConnectionState::Reconnecting | ConnectionState::Offline)
            )
        {
            devices.refetch();
        }
        state
    });

    let groups = Memo::new(move |_| store.groups(&filter.get()));
    let fleets =
        move || groups.with(|g| g.iter().map(|(fleet, _)| fleet.clone()).collect::<Vec<_>>());
    let entries_of = move |fleet: FleetId| {
        Signal::derive(move || {
            groups.with(|g| {
                g.iter()
                    .find(|(f, _)| *f == fleet)
                    .map(|(_, entries)| entries.clone())
                    .unwrap_or_default()
            })
        })
    };
    let summary = move || {
        let (online, total) = store.counts();
        match total {
            0 => String::new(),
            1 => format!("1 box · {online} online"),
            _ => format!("{total} boxes · {online} online"),
        }
    };
    let empty_message = move || {
        if !loaded.get() || !groups.with(Vec::is_empty) {
            return None;
        }
        let text = filter.get();
        Some(if text.trim().is_empty() {
            "No boxes in your fleets yet.".to_owned()
        } else {
            format!("No box matches “{}”.", text.trim())
        })
    };

    view! {
        <section class="page fleet-page" aria-labelledby="fleet-title">
            <header class="page-header">
                <div>
                    <h1 id="fleet-title">"Fleet"</h1>
                    <p class="page-sub" aria-live="polite">{summary}</p>
                </div>
                <div class="filter">
                    <label for="fleet-filter" class="visually-hidden">"Filter boxes"</label>
                    <svg
                        viewBox="0 0 24 24"
                        width="18"
                        height="18"
                        aria-hidden="true"
                        class="icon filter-icon"
                    >
                        <circle
                            cx="11"
                            cy="11"
                            r="6.5"
                            fill="none"
                            stroke="currentColor"
                            stroke-width="2"
                        />
                        <path
                            d="m16 16 4.5 4.5"
                            stroke="currentColor"
                            stroke-width="2"
                            stroke-linecap="round"
                        />
                    </svg>
                    <input
                        id="fleet-filter"
                        type="search"
                        placeholder="Filter by box, fleet or firmware"
                        autocomplete="off"
                        spellcheck="false"
                        bind:value=filter
                    />
                </div>
            </header>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show when=move || !loaded.get() && error.with(Option::is_none)>
                <div class="loading inline" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    "Loading boxes…"
                </div>
            </Show>
            {move || empty_message().map(|text| view! { <p class="empty">{text}</p> })}
            <For
                each=fleets
                key=|fleet| fleet.clone()
                children=move |fleet| {
                    let entries = entries_of(fleet.clone());
                    view! { <FleetGroup fleet=fleet entries=entries /> }
                }
            />
        </section>
    }
}
