use leptos::prelude::*;

/// A form's submit button that says what it is doing while its request runs (and cannot be
/// pressed twice meanwhile).
#[component]
pub fn SubmitButton(
    #[prop(into)] busy: Signal<bool>,
    label: &'static str,
    busy_label: &'static str,
    #[prop(default = "button primary")] class: &'static str,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            class=class
            disabled=busy
            aria-busy=move || busy.get().to_string()
        >
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}
