//! Identity on Amazon Cognito (feature `aws`): USER_PASSWORD_AUTH sign-in and its challenges
//! (new password, TOTP code, TOTP set-up), refresh, revocation and global sign-out, authenticator
//! apps for signed-in users, and user administration. Tokens are checked by the same strict
//! `TokenVerifier` as the built-in provider's, over the pool's JWKS.
use super::{
    validate_groups, AuthTokens, Challenge, ChallengeKind, DirectoryUser, IdentityError,
    IdentityProvider, JwksKeys, LoginOutcome, TokenVerifier, UserDirectory,
};
use aws_sdk_cognitoidentityprovider as cognito;
use cognito::error::{ProvideErrorMetadata, SdkError};
use cognito::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, MessageActionType,
    SoftwareTokenMfaSettingsType, VerifySoftwareTokenResponseType,
};
use std::sync::Arc;
use std::time::Duration;

/// Where the pool is and which app client the console is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoSettings {
    pub user_pool_id: String,
    pub client_id: String,
    /// The app client's secret, when it has one (a confidential client: only this server can
    /// run its sign-in flows). Sent as SECRET_HASH with each flow.
    pub client_secret: Option<String>,
    pub region: String,
    /// A Cognito-compatible endpoint (moto, cognito-local); its JWKS is at
    /// `<endpoint>/<pool>/.well-known/jwks.json`.
    pub endpoint: Option<String>,
}

impl CognitoSettings {
    /// `iss` of the pool's tokens (local endpoints issue the same).
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }

    pub fn jwks_url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!(
                "{}/{}/.well-known/jwks.json",
                endpoint.trim_end_matches('/'),
                self.user_pool_id
            ),
            None => format!("{}/.well-known/jwks.json", self.issuer()),
        }
    }

    /// `SECRET_HASH` for `username`: Base64(HMAC-SHA256(client secret, username + client id)).
    pub fn secret_hash(&self, username: &str) -> Option<String> {
        use hmac::{Hmac, Mac};
        let secret = self.client_secret.as_ref()?;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).ok()?;
        mac.update(username.as_bytes());
        mac.update(self.client_id.as_bytes());
        Some(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            mac.finalize().into_bytes(),
        ))
    }

    fn check(&self) -> Result<(), IdentityError> {
        // Pool ids are `<region>_<id>`: a pool of another region would issue tokens nobody accepts.
        let pool_ok = self
            .user_pool_id
            .split_once('_')
            .is_some_and(|(region, id)| region == self.region && !id.is_empty());
        if !pool_ok {
            return Err(IdentityError::Invalid(format!(
                "Cognito user pool id {:?} is not of the form {}_<id>",
                self.user_pool_id, self.region
            )));
        }
        if self.client_id.is_empty() {
            return Err(IdentityError::Invalid(
                "the Cognito app client id is empty".into(),
            ));
        }
        Ok(())
    }
}

pub struct CognitoIdentity {
    client: cognito::Client,
    settings: CognitoSettings,
    verifier: TokenVerifier,
}

/// The device name Cognito records for an authenticator app added from the console.
const AUTHENTICATOR_NAME: &str = "boxpilot";

