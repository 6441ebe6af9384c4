//! The service layer: every rule about who may see or do what lives here. Server functions (via
//! `app::service::ConsoleService`) and the REST API call the same methods.
use crate::access::BrokerTokens;
use crate::clock::now_ms;
use crate::commands::{catalogue_view, command_view, CommandService, IssueRequest};
use crate::downsample::downsample;
use crate::identity::{
    caller_from_claims, sha256_hex, totp_setup, AuthTokens, Challenge, ChallengeKind, Expectation,
    IdentityError, IdentityProvider, LoginOutcome, TokenError, UserDirectory,
};
use crate::ingest::IngestCore;
use crate::monitoring::{pipeline_health, render_metrics, AlertService, CostModel, CONSOLE_FLEET};
use crate::rollouts::RolloutService;
use crate::shadow::ShadowService;
use crate::store::{DeviceRecord, Grant, GrantKind, Store, StoreError};
use app::domain::{
    check_totp_code, AccountSecurity, AlertsOverview, AppError, AuditEntry, AuditQuery,
    BrokerCredential, CommandCatalogue, CommandView, CostPeriod, CostReport, CreatedUser,
    DeadLetter, DeviceId, DeviceSummary, FleetId, HealthWindow, PipelineHealth, Role,
    RolloutRequest, RolloutView, Series, ShadowUpdate, ShadowView, SignInChallenge, TotpSetup,
    UserView,
};
use app::service::{
    Caller, CommandRequest, ConsoleService, NewSession, SignInProgress, TelemetryQuery,
};
use std::sync::Arc;

/// The size of one stored reading as the cost model reads it back (a handful of metrics).
const MODELLED_READING_BYTES: u64 = 120;

/// The longest telemetry window one request may read.
pub const MAX_QUERY_SPAN_MS: i64 = 31 * 86_400_000;
pub const MAX_POINTS: usize = 10_000;
/// How long a browser session lasts without a new login.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

pub struct Console {
    store: Arc<dyn Store>,
    identity: Arc<dyn IdentityProvider>,
    broker_tokens: BrokerTokens,
    /// The command service the REST routes call too: same checks, same audit.
    commands: Arc<CommandService>,
    rollouts: Arc<RolloutService>,
    shadows: Arc<ShadowService>,
    monitoring: Monitoring,
    /// The identity provider's user administration, for the users page (admins).
    users: Option<Arc<dyn UserDirectory>>,
}

/// What the console needs of monitoring: the usage meter (the ingestion counters), the cost model
/// and the alert service.
#[derive(Clone)]
pub struct Monitoring {
    pub usage: Arc<IngestCore>,
    pub costs: Arc<CostModel>,
    pub alerts: Arc<AlertService>,
}

pub fn store_error(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound(what) => AppError::NotFound(what),
        StoreError::AlreadyExists(what) => AppError::BadRequest(format!("{what} already exists")),
        StoreError::Conflict(what) => AppError::Conflict(format!("{what} changed meanwhile")),
        other => AppError::Unavailable(other.to_string()),
    }
}

/// The box if the caller may see it; boxes outside the caller's fleets are "not found", so that
/// their existence does not leak. Every path that names a box (API, server functions, commands)
/// checks it here.
pub async fn visible_device(
    store: &dyn Store,
    caller: &Caller,
    id: &DeviceId,
) -> Result<DeviceRecord, AppError> {
    match store.get_device(id).await.map_err(store_error)? {
        Some(d) if caller.may_see_fleet(&d.fleet) => Ok(d),
        _ => Err(AppError::NotFound(format!("box {id}"))),
    }
}

fn identity_error(e: IdentityError) -> AppError {
    match e {
        IdentityError::BadCredentials => AppError::BadCredentials,
        IdentityError::ChallengeExpired => AppError::SignInExpired,
        IdentityError::WrongCode | IdentityError::Unsupported(_) => {
            AppError::BadRequest(e.to_string())
        }
        IdentityError::Disabled => AppError::Forbidden("this account is disabled".into()),
        IdentityError::InvalidToken(_) => AppError::Unauthenticated,
        IdentityError::Invalid(m) => AppError::BadRequest(m),
        IdentityError::Unavailable(m) => AppError::Unavailable(m),
    }
}

