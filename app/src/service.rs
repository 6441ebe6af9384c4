//! The service layer the server functions call (server side only). The server crate implements it;
//! its REST API calls the same implementation, so both paths share every authorization check.
use crate::domain::{
    AccountSecurity, AlertsOverview, AppError, AuditEntry, AuditQuery, BrokerCredential,
    CommandCatalogue, CommandView, CostPeriod, CostReport, CreatedUser, DeadLetter, DeviceId,
    DeviceSummary, FleetId, HealthWindow, PipelineHealth, Role, RolloutRequest, RolloutView,
    Series, SessionInfo, ShadowUpdate, ShadowView, SignInChallenge, TotpSetup, UserView,
};
use std::sync::Arc;

/// Name of the session cookie. `__Host-` makes the browser refuse it unless it is Secure, has
/// Path=/ and no Domain, so no other site or subdomain can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-boxpilot-session";

/// An authenticated user, derived from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub sub: String,
    pub username: String,
    pub role: Role,
    pub fleets: Vec<FleetId>,
    pub all_fleets: bool,
}

impl Caller {
    pub fn may_see_fleet(&self, fleet: &FleetId) -> bool {
        self.all_fleets || self.fleets.contains(fleet)
    }

    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {role} role, you are {}",
                self.role
            )))
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            username: self.username.clone(),
            role: self.role,
            fleets: self.fleets.clone(),
            all_fleets: self.all_fleets,
        }
    }
}

/// A new browser session: the opaque id goes into the cookie, the tokens stay on the server.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_id: String,
    pub max_age_secs: i64,
    pub info: SessionInfo,
}

/// Where a sign-in stands on the server: a new session, or a question for the user.
#[derive(Debug, Clone)]
pub enum SignInProgress {
    Session(NewSession),
    Challenge(SignInChallenge),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryQuery {
    pub device: DeviceId,
    pub metric: String,
    pub from: i64,
    pub to: i64,
    pub max_points: usize,
}

/// A command to send to a box.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    pub name: String,
    pub params: serde_json::Value,
    /// Seconds until it expires; the server's default when `None`.
    pub ttl_secs: Option<i64>,
}