/// What an operation was doing, to read Cognito's errors in context.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    Answer,
    Session,
    Admin,
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    step: Step,
    error: SdkError<E, R>,
) -> IdentityError {
    let (code, message) = (
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    );
    let lower = message.to_ascii_lowercase();
    match code.as_str() {
        "NotAuthorizedException" if lower.contains("disabled") => IdentityError::Disabled,
        "NotAuthorizedException" | "ResourceNotFoundException"
            if step == Step::Answer && (lower.contains("session") || code.starts_with("Res")) =>
        {
            IdentityError::ChallengeExpired
        }
        "NotAuthorizedException" | "UserNotFoundException" if step != Step::Admin => {
            IdentityError::BadCredentials
        }
        "CodeMismatchException" | "EnableSoftwareTokenMFAException" | "ExpiredCodeException" => {
            IdentityError::WrongCode
        }
        "InvalidPasswordException"
        | "InvalidParameterException"
        | "UsernameExistsException"
        | "UserNotFoundException"
        | "ResourceNotFoundException" => {
            IdentityError::Invalid(if message.is_empty() { code } else { message })
        }
        "PasswordResetRequiredException" => IdentityError::Invalid(
            "an administrator reset this password: ask for a new temporary one".into(),
        ),
        "UserNotConfirmedException" => {
            IdentityError::Invalid("this account is not confirmed yet".into())
        }
        _ => IdentityError::Unavailable(format!(
            "Cognito: {}",
            cognito::error::DisplayErrorContext(&error)
        )),
    }
}

fn tokens(result: &AuthenticationResultType) -> Result<AuthTokens, IdentityError> {
    let missing = || IdentityError::Unavailable("Cognito answered without tokens".into());
    Ok(AuthTokens {
        access_token: result.access_token().ok_or_else(missing)?.to_owned(),
        id_token: result.id_token().ok_or_else(missing)?.to_owned(),
        refresh_token: result.refresh_token().map(str::to_owned),
        expires_in: i64::from(result.expires_in()),
        token_type: result.token_type().unwrap_or("Bearer").to_owned(),
    })
}