fn user_view(u: crate::identity::DirectoryUser) -> UserView {
    UserView {
        username: u.username,
        enabled: u.enabled,
        groups: u.groups,
        status: u.status,
    }
}

fn summary(d: DeviceRecord) -> DeviceSummary {
    DeviceSummary {
        id: d.id,
        fleet: d.fleet,
        presence: d.presence,
        latest_ts: d.latest_ts,
        latest: d.latest,
    }
}

impl Console {
    pub fn new(
        store: Arc<dyn Store>,
        identity: Arc<dyn IdentityProvider>,
        broker_tokens: BrokerTokens,
        commands: Arc<CommandService>,
        rollouts: Arc<RolloutService>,
        shadows: Arc<ShadowService>,
        monitoring: Monitoring,
    ) -> Self {
        Self {
            store,
            identity,
            broker_tokens,
            commands,
            rollouts,
            shadows,
            monitoring,
            users: None,
        }
    }

    /// Lets admins manage the identity provider's users from the console.
    pub fn with_users(mut self, users: Arc<dyn UserDirectory>) -> Self {
        self.users = Some(users);
        self
    }

    fn directory(&self, caller: &Caller) -> Result<&Arc<dyn UserDirectory>, AppError> {
        caller.require(Role::Admin)?;
        self.users.as_ref().ok_or_else(|| {
            AppError::Unavailable(
                "user administration is not available here: use `boxpilot user ...`".into(),
            )
        })
    }

    /// Counts one API request (REST or server function) against the console's own usage.
    pub fn count_api_request(&self) {
        if let Ok(console) = FleetId::parse(CONSOLE_FLEET) {
            self.monitoring
                .usage
                .record(&console, None, now_ms(), |c| c.api_requests += 1);
        }
    }

    /// `GET /metrics` (support and admin).
    pub async fn metrics(&self, caller: &Caller) -> Result<String, AppError> {
        caller.require(Role::Support)?;
        if !caller.all_fleets {
            return Err(AppError::Forbidden(
                "the metrics cover every fleet: they need a role that sees every fleet".into(),
            ));
        }
        render_metrics(self.store.as_ref(), self.monitoring.alerts.firing().await).await
    }

    /// The caller behind a bearer access token (scripts using the REST API).
    pub async fn bearer_caller(&self, token: &str) -> Result<Caller, AppError> {
        let claims = self
            .identity
            .verifier()
            .verify(token, &Expectation::access(self.identity.client_id()))
            .await
            .map_err(|e| {
                tracing::debug!(error = %e, "bearer token refused");
                AppError::Unauthenticated
            })?;
        caller_from_claims(&claims)
            .ok_or_else(|| AppError::Forbidden("your account has no role".into()))
    }

    /// Logs in for a script: the identity provider's tokens, returned to the caller.
    pub async fn token_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<LoginOutcome, AppError> {
        self.identity
            .login(username, password)
            .await
            .map_err(identity_error)
    }

    /// Answers a challenge for a script: tokens or the next challenge.
    pub async fn token_answer(
        &self,
        challenge: &Challenge,
        answer: &str,
    ) -> Result<LoginOutcome, AppError> {
        if challenge.session.len() > 8192 || answer.len() > 1024 {
            return Err(AppError::BadRequest(
                "this sign-in answer is too long".into(),
            ));
        }
        self.identity
            .answer(challenge, answer)
            .await
            .map_err(identity_error)
    }

    pub async fn token_refresh(
        &self,
        username: &str,
        refresh_token: &str,
    ) -> Result<crate::identity::AuthTokens, AppError> {
        self.identity
            .refresh(username, refresh_token)
            .await
            .map_err(identity_error)
    }

    pub async fn token_revoke(&self, refresh_token: &str) -> Result<(), AppError> {
        self.identity
            .revoke(refresh_token)
            .await
            .map_err(identity_error)
    }

