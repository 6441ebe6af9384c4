//! The console's server functions (`/api/auth/*`, `/api/devices/*`, `/api/broker/*`,
//! `/api/commands/*`, `/api/rollouts/*`, `/api/shadow/*`, `/api/monitoring/*`, `/api/users/*`), with the console
//! service in their context.
use super::AppState;
use app::service::SharedService;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use leptos::server_fn::axum::register_explicit;

/// Registers every server function by name: the linker may otherwise drop their registrations.
fn register_all() {
    use app::api::{auth, broker, commands, devices, monitoring, rollouts, shadow, users};
    register_explicit::<auth::Login>();
    register_explicit::<auth::Logout>();
    register_explicit::<auth::CurrentSession>();
    register_explicit::<auth::AnswerChallenge>();
    register_explicit::<auth::SignOutEverywhere>();
    register_explicit::<auth::GetAccountSecurity>();
    register_explicit::<auth::BeginTotpSetup>();
    register_explicit::<auth::ConfirmTotpSetup>();
    register_explicit::<devices::ListDevices>();
    register_explicit::<devices::GetDevice>();
    register_explicit::<devices::DeviceTelemetry>();
    register_explicit::<broker::IssueBrokerCredential>();
    register_explicit::<commands::GetCommandCatalogue>();
    register_explicit::<commands::IssueCommand>();
    register_explicit::<commands::ListCommands>();
    register_explicit::<commands::CommandAudit>();
    register_explicit::<rollouts::StartRollout>();
    register_explicit::<rollouts::ListRollouts>();
    register_explicit::<rollouts::GetRollout>();
    register_explicit::<rollouts::CancelRollout>();
    register_explicit::<shadow::GetShadow>();
    register_explicit::<shadow::UpdateShadow>();
    register_explicit::<monitoring::GetPipelineHealth>();
    register_explicit::<monitoring::ListDeadLetters>();
    register_explicit::<monitoring::FleetCosts>();
    register_explicit::<monitoring::ListAlerts>();
    register_explicit::<monitoring::SaveAlertRule>();
    register_explicit::<monitoring::DeleteAlertRule>();
    register_explicit::<users::ListUsers>();
    register_explicit::<users::AddUser>();
    register_explicit::<users::SetUserGroups>();
    register_explicit::<users::SetUserEnabled>();
}

async fn handle(State(state): State<AppState>, request: Request) -> impl IntoResponse {
    let service: SharedService = state.console.clone();
    leptos_axum::handle_server_fns_with_context(
        move || leptos::prelude::provide_context(service.clone()),
        request,
    )
    .await
}

pub fn routes() -> Router<AppState> {
    register_all();
    // One route per group of server functions, so that unknown `/api/v1/...` paths reach the
    // REST API's JSON 404 rather than the server-function handler.
    [
        "auth",
        "devices",
        "broker",
        "commands",
        "rollouts",
        "shadow",
        "monitoring",
        "users",
    ]
    .into_iter()
    .fold(Router::new(), |router, group| {
        router.route(&format!("/api/{group}/{{*fn_name}}"), post(handle))
    })
}