impl CognitoIdentity {
    /// Connects to the pool (its region's endpoint, or `settings.endpoint`).
    pub async fn connect(settings: CognitoSettings) -> Result<Self, IdentityError> {
        settings.check()?;
        let config =
            crate::aws::sdk::config_loader(Some(&settings.region), settings.endpoint.as_deref())
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(2))
                        .operation_attempt_timeout(Duration::from_secs(10))
                        .build(),
                )
                .load()
                .await;
        Ok(Self::from_sdk_config(&config, settings))
    }

    pub fn from_sdk_config(config: &aws_config::SdkConfig, settings: CognitoSettings) -> Self {
        let verifier = TokenVerifier::new(
            settings.issuer(),
            Arc::new(JwksKeys::new(settings.jwks_url())),
        );
        Self {
            client: cognito::Client::new(config),
            settings,
            verifier,
        }
    }

    pub fn settings(&self) -> &CognitoSettings {
        &self.settings
    }

    /// Reads an InitiateAuth or RespondToAuthChallenge answer: tokens, or the next question.
    async fn outcome(
        &self,
        username: &str,
        result: Option<&AuthenticationResultType>,
        challenge: Option<&ChallengeNameType>,
        session: Option<&str>,
    ) -> Result<LoginOutcome, IdentityError> {
        if let Some(result) = result {
            return tokens(result).map(LoginOutcome::Tokens);
        }
        let session = session
            .ok_or_else(|| IdentityError::Unavailable("Cognito asked without a session".into()))?
            .to_owned();
        let challenge_of = |kind, session| {
            Ok(LoginOutcome::Challenge(Challenge {
                kind,
                username: username.to_owned(),
                session,
                totp_secret: None,
            }))
        };
        match challenge {
            Some(ChallengeNameType::NewPasswordRequired) => {
                challenge_of(ChallengeKind::NewPassword, session)
            }
            Some(ChallengeNameType::SoftwareTokenMfa) => {
                challenge_of(ChallengeKind::TotpCode, session)
            }
            Some(ChallengeNameType::MfaSetup) => {
                // The pool requires a second factor the user has not set up: make the secret now.
                let associated = self
                    .client
                    .associate_software_token()
                    .session(session)
                    .send()
                    .await
                    .map_err(|e| classify(Step::Answer, e))?;
                Ok(LoginOutcome::Challenge(Challenge {
                    kind: ChallengeKind::TotpSetup,
                    username: username.to_owned(),
                    session: associated.session().unwrap_or_default().to_owned(),
                    totp_secret: associated.secret_code().map(str::to_owned),
                }))
            }
            Some(ChallengeNameType::SelectMfaType) => {
                // The user has more than one factor: boxpilot answers with the authenticator app.
                let mut request = self
                    .client
                    .respond_to_auth_challenge()
                    .client_id(&self.settings.client_id)
                    .challenge_name(ChallengeNameType::SelectMfaType)
                    .session(session)
                    .challenge_responses("USERNAME", username)
                    .challenge_responses("ANSWER", "SOFTWARE_TOKEN_MFA");
                if let Some(hash) = self.settings.secret_hash(username) {
                    request = request.challenge_responses("SECRET_HASH", hash);
                }
                let answer = request
                    .send()
                    .await
                    .map_err(|e| classify(Step::Answer, e))?;
                Box::pin(self.outcome(
                    username,
                    answer.authentication_result(),
                    answer.challenge_name(),
                    answer.session(),
                ))
                .await
            }
            other => Err(IdentityError::Unsupported(format!(
                "Cognito asks for {}, which boxpilot does not answer: use a password and an authenticator app (TOTP)",
                other.map(|c| c.as_str()).unwrap_or("an unnamed challenge")
            ))),
        }
    }

    async fn respond(
        &self,
        challenge: &Challenge,
        name: ChallengeNameType,
        session: &str,
        answer: Option<(&str, &str)>,
    ) -> Result<LoginOutcome, IdentityError> {
        let mut request = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.settings.client_id)
            .challenge_name(name)
            .session(session)
            .challenge_responses("USERNAME", &challenge.username);
        if let Some((key, value)) = answer {
            request = request.challenge_responses(key, value);
        }
        if let Some(hash) = self.settings.secret_hash(&challenge.username) {
            request = request.challenge_responses("SECRET_HASH", hash);
        }
        let answered = request
            .send()
            .await
            .map_err(|e| classify(Step::Answer, e))?;
        self.outcome(
            &challenge.username,
            answered.authentication_result(),
            answered.challenge_name(),
            answered.session(),
        )
        .await
    }

    async fn ensure_group(&self, group: &str) -> Result<(), IdentityError> {
        match self
            .client
            .create_group()
            .user_pool_id(&self.settings.user_pool_id)
            .group_name(group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("GroupExistsException") => Ok(()),
            Err(e) => Err(classify(Step::Admin, e)),
        }
    }

    async fn groups_of(&self, username: &str) -> Result<Vec<String>, IdentityError> {
        let mut groups = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .admin_list_groups_for_user()
                .user_pool_id(&self.settings.user_pool_id)
                .username(username)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| classify(Step::Admin, e))?;
            groups.extend(
                page.groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        groups.sort();
        Ok(groups)
    }

    async fn directory_user(&self, username: &str) -> Result<DirectoryUser, IdentityError> {
        let user = self
            .client
            .admin_get_user()
            .user_pool_id(&self.settings.user_pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| classify(Step::Admin, e))?;
        Ok(DirectoryUser {
            username: user.username().to_owned(),
            enabled: user.enabled(),
            groups: self.groups_of(username).await?,
            status: user.user_status().map(|s| s.as_str().to_owned()),
        })
    }
}

