use super::{TokenError, TokenVerifier};
pub use app::domain::ChallengeKind;

/// Tokens as Cognito's InitiateAuth returns them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthTokens {
    pub access_token: String,
    pub id_token: String,
    /// Absent on refresh (Cognito does not rotate refresh tokens by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    pub token_type: String,
}

/// A question the identity provider asks before it gives tokens, with its opaque session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Challenge {
    pub kind: ChallengeKind,
    pub username: String,
    pub session: String,
    /// The new authenticator's secret (base32), for `TotpSetup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Tokens(AuthTokens),
    Challenge(Challenge),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("user is disabled")]
    Disabled,
    #[error("that code is not right: enter the current 6-digit code of your authenticator app")]
    WrongCode,
    #[error("this sign-in took too long and has expired: start again")]
    ChallengeExpired,
    #[error("{0}")]
    InvalidToken(#[from] TokenError),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

/// The identity port: the built-in provider and Cognito implement it.
#[async_trait::async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, IdentityError>;
    /// Answers a challenge (a new password, a TOTP code): tokens or the next challenge.
    async fn answer(
        &self,
        challenge: &Challenge,
        answer: &str,
    ) -> Result<LoginOutcome, IdentityError>;
    async fn refresh(
        &self,
        username: &str,
        refresh_token: &str,
    ) -> Result<AuthTokens, IdentityError>;
    /// Revokes the refresh token (and with it the session's future access tokens).
    async fn revoke(&self, refresh_token: &str) -> Result<(), IdentityError>;
    /// Revokes every refresh token of the access token's user (all devices).
    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), IdentityError>;
    /// Whether the user signs in with an authenticator app; `None` when this provider has none.
    async fn totp_enabled(&self, access_token: &str) -> Result<Option<bool>, IdentityError>;
    /// Starts adding an authenticator app: its secret (base32).
    async fn begin_totp(&self, access_token: &str) -> Result<String, IdentityError>;
    /// Checks the app's first code and makes it required at sign-in.
    async fn confirm_totp(&self, access_token: &str, code: &str) -> Result<(), IdentityError>;
    /// The verifier for this provider's access tokens.
    fn verifier(&self) -> &TokenVerifier;
    /// The client id access tokens must name.
    fn client_id(&self) -> &str;
}

/// A user as the administration commands list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub username: String,
    pub enabled: bool,
    pub groups: Vec<String>,
    /// The provider's account state (`CONFIRMED`, `FORCE_CHANGE_PASSWORD`, ...), when it has one.
    pub status: Option<String>,
}

/// User administration (`boxpilot user ...`): the built-in provider's store or a Cognito pool.
#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync {
    /// Adds a user with a password; on Cognito the password is temporary (changed at first sign-in).
    async fn add_user(
        &self,
        username: &str,
        password: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError>;
    async fn set_password(&self, username: &str, password: &str) -> Result<(), IdentityError>;
    async fn set_groups(
        &self,
        username: &str,
        groups: &[String],
    ) -> Result<DirectoryUser, IdentityError>;
    async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<DirectoryUser, IdentityError>;
    async fn list_users(&self) -> Result<Vec<DirectoryUser>, IdentityError>;
    /// Whether a new password must be changed at the first sign-in (Cognito's temporary passwords).
    fn passwords_are_temporary(&self) -> bool;
}
