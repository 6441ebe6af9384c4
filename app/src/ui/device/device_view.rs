use super::metric_format::chartable_metrics;
use super::{LastSeen, LatestValues, PresenceBadge};
use crate::api::devices::get_device;
use crate::domain::{DeviceId, DeviceSummary};
use crate::ui::auth::AuthContext;
use crate::ui::chart::TelemetryChart;
use crate::ui::commands::CommandsCard;
use crate::ui::desired_state::DesiredStateCard;
use crate::ui::mqtt::{ConnectionState, MqttClient};
use leptos::prelude::*;
use leptos_router::components::A;

/// One box: presence, firmware, latest values and its telemetry chart, kept live over MQTT.
#[component]
pub fn DeviceView(device: DeviceId) -> impl IntoView {
    let auth = AuthContext::expect();
    let mqtt = MqttClient::expect();
    let summary = RwSignal::new(None::<DeviceSummary>);
    let error = RwSignal::new(None::<String>);

    let loader = {
        let device = device.clone();
        LocalResource::new(move || get_device(device.clone()))
    };
    Effect::new(move |_| match loader.get() {
        Some(Ok(loaded)) => {
            summary.set(Some(loaded));
            error.set(None);
        }
        Some(Err(failure)) => error.set(Some(auth.message_for(&failure))),
        None => {}
    });

    {
        let device = device.clone();
        mqtt.on_event(move |event| {
            if event.device() == &device {
                // `try_`: the view may be going away while a message is dispatched.
                summary.try_update(|s| {
                    if let Some(s) = s {
                        event.apply_to(s);
                    }
                });
            }
        });
    }
    // After a reconnect, reload what may have been missed while the connection was down.
    Effect::new(move |previous: Option<ConnectionState>| {
        let state = mqtt.state();
        if state == ConnectionState::Live
            && matches!(
                previous,
                Some(ConnectionState::Reconnecting | ConnectionState::Offline)
            )
        {
            loader.refetch();
        }
        state
    });

    let online =
        Signal::derive(move || summary.with(|s| s.as_ref().is_some_and(|s| s.presence.online)));
    let last_seen =
        Signal::derive(move || summary.with(|s| s.as_ref().and_then(|s| s.presence.last_seen)));
    let latest_ts = Signal::derive(move || summary.with(|s| s.as_ref().and_then(|s| s.latest_ts)));
    let firmware = move || {
        summary
            .with(|s| s.as_ref().and_then(|s| s.presence.firmware.clone()))
            .unwrap_or_else(|| "unknown".into())
    };
    let fleet = move || {
        summary
            .with(|s| s.as_ref().map(|s| s.fleet.to_string()))
            .unwrap_or_default()
    };
    let latest = Signal::derive(move || {
        summary.with(|s| s.as_ref().map(|s| s.latest.clone()).unwrap_or_default())
    });
    let metrics = Memo::new(move |_| latest.with(chartable_metrics));
    let loaded = move || summary.with(Option::is_some);
    let title = device.to_string();

    view! {
        <section
            class="page device-page"
            aria-labelledby="device-title"
            data-device-page=title.clone()
        >
            <nav class="breadcrumb" aria-label="Breadcrumb">
                <A href="/">"Fleet"</A>
                <span aria-hidden="true">" / "</span>
                <span aria-current="page">{title.clone()}</span>
            </nav>
            <header class="page-header device-header">
                <div>
                    <h1 id="device-title">{title.clone()}</h1>
                    <p class="page-sub">
                        {move || loaded().then(|| format!("Fleet {}", fleet()))}
                    </p>
                </div>
                <Show when=loaded>
                    <PresenceBadge online=online />
                </Show>
            </header>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show
                when=loaded
                fallback=move || {
                    view! {
                        <Show when=move || error.with(Option::is_none)>
                            <div class="loading inline" role="status">
                                <span class="spinner" aria-hidden="true"></span>
                                "Loading box…"
                            </div>
                        </Show>
                    }
                }
            >
                <div class="card facts-card">
                    <dl class="facts">
                        <div>
                            <dt>"Last seen"</dt>
                            <dd><LastSeen at=last_seen /></dd>
                        </div>
                        <div>
                            <dt>"Firmware"</dt>
                            <dd class="mono">{firmware}</dd>
                        </div>
                        <div>
                            <dt>"Latest reading"</dt>
                            <dd><LastSeen at=latest_ts /></dd>
                        </div>
                    </dl>
                    <h2 class="section-title">"Latest values"</h2>
                    <LatestValues values=latest />
                </div>
                <TelemetryChart device=device.clone() metrics=metrics />
                <CommandsCard device=device.clone() />
                <DesiredStateCard device=device.clone() />
            </Show>
        </section>
    }
}
