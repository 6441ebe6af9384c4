use crate::ui::mqtt::MqttClient;
use leptos::prelude::*;

/// Shows whether live updates flow. `data-mqtt-state` is for tests and styling; the label is
/// spoken by screen readers when it changes.
#[component]
pub fn MqttIndicator() -> impl IntoView {
    let mqtt = MqttClient::expect();
    let state = Memo::new(move |_| mqtt.state());
    view! {
        <div
            class="mqtt-indicator"
            role="status"
            data-mqtt-state=move || state.get().as_str()
            aria-label=move || format!("Live updates: {}", state.get().label().to_lowercase())
            title=move || format!("MQTT connection: {}", state.get().label().to_lowercase())
        >
            <span class="mqtt-dot" aria-hidden="true"></span>
            <span class="mqtt-label" aria-hidden="true">{move || state.get().label()}</span>
        </div>
    }
}
