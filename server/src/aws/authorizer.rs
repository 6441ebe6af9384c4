//! The IoT Core custom authorizer: a browser session connects over MQTT-over-WebSocket with the
//! broker credential the server issued (`BrokerTokens::issue`); IoT Core hands the Lambda the
//! MQTT CONNECT's client id, username and password (base64), and the Lambda answers with the IoT
//! policy equivalent to the embedded broker's ACL for that credential.
//!
//! The check is the embedded broker's own (`BrokerTokens::verify`: RS256, issuer, audience,
//! `token_use`, expiry, username and client-id prefix). Boxes connect with X.509 certificates and
//! never reach the authorizer; a non-console client id is refused here.
use super::iot_policy::{policy_for, PolicyContext, PolicyOptions};
use crate::access::{BrokerTokens, Principal};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The request IoT Core sends (custom-auth-lambda.html); only the MQTT part is used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerRequest {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub signature_verified: bool,
    #[serde(default)]
    pub protocols: Vec<String>,
    #[serde(default)]
    pub protocol_data: ProtocolData,
    #[serde(default)]
    pub connection_metadata: Option<ConnectionMetadata>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProtocolData {
    #[serde(default)]
    pub mqtt: Option<MqttData>,
    #[serde(default)]
    pub tls: Option<Value>,
    #[serde(default)]
    pub http: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttData {
    #[serde(default)]
    pub username: Option<String>,
    /// Base64 of the CONNECT password bytes.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectionMetadata {
    #[serde(default)]
    pub id: Option<String>,
}

/// The answer IoT Core expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub is_authenticated: bool,
    /// `[A-Za-z0-9]{1,128}`.
    pub principal_id: String,
    pub disconnect_after_in_seconds: i64,
    pub refresh_after_in_seconds: i64,
    pub policy_documents: Vec<Value>,
}

/// IoT Core's bounds on both durations.
pub const MIN_SECONDS: i64 = 300;
pub const MAX_SECONDS: i64 = 86_400;
/// IoT Core's bounds on the returned policies.
pub const MAX_POLICY_DOCUMENTS: usize = 10;
pub const MAX_POLICY_CHARS: usize = 2048;

/// Why a connection is refused (logged; IoT Core only sees `isAuthenticated: false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an MQTT connection (no protocolData.mqtt)")]
    NotMqtt,
    #[error("no {0} in the CONNECT")]
    Missing(&'static str),
    #[error("password is not base64 of a UTF-8 token")]
    BadPassword,
    #[error("client id {0:?} is not a console session (boxes use X.509 certificates)")]
    NotConsole(String),
    #[error("broker credential refused: {0}")]
    Credential(String),
    #[error("the grant needs more than {MAX_POLICY_DOCUMENTS} policy documents")]
    GrantTooLarge,
}

pub struct Authorizer {
    tokens: BrokerTokens,
    context: PolicyContext,
    options: PolicyOptions,
}

impl Authorizer {
    pub fn new(tokens: BrokerTokens, context: PolicyContext, options: PolicyOptions) -> Self {
        Self {
            tokens,
            context,
            options,
        }
    }

    /// Decides on one CONNECT. `now_ms`: the current time (ms since the epoch).
    pub async fn authorize(&self, request: &AuthorizerRequest, now_ms: i64) -> AuthorizerResponse {
        match self.check(request, now_ms).await {
            Ok(response) => response,
            Err(refusal) => {
                let connection = request
                    .connection_metadata
                    .as_ref()
                    .and_then(|m| m.id.as_deref())
                    .unwrap_or("-");
                tracing::info!(connection, reason = %refusal, "IoT connection refused");
                denied()
            }
        }
    }

    /// The decision with the reason of a refusal.
    pub async fn check(
        &self,
        request: &AuthorizerRequest,
        now_ms: i64,
    ) -> Result<AuthorizerResponse, Refusal> {
        let mqtt = request
            .protocol_data
            .mqtt
            .as_ref()
            .ok_or(Refusal::NotMqtt)?;
        let client_id = mqtt
            .client_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(Refusal::Missing("client id"))?;
        // Over MQTT on port 443 the authorizer's name travels in the username's query string
        // (`ann?x-amz-customauthorizer-name=...`); it is not part of the user's name.
        let username = mqtt
            .username
            .as_deref()
            .map(|u| u.split('?').next().unwrap_or_default())
            .filter(|u| !u.is_empty())
            .ok_or(Refusal::Missing("username"))?;
        let password = mqtt
            .password
            .as_deref()
            .ok_or(Refusal::Missing("password"))?;
        let token = base64::engine::general_purpose::STANDARD
            .decode(password.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(Refusal::BadPassword)?;
        if !client_id.starts_with("console-") {
            return Err(Refusal::NotConsole(client_id.to_owned()));
        }
        let principal = self
            .tokens
            .verify(client_id, username, &token)
            .await
            .map_err(|e| Refusal::Credential(e.to_string()))?;
        let Principal::Console { expires_at, .. } = &principal else {
            return Err(Refusal::NotConsole(client_id.to_owned()));
        };
        let policy = policy_for(&principal, &self.context, self.options);
        let documents = split_policy(&policy).ok_or(Refusal::GrantTooLarge)?;
        // Disconnect when the credential expires (IoT Core's floor is 5 minutes; the browser
        // renews its credential and reconnects before that anyway).
        let remaining = (expires_at - now_ms).div_euclid(1000);
        Ok(AuthorizerResponse {
            is_authenticated: true,
            principal_id: principal_id(username),
            disconnect_after_in_seconds: remaining.clamp(MIN_SECONDS, MAX_SECONDS),
            refresh_after_in_seconds: MIN_SECONDS,
            policy_documents: documents,
        })
    }
}

/// A refusal as IoT Core expects it.
pub fn denied() -> AuthorizerResponse {
    AuthorizerResponse {
        is_authenticated: false,
        principal_id: "denied".into(),
        disconnect_after_in_seconds: MIN_SECONDS,
        refresh_after_in_seconds: MIN_SECONDS,
        policy_documents: Vec::new(),
    }
}

/// `user` + the username's letters and digits (at most 80) + 16 hex digits of its SHA-256: IoT
/// Core allows only `[A-Za-z0-9]{1,128}`, and two usernames differing in other characters stay
/// distinct. It shows up as `principal()` in rules and in IoT logs.
pub fn principal_id(username: &str) -> String {
    let readable: String = username
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(80)
        .collect();
    let digest = Sha256::digest(username.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("user{readable}{hash}")
}

/// Splits a policy into documents of at most `MAX_POLICY_CHARS` characters each (a user of many
/// fleets has many resources); `None` when more than `MAX_POLICY_DOCUMENTS` would be needed.
pub fn split_policy(policy: &Value) -> Option<Vec<Value>> {
    let fits = |doc: &Value| doc.to_string().len() <= MAX_POLICY_CHARS;
    if fits(policy) {
        return Some(vec![policy.clone()]);
    }
    let doc = |statements: Vec<Value>| serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
    let mut documents = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    for statement in policy["Statement"].as_array()? {
        let action = statement["Action"].clone();
        for resource in statement["Resource"].as_array()? {
            let single =
                serde_json::json!({ "Effect": "Allow", "Action": action, "Resource": [resource] });
            // Add to the last statement of the same action if it still fits, else open a new one.
            let mut tried = current.clone();
            match tried.last_mut() {
                Some(last) if last["Action"] == action => {
                    last["Resource"].as_array_mut()?.push(resource.clone())
                }
                _ => tried.push(single.clone()),
            }
            if fits(&doc(tried.clone())) {
                current = tried;
            } else {
                if current.is_empty() {
                    return None;
                }
                documents.push(doc(std::mem::take(&mut current)));
                current.push(single);
            }
        }
    }
    if !current.is_empty() {
        documents.push(doc(current));
    }
    (documents.len() <= MAX_POLICY_DOCUMENTS).then_some(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_ids_are_alphanumeric_and_distinct() {
        let a = principal_id("ann.smith@example.com");
        let b = principal_id("ann_smith@example.com");
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert!(
                id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{id}"
            );
        }
        assert!(a.starts_with("userannsmithexamplecom"));
        assert!(principal_id(&"x".repeat(500)).len() <= 128);
    }

    #[test]
    fn large_grants_are_split_under_the_size_limit() {
        let resources: Vec<String> = (0..150)
            .map(|i| {
                format!(
                    "arn:aws:iot:eu-west-1:123456789012:topicfilter/dt/boxpilot/fleet-{i:03}/*/*"
                )
            })
            .collect();
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": ["arn:aws:iot:eu-west-1:123456789012:client/console-ann-*"]},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": resources},
        ]});
        let docs = split_policy(&policy).unwrap();
        assert!(docs.len() > 1 && docs.len() <= MAX_POLICY_DOCUMENTS);
        let mut seen = 0;
        for d in &docs {
            assert!(d.to_string().len() <= MAX_POLICY_CHARS);
            for s in d["Statement"].as_array().unwrap() {
                if s["Action"] == "iot:Subscribe" {
                    seen += s["Resource"].as_array().unwrap().len();
                }
            }
        }
        assert_eq!(seen, 150);
        let huge: Vec<String> = (0..2000).map(|i| format!("topic/{i:05}")).collect();
        let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "iot:Receive", "Resource": huge}]});
        assert_eq!(split_policy(&policy), None);
    }
}
