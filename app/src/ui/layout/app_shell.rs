use super::{MobileNav, TopBar};
use crate::ui::auth::{AuthContext, SessionPhase};
use leptos::prelude::*;

/// The page frame. The bars appear only with a session; the login page stands alone.
#[component]
pub fn AppShell(children: Children) -> impl IntoView {
    let auth = AuthContext::expect();
    let signed_in = move || auth.phase.get() == SessionPhase::SignedIn;
    view! {
        <div class="app" class:signed-in=signed_in>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Show when=signed_in>
                <TopBar />
            </Show>
            <main id="main" class="main" tabindex="-1">
                {children()}
            </main>
            <Show when=signed_in>
                <MobileNav />
            </Show>
        </div>
    }
}
