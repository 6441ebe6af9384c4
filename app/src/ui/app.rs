use crate::ui::account::AccountPage;
use crate::ui::audit::AuditPage;
use crate::ui::auth::{AuthContext, LoginPage, RequireSession, SessionPhase};
use crate::ui::clock::Clock;
use crate::ui::device::DevicePage;
use crate::ui::fleet::FleetPage;
use crate::ui::layout::{AppShell, NotFound};
use crate::ui::monitoring::MonitoringPage;
use crate::ui::mqtt::MqttClient;
use crate::ui::rollouts::RolloutsPage;
use crate::ui::users::UsersPage;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The root: shared contexts (session, clock, MQTT connection) live here, above the routes, so
/// that moving between pages keeps one broker connection.
#[component]
pub fn App() -> impl IntoView {
    let auth = AuthContext::provide();
    Clock::provide();
    let mqtt = MqttClient::provide();

    // One MQTT connection per signed-in session; a session lost while connecting (credential
    // refused as unauthenticated) signs the console out.
    Effect::new(move |previous: Option<SessionPhase>| {
        let phase = auth.phase.get();
        if previous != Some(phase) {
            match phase {
                SessionPhase::SignedIn => mqtt.start(move || auth.session_expired()),
                SessionPhase::SignedOut => mqtt.stop(),
                SessionPhase::Checking => {}
            }
        }
        phase
    });

    view! {
        <Router>
            <AppShell>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage />
                    <Route
                        path=path!("/")
                        view=|| view! { <RequireSession><FleetPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/account")
                        view=|| view! { <RequireSession><AccountPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/users")
                        view=|| view! { <RequireSession><UsersPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/audit")
                        view=|| view! { <RequireSession><AuditPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/rollouts")
                        view=|| view! { <RequireSession><RolloutsPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/monitoring")
                        view=|| view! { <RequireSession><MonitoringPage /></RequireSession> }
                    />
                    <Route
                        path=path!("/devices/:id")
                        view=|| view! { <RequireSession><DevicePage /></RequireSession> }
                    />
                </Routes>
            </AppShell>
        </Router>
    }
}
