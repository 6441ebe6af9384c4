use super::{MobileNav, TopBar};
use crate::ui::auth::{AuthContext, SessionPhase};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The page frame. The bars appear only with a session; the login page stands alone.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let auth = AuthContext::expect();
    let location = use_location();
    let main = NodeRef::<leptos::html::Main>::new();
    let signed_in = move || auth.phase.get() == SessionPhase::SignedIn;

    // After a client-side navigation, move focus to the new page's content, as a full page load
    // would: keyboard and screen-reader users otherwise stay on the link they left.
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            if let Some(main) = main.get_untracked() {
                let _ = main.focus();
            }
        }
        path
    });

    // Handled here rather than by the router, which would treat `#main` as a navigation and
    // leave the focus on the link.
    let skip_to_content = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Some(main) = main.get_untracked() {
            let _ = main.focus();
        }
    };

    view! {
        <div class="app" class:signed-in=signed_in>
            <a class="skip-link" href="#main" on:click=skip_to_content>
                "Skip to content"
            </a>
            <Show when=signed_in>
                <TopBar />
            </Show>
            <main id="main" class="main" tabindex="-1" node_ref=main>
                {children()}
            </main>
            <Show when=signed_in>
                <MobileNav />
            </Show>
        </div>
    }
}
