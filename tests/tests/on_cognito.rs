//! The console signing people in with Cognito (moto server, TOTP checked): the browser's server
//! functions through each challenge, an authenticator app added from the account page, sign out
//! everywhere, and the REST API's challenge flow for scripts. The built-in provider's answers
//! to the same calls are checked too.
//!
//!   cargo test -p boxpilot-tests --features aws --test on_cognito
use boxpilot_tests::{session_cookie, IdentityChoice, MonitoringSettings, StoreChoice, TestServer};
use serde_json::{json, Value};

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

/// The code an authenticator app shows now for this base32 secret.
fn code(secret: &str) -> String {
    wait_for_a_fresh_step();
    let bytes = totp_rs::Secret::Encoded(secret.to_uppercase())
        .to_bytes()
        .expect("base32 secret");
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate_current()
        .expect("clock")
}

async fn post_form(
    server: &TestServer,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let r = server
        .http
        .post(server.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (status, r.json().await.unwrap_or_default(), cookie)
}

/// Answers the challenge in a `SignInStep` answer.
async fn answer(server: &TestServer, step: &Value, reply: &str) -> (u16, Value, Option<String>) {
    let c = &step["Challenge"];
    post_form(
        server,
        "/api/auth/answer_challenge",
        "",
        &[
            ("kind", c["kind"].as_str().unwrap()),
            ("username", c["username"].as_str().unwrap()),
            ("session", c["session"].as_str().unwrap()),
            ("answer", reply),
        ],
    )
    .await
}

#[cfg(feature = "aws")]
async fn server_on_cognito() -> TestServer {
    TestServer::start_configured(
        StoreChoice::Embedded,
        IdentityChoice::Cognito {
            user_pool_id: None,
            client_id: None,
            client_secret: None,
            region: boxpilot::testing::moto::REGION.into(),
            endpoint: Some(boxpilot::testing::moto::endpoint().into()),
        },
        MonitoringSettings::default(),
    )
    .await
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn the_browser_signs_in_through_each_challenge_and_adds_an_authenticator() {
    let server = server_on_cognito().await;
    let (_, health) = server.get_json("/healthz", "").await;
    let identity = &health["adapters"]["identity"];
    assert_eq!(identity["ready"], true, "{health}");
    assert!(
        identity["detail"]
            .as_str()
            .unwrap()
            .contains("signing keys served"),
        "{health}"
    );
    server
        .running
        .users
        .add_user(
            "ana",
            "Temporary-Pass-1",
            &["operator".into(), "fleet:north".into()],
        )
        .await
        .unwrap();

    // The temporary password: a question, and no session yet.
    let (status, step, cookie) = post_form(
        &server,
        "/api/auth/login",
        "",
        &[("username", "ana"), ("password", "Temporary-Pass-1")],
    )
    .await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(step["Challenge"]["kind"], "NewPassword");
    assert!(
        cookie.is_none(),
        "no session before the challenge is answered"
    );

    // A wrong-shaped answer is refused before Cognito; the right one signs in.
    let (status, refused, _) = answer(&server, &step, "").await;
    assert_eq!(status, 400, "{refused}");
    let (status, signed_in, cookie) = answer(&server, &step, "Ana-Own-Password-1").await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["SignedIn"]["username"], "ana");
    assert_eq!(signed_in["SignedIn"]["role"], "operator");
    let cookie = cookie.expect("a session cookie");
    let (_, devices) = server.call(&cookie, "/api/devices/list").await;
    assert!(devices.is_array(), "the session works: {devices}");

    // The account page: no authenticator yet; add one.
    let (_, security) = server.call(&cookie, "/api/auth/account_security").await;
    assert_eq!(
        security,
        json!({"username": "ana", "totp_available": true, "totp_enabled": false})
    );
    let (status, setup) = server.call(&cookie, "/api/auth/begin_totp_setup").await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .contains(&format!("secret={secret}")));
    assert!(setup["qr_code"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    let (status, bad, _) = post_form(
        &server,
        "/api/auth/confirm_totp_setup",
        &cookie,
        &[("code", "12 34")],
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let now = code(&secret);
    let spaced = format!("{} {}", &now[..3], &now[3..]);
    let (status, security, _) = post_form(
        &server,
        "/api/auth/confirm_totp_setup",
        &cookie,
        &[("code", &spaced)],
    )
    .await;
    assert_eq!(status, 200, "{security}");
    assert_eq!(security["totp_enabled"], true);

    // Sign-ins now ask for the code.
    let (_, step, _) = post_form(
        &server,
        "/api/auth/login",
        "",
        &[("username", "ana"), ("password", "Ana-Own-Password-1")],
    )
    .await;
    assert_eq!(step["Challenge"]["kind"], "TotpCode");
    let (status, signed_in, second) = answer(&server, &step, &code(&secret)).await;
    assert_eq!(status, 200, "{signed_in}");
    let second = second.expect("a second session");

    // Signing out everywhere ends this session here.
    let (status, _) = server.call(&second, "/api/auth/sign_out_everywhere").await;
    assert_eq!(status, 200);
    let (_, me) = server.call(&second, "/api/auth/session").await;
    assert!(me.is_null(), "signed out: {me}");
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn scripts_answer_challenges_through_the_rest_api() {
    let server = server_on_cognito().await;
    server
        .running
        .users
        .add_user(
            "bot",
            "Temporary-Pass-1",
            &["viewer".into(), "fleet:north".into()],
        )
        .await
        .unwrap();
    let login = |password: &'static str| {
        server
            .http
            .post(server.url("/api/v1/auth/login"))
            .json(&json!({"username": "bot", "password": password}))
            .send()
    };
    let r = login("Temporary-Pass-1").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let challenge = &body["challenge"];
    assert_eq!(challenge["kind"], "NewPassword");
    let r = server
        .http
        .post(server.url("/api/v1/auth/challenge"))
        .json(&json!({
            "kind": "NewPassword",
            "username": "bot",
            "session": challenge["session"],
            "answer": "Bot-Own-Password-1",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().expect("tokens");
    let (status, devices) = server.get_json("/api/v1/devices", access).await;
    assert_eq!(status, 200, "{devices}");

    // A session Cognito never gave: the script is told to start again.
    let r = server
        .http
        .post(server.url("/api/v1/auth/challenge"))
        .json(&json!({"kind": "TotpCode", "username": "bot", "session": "made-up", "answer": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "sign_in_expired");
}

#[tokio::test]
async fn the_built_in_provider_says_what_it_does_not_do() {
    let server = TestServer::start().await;
    let pw = server.add_user("cy", &["viewer", "fleet:north"]).await;
    let cookie = session_cookie(&server, "cy", &pw).await;
    let (_, security) = server.call(&cookie, "/api/auth/account_security").await;
    assert_eq!(security["totp_available"], false);
    let (status, refused) = server.call(&cookie, "/api/auth/begin_totp_setup").await;
    assert_eq!(status, 400);
    assert!(refused.to_string().contains("Cognito"), "{refused}");
    let (status, refused, _) = post_form(
        &server,
        "/api/auth/answer_challenge",
        "",
        &[
            ("kind", "TotpCode"),
            ("username", "cy"),
            ("session", "s"),
            ("answer", "123456"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");

    // Sign out everywhere: another session's refresh token stops working.
    let tokens: Value = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "cy", "password": pw}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let (status, _) = server.call(&cookie, "/api/auth/sign_out_everywhere").await;
    assert_eq!(status, 200);
    let r = server
        .http
        .post(server.url("/api/v1/auth/refresh"))
        .json(&json!({"username": "cy", "refresh_token": tokens["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
