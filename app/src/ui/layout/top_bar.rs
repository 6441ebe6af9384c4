use super::{BrandMark, MqttIndicator, SignOutButton};
use crate::domain::Role;
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos_router::components::A;

/// Product name, navigation, live-connection state, user and role, sign out. On a phone the
/// navigation, user and sign-out move to the bottom bar.
#[component]
pub fn TopBar() -> impl IntoView {
    let auth = AuthContext::expect();
    let username = move || auth.session().map(|s| s.username).unwrap_or_default();
    let role = move || auth.session().map(|s| s.role.as_str()).unwrap_or_default();
    let monitors = move || auth.session().is_some_and(|s| s.role >= Role::Support);
    let administers = move || auth.session().is_some_and(|s| s.role >= Role::Admin);
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand" attr:aria-label="boxpilot, fleet overview">
                <BrandMark />
                <span class="brand-name">"boxpilot"</span>
            </A>
            <nav class="topnav desktop-only" aria-label="Main">
                <A href="/" exact=true>
                    "Fleet"
                </A>
                <A href="/rollouts">"Rollouts"</A>
                <A href="/audit">"Audit"</A>
                <Show when=monitors>
                    <A href="/monitoring">"Monitoring"</A>
                </Show>
                <Show when=administers>
                    <A href="/users">"Users"</A>
                </Show>
            </nav>
            <div class="topbar-end">
                <MqttIndicator />
                <A
                    href="/account"
                    attr:class="user desktop-only"
                    attr:aria-label="Your account"
                >
                    <span class="user-name">{username}</span>
                    <span class="role-badge" data-role=role>
                        {role}
                    </span>
                </A>
                <SignOutButton class="desktop-only" />
            </div>
        </header>
    }
}
