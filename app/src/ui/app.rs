use crate::ui::auth::{AuthContext, LoginPage, RequireSession, SessionPhase};
use crate::ui::clock::Clock;
use crate::ui::fleet::FleetPage;
use crate::ui::layout::{AppShell, NotFound};
use crate::ui::lazy_pages::{
    AccountRoute, AuditRoute, DeviceRoute, MonitoringRoute, RolloutsRoute, UsersRoute,
};
use crate::ui::mqtt::MqttClient;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy};

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
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} />
                    <Route path=path!("/users") view={Lazy::<UsersRoute>::new()} />
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} />
                    <Route path=path!("/rollouts") view={Lazy::<RolloutsRoute>::new()} />
                    <Route path=path!("/monitoring") view={Lazy::<MonitoringRoute>::new()} />
                    <Route path=path!("/devices/:id") view={Lazy::<DeviceRoute>::new()} />
                </Routes>
            </AppShell>
        </Router>
    }
}
