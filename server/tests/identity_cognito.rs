//! The Cognito identity adapter against moto server (Cognito with TOTP checks on): sign-in and
//! each challenge, authenticator apps, refresh, global sign-out, disabled users, user
//! administration, and the strict verifier over the pool's JWKS (another pool, another client,
//! an unknown key, the wrong token use).
#![cfg(feature = "aws")]
use aws_sdk_cognitoidentityprovider as cognito;
use boxpilot::identity::{
    caller_from_claims, create_local_pool, AuthTokens, Challenge, ChallengeKind, CognitoIdentity,
    CognitoSettings, Expectation, IdentityError, IdentityProvider, JwksKeys, LoginOutcome,
    TokenError, TokenVerifier, UserDirectory,
};
use boxpilot::testing::moto;
use std::sync::Arc;
use std::time::Duration;

async fn sdk() -> cognito::Client {
    let config = boxpilot::aws::sdk::config_loader(Some(moto::REGION), Some(moto::endpoint()))
        .load()
        .await;
    cognito::Client::new(&config)
}

/// A pool with optional TOTP (as `--identity cognito` creates locally) and its console client.
async fn optional_mfa_pool() -> CognitoIdentity {
    let (pool, client, secret) = create_local_pool(moto::REGION, moto::endpoint(), "test")
        .await
        .expect("pool");
    connect(pool, client, secret).await
}

async fn connect(
    user_pool_id: String,
    client_id: String,
    client_secret: Option<String>,
) -> CognitoIdentity {
    CognitoIdentity::connect(CognitoSettings {
        user_pool_id,
        client_id,
        client_secret,
        region: moto::REGION.into(),
        endpoint: Some(moto::endpoint().into()),
    })
    .await
    .expect("connects")
}

/// Near the end of a 30 s TOTP step, waits for the next one, so that a code stays valid while it
/// travels (moto, like Cognito, accepts the current step's code only).
fn wait_for_a_fresh_step() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let left = 30_000 - now % 30_000;
    if left < 5_000 {
        std::thread::sleep(std::time::Duration::from_millis(left + 200));
    }
}

