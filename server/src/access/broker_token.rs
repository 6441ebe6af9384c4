//! Broker credentials for browser sessions: RS256 tokens signed by the server, at most 15 minutes,
//! naming the client-id prefix and topic filters derived from the caller's role and fleets.
use super::Principal;
use crate::identity::{
    Expectation, MqttGrant, SigningKeys, TokenClaims, TokenError, TokenVerifier,
};
use app::domain::topics::APP;
use app::domain::{BrokerCredential, Role};
use app::service::Caller;
use std::sync::Arc;

pub const BROKER_AUDIENCE: &str = "boxpilot-broker";
pub const BROKER_TOKEN_USE: &str = "broker";
/// The longest a broker credential lives.
pub const MAX_TTL_SECS: i64 = 15 * 60;

#[derive(Clone)]
pub struct BrokerTokens {
    keys: Arc<SigningKeys>,
    verifier: TokenVerifier,
    issuer: String,
    ttl_secs: i64,
    /// The WebSocket URL browsers connect to.
    public_url: String,
}

/// What a caller may watch and send over MQTT: the data of its fleets, and (operators and up) the
/// command requests of its fleets' boxes and their replies.
fn grant_for(caller: &Caller) -> (Vec<String>, Vec<String>) {
    let fleet_levels: Vec<String> = if caller.all_fleets {
        vec!["+".into()]
    } else {
        caller.fleets.iter().map(|f| f.to_string()).collect()
    };
    let mut subscribe = Vec::new();
    let mut publish = Vec::new();
    for fleet in &fleet_levels {
        subscribe.push(format!("dt/{APP}/{fleet}/+/+"));
        if caller.role >= Role::Operator {
            subscribe.push(format!("cmd/{APP}/{fleet}/+/resp"));
            publish.push(format!("cmd/{APP}/{fleet}/+/req"));
        }
    }
    (subscribe, publish)
}

impl BrokerTokens {
    pub fn new(keys: Arc<SigningKeys>, issuer: &str, public_url: &str, ttl_secs: i64) -> Self {
        Self {
            verifier: keys.verifier(issuer),
            keys,
            issuer: issuer.to_owned(),
            ttl_secs: ttl_secs.clamp(60, MAX_TTL_SECS),
            public_url: public_url.to_owned(),
        }
    }

    pub fn issue(&self, caller: &Caller) -> Result<BrokerCredential, String> {
        let (subscribe, publish) = grant_for(caller);
        let now = chrono::Utc::now().timestamp();
        let prefix = format!("console-{}-", caller.username);
        let suffix: u64 = rand::random();
        let claims = TokenClaims {
            sub: caller.sub.clone(),
            iss: self.issuer.clone(),
            token_use: BROKER_TOKEN_USE.into(),
            exp: now + self.ttl_secs,
            iat: now,
            nbf: Some(now),
            auth_time: None,
            jti: Some(uuid::Uuid::new_v4().to_string()),
            client_id: None,
            aud: Some(BROKER_AUDIENCE.into()),
            username: Some(caller.username.clone()),
            groups: Vec::new(),
            mqtt: Some(MqttGrant {
                client_id_prefix: prefix.clone(),
                subscribe: subscribe.clone(),
                publish: publish.clone(),
            }),
        };
        Ok(BrokerCredential {
            url: self.public_url.clone(),
            client_id: format!("{prefix}{suffix:016x}"),
            username: caller.username.clone(),
            password: self.keys.sign(&claims)?,
            expires_at: claims.exp * 1000,
            subscribe,
            publish,
        })
    }

    /// Checks a broker credential presented at CONNECT.
    pub async fn verify(
        &self,
        client_id: &str,
        username: &str,
        token: &str,
    ) -> Result<Principal, TokenError> {
        let expect = Expectation {
            token_use: BROKER_TOKEN_USE,
            audience: BROKER_AUDIENCE.into(),
        };
        let claims = self.verifier.verify(token, &expect).await?;
        let grant = claims.mqtt.ok_or(TokenError::MissingClaim)?;
        if claims.username.as_deref() != Some(username)
            || !client_id.starts_with(&grant.client_id_prefix)
        {
            return Err(TokenError::WrongAudience);
        }
        Ok(Principal::Console {
            username: username.to_owned(),
            client_id_prefix: grant.client_id_prefix,
            subscribe: grant.subscribe,
            publish: grant.publish,
            expires_at: claims.exp * 1000,
        })
    }
}