#[async_trait::async_trait]
impl IdentityProvider for CognitoIdentity {
    async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, IdentityError> {
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.settings.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password);
        if let Some(hash) = self.settings.secret_hash(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| classify(Step::SignIn, e))?;
        self.outcome(
            username,
            answer.authentication_result(),
            answer.challenge_name(),
            answer.session(),
        )
        .await
    }

    async fn answer(
        &self,
        challenge: &Challenge,
        answer: &str,
    ) -> Result<LoginOutcome, IdentityError> {
        challenge
            .kind
            .check_answer(answer)
            .map_err(IdentityError::Invalid)?;
        let (name, key) = match challenge.kind {
            ChallengeKind::NewPassword => (ChallengeNameType::NewPasswordRequired, "NEW_PASSWORD"),
            ChallengeKind::TotpCode => (
                ChallengeNameType::SoftwareTokenMfa,
                "SOFTWARE_TOKEN_MFA_CODE",
            ),
            ChallengeKind::TotpSetup => {
                let verified = self
                    .client
                    .verify_software_token()
                    .session(&challenge.session)
                    .user_code(answer)
                    .friendly_device_name(AUTHENTICATOR_NAME)
                    .send()
                    .await
                    .map_err(|e| classify(Step::Answer, e))?;
                if verified.status() != Some(&VerifySoftwareTokenResponseType::Success) {
                    return Err(IdentityError::WrongCode);
                }
                let session = verified.session().unwrap_or(&challenge.session).to_owned();
                return self
                    .respond(challenge, ChallengeNameType::MfaSetup, &session, None)
                    .await;
            }
        };
        self.respond(challenge, name, &challenge.session, Some((key, answer)))
            .await
    }

    async fn refresh(
        &self,
        username: &str,
        refresh_token: &str,
    ) -> Result<AuthTokens, IdentityError> {
        let mut request = self
            .client
            .initiate_auth()
            .client_id(&self.settings.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token);
        if let Some(hash) = self.settings.secret_hash(username) {
            request = request.auth_parameters("SECRET_HASH", hash);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| classify(Step::Session, e))?;
        let result = answer
            .authentication_result()
            .ok_or_else(|| IdentityError::Unavailable("Cognito refreshed without tokens".into()))?;
        tokens(result)
    }

    async fn revoke(&self, refresh_token: &str) -> Result<(), IdentityError> {
        self.client
            .revoke_token()
            .client_id(&self.settings.client_id)
            .set_client_secret(self.settings.client_secret.clone())
            .token(refresh_token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(Step::Session, e))
    }

    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdentityError> {
        self.client
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(Step::Session, e))
    }

    async fn totp_enabled(&self, access_token: &str) -> Result<Option<bool>, IdentityError> {
        let user = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| classify(Step::Session, e))?;
        let enabled = user
            .user_mfa_setting_list()
            .iter()
            .any(|m| m == "SOFTWARE_TOKEN_MFA")
            || user.preferred_mfa_setting() == Some("SOFTWARE_TOKEN_MFA");
        Ok(Some(enabled))
    }

    async fn begin_totp(&self, access_token: &str) -> Result<String, IdentityError> {
        self.client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| classify(Step::Session, e))?
            .secret_code()
            .map(str::to_owned)
            .ok_or_else(|| IdentityError::Unavailable("Cognito gave no TOTP secret".into()))
    }

    async fn confirm_totp(&self, access_token: &str, code: &str) -> Result<(), IdentityError> {
        app::domain::check_totp_code(code).map_err(IdentityError::Invalid)?;
        let verified = self
            .client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .friendly_device_name(AUTHENTICATOR_NAME)
            .send()
            .await
            .map_err(|e| classify(Step::Answer, e))?;
        if verified.status() != Some(&VerifySoftwareTokenResponseType::Success) {
            return Err(IdentityError::WrongCode);
        }
        self.client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(
                SoftwareTokenMfaSettingsType::builder()
                    .enabled(true)
                    .preferred_mfa(true)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(Step::Session, e))
    }

    fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    fn client_id(&self) -> &str {
        &self.settings.client_id
    }
}

