//! Who may connect to the broker, and which topics each principal may use. The same rules decide
//! the embedded broker's ACL and (on AWS) the IoT Core custom authorizer's policy.
mod broker_auth;
mod broker_token;
mod device_secret;
mod principal;

pub use broker_auth::BrokerAccess;
pub use broker_token::{BrokerTokens, BROKER_AUDIENCE};
pub use device_secret::{device_secret_matches, hash_device_secret, new_device_secret};
pub use principal::Principal;
