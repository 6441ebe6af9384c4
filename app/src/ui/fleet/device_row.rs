use super::DeviceEntry;
use crate::ui::device::metric_format::key_metrics;
use crate::ui::device::{LastSeen, PresenceBadge};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;
use wasm_bindgen::JsCast;

/// How many latest values a row shows.
const KEY_METRICS: usize = 3;

/// A box in the fleet view. The whole row opens the box; its id is also a real link for
/// keyboards, screen readers and "open in new tab".
#[component]
pub fn DeviceRow(entry: DeviceEntry) -> impl IntoView {
    // Owned by this row from here on.
    let summary: RwSignal<_> = entry.summary.clone().into();
    let href = format!("/devices/{}", entry.id);
    let navigate = use_navigate();
    let on_click = {
        let href = href.clone();
        move |ev: leptos::ev::MouseEvent| {
            // Clicks on the link itself are the router's.
            let on_link = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("a").ok().flatten())
                .is_some();
            if !on_link {
                navigate(&href, NavigateOptions::default());
            }
        }
    };
    let online = Signal::derive(move || summary.with(|s| s.presence.online));
    let last_seen = Signal::derive(move || summary.with(|s| s.presence.last_seen));
    let firmware = move || summary.with(|s| s.presence.firmware.clone());
    let values = move || summary.with(|s| key_metrics(&s.latest, KEY_METRICS));
    let id = entry.id.to_string();
    let data_device = id.clone();

    view! {
        <tr class="device-row" data-device=data_device on:click=on_click>
            <th scope="row" class="cell-box" data-label="Box">
                <a href=href class="device-link">{id}</a>
            </th>
            <td class="cell-state" data-label="State">
                <PresenceBadge online=online />
            </td>
            <td class="cell-seen" data-label="Last seen">
                <LastSeen at=last_seen />
            </td>
            <td class="cell-firmware mono" data-label="Firmware">
                {move || firmware().unwrap_or_else(|| "—".into())}
            </td>
            <td class="cell-values" data-label="Latest">
                <ul class="value-list">
                    <For
                        each=values
                        key=|pair| pair.clone()
                        children=|(name, value)| {
                            view! {
                                <li class="value-pill">
                                    <span class="value-name">{name}</span>
                                    <span class="value">{value}</span>
                                </li>
                            }
                        }
                    />
                </ul>
            </td>
        </tr>
    }
}
