//! The Cognito identity adapter against cognito-local, for what moto server does not implement:
//! RevokeToken (`CognitoIdentity::revoke`, called at logout). The rest of the adapter is tested
//! against moto in `identity_cognito.rs`.
//!
//! No JWKS check here: cognito-local signs with a key shipped in its package and issues
//! `iss = http://<host>:<port>/<pool>`, not AWS's `https://cognito-idp.<region>.amazonaws.com/<pool>`,
//! so the strict verifier would (rightly) reject its tokens.
#![cfg(feature = "aws")]
use aws_sdk_cognitoidentityprovider as cognito;
use base64::Engine;
use boxpilot::identity::{
    AuthTokens, ChallengeKind, CognitoIdentity, CognitoSettings, IdentityError, IdentityProvider,
    LoginOutcome, UserDirectory,
};
use boxpilot::testing::cognito_local::{self, REGION};
use cognito::types::ExplicitAuthFlowsType;

/// A new pool (id `local_…`) and an app client allowing password sign-in and refresh, made with
/// the SDK, and the adapter on them.
async fn pool() -> (CognitoIdentity, String) {
    let config = boxpilot::aws::sdk::config_loader(Some(REGION), Some(cognito_local::endpoint()))
        .load()
        .await;
    let sdk = cognito::Client::new(&config);
    let created = sdk
        .create_user_pool()
        .pool_name("boxpilot-test")
        .send()
        .await
        .expect("pool created");
    let pool_id = created
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    assert!(
        pool_id.starts_with(&format!("{REGION}_")),
        "cognito-local pool ids are local_<id>, got {pool_id}"
    );
    let app = sdk
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("boxpilot-console")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("app client created");
    let client_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    let id = CognitoIdentity::connect(CognitoSettings {
        user_pool_id: pool_id.clone(),
        client_id,
        client_secret: None,
        region: REGION.into(),
        endpoint: Some(cognito_local::endpoint().into()),
    })
    .await
    .expect("connects");
    (id, pool_id)
}

fn tokens(outcome: LoginOutcome) -> AuthTokens {
    match outcome {
        LoginOutcome::Tokens(t) => t,
        LoginOutcome::Challenge(c) => panic!("expected tokens, got {:?}", c.kind),
    }
}

/// The `iss` claim of a JWT, read without checking anything.
fn issuer(jwt: &str) -> String {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["iss"].as_str().expect("iss").to_owned()
}

#[tokio::test]
async fn a_revoked_refresh_token_no_longer_refreshes() {
    let (id, pool_id) = pool().await;
    id.add_user(
        "ana",
        "Temporary-Pass-1",
        &["operator".into(), "fleet:north".into()],
    )
    .await
    .expect("user added");

    let asked = match id.login("ana", "Temporary-Pass-1").await.expect("signs in") {
        LoginOutcome::Challenge(c) => c,
        LoginOutcome::Tokens(_) => panic!("a temporary password must ask for a new one"),
    };
    assert_eq!(asked.kind, ChallengeKind::NewPassword);
    tokens(
        id.answer(&asked, "Ana-Own-Password-1")
            .await
            .expect("answered"),
    );
    // cognito-local 5.3.0 does not record the refresh token it issues in answer to a challenge
    // (only InitiateAuth's), so that one neither refreshes nor revokes there: sign in again.
    let issued = tokens(
        id.login("ana", "Ana-Own-Password-1")
            .await
            .expect("signs in"),
    );
    let refresh_token = issued.refresh_token.expect("a refresh token");

    // Why the tokens are not verified here (see the top of the file).
    assert_eq!(
        issuer(&issued.access_token),
        format!("{}/{pool_id}", cognito_local::endpoint())
    );
    assert_ne!(issuer(&issued.access_token), id.settings().issuer());

    let refreshed = id.refresh("ana", &refresh_token).await.expect("refreshes");
    assert!(!refreshed.access_token.is_empty());
    assert!(!refreshed.id_token.is_empty());

    // Another session of the same user, to check that revocation is per token.
    let other = tokens(
        id.login("ana", "Ana-Own-Password-1")
            .await
            .expect("signs in"),
    )
    .refresh_token
    .expect("a refresh token");

    id.revoke(&refresh_token).await.expect("revoked");
    assert_eq!(
        id.refresh("ana", &refresh_token).await,
        Err(IdentityError::BadCredentials)
    );
    id.refresh("ana", &other)
        .await
        .expect("the other session still refreshes");

    // cognito-local answers NotAuthorizedException for a token it does not know (one already
    // revoked, or one it never issued), which the adapter reads as bad credentials. Real Cognito
    // is not asserted here.
    assert_eq!(
        id.revoke(&refresh_token).await,
        Err(IdentityError::BadCredentials)
    );
    assert_eq!(
        id.revoke("not-a-refresh-token").await,
        Err(IdentityError::BadCredentials)
    );
}
