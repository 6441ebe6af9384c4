use crate::identity::IdentityChoice;

/// Who signs people in: the built-in provider (users in the store) or a Cognito user pool.
#[derive(clap::Args, Debug, Clone)]
pub struct IdentityArgs {
    /// `builtin` (users in the store) or `cognito` (a user pool; a build with `--features aws`).
    #[arg(long, env = "BOXPILOT_IDENTITY", default_value = "builtin", value_parser = ["builtin", "cognito"])]
    pub identity: String,
    /// The Cognito user pool (`<region>_<id>`, deploy/template.yaml's UserPoolId output); its
    /// region is the pool's.
    #[arg(long, env = "BOXPILOT_COGNITO_USER_POOL_ID")]
    pub cognito_user_pool_id: Option<String>,
    /// The console's app client in that pool (USER_PASSWORD_AUTH and refresh allowed).
    #[arg(long, env = "BOXPILOT_COGNITO_CLIENT_ID")]
    pub cognito_client_id: Option<String>,
    /// The app client's secret when it has one (deploy/template.yaml's client does: `aws
    /// cognito-idp describe-user-pool-client ... --query UserPoolClient.ClientSecret`).
    #[arg(long, env = "BOXPILOT_COGNITO_CLIENT_SECRET", hide_env_values = true)]
    pub cognito_client_secret: Option<String>,
    /// A Cognito-compatible endpoint (moto, cognito-local). Without a pool id, `serve` creates a
    /// pool and client there and prints them.
    #[arg(long, env = "BOXPILOT_COGNITO_ENDPOINT")]
    pub cognito_endpoint: Option<String>,
}

/// The region of a pool id (`eu-west-1_AbC123`); local endpoints default to us-east-1.
fn pool_region(pool: Option<&str>) -> String {
    pool.and_then(|p| p.split_once('_'))
        .map(|(region, _)| region.to_owned())
        .unwrap_or_else(|| "us-east-1".into())
}

impl IdentityArgs {
    pub fn choice(&self) -> Result<IdentityChoice, String> {
        if self.identity != "cognito" {
            let stray = self.cognito_user_pool_id.is_some()
                || self.cognito_client_id.is_some()
                || self.cognito_client_secret.is_some()
                || self.cognito_endpoint.is_some();
            if stray {
                return Err("--cognito-* flags need --identity cognito".into());
            }
            return Ok(IdentityChoice::Builtin);
        }
        if self.cognito_user_pool_id.is_some() != self.cognito_client_id.is_some() {
            return Err(
                "--identity cognito needs both --cognito-user-pool-id and --cognito-client-id"
                    .into(),
            );
        }
        if self.cognito_user_pool_id.is_none() && self.cognito_endpoint.is_none() {
            return Err("--identity cognito needs --cognito-user-pool-id and --cognito-client-id (deploy/template.yaml's outputs)".into());
        }
        Ok(IdentityChoice::Cognito {
            region: pool_region(self.cognito_user_pool_id.as_deref()),
            user_pool_id: self.cognito_user_pool_id.clone(),
            client_id: self.cognito_client_id.clone(),
            client_secret: self.cognito_client_secret.clone(),
            endpoint: self.cognito_endpoint.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(identity: &str, pool: Option<&str>, client: Option<&str>) -> IdentityArgs {
        IdentityArgs {
            identity: identity.into(),
            cognito_user_pool_id: pool.map(str::to_owned),
            cognito_client_id: client.map(str::to_owned),
            cognito_client_secret: None,
            cognito_endpoint: None,
        }
    }

    #[test]
    fn a_pool_names_its_region() {
        assert_eq!(
            args("cognito", Some("eu-west-1_AbC"), Some("c1")).choice(),
            Ok(IdentityChoice::Cognito {
                user_pool_id: Some("eu-west-1_AbC".into()),
                client_id: Some("c1".into()),
                client_secret: None,
                region: "eu-west-1".into(),
                endpoint: None,
            })
        );
    }

    #[test]
    fn incomplete_cognito_flags_are_refused() {
        assert!(args("cognito", None, None).choice().is_err());
        assert!(args("cognito", Some("eu-west-1_AbC"), None)
            .choice()
            .is_err());
        assert!(args("builtin", Some("eu-west-1_AbC"), Some("c"))
            .choice()
            .is_err());
        assert_eq!(
            args("builtin", None, None).choice(),
            Ok(IdentityChoice::Builtin)
        );
    }
}
