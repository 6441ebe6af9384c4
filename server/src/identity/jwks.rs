//! Public keys from a JWKS URL (Cognito's `<issuer>/.well-known/jwks.json`): cached, fetched
//! again when a token names an unknown `kid` (keys rotate), at most once per `min_refetch` so
//! that tokens with made-up key ids cannot make the server hammer the identity provider.
use super::KeySource;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub struct JwksKeys {
    url: String,
    http: reqwest::Client,
    min_refetch: Duration,
    state: Mutex<JwksState>,
}

#[derive(Default)]
struct JwksState {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    fetches: u64,
}

impl JwksKeys {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            min_refetch: Duration::from_secs(10),
            state: Mutex::new(JwksState::default()),
        }
    }

    /// The shortest time between two fetches (10 s by default).
    pub fn with_min_refetch(mut self, every: Duration) -> Self {
        self.min_refetch = every;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many times the key set was fetched (tests and diagnostics).
    pub async fn fetches(&self) -> u64 {
        self.state.lock().await.fetches
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("cannot fetch the signing keys at {}: {e}", self.url))?
            .json()
            .await
            .map_err(|e| format!("the signing keys at {} are not a JWKS: {e}", self.url))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, key);
                }
                Err(e) => tracing::warn!(kid, error = %e, "unusable key in the JWKS skipped"),
            }
        }
        Ok(keys)
    }
}

#[async_trait::async_trait]
impl KeySource for JwksKeys {
    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let mut state = self.state.lock().await;
        if let Some(key) = state.keys.get(kid) {
            return Some(key.clone());
        }
        let may_fetch = state
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.min_refetch);
        if !may_fetch {
            return None;
        }
        state.fetched_at = Some(Instant::now());
        state.fetches += 1;
        match self.fetch().await {
            Ok(keys) => state.keys = keys,
            // Keep the keys we had: the provider may be briefly unreachable.
            Err(e) => tracing::warn!(error = %e, "JWKS not refreshed"),
        }
        state.keys.get(kid).cloned()
    }
}
