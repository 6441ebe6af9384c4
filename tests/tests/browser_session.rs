//! The browser's path: server functions with the session cookie, the broker credential, and
//! MQTT over WebSocket limited by role and fleets.
use boxpilot_tests::{now_ms, session_cookie, telemetry, ws_options, Client, TestServer};
use rumqttc::QoS;
use std::time::Duration;

#[tokio::test]
async fn session_cookie_server_functions_and_logout() {
    let server = TestServer::start().await;
    server.add_device("f1", "b1").await;
    let pw = server.add_user("ann", &["operator", "fleet:f1"]).await;

    let wrong = server
        .http
        .post(server.url("/api/auth/login"))
        .form(&[("username", "ann"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(
        wrong.status(),
        401,
        "the server function's status follows its error"
    );
    assert_eq!(wrong.text().await.unwrap(), "\"BadCredentials\"");

    let cookie = session_cookie(&server, "ann", &pw).await;
    let (status, me) = server.call(&cookie, "/api/auth/session").await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "ann");
    assert_eq!(me["role"], "operator");
    let (_, devices) = server.call(&cookie, "/api/devices/list").await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
    // The REST API accepts the same session.
    let r = server
        .http
        .get(server.url("/api/v1/devices"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A cross-site request carrying the cookie is refused.
    let forged = server
        .http
        .post(server.url("/api/devices/list"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let (status, _) = server.call(&cookie, "/api/auth/logout").await;
    assert_eq!(status, 200);
    let (_, after) = server.call(&cookie, "/api/auth/session").await;
    assert!(
        after.is_null(),
        "the session is gone on the server: {after}"
    );
    let (status, devices) = server.call(&cookie, "/api/devices/list").await;
    assert_eq!(
        (status, devices),
        (401, serde_json::json!("Unauthenticated"))
    );
}

#[tokio::test]
async fn viewer_credential_cannot_publish_commands_operator_can() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let mut bx = server.command_box("f1", "b1", &secret).await;

    let viewer_pw = server.add_user("vic", &["viewer", "fleet:f1"]).await;
    let viewer = session_cookie(&server, "vic", &viewer_pw).await;
    let (status, credential) = server.call(&viewer, "/api/broker/credential").await;
    assert_eq!(status, 200, "{credential}");
    assert!(
        credential["expires_at"].as_i64().unwrap() <= now_ms() + 15 * 60_000 + 1000,
        "at most 15 minutes"
    );
    assert_eq!(credential["publish"], serde_json::json!([]));

    let mut watcher = Client::connect(ws_options(&server, &credential))
        .await
        .expect("viewer connects over WebSocket");
    let codes = watcher.subscribe("dt/boxpilot/f1/+/+").await.unwrap();
    assert!(
        matches!(codes[0], rumqttc::SubscribeReasonCode::Success(_)),
        "{codes:?}"
    );
    let outside = watcher.subscribe("dt/boxpilot/f2/+/+").await.unwrap();
    assert_eq!(
        outside[0],
        rumqttc::SubscribeReasonCode::Failure,
        "another fleet"
    );
    // Live data reaches the viewer.
    bx.publish_acked("dt/boxpilot/f1/b1/telemetry", telemetry(1, now_ms(), 5.0))
        .await
        .unwrap();
    let live = watcher
        .next_publish(Duration::from_secs(5))
        .await
        .expect("live telemetry");
    assert_eq!(live.topic, "dt/boxpilot/f1/b1/telemetry");

    watcher
        .client
        .publish(
            "cmd/boxpilot/f1/b1/req",
            QoS::AtLeastOnce,
            false,
            r#"{"id":"x","name":"reboot"}"#,
        )
        .await
        .unwrap();
    assert!(
        watcher.closed_within(Duration::from_secs(5)).await,
        "a viewer publishing a command is disconnected"
    );
    assert!(
        bx.next_publish(Duration::from_millis(500)).await.is_none(),
        "the box received nothing"
    );

    let operator_pw = server.add_user("ops", &["operator", "fleet:f1"]).await;
    let operator = session_cookie(&server, "ops", &operator_pw).await;
    let (_, credential) = server.call(&operator, "/api/broker/credential").await;
    let mut pilot = Client::connect(ws_options(&server, &credential))
        .await
        .unwrap();
    pilot
        .publish_acked(
            "cmd/boxpilot/f1/b1/req",
            // A valid command (UUID id, catalogue name): invalid ones are refused (tests/commands.rs).
            r#"{"id":"3b1f5a2e-8c4d-4e6f-9a0b-1c2d3e4f5a6b","name":"reboot"}"#,
        )
        .await
        .unwrap();
    let got = bx
        .next_publish(Duration::from_secs(5))
        .await
        .expect("the box gets the operator's command");
    assert_eq!(got.topic, "cmd/boxpilot/f1/b1/req");
}

#[tokio::test]
async fn broker_credentials_are_bound_to_their_user_and_client_id() {
    let server = TestServer::start().await;
    let pw = server.add_user("ann", &["viewer", "fleet:f1"]).await;
    let cookie = session_cookie(&server, "ann", &pw).await;
    let (_, credential) = server.call(&cookie, "/api/broker/credential").await;

    let mut wrong_user = credential.clone();
    wrong_user["username"] = "bob".into();
    assert!(Client::connect(ws_options(&server, &wrong_user))
        .await
        .is_err());

    let mut wrong_client = credential.clone();
    wrong_client["client_id"] = "console-bob-1".into();
    assert!(Client::connect(ws_options(&server, &wrong_client))
        .await
        .is_err());

    let mut tampered = credential.clone();
    let token = credential["password"].as_str().unwrap();
    tampered["password"] = format!("{}x", &token[..token.len() - 1]).into();
    assert!(Client::connect(ws_options(&server, &tampered))
        .await
        .is_err());

    // A user access token is not a broker credential.
    let access = server.token("ann", &pw).await;
    let mut access_as_broker = credential.clone();
    access_as_broker["password"] = access.into();
    assert!(Client::connect(ws_options(&server, &access_as_broker))
        .await
        .is_err());

    assert!(
        Client::connect(ws_options(&server, &credential))
            .await
            .is_ok(),
        "control"
    );
}
