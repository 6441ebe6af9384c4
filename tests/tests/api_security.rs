//! The API's authentication and authorization: strict tokens, roles and fleets.
use boxpilot::identity::{SigningKeys, TokenClaims};
use boxpilot_tests::TestServer;

fn claims(server: &TestServer, exp_offset: i64) -> TokenClaims {
    let now = chrono::Utc::now().timestamp();
    TokenClaims {
        sub: "s-1".into(),
        iss: server.running.public_url.clone(),
        token_use: "access".into(),
        exp: now + exp_offset,
        iat: now - 10,
        nbf: None,
        auth_time: Some(now),
        jti: Some("j".into()),
        client_id: Some("boxpilot-console".into()),
        aud: None,
        username: Some("forged".into()),
        groups: vec!["admin".into()],
        mqtt: None,
    }
}

async fn status(server: &TestServer, token: Option<&str>) -> u16 {
    let mut request = server.http.get(server.url("/api/v1/devices"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.unwrap().status().as_u16()
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

#[tokio::test]
async fn refuses_missing_expired_tampered_and_unsigned_tokens() {
    let server = TestServer::start().await;
    let keys = SigningKeys::load_or_create(server.data.path()).unwrap();

    let good = keys.sign(&claims(&server, 600)).unwrap();
    assert_eq!(
        status(&server, Some(&good)).await,
        200,
        "control: a valid token passes"
    );

    assert_eq!(status(&server, None).await, 401, "missing");
    assert_eq!(status(&server, Some("not-a-jwt")).await, 401, "garbage");
    assert_eq!(
        status(&server, Some(&keys.sign(&claims(&server, -600)).unwrap())).await,
        401,
        "expired"
    );

    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut forged = claims(&server, 600);
    forged.username = Some("mallory".into());
    parts[1] = b64(&serde_json::to_vec(&forged).unwrap());
    assert_eq!(
        status(&server, Some(&parts.join("."))).await,
        401,
        "payload changed after signing"
    );

    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!(
        "{none_header}.{}.",
        b64(&serde_json::to_vec(&claims(&server, 600)).unwrap())
    );
    assert_eq!(status(&server, Some(&unsigned)).await, 401, "alg=none");

    let hs_header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
    let hs = format!(
        "{hs_header}.{}.c2ln",
        b64(&serde_json::to_vec(&claims(&server, 600)).unwrap())
    );
    assert_eq!(
        status(&server, Some(&hs)).await,
        401,
        "HS256 is not allowed"
    );

    let mut other_issuer = claims(&server, 600);
    other_issuer.iss = "https://evil.example".into();
    assert_eq!(
        status(&server, Some(&keys.sign(&other_issuer).unwrap())).await,
        401,
        "issuer"
    );

    let mut other_client = claims(&server, 600);
    other_client.client_id = Some("another-app".into());
    assert_eq!(
        status(&server, Some(&keys.sign(&other_client).unwrap())).await,
        401,
        "client_id"
    );

    let mut id_token = claims(&server, 600);
    id_token.token_use = "id".into();
    assert_eq!(
        status(&server, Some(&keys.sign(&id_token).unwrap())).await,
        401,
        "an id token is not an access token"
    );

    let mut future = claims(&server, 600);
    future.nbf = Some(chrono::Utc::now().timestamp() + 300);
    assert_eq!(
        status(&server, Some(&keys.sign(&future).unwrap())).await,
        401,
        "not valid yet"
    );

    let other_dir = tempfile::tempdir().unwrap();
    let other_keys = SigningKeys::load_or_create(other_dir.path()).unwrap();
    assert_eq!(
        status(
            &server,
            Some(&other_keys.sign(&claims(&server, 600)).unwrap())
        )
        .await,
        401,
        "unknown key"
    );
}

#[tokio::test]
async fn users_see_only_their_fleets() {
    let server = TestServer::start().await;
    server.add_device("north", "n1").await;
    server.add_device("south", "s1").await;
    let north = server.user_token("ann", &["viewer", "fleet:north"]).await;
    let (_, page) = server.get_json("/api/v1/devices", &north).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["n1"]);
    assert_eq!(
        server.get_json("/api/v1/devices/s1", &north).await.0,
        404,
        "other fleets' boxes do not exist for you"
    );
    assert_eq!(
        server
            .get_json("/api/v1/devices/s1/telemetry?metric=temp_c", &north)
            .await
            .0,
        404
    );
    assert_eq!(
        server
            .get_json("/api/v1/devices?fleet=south", &north)
            .await
            .0,
        403
    );

    let admin = server.user_token("root", &["admin"]).await;
    let (_, all) = server.get_json("/api/v1/devices", &admin).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);

    // A user without a role gets tokens from the provider, and no access to anything.
    let pw = server.add_user("nobody", &["fleet:north"]).await;
    let token = server.token("nobody", &pw).await;
    assert_eq!(server.get_json("/api/v1/devices", &token).await.0, 403);
}

#[tokio::test]
async fn bad_queries_get_clear_errors() {
    let server = TestServer::start().await;
    server.add_device("f1", "b1").await;
    let t = server.user_token("v", &["viewer", "fleet:f1"]).await;
    for (path, expected) in [
        (
            "/api/v1/devices/b1/telemetry?metric=temp_c&max_points=0",
            400,
        ),
        (
            "/api/v1/devices/b1/telemetry?metric=temp_c&max_points=100000",
            400,
        ),
        (
            "/api/v1/devices/b1/telemetry?metric=temp_c&from=10&to=5",
            400,
        ),
        ("/api/v1/devices/b1/telemetry?metric=Bad%20Name", 400),
        ("/api/v1/devices/b1/telemetry", 400),
        (
            "/api/v1/devices/b1/telemetry?metric=t&from=0&to=9999999999999",
            400,
        ),
        ("/api/v1/devices/no%2Fslash", 400),
        ("/api/v1/devices?limit=0", 400),
        ("/api/v1/nowhere", 404),
    ] {
        let (status, body) = server.get_json(path, &t).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_v1_route() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/healthz",
        "/api/v1/auth/login",
        "/api/v1/devices",
        "/api/v1/devices/{device}/telemetry",
        "/api/v1/devices/{device}/commands",
        "/api/v1/commands/catalogue",
        "/api/v1/audit/commands",
        "/api/v1/ingest",
        "/api/v1/monitoring/pipeline",
        "/api/v1/monitoring/dead-letters",
        "/api/v1/rollouts",
        "/api/v1/rollouts/{id}",
        "/api/v1/rollouts/{id}/cancel",
        "/api/v1/devices/{device}/shadow",
        "/api/v1/monitoring/costs",
        "/api/v1/monitoring/alerts",
        "/api/v1/monitoring/alert-rules",
        "/api/v1/monitoring/alert-rules/{id}",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert!(doc["paths"]["/api/v1/devices/{device}/commands"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/rollouts"]["post"]["responses"]["201"].is_object());
    assert!(doc["paths"]["/api/v1/devices/{device}/shadow"]["put"]["responses"]["409"].is_object());
}
