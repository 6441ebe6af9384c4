//! The embedded broker's authenticator: boxes by their secret, browser sessions by their broker
//! credential. No anonymous access.
use super::{device_secret_matches, BrokerTokens, Principal};
use crate::broker::{BrokerAuthenticator, ConnectRefusal};
use crate::store::Store;
use app::domain::DeviceId;
use std::sync::Arc;

pub struct BrokerAccess {
    store: Arc<dyn Store>,
    tokens: BrokerTokens,
}

impl BrokerAccess {
    pub fn new(store: Arc<dyn Store>, tokens: BrokerTokens) -> Self {
        Self { store, tokens }
    }
}

#[async_trait::async_trait]
impl BrokerAuthenticator for BrokerAccess {
    async fn authenticate(
        &self,
        client_id: &str,
        username: &str,
        password: &[u8],
    ) -> Result<Principal, ConnectRefusal> {
        // Browser sessions use `console-<user>-<random>` client ids and a signed token.
        if client_id.starts_with("console-") {
            let token =
                std::str::from_utf8(password).map_err(|_| ConnectRefusal::BadCredentials)?;
            return self
                .tokens
                .verify(client_id, username, token)
                .await
                .map_err(|e| {
                    tracing::info!(client_id, error = %e, "broker credential refused");
                    ConnectRefusal::BadCredentials
                });
        }
        // A box connects with its id as both client id and username.
        if client_id != username {
            return Err(ConnectRefusal::NotAuthorized);
        }
        let id = DeviceId::parse(username).map_err(|_| ConnectRefusal::BadCredentials)?;
        let device = match self.store.get_device(&id).await {
            Ok(Some(d)) => d,
            Ok(None) => return Err(ConnectRefusal::BadCredentials),
            Err(e) => {
                tracing::error!(error = %e, "store unavailable during MQTT authentication");
                return Err(ConnectRefusal::Unavailable);
            }
        };
        if !device_secret_matches(password, &device.secret_hash) {
            return Err(ConnectRefusal::BadCredentials);
        }
        Ok(Principal::Device {
            fleet: device.fleet,
            device: device.id,
        })
    }
}