#[async_trait::async_trait]
impl UserDirectory for CognitoIdentity {
    async fn add_user(
        &self,
        username: &str,
        password: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError> {
        super::validate_username(username)?;
        super::validate_password(password)?;
        validate_groups(groups).map_err(IdentityError::Invalid)?;
        // No invitation mail: the administrator hands the temporary password over.
        self.client
            .admin_create_user()
            .user_pool_id(&self.settings.user_pool_id)
            .username(username)
            .temporary_password(password)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .map_err(|e| classify(Step::Admin, e))?;
        self.set_groups(username, groups).await
    }

    async fn set_password(&self, username: &str, password: &str) -> Result<(), IdentityError> {
        super::validate_password(password)?;
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.settings.user_pool_id)
            .username(username)
            .password(password)
            .permanent(false)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(Step::Admin, e))
    }

    async fn set_groups(
        &self,
        username: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError> {
        validate_groups(groups).map_err(IdentityError::Invalid)?;
        let current = self.groups_of(username).await?;
        for group in groups.iter().filter(|g| !current.contains(g)) {
            self.ensure_group(group).await?;
            self.client
                .admin_add_user_to_group()
                .user_pool_id(&self.settings.user_pool_id)
                .username(username)
                .group_name(group)
                .send()
                .await
                .map_err(|e| classify(Step::Admin, e))?;
        }
        for group in current.iter().filter(|g| !groups.contains(g)) {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(&self.settings.user_pool_id)
                .username(username)
                .group_name(group)
                .send()
                .await
                .map_err(|e| classify(Step::Admin, e))?;
        }
        self.directory_user(username).await
    }

    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<DirectoryUser, IdentityError> {
        let pool = &self.settings.user_pool_id;
        let changed = if enabled {
            self.client
                .admin_enable_user()
                .user_pool_id(pool)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(Step::Admin, e))
        } else {
            self.client
                .admin_disable_user()
                .user_pool_id(pool)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(Step::Admin, e))
        };
        changed?;
        self.directory_user(username).await
    }

    async fn list_users(&self) -> Result<Vec<DirectoryUser>, IdentityError> {
        let mut users = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users()
                .user_pool_id(&self.settings.user_pool_id)
                .set_pagination_token(next.take())
                .send()
                .await
                .map_err(|e| classify(Step::Admin, e))?;
            for user in page.users() {
                let Some(username) = user.username() else {
                    continue;
                };
                users.push(DirectoryUser {
                    username: username.to_owned(),
                    enabled: user.enabled(),
                    groups: self.groups_of(username).await?,
                    status: user.user_status().map(|s| s.as_str().to_owned()),
                });
            }
            match page.pagination_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    fn passwords_are_temporary(&self) -> bool {
        true
    }
}

/// The pool and client a local endpoint needs for the console when no pool is named (moto,
/// cognito-local; on AWS the template makes them): optional TOTP, and a confidential client (with
/// a secret) as the template's. Returns (pool id, client id, client secret).
pub async fn create_local_pool(
    region: &str,
    endpoint: &str,
    name: &str,
) -> Result<(String, String, Option<String>), IdentityError> {
    let config = crate::aws::sdk::config_loader(Some(region), Some(endpoint))
        .load()
        .await;
    let client = cognito::Client::new(&config);
    let pool = client
        .create_user_pool()
        .pool_name(name)
        .mfa_configuration(cognito::types::UserPoolMfaType::Optional)
        .send()
        .await
        .map_err(|e| classify(Step::Admin, e))?;
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .ok_or_else(|| IdentityError::Unavailable("no pool id".into()))?
        .to_owned();
    client
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .software_token_mfa_configuration(
            cognito::types::SoftwareTokenMfaConfigType::builder()
                .enabled(true)
                .build(),
        )
        .mfa_configuration(cognito::types::UserPoolMfaType::Optional)
        .send()
        .await
        .map_err(|e| classify(Step::Admin, e))?;
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("boxpilot-console")
        .generate_secret(true)
        .explicit_auth_flows(cognito::types::ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(cognito::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .map_err(|e| classify(Step::Admin, e))?;
    let client = app
        .user_pool_client()
        .ok_or_else(|| IdentityError::Unavailable("no app client".into()))?;
    let client_id = client
        .client_id()
        .ok_or_else(|| IdentityError::Unavailable("no client id".into()))?
        .to_owned();
    Ok((
        pool_id,
        client_id,
        client.client_secret().map(str::to_owned),
    ))
}
