//! Which identity provider a server runs with: the built-in one over the store, or a Cognito
//! pool (a build with the `aws` feature), with what both give the runtime.
use super::{
    BuiltinIdentity, BuiltinSettings, IdentityError, IdentityProvider, SigningKeys, UserDirectory,
};
use crate::store::Store;
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IdentityChoice {
    /// Users in the store, tokens signed with the server's key.
    #[default]
    Builtin,
    Cognito {
        /// `None` with a local `endpoint`: a pool and app client are created at start (moto,
        /// cognito-local). On AWS the template creates them.
        user_pool_id: Option<String>,
        client_id: Option<String>,
        /// The app client's secret, when it has one (the template's client does).
        client_secret: Option<String>,
        region: String,
        /// A Cognito-compatible endpoint instead of the region's.
        endpoint: Option<String>,
    },
}

/// The identity provider in use, its user administration, and the built-in provider when it is
/// the one (it creates the first admin).
pub struct OpenedIdentity {
    pub provider: Arc<dyn IdentityProvider>,
    pub users: Arc<dyn UserDirectory>,
    pub builtin: Option<Arc<BuiltinIdentity>>,
    pub description: String,
    /// Where a remote provider serves its signing keys (the readiness check fetches it).
    pub jwks_url: Option<String>,
}

impl IdentityChoice {
    pub async fn open(
        &self,
        store: Arc<dyn Store>,
        keys: Arc<SigningKeys>,
        public_url: &str,
    ) -> Result<OpenedIdentity, IdentityError> {
        match self {
            IdentityChoice::Builtin => {
                let builtin = Arc::new(BuiltinIdentity::new(
                    store,
                    keys,
                    BuiltinSettings::new(public_url),
                ));
                Ok(OpenedIdentity {
                    provider: builtin.clone(),
                    users: builtin.clone(),
                    builtin: Some(builtin),
                    description: "built-in".into(),
                    jwks_url: None,
                })
            }
            #[cfg(feature = "aws")]
            IdentityChoice::Cognito {
                user_pool_id,
                client_id,
                client_secret,
                region,
                endpoint,
            } => {
                let (user_pool_id, client_id, client_secret) = match (user_pool_id, client_id, endpoint) {
                    (Some(pool), Some(client), _) => {
                        (pool.clone(), client.clone(), client_secret.clone())
                    }
                    (None, None, Some(endpoint)) => {
                        let created =
                            super::create_local_pool(region, endpoint, "boxpilot").await?;
                        tracing::info!(pool = %created.0, client = %created.1, "Cognito pool created on the local endpoint");
                        created
                    }
                    _ => {
                        return Err(IdentityError::Invalid(
                            "--identity cognito needs --cognito-user-pool-id and --cognito-client-id (deploy/template.yaml's outputs); only a local --cognito-endpoint may go without, and then gets a new pool".into(),
                        ))
                    }
                };
                let settings = super::CognitoSettings {
                    user_pool_id,
                    client_id,
                    client_secret,
                    region: region.clone(),
                    endpoint: endpoint.clone(),
                };
                let description = format!(
                    "Cognito pool {} (client {}){}",
                    settings.user_pool_id,
                    settings.client_id,
                    endpoint
                        .as_ref()
                        .map(|e| format!(" at {e}"))
                        .unwrap_or_default()
                );
                let jwks_url = Some(settings.jwks_url());
                let cognito = Arc::new(super::CognitoIdentity::connect(settings).await?);
                Ok(OpenedIdentity {
                    provider: cognito.clone(),
                    users: cognito,
                    builtin: None,
                    jwks_url,
                    description,
                })
            }
            #[cfg(not(feature = "aws"))]
            IdentityChoice::Cognito { .. } => Err(IdentityError::Unsupported(
                "this boxpilot was built without Cognito support: build it with `--features aws`"
                    .into(),
            )),
        }
    }
}
