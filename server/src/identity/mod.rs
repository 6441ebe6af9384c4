//! Identity: the `IdentityProvider` port (built-in here, Cognito on AWS with feature `aws`), the strict token
//! verifier both share, and the mapping from groups to roles and fleets.
mod authenticator;
mod builtin;
mod choice;
mod claims;
#[cfg(feature = "aws")]
mod cognito;
mod groups;
mod jwks;
mod keys;
mod password;
mod provider;
mod verifier;

pub use authenticator::{otpauth_uri, totp_setup};
pub use builtin::{
    sha256_hex, validate_password, validate_username, BuiltinIdentity, BuiltinSettings,
};
pub use choice::{IdentityChoice, OpenedIdentity};
pub use claims::{MqttGrant, TokenClaims};
#[cfg(feature = "aws")]
pub use cognito::{create_local_pool, CognitoIdentity, CognitoSettings};
pub use groups::{caller_from_claims, fleet_group, validate_groups};
pub use jwks::JwksKeys;
pub use keys::SigningKeys;
pub use password::{hash_password, random_password, verify_password};
pub use provider::{
    AuthTokens, Challenge, ChallengeKind, DirectoryUser, IdentityError, IdentityProvider,
    LoginOutcome, UserDirectory,
};
pub use verifier::{Expectation, KeySource, StaticKeys, TokenError, TokenVerifier};