    /// Opens a browser session on the provider's tokens: the cookie's id is returned once, the
    /// tokens stay here.
    async fn open_session(&self, tokens: AuthTokens) -> Result<NewSession, AppError> {
        let caller = self.bearer_caller(&tokens.access_token).await?;
        let secret = {
            let bytes: [u8; 32] = rand::random();
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        };
        self.store
            .put_grant(&Grant {
                kind: GrantKind::Session,
                secret_hash: sha256_hex(&secret),
                username: caller.username.clone(),
                expires_at: now_ms() + SESSION_TTL_SECS * 1000,
                access_token: Some(tokens.access_token),
                refresh_token: tokens.refresh_token,
            })
            .await
            .map_err(store_error)?;
        Ok(NewSession {
            session_id: secret,
            max_age_secs: SESSION_TTL_SECS,
            info: caller.info(),
        })
    }

    async fn sign_in_progress(&self, outcome: LoginOutcome) -> Result<SignInProgress, AppError> {
        match outcome {
            LoginOutcome::Tokens(tokens) => {
                self.open_session(tokens).await.map(SignInProgress::Session)
            }
            LoginOutcome::Challenge(challenge) => {
                let totp = match &challenge.totp_secret {
                    Some(secret) => {
                        Some(totp_setup(&challenge.username, secret).map_err(AppError::Internal)?)
                    }
                    None => None,
                };
                Ok(SignInProgress::Challenge(SignInChallenge {
                    kind: challenge.kind,
                    username: challenge.username,
                    session: challenge.session,
                    totp,
                }))
            }
        }
    }

    /// The session's access token, refreshed when it expired (backend-for-frontend: the server
    /// refreshes on the browser's behalf), and the caller it names.
    async fn fresh_access_token(&self, session_id: &str) -> Result<(String, Caller), AppError> {
        let hash = sha256_hex(session_id);
        let mut grant = self
            .store
            .get_grant(GrantKind::Session, &hash)
            .await
            .map_err(store_error)?
            .filter(|g| g.expires_at > now_ms())
            .ok_or(AppError::Unauthenticated)?;
        let access = grant
            .access_token
            .clone()
            .ok_or(AppError::Unauthenticated)?;
        let expect = Expectation::access(self.identity.client_id());
        match self.identity.verifier().verify(&access, &expect).await {
            Ok(claims) => {
                let caller = caller_from_claims(&claims)
                    .ok_or_else(|| AppError::Forbidden("your account has no role".into()))?;
                Ok((access, caller))
            }
            Err(TokenError::Expired) => {
                let refresh = grant
                    .refresh_token
                    .clone()
                    .ok_or(AppError::Unauthenticated)?;
                let tokens = self
                    .identity
                    .refresh(&grant.username, &refresh)
                    .await
                    .map_err(|e| match e {
                        IdentityError::Unavailable(m) => AppError::Unavailable(m),
                        _ => AppError::Unauthenticated,
                    })?;
                grant.access_token = Some(tokens.access_token.clone());
                self.store.put_grant(&grant).await.map_err(store_error)?;
                let caller = self.bearer_caller(&tokens.access_token).await?;
                Ok((tokens.access_token, caller))
            }
            Err(_) => Err(AppError::Unauthenticated),
        }
    }

    pub fn require_fleet(caller: &Caller, fleet: &FleetId) -> Result<(), AppError> {
        if caller.may_see_fleet(fleet) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "fleet {fleet} is not one of yours"
            )))
        }
    }
}

#[async_trait::async_trait]
impl ConsoleService for Console {
    async fn login(&self, username: &str, password: &str) -> Result<SignInProgress, AppError> {
        let outcome = self
            .identity
            .login(username, password)
            .await
            .map_err(identity_error)?;
        self.sign_in_progress(outcome).await
    }

