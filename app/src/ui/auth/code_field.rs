use leptos::prelude::*;

/// The input of an authenticator app's 6-digit code: numeric keyboard on phones, the browser's
/// one-time-code autofill, room for the spaces people type.
#[component]
pub fn CodeField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] node_ref: NodeRef<leptos::html::Input>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name="code"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                maxlength="9"
                required
                node_ref=node_ref
                bind:value=value
            />
        </div>
    }
}
