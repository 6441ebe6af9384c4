//! The one strict token verifier, for the built-in provider's tokens, Cognito's and broker
//! credentials: RS256 only, a known `kid`, signature, `exp` and `nbf`, `iss`, the audience
//! (`client_id` for access tokens, `aud` otherwise) and `token_use`.
use super::TokenClaims;
use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm {0} is not allowed (RS256 only)")]
    AlgorithmNotAllowed(String),
    #[error("token has no key id")]
    MissingKeyId,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was issued by another issuer")]
    WrongIssuer,
    #[error("token was issued for another client")]
    WrongAudience,
    #[error("token is a {found} token, expected {expected}")]
    WrongTokenUse { expected: String, found: String },
    #[error("token is missing a required claim")]
    MissingClaim,
}

/// Where the verifier finds public keys by `kid` (a fixed set, or a JWKS URL with a cache).
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    async fn key(&self, kid: &str) -> Option<DecodingKey>;
}

/// Keys known at start-up (the built-in provider's own).
pub struct StaticKeys(pub HashMap<String, DecodingKey>);

#[async_trait::async_trait]
impl KeySource for StaticKeys {
    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.0.get(kid).cloned()
    }
}

/// What a token must be to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub token_use: &'static str,
    /// Checked against `client_id` for access tokens, `aud` for every other kind.
    pub audience: String,
}

impl Expectation {
    pub fn access(client_id: &str) -> Self {
        Self {
            token_use: "access",
            audience: client_id.to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct TokenVerifier {
    issuer: String,
    keys: Arc<dyn KeySource>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    leeway: u64,
}

impl TokenVerifier {
    pub fn new(issuer: impl Into<String>, keys: Arc<dyn KeySource>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
            leeway: 5,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub async fn verify(
        &self,
        token: &str,
        expect: &Expectation,
    ) -> Result<TokenClaims, TokenError> {
        // An `alg` outside jsonwebtoken's list (`none` among them) fails to parse here.
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let key = self.keys.key(&kid).await.ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.validate_aud = false; // checked below: access tokens name the client in `client_id`
        validation.leeway = self.leeway;
        let claims = decode::<TokenClaims>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
                ErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAllowed("mismatch".into()),
                _ => TokenError::Malformed,
            })?
            .claims;

        if claims.token_use != expect.token_use {
            return Err(TokenError::WrongTokenUse {
                expected: expect.token_use.into(),
                found: claims.token_use,
            });
        }
        let audience = if expect.token_use == "access" {
            &claims.client_id
        } else {
            &claims.aud
        };
        if audience.as_deref() != Some(expect.audience.as_str()) {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}
