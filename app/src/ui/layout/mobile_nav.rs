use super::SignOutButton;
use crate::domain::Role;
use crate::ui::auth::AuthContext;
use leptos::prelude::*;
use leptos_router::components::A;

/// The bottom bar of narrow screens (under 640 px): thumb-reachable navigation (Monitoring for
/// support and admin only), the signed-in
/// user and sign-out. Hidden by CSS on wider screens, where the top bar carries them.
#[component]
pub fn MobileNav() -> impl IntoView {
    let auth = AuthContext::expect();
    let username = move || auth.session().map(|s| s.username).unwrap_or_default();
    let role = move || auth.session().map(|s| s.role.as_str()).unwrap_or_default();
    let monitors = move || auth.session().is_some_and(|s| s.role >= Role::Support);
    view! {
        <nav class="mobile-nav" aria-label="Main (mobile)">
            <A href="/" exact=true attr:class="mobile-nav-item">
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" class="icon">
                    <path
                        d="M4 5h16M4 12h16M4 19h16"
                        fill="none"
                        stroke="currentColor"
                        stroke-width="2"
                        stroke-linecap="round"
                    />
                </svg>
                <span>"Fleet"</span>
            </A>
            <A href="/rollouts" attr:class="mobile-nav-item">
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" class="icon">
                    <path
                        d="M4 7h10M4 12h13M4 17h16M17 4l3 3-3 3"
                        fill="none"
                        stroke="currentColor"
                        stroke-width="2"
                        stroke-linejoin="round"
                        stroke-linecap="round"
                    />
                </svg>
                <span>"Rollouts"</span>
            </A>
            <A href="/audit" attr:class="mobile-nav-item">
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" class="icon">
                    <path
                        d="M9 4h6v3H9zM7 5.5H5v15h14v-15h-2M8.5 12h7M8.5 16h5"
                        fill="none"
                        stroke="currentColor"
                        stroke-width="2"
                        stroke-linejoin="round"
                        stroke-linecap="round"
                    />
                </svg>
                <span>"Audit"</span>
            </A>
            <Show when=monitors>
                <A href="/monitoring" attr:class="mobile-nav-item">
                    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" class="icon">
                        <path
                            d="M3 12h4l2.5-6 5 12 2.5-6h4"
                            fill="none"
                            stroke="currentColor"
                            stroke-width="2"
                            stroke-linejoin="round"
                            stroke-linecap="round"
                        />
                    </svg>
                    <span>"Monitor"</span>
                </A>
            </Show>
            <A href="/account" attr:class="mobile-nav-item mobile-user" attr:aria-label="Your account">
                <span class="user-name">{username}</span>
                <span class="role-badge" data-role=role>
                    {role}
                </span>
            </A>
            <SignOutButton class="mobile-nav-item" />
        </nav>
    }
}