/// The code an authenticator app shows now for this base32 secret, and one it does not show.
fn codes(secret: &str) -> (String, String) {
    wait_for_a_fresh_step();
    let bytes = totp_rs::Secret::Encoded(secret.to_uppercase())
        .to_bytes()
        .expect("base32 secret");
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    let now = totp.generate_current().expect("clock");
    let wrong = format!("{:06}", (now.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    (now, wrong)
}

fn challenge(outcome: LoginOutcome) -> Challenge {
    match outcome {
        LoginOutcome::Challenge(c) => c,
        LoginOutcome::Tokens(_) => panic!("expected a challenge, got tokens"),
    }
}

fn tokens(outcome: LoginOutcome) -> AuthTokens {
    match outcome {
        LoginOutcome::Tokens(t) => t,
        LoginOutcome::Challenge(c) => panic!("expected tokens, got {:?}", c.kind),
    }
}

/// Adds a user and takes it through its first sign-in (temporary password -> its own).
async fn confirmed_user(id: &CognitoIdentity, name: &str, groups: &[&str]) -> String {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    id.add_user(name, "Temporary-Pass-1", &groups)
        .await
        .expect("user added");
    let asked = challenge(id.login(name, "Temporary-Pass-1").await.unwrap());
    assert_eq!(asked.kind, ChallengeKind::NewPassword);
    let password = format!("Own-Password-{name}-9");
    tokens(id.answer(&asked, &password).await.unwrap());
    password
}

#[tokio::test]
async fn a_temporary_password_asks_for_a_new_one_then_gives_verified_tokens() {
    let id = optional_mfa_pool().await;
    id.add_user(
        "ana",
        "Temporary-Pass-1",
        &["operator".into(), "fleet:north".into()],
    )
    .await
    .unwrap();
    assert_eq!(
        id.login("ana", "not-the-password").await,
        Err(IdentityError::BadCredentials)
    );
    let asked = challenge(id.login("ana", "Temporary-Pass-1").await.unwrap());
    assert_eq!(asked.kind, ChallengeKind::NewPassword);
    assert_eq!(asked.username, "ana");
    assert!(!asked.session.is_empty());

    // Cognito's password policy speaks through the adapter; the session survives a refusal.
    assert!(matches!(
        id.answer(&asked, "short").await,
        Err(IdentityError::Invalid(_))
    ));
    let issued = tokens(id.answer(&asked, "Ana-Own-Password-1").await.unwrap());
    let claims = id
        .verifier()
        .verify(&issued.access_token, &Expectation::access(id.client_id()))
        .await
        .expect("the pool's access token passes the strict verifier");
    let caller = caller_from_claims(&claims).expect("groups give a role");
    assert_eq!(caller.username, "ana");
    assert_eq!(caller.role.as_str(), "operator");
    assert_eq!(
        caller
            .fleets
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>(),
        ["north"]
    );
    assert!(issued.refresh_token.is_some());

    // From now on the own password signs in directly; the temporary one no longer does.
    tokens(id.login("ana", "Ana-Own-Password-1").await.unwrap());
    assert_eq!(
        id.login("ana", "Temporary-Pass-1").await,
        Err(IdentityError::BadCredentials)
    );
}

#[tokio::test]
async fn an_authenticator_app_added_when_signed_in_is_asked_at_each_sign_in() {
    let id = optional_mfa_pool().await;
    let password = confirmed_user(&id, "bo", &["viewer", "fleet:north"]).await;
    let access = tokens(id.login("bo", &password).await.unwrap()).access_token;
    assert_eq!(id.totp_enabled(&access).await, Ok(Some(false)));

    let secret = id.begin_totp(&access).await.expect("a secret");
    let (right, wrong) = codes(&secret);
    assert_eq!(
        id.confirm_totp(&access, &wrong).await,
        Err(IdentityError::WrongCode)
    );
    assert!(matches!(
        id.confirm_totp(&access, "12ab56").await,
        Err(IdentityError::Invalid(_))
    ));
    id.confirm_totp(&access, &right).await.expect("turned on");
    assert_eq!(id.totp_enabled(&access).await, Ok(Some(true)));

    let asked = challenge(id.login("bo", &password).await.unwrap());
    assert_eq!(asked.kind, ChallengeKind::TotpCode);
    let (right, wrong) = codes(&secret);
    assert_eq!(
        id.answer(&asked, &wrong).await,
        Err(IdentityError::WrongCode)
    );
    let issued = tokens(id.answer(&asked, &right).await.unwrap());
    id.verifier()
        .verify(&issued.access_token, &Expectation::access(id.client_id()))
        .await
        .expect("valid");
}

#[tokio::test]
async fn a_pool_that_requires_totp_sets_it_up_during_the_first_sign_in() {
    let sdk = sdk().await;
    let (pool, client, secret) = create_local_pool(moto::REGION, moto::endpoint(), "strict")
        .await
        .unwrap();
    sdk.set_user_pool_mfa_config()
        .user_pool_id(&pool)
        .mfa_configuration(cognito::types::UserPoolMfaType::On)
        .software_token_mfa_configuration(
            cognito::types::SoftwareTokenMfaConfigType::builder()
                .enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = connect(pool, client, secret).await;
    id.add_user("cy", "Temporary-Pass-1", &["support".into()])
        .await
        .unwrap();
    let asked = challenge(id.login("cy", "Temporary-Pass-1").await.unwrap());
    assert_eq!(asked.kind, ChallengeKind::NewPassword);
    let setup = challenge(id.answer(&asked, "Cy-Own-Password-1").await.unwrap());
    assert_eq!(setup.kind, ChallengeKind::TotpSetup);
    let secret = setup
        .totp_secret
        .clone()
        .expect("the new authenticator's secret");
    let (right, wrong) = codes(&secret);
    assert_eq!(
        id.answer(&setup, &wrong).await,
        Err(IdentityError::WrongCode)
    );
    let issued = tokens(id.answer(&setup, &right).await.unwrap());
    let claims = id
        .verifier()
        .verify(&issued.access_token, &Expectation::access(id.client_id()))
        .await
        .unwrap();
    assert_eq!(
        caller_from_claims(&claims).unwrap().role.as_str(),
        "support"
    );
}

#[tokio::test]
async fn refresh_works_until_the_user_signs_out_everywhere() {
    let id = optional_mfa_pool().await;
    let password = confirmed_user(&id, "di", &["viewer", "fleet:north"]).await;
    let first = tokens(id.login("di", &password).await.unwrap());
    let refresh = first.refresh_token.clone().unwrap();
    let renewed = id.refresh("di", &refresh).await.expect("refreshed");
    assert_ne!(renewed.access_token, first.access_token);
    id.verifier()
        .verify(&renewed.access_token, &Expectation::access(id.client_id()))
        .await
        .expect("the refreshed token is valid");

    id.sign_out_everywhere(&renewed.access_token)
        .await
        .expect("signed out");
    assert_eq!(
        id.refresh("di", &refresh).await,
        Err(IdentityError::BadCredentials)
    );
}

#[tokio::test]
async fn disabled_unknown_and_late_sign_ins_get_their_own_errors() {
    let id = optional_mfa_pool().await;
    let password = confirmed_user(&id, "ed", &["viewer"]).await;
    id.set_enabled("ed", false).await.unwrap();
    assert_eq!(
        id.login("ed", &password).await,
        Err(IdentityError::Disabled)
    );
    id.set_enabled("ed", true).await.unwrap();
    tokens(id.login("ed", &password).await.unwrap());
    assert_eq!(
        id.login("nobody", "Whatever-Pass-1").await,
        Err(IdentityError::BadCredentials)
    );
    let stale = Challenge {
        kind: ChallengeKind::TotpCode,
        username: "ed".into(),
        session: "a-session-cognito-never-gave".into(),
        totp_secret: None,
    };
    assert_eq!(
        id.answer(&stale, "123456").await,
        Err(IdentityError::ChallengeExpired)
    );
}

#[tokio::test]
async fn the_directory_manages_groups_passwords_and_state() {
    let id = optional_mfa_pool().await;
    assert!(id.passwords_are_temporary());
    assert!(matches!(
        id.add_user("fa", "Temporary-Pass-1", &["pilot".into()])
            .await,
        Err(IdentityError::Invalid(_))
    ));
    let added = id
        .add_user(
            "fa",
            "Temporary-Pass-1",
            &["viewer".into(), "fleet:south".into()],
        )
        .await
        .unwrap();
    assert_eq!(added.groups, ["fleet:south", "viewer"]);
    assert_eq!(added.status.as_deref(), Some("FORCE_CHANGE_PASSWORD"));
    let changed = id
        .set_groups("fa", &["operator".into(), "fleet:south".into()])
        .await
        .unwrap();
    assert_eq!(changed.groups, ["fleet:south", "operator"]);
    id.set_enabled("fa", false).await.unwrap();
    let listed = id.list_users().await.unwrap();
    let fa = listed.iter().find(|u| u.username == "fa").unwrap();
    assert!(!fa.enabled);
    assert_eq!(fa.groups, ["fleet:south", "operator"]);
    id.set_enabled("fa", true).await.unwrap();
    // An administrator's new password is temporary again.
    id.set_password("fa", "Reset-Pass-12").await.unwrap();
    let asked = challenge(id.login("fa", "Reset-Pass-12").await.unwrap());
    assert_eq!(asked.kind, ChallengeKind::NewPassword);
}

#[tokio::test]
async fn tokens_of_another_pool_client_or_kind_are_refused() {
    let id = optional_mfa_pool().await;
    let password = confirmed_user(&id, "gu", &["viewer"]).await;
    let issued = tokens(id.login("gu", &password).await.unwrap());

    // Another pool (moto signs every pool with the same key: only `iss` tells them apart).
    let other = optional_mfa_pool().await;
    assert_eq!(
        other
            .verifier()
            .verify(
                &issued.access_token,
                &Expectation::access(other.client_id())
            )
            .await,
        Err(TokenError::WrongIssuer)
    );
    // Another client of the same pool.
    assert_eq!(
        id.verifier()
            .verify(&issued.access_token, &Expectation::access("another-client"))
            .await,
        Err(TokenError::WrongAudience)
    );
    // An ID token where an access token is expected.
    assert!(matches!(
        id.verifier()
            .verify(&issued.id_token, &Expectation::access(id.client_id()))
            .await,
        Err(TokenError::WrongTokenUse { .. })
    ));
}

#[tokio::test]
async fn an_unknown_key_id_refetches_the_jwks_once_then_is_refused() {
    let id = optional_mfa_pool().await;
    let password = confirmed_user(&id, "ha", &["viewer"]).await;
    let issued = tokens(id.login("ha", &password).await.unwrap());
    let keys = Arc::new(
        JwksKeys::new(id.settings().jwks_url()).with_min_refetch(Duration::from_secs(3600)),
    );
    let verifier = TokenVerifier::new(id.settings().issuer(), keys.clone());
    let expect = Expectation::access(id.client_id());
    verifier
        .verify(&issued.access_token, &expect)
        .await
        .expect("valid with the fetched keys");
    assert_eq!(keys.fetches().await, 1);
    verifier
        .verify(&issued.access_token, &expect)
        .await
        .unwrap();
    assert_eq!(keys.fetches().await, 1, "known keys are cached");

    // The same token under a key id the pool never published.
    let (header, rest) = issued.access_token.split_once('.').unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    json["kid"] = "rotated-away".into();
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json.to_string(),
    );
    let forged = format!("{header}.{rest}");
    let fresh = Arc::new(JwksKeys::new(id.settings().jwks_url()).with_min_refetch(Duration::ZERO));
    let strict = TokenVerifier::new(id.settings().issuer(), fresh.clone());
    assert_eq!(
        strict.verify(&forged, &expect).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(
        fresh.fetches().await,
        1,
        "an unknown kid fetches the key set"
    );
    assert_eq!(
        strict.verify(&forged, &expect).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(fresh.fetches().await, 2, "and again once the pause allows");
    // With the pause, made-up key ids do not make the server fetch again.
    assert_eq!(
        verifier.verify(&forged, &expect).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(keys.fetches().await, 1);
}

#[tokio::test]
async fn a_client_with_a_secret_needs_its_secret_hash() {
    let id = optional_mfa_pool().await;
    let secret = id
        .settings()
        .client_secret
        .clone()
        .expect("local pools get a confidential client, as the template's");
    // The SDKs' formula: Base64(HMAC-SHA256(secret, username + client id)).
    let hash = id.settings().secret_hash("ana").unwrap();
    assert_eq!(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &hash)
            .unwrap()
            .len(),
        32
    );
    assert_ne!(Some(hash), id.settings().secret_hash("bob"));
    let password = confirmed_user(&id, "ivo", &["viewer"]).await;
    let refresh = tokens(id.login("ivo", &password).await.unwrap())
        .refresh_token
        .unwrap();
    id.refresh("ivo", &refresh)
        .await
        .expect("with the secret hash");

    // The same client without its secret: Cognito refuses the refresh.
    let mut settings = id.settings().clone();
    settings.client_secret = None;
    let without = CognitoIdentity::connect(settings).await.unwrap();
    assert_eq!(
        without.refresh("ivo", &refresh).await,
        Err(IdentityError::BadCredentials)
    );
    // And with a wrong one.
    let mut settings = id.settings().clone();
    settings.client_secret = Some(format!("{secret}x"));
    let wrong = CognitoIdentity::connect(settings).await.unwrap();
    assert_eq!(
        wrong.refresh("ivo", &refresh).await,
        Err(IdentityError::BadCredentials)
    );
}
