use crate::api::auth::logout;
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

/// Ends the session on the server, then leaves. Even if the server cannot be reached the console
/// forgets the session locally: the cookie is HttpOnly, there is nothing else to clear.
#[component]
pub fn SignOutButton(#[prop(optional, into)] class: String) -> impl IntoView {
    let auth = AuthContext::expect();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let on_click = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            if let Err(error) = logout().await {
                leptos::logging::warn!("logout: {error}");
            }
            auth.signed_out();
            navigate(
                "/login",
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
            busy.set(false);
        });
    };
    view! {
        <button
            type="button"
            class=format!("button ghost sign-out {class}")
            on:click=on_click
            disabled=busy
            aria-busy=move || busy.get().to_string()
        >
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class="icon">
                <path
                    d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H4"
                    fill="none"
                    stroke="currentColor"
                    stroke-width="2"
                    stroke-linecap="round"
                    stroke-linejoin="round"
                />
            </svg>
            <span>{move || if busy.get() { "Signing out…" } else { "Sign out" }}</span>
        </button>
    }
}
