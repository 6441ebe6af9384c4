//! Identity: the `IdentityProvider` port (built-in here, Cognito on AWS), the strict token
//! verifier both share, and the mapping from groups to roles and fleets.
mod builtin;
mod claims;
mod groups;
mod keys;
mod password;
mod provider;
mod verifier;

pub use builtin::{
    sha256_hex, validate_password, validate_username, BuiltinIdentity, BuiltinSettings,
};
pub use claims::{MqttGrant, TokenClaims};
pub use groups::{caller_from_claims, fleet_group, validate_groups};
pub use keys::SigningKeys;
pub use password::{hash_password, random_password, verify_password};
pub use provider::{AuthTokens, IdentityError, IdentityProvider, LoginOutcome};
pub use verifier::{Expectation, KeySource, StaticKeys, TokenError, TokenVerifier};
