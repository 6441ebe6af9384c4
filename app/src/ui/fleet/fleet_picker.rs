use crate::domain::FleetId;
use leptos::prelude::*;

/// A "Fleet" select over the fleets the user may see, for pages that work on one fleet at a time
/// (rollouts, monitoring). `data-fleet-picker` is for tests.
#[component]
pub fn FleetPicker(
    fleets: RwSignal<Vec<FleetId>>,
    fleet: RwSignal<Option<FleetId>>,
) -> impl IntoView {
    view! {
        <label class="fleet-picker">
            <span>"Fleet"</span>
            <select
                name="fleet"
                data-fleet-picker
                on:change=move |ev| fleet.set(FleetId::parse(&event_target_value(&ev)).ok())
            >
                <For each=move || fleets.get() key=|f| f.to_string() let:f>
                    <option value=f.to_string() selected=move || fleet.get().as_ref() == Some(&f)>
                        {f.to_string()}
                    </option>
                </For>
            </select>
        </label>
    }
}