    async fn answer_challenge(
        &self,
        challenge: &SignInChallenge,
        answer: &str,
    ) -> Result<SignInProgress, AppError> {
        if challenge.username.len() > 128 || challenge.session.len() > 8192 || answer.len() > 1024 {
            return Err(AppError::BadRequest(
                "this sign-in answer is too long".into(),
            ));
        }
        // People type codes with spaces ("123 456"); passwords are taken as they are.
        let answer: String = match challenge.kind {
            ChallengeKind::NewPassword => answer.to_owned(),
            _ => answer.chars().filter(|c| !c.is_whitespace()).collect(),
        };
        challenge
            .kind
            .check_answer(&answer)
            .map_err(AppError::BadRequest)?;
        let pending = Challenge {
            kind: challenge.kind,
            username: challenge.username.clone(),
            session: challenge.session.clone(),
            totp_secret: None,
        };
        let outcome = self
            .identity
            .answer(&pending, &answer)
            .await
            .map_err(identity_error)?;
        self.sign_in_progress(outcome).await
    }

    async fn logout(&self, session_id: &str) -> Result<(), AppError> {
        let hash = sha256_hex(session_id);
        if let Some(grant) = self
            .store
            .get_grant(GrantKind::Session, &hash)
            .await
            .map_err(store_error)?
        {
            if let Some(refresh) = &grant.refresh_token {
                // Signing out always ends the session here; a provider that cannot revoke
                // right now leaves a refresh token nobody holds any more.
                if let Err(e) = self.identity.revoke(refresh).await {
                    tracing::warn!(user = %grant.username, error = %e, "refresh token not revoked at logout");
                }
            }
            self.store
                .delete_grant(GrantKind::Session, &hash)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn sign_out_everywhere(&self, session_id: &str) -> Result<(), AppError> {
        let (access, _) = self.fresh_access_token(session_id).await?;
        self.identity
            .sign_out_everywhere(&access)
            .await
            .map_err(identity_error)?;
        self.store
            .delete_grant(GrantKind::Session, &sha256_hex(session_id))
            .await
            .map_err(store_error)
    }

    async fn account_security(&self, session_id: &str) -> Result<AccountSecurity, AppError> {
        let (access, caller) = self.fresh_access_token(session_id).await?;
        let totp = self
            .identity
            .totp_enabled(&access)
            .await
            .map_err(identity_error)?;
        Ok(AccountSecurity {
            username: caller.username,
            totp_available: totp.is_some(),
            totp_enabled: totp.unwrap_or(false),
        })
    }

    async fn begin_totp_setup(&self, session_id: &str) -> Result<TotpSetup, AppError> {
        let (access, caller) = self.fresh_access_token(session_id).await?;
        let secret = self
            .identity
            .begin_totp(&access)
            .await
            .map_err(identity_error)?;
        totp_setup(&caller.username, &secret).map_err(AppError::Internal)
    }

    async fn confirm_totp_setup(
        &self,
        session_id: &str,
        code: &str,
    ) -> Result<AccountSecurity, AppError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        check_totp_code(&code).map_err(AppError::BadRequest)?;
        let (access, _) = self.fresh_access_token(session_id).await?;
        self.identity
            .confirm_totp(&access, &code)
            .await
            .map_err(identity_error)?;
        self.account_security(session_id).await
    }

    async fn session_caller(&self, session_id: &str) -> Result<Caller, AppError> {
        self.fresh_access_token(session_id)
            .await
            .map(|(_, caller)| caller)
    }

    async fn list_users(&self, caller: &Caller) -> Result<Vec<UserView>, AppError> {
        let mut users: Vec<UserView> = self
            .directory(caller)?
            .list_users()
            .await
            .map_err(identity_error)?
            .into_iter()
            .map(user_view)
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    async fn add_user(
        &self,
        caller: &Caller,
        username: &str,
        groups: &[String],
    ) -> Result<CreatedUser, AppError> {
        let directory = self.directory(caller)?;
        if groups.is_empty() {
            return Err(AppError::BadRequest(
                "give the user a role: viewer, operator, support or admin".into(),
            ));
        }
        let password = crate::identity::random_password();
        let user = directory
            .add_user(username.trim(), &password, groups)
            .await
            .map_err(identity_error)?;
        tracing::info!(admin = %caller.username, user = %user.username, groups = %user.groups.join(","), "user added from the console");
        Ok(CreatedUser {
            user: user_view(user),
            password,
            temporary: directory.passwords_are_temporary(),
        })
    }

    async fn set_user_groups(
        &self,
        caller: &Caller,
        username: &str,
        groups: &[String],
    ) -> Result<UserView, AppError> {
        let directory = self.directory(caller)?;
        if username == caller.username && !groups.iter().any(|g| g == "admin") {
            return Err(AppError::BadRequest(
                "you cannot take away your own admin role: ask another admin".into(),
            ));
        }
        let user = directory
            .set_groups(username, groups)
            .await
            .map_err(identity_error)?;
        tracing::info!(admin = %caller.username, user = %username, groups = %groups.join(","), "user groups changed from the console");
        Ok(user_view(user))
    }

    async fn set_user_enabled(
        &self,
        caller: &Caller,
        username: &str,
        enabled: bool,
    ) -> Result<UserView, AppError> {
        let directory = self.directory(caller)?;
        if username == caller.username && !enabled {
            return Err(AppError::BadRequest(
                "you cannot disable your own account: ask another admin".into(),
            ));
        }
        let user = directory
            .set_enabled(username, enabled)
            .await
            .map_err(identity_error)?;
        tracing::info!(admin = %caller.username, user = %username, enabled, "user enabled or disabled from the console");
        Ok(user_view(user))
    }

    async fn list_devices(&self, caller: &Caller) -> Result<Vec<DeviceSummary>, AppError> {
        let mut devices = if caller.all_fleets {
            self.store.list_devices(None).await.map_err(store_error)?
        } else {
            let mut all = Vec::new();
            for fleet in &caller.fleets {
                all.extend(
                    self.store
                        .list_devices(Some(fleet))
                        .await
                        .map_err(store_error)?,
                );
            }
            all
        };
        self.store
            .refresh_latest(&mut devices)
            .await
            .map_err(store_error)?;
        Ok(devices.into_iter().map(summary).collect())
    }

    async fn device(&self, caller: &Caller, device: &DeviceId) -> Result<DeviceSummary, AppError> {
        let mut d = visible_device(self.store.as_ref(), caller, device).await?;
        self.store
            .refresh_latest(std::slice::from_mut(&mut d))
            .await
            .map_err(store_error)?;
        Ok(summary(d))
    }

    async fn telemetry(&self, caller: &Caller, q: TelemetryQuery) -> Result<Series, AppError> {
        let name_ok = (1..=64).contains(&q.metric.len())
            && q.metric
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if !name_ok {
            return Err(AppError::BadRequest(format!(
                "metric {:?} must match [a-z0-9_.]{{1,64}}",
                q.metric
            )));
        }
        if q.to <= q.from {
            return Err(AppError::BadRequest("`to` must be after `from`".into()));
        }
        if q.to - q.from > MAX_QUERY_SPAN_MS {
            return Err(AppError::BadRequest(
                "a query covers at most 31 days".into(),
            ));
        }
        if !(1..=MAX_POINTS).contains(&q.max_points) {
            return Err(AppError::BadRequest(format!(
                "max_points must be between 1 and {MAX_POINTS}"
            )));
        }
        let d = visible_device(self.store.as_ref(), caller, &q.device).await?;
        let raw = self
            .store
            .metric_series(&q.device, &q.metric, q.from, q.to)
            .await
            .map_err(store_error)?;
        // What the same Query would read from DynamoDB, for the cost model.
        let read_bytes = raw.len() as u64 * MODELLED_READING_BYTES;
        self.monitoring
            .usage
            .record(&d.fleet, Some(&q.device), now_ms(), |c| {
                c.read_units += read_bytes.div_ceil(4096).max(1)
            });
        Ok(Series {
            device: q.device.to_string(),
            metric: q.metric,
            from: q.from,
            to: q.to,
            raw_points: raw.len() as u64,
            points: downsample(&raw, q.from, q.to, q.max_points),
        })
    }

    async fn broker_credential(&self, caller: &Caller) -> Result<BrokerCredential, AppError> {
        self.broker_tokens.issue(caller).map_err(AppError::Internal)
    }

    async fn command_catalogue(&self, _caller: &Caller) -> Result<CommandCatalogue, AppError> {
        Ok(catalogue_view(self.commands.catalogue()))
    }

    async fn issue_command(
        &self,
        caller: &Caller,
        device: &DeviceId,
        request: CommandRequest,
    ) -> Result<CommandView, AppError> {
        let request = IssueRequest {
            name: request.name,
            params: request.params,
            ttl_secs: request.ttl_secs,
        };
        self.commands
            .issue(caller, device, request)
            .await
            .map(command_view)
    }

    async fn list_commands(
        &self,
        caller: &Caller,
        device: &DeviceId,
        limit: usize,
    ) -> Result<Vec<CommandView>, AppError> {
        let records = self.commands.history(caller, device, limit).await?;
        Ok(records.into_iter().map(command_view).collect())
    }

    async fn command_audit(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, AppError> {
        let records = self.commands.audit(caller, &query).await?;
        Ok(records
            .into_iter()
            .map(|c| AuditEntry {
                fleet: c.fleet.clone(),
                command: command_view(c),
            })
            .collect())
    }

    async fn start_rollout(
        &self,
        caller: &Caller,
        request: RolloutRequest,
    ) -> Result<RolloutView, AppError> {
        self.rollouts.start(caller, request).await
    }

    async fn list_rollouts(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        limit: Option<usize>,
    ) -> Result<Vec<RolloutView>, AppError> {
        self.rollouts.list(caller, fleet, limit).await
    }

    async fn get_rollout(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError> {
        self.rollouts.get(caller, id).await
    }

    async fn cancel_rollout(&self, caller: &Caller, id: &str) -> Result<RolloutView, AppError> {
        self.rollouts.cancel(caller, id).await
    }

    async fn get_shadow(&self, caller: &Caller, device: &DeviceId) -> Result<ShadowView, AppError> {
        self.shadows.get(caller, device).await
    }

    async fn update_shadow(
        &self,
        caller: &Caller,
        device: &DeviceId,
        update: ShadowUpdate,
    ) -> Result<ShadowView, AppError> {
        self.shadows.update_desired(caller, device, update).await
    }

    async fn pipeline_health(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        window: HealthWindow,
    ) -> Result<PipelineHealth, AppError> {
        pipeline_health(self.store.as_ref(), caller, fleet, window, now_ms()).await
    }

    async fn dead_letters(
        &self,
        caller: &Caller,
        fleet: Option<FleetId>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, AppError> {
        caller.require(Role::Support)?;
        match &fleet {
            Some(f) => Self::require_fleet(caller, f)?,
            // Letters that name no fleet are visible to those who see every fleet.
            None if !caller.all_fleets => {
                return Err(AppError::BadRequest(
                    "name a fleet: you do not see every fleet".into(),
                ))
            }
            None => {}
        }
        self.store
            .list_dead_letters(fleet.as_ref(), limit.clamp(1, 1000))
            .await
            .map_err(store_error)
    }

    async fn costs(
        &self,
        caller: &Caller,
        fleet: &FleetId,
        period: CostPeriod,
    ) -> Result<CostReport, AppError> {
        self.monitoring
            .costs
            .report(self.store.as_ref(), caller, fleet, period, now_ms())
            .await
    }

    async fn alerts(
        &self,
        caller: &Caller,
        fleet: Option<FleetId>,
    ) -> Result<AlertsOverview, AppError> {
        self.monitoring
            .alerts
            .overview(caller, fleet.as_ref())
            .await
    }

    async fn save_alert_rule(
        &self,
        caller: &Caller,
        rule: serde_json::Value,
    ) -> Result<serde_json::Value, AppError> {
        self.monitoring.alerts.save_rule(caller, rule).await
    }

    async fn delete_alert_rule(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        self.monitoring.alerts.delete_rule(caller, id).await
    }
}
