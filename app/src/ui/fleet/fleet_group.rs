use super::{DeviceEntry, DeviceRow};
use crate::domain::FleetId;
use leptos::prelude::*;

/// One fleet's boxes: a table on wide screens, a list of cards on phones (same markup, CSS
/// decides, so tests and screen readers see one structure).
#[component]
pub fn FleetGroup(
    fleet: FleetId,
    #[prop(into)] entries: Signal<Vec<DeviceEntry>>,
) -> impl IntoView {
    let heading_id = format!("fleet-{fleet}");
    let labelled_by = heading_id.clone();
    let caption = format!("Boxes of fleet {fleet}");
    let name = fleet.to_string();
    let data_fleet = name.clone();
    let counts = move || {
        entries.with(|list| {
            let online = list
                .iter()
                .filter(|e| e.summary.with(|s| s.presence.online))
                .count();
            format!("{online} of {} online", list.len())
        })
    };
    view! {
        <section class="fleet-group" aria-labelledby=labelled_by data-fleet=data_fleet>
            <header class="fleet-group-header">
                <h2 id=heading_id>{name}</h2>
                <span class="fleet-count">{counts}</span>
            </header>
            <table class="device-table">
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Box"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"Firmware"</th>
                        <th scope="col">"Latest values"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || entries.get()
                        key=|entry| entry.id.clone()
                        children=|entry| view! { <DeviceRow entry=entry /> }
                    />
                </tbody>
            </table>
        </section>
    }
}
