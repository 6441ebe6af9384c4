use super::{TokenError, TokenVerifier};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Tokens(AuthTokens),
    /// A further step (new password, TOTP) named as Cognito names it, with its session.
    Challenge {
        name: String,
        session: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("user is disabled")]
    Disabled,
    #[error("{0}")]
    InvalidToken(#[from] TokenError),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

/// The identity port: the built-in provider and Cognito implement it.
#[async_trait::async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, IdentityError>;
    async fn refresh(
        &self,
        username: &str,
        refresh_token: &str,
    ) -> Result<AuthTokens, IdentityError>;
    /// Revokes the refresh token (and with it the session's future access tokens).
    async fn revoke(&self, refresh_token: &str) -> Result<(), IdentityError>;
    /// The verifier for this provider's access tokens.
    fn verifier(&self) -> &TokenVerifier;
    /// The client id access tokens must name.
    fn client_id(&self) -> &str;
}