#[async_trait::async_trait]
pub trait ConsoleService: Send + Sync + 'static {
    /// Checks a password: a session, or the identity provider's next question.
    async fn login(&self, username: &str, password: &str) -> Result<SignInProgress, AppError>;
    /// Answers a challenge of a sign-in in progress (new password, TOTP code).
    async fn answer_challenge(
        &self,
        challenge: &SignInChallenge,
        answer: &str,
    ) -> Result<SignInProgress, AppError>;
    async fn logout(&self, session_id: &str) -> Result<(), AppError>;
    /// Ends every session of the session's user, on every device (Cognito's global sign-out).
    async fn sign_out_everywhere(&self, session_id: &str) -> Result<(), AppError>;
    /// The account's two-step sign-in settings.
    async fn account_security(&self, session_id: &str) -> Result<AccountSecurity, AppError>;
    /// Starts adding an authenticator app: its secret and QR code.
    async fn begin_totp_setup(&self, session_id: &str) -> Result<TotpSetup, AppError>;
    /// Finishes adding an authenticator app with its first code; sign-ins then ask for a code.
    async fn confirm_totp_setup(
        &self,
        session_id: &str,
        code: &str,
    ) -> Result<AccountSecurity, AppError>;
    /// The caller behind a session cookie, refreshing its tokens when they expired.
    async fn session_caller(&self, session_id: &str) -> Result<Caller, AppError>;
    /// The identity provider's users (admins).
    async fn list_users(&self, caller: &Caller) -> Result<Vec<UserView>, AppError>;
    /// Adds a user with a random password, returned once (admins).
    async fn add_user(
        &self,
        caller: &Caller,
        username: &str,
        groups: &[String],
    ) -> Result<CreatedUser, AppError>;
    /// Replaces a user's groups (admins; not their own admin group).
    async fn set_user_groups(
        &self,
        caller: &Caller,
        username: &str,
        groups: &[String],
    ) -> Result<UserView, AppError>;
    /// Disables or enables a user (admins; not themselves).
    async fn set_user_enabled(
        &self,
        caller: &Caller,
        username: &str,
        enabled: bool,
    ) -> Result<UserView, AppError>;
    async fn list_devices(&self, caller: &Caller) -> Result<Vec<DeviceSummary>, AppError>;
    async fn device(&self, caller: &Caller, device: &DeviceId) -> Result<DeviceSummary, AppError>;
    async fn telemetry(&self, caller: &Caller, query: TelemetryQuery) -> Result<Series, AppError>;
    async fn broker_credential(&self, caller: &Caller) -> Result<BrokerCredential, AppError>;
    /// The command catalogue of the box model.
    async fn command_catalogue(&self, caller: &Caller) -> Result<CommandCatalogue, AppError>;
    /// Sends a command to a box (the command service's rules: fleet, role, catalogue, expiry).
    async fn issue_command(
        &self,
        caller: &Caller,
        device: &DeviceId,
        request: CommandRequest,
    ) -> Result<CommandView, AppError>;
    /// The latest commands of a box, newest first.
    async fn list_commands(
        &self,
        caller: &Caller,
        device: &DeviceId,
        limit: usize,
    ) -> Result<Vec<CommandView>, AppError>;
    /// The audit trail of commands, newest first: any role, own fleets only (the same rules as
    /// `GET /api/v1/audit/commands`).
    async fn command_audit(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, AppError>;
    /// Starts a bulk command (operators and above, own fleets).
    async fn start_rollout(
        &self,
        caller: &Caller,
        request: RolloutRequest,
    ) -> Result<RolloutView, AppError>;
    /// The rollouts of a fleet, newest first.
    async fn list_rollouts(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        limit: Option<usize>,
    ) -> Result<Vec<RolloutView>, AppError>;
    async fn get_rollout(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError>;
    /// Stops a running rollout; commands not delivered yet are cancelled.
    async fn cancel_rollout(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError>;
    /// A box's desired and reported state.
    async fn get_shadow(&self, caller: &Caller, device: &DeviceId) -> Result<ShadowView, AppError>;
    /// Changes a box's desired state; `Conflict` on a stale version.
    async fn update_shadow(
        &self,
        caller: &Caller,
        device: &DeviceId,
        update: ShadowUpdate,
    ) -> Result<ShadowView, AppError>;
    /// Pipeline health of a fleet over a window (support and admin).
    async fn pipeline_health(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        window: HealthWindow,
    ) -> Result<PipelineHealth, AppError>;
    /// Rejected messages, newest first (support and admin); `None` for every fleet (only for
    /// those who see every fleet).
    async fn dead_letters(
        &self,
        caller: &Caller,
        fleet: Option<FleetId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, AppError>;
    /// What a fleet would cost on AWS over a period (support and admin).
    async fn costs(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        period: CostPeriod,
    ) -> Result<CostReport, AppError>;
    /// Active and recent alerts, the rules and the kinds of rule (support and admin); `None` for
    /// every fleet the caller sees.
    async fn alerts(
        &self,
        caller: &Caller,
        fleet: Option<FleetId>,
    ) -> Result<AlertsOverview, AppError>;
    /// Creates or replaces an alert rule (admins); returns it as stored.
    async fn save_alert_rule(
        &self,
        caller: &Caller,
        rule: serde_json::Value,
    ) -> Result<serde_json::Value, AppError>;
    /// Deletes an alert rule (admins); its firing alerts resolve.
    async fn delete_alert_rule(&self, caller: &Caller, id: &str) -> Result<(), AppError>;
}

pub type SharedService = Arc<dyn ConsoleService>;

/// The session id in a `Cookie` header, if any.
pub fn session_id_from_cookies(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a session; an empty id with max-age 0 clears it.
pub fn session_cookie(session_id: &str, max_age_secs: i64) -> String {
    format!("{SESSION_COOKIE}={session_id}; Path=/; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let h = format!("a=1; {SESSION_COOKIE}=abc; b=2");
        assert_eq!(session_id_from_cookies(&h), Some("abc"));
        assert_eq!(session_id_from_cookies("a=1"), None);
        assert_eq!(session_id_from_cookies(&format!("{SESSION_COOKIE}=")), None);
    }
}
