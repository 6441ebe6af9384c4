//! Who may connect to the broker, and which topics each principal may use. The same rules decide
//! the embedded broker's ACL and (on AWS) the IoT Core custom authorizer's policy.
mod broker_token;
mod principal;

pub use broker_token::{BrokerTokenClaims, BrokerTokens};
pub use principal::Principal;
