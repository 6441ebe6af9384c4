use serde::{Deserialize, Serialize};

/// The claims of Cognito's tokens that boxpilot reads and, for the built-in provider, writes.
/// Access tokens carry `client_id` and `username`; ID tokens carry `aud` and `cognito:username`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    pub iss: String,
    pub token_use: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(
        default,
        rename = "username",
        alias = "cognito:username",
        skip_serializing_if = "Option::is_none"
    )]
    pub username: Option<String>,
    #[serde(
        default,
        rename = "cognito:groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// Only in broker credentials: what the MQTT connection may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttGrant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttGrant {
    pub client_id_prefix: String,
    pub subscribe: Vec<String>,
    pub publish: Vec<String>,
}
