//! Issue 3, desired state: people set `desired` naming the version they saw, the box gets the
//! delta (live, or when it subscribes), reconciles and reports; stale versions are refused.
use boxpilot_tests::{box_options, Client, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn put_desired(server: &TestServer, token: &str, device: &str, body: Value) -> (u16, Value) {
    server
        .send_json(
            Method::PUT,
            &format!("/api/v1/devices/{device}/shadow"),
            token,
            &body,
        )
        .await
}

async fn shadow(server: &TestServer, token: &str, device: &str) -> Value {
    let (status, s) = server
        .get_json(&format!("/api/v1/devices/{device}/shadow"), token)
        .await;
    assert_eq!(status, 200, "{s}");
    s
}

/// A box connected and subscribed to its desired-state topic.
async fn shadow_box(server: &TestServer, device: &str, secret: &str) -> Client {
    let mut bx = Client::connect(box_options(server.mqtt_port(), device, secret))
        .await
        .expect("box connects");
    let codes = bx
        .subscribe(&format!("cmd/boxpilot/f1/{device}/shadow"))
        .await
        .unwrap();
    assert!(
        matches!(codes[0], rumqttc::SubscribeReasonCode::Success(_)),
        "{codes:?}"
    );
    bx
}

async fn next_desired(bx: &mut Client) -> Value {
    let p = bx
        .next_publish(Duration::from_secs(5))
        .await
        .expect("the box gets its desired state");
    serde_json::from_slice(&p.payload).unwrap()
}

/// Polls the shadow until `done` says so.
async fn wait_shadow(
    server: &TestServer,
    token: &str,
    device: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = shadow(server, token, device).await;
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shadow never reached the state: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_box_gets_the_delta_reconciles_and_the_delta_clears() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut bx = shadow_box(&server, "b1", &secret).await;

    let empty = shadow(&server, &token, "b1").await;
    assert_eq!(empty["version"], 0);
    let (status, s) = put_desired(
        &server,
        &token,
        "b1",
        json!({"desired": {"setpoint_c": 4, "mode": "eco"}, "version": 0}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["version"], 1);
    assert_eq!(s["delta"], json!({"setpoint_c": 4, "mode": "eco"}));
    assert_eq!(s["desired_by"], "user:ops");

    let msg = next_desired(&mut bx).await;
    assert_eq!(msg["version"], 1);
    assert_eq!(msg["delta"], json!({"setpoint_c": 4, "mode": "eco"}));

    // The box reaches the set-point only.
    bx.publish_acked(
        "dt/boxpilot/f1/b1/shadow",
        json!({"reported": {"setpoint_c": 4.0, "fw": "1.4.2"}, "version": 1}).to_string(),
    )
    .await
    .unwrap();
    let s = wait_shadow(&server, &token, "b1", |s| s["version"] == 2).await;
    assert_eq!(s["delta"], json!({"mode": "eco"}));
    assert_eq!(s["reported"]["fw"], "1.4.2");
    assert!(s["reported_at"].as_i64().is_some());

    // Removing a desired key with null clears it from the delta.
    let (status, s) = put_desired(
        &server,
        &token,
        "b1",
        json!({"desired": {"mode": null}, "version": 2}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["delta"], json!({}));
    assert_eq!(s["desired"], json!({"setpoint_c": 4}));
}

#[tokio::test]
async fn stale_versions_are_refused_for_people_and_boxes() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut bx = shadow_box(&server, "b1", &secret).await;

    let (status, _) = put_desired(
        &server,
        &token,
        "b1",
        json!({"desired": {"setpoint_c": 4}, "version": 0}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(next_desired(&mut bx).await["version"], 1);

    // Someone else's page still shows version 0.
    let (status, refused) = put_desired(
        &server,
        &token,
        "b1",
        json!({"desired": {"setpoint_c": 30}, "version": 0}),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"], "conflict");
    assert!(refused["message"].as_str().unwrap().contains("stale"));

    // A box reporting against version 0 (before the change) is refused and sent the current state.
    bx.publish_acked(
        "dt/boxpilot/f1/b1/shadow",
        json!({"reported": {"setpoint_c": 7}, "version": 0}).to_string(),
    )
    .await
    .unwrap();
    let resent = next_desired(&mut bx).await;
    assert_eq!(resent["version"], 1);
    assert_eq!(resent["delta"], json!({"setpoint_c": 4}));
    let s = shadow(&server, &token, "b1").await;
    assert_eq!(s["version"], 1, "the stale report was not applied: {s}");
    assert_eq!(s["reported"], json!({}));
    assert_eq!(s["desired"], json!({"setpoint_c": 4}));
}

#[tokio::test]
async fn an_offline_box_gets_its_desired_state_when_it_subscribes() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let (status, _) = put_desired(
        &server,
        &token,
        "b1",
        json!({"desired": {"interval_s": 30}, "version": 0}),
    )
    .await;
    assert_eq!(status, 200);
    let mut bx = shadow_box(&server, "b1", &secret).await;
    let msg = next_desired(&mut bx).await;
    assert_eq!(msg["desired"], json!({"interval_s": 30}));
}

#[tokio::test]
async fn bad_updates_and_strangers_are_refused_and_nothing_changes() {
    let server = TestServer::start().await;
    server.add_device("f1", "b1").await;
    let ops = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let viewer = server.user_token("vera", &["viewer", "fleet:f1"]).await;
    let stranger = server.user_token("sam", &["operator", "fleet:f2"]).await;
    let good = json!({"desired": {"setpoint_c": 4}, "version": 0});
    for (token, body, code, words) in [
        (&viewer, good.clone(), 403, "operator"),
        (&stranger, good.clone(), 404, "b1"),
        (
            &ops,
            json!({"desired": {"setpoint_c": {"nested": 1}}, "version": 0}),
            400,
            "desired.setpoint_c",
        ),
        (
            &ops,
            json!({"desired": {"Bad Key": 1}, "version": 0}),
            400,
            "Bad Key",
        ),
        (&ops, json!({"desired": {}, "version": 0}), 400, "empty"),
        (&ops, json!({"desired": {"a": 1}}), 400, "version"),
        (
            &ops,
            json!({"desired": {"a": "x".repeat(300)}, "version": 0}),
            400,
            "longer",
        ),
    ] {
        let (status, answer) = put_desired(&server, token, "b1", body.clone()).await;
        assert_eq!(status, code, "{body} -> {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{body} -> {message}");
    }
    let s = shadow(&server, &viewer, "b1").await;
    assert_eq!(s["version"], 0, "{s}");
    let (status, _) = server
        .get_json("/api/v1/devices/b1/shadow", &stranger)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_simulator_reconciles_what_it_supports() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "sim1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let config = server.simulated_box("sim1", secret, 2.0, "2.0.1");
    let sim = tokio::spawn(boxpilot::simulator::run(config, stop));
    // Each boot reports what the box runs with.
    let first = wait_shadow(&server, &token, "sim1", |s| {
        s["version"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(first["reported"]["fw"], "2.0.1");
    let version = first["version"].as_u64().unwrap();

    let (status, s) = put_desired(
        &server,
        &token,
        "sim1",
        json!({"desired": {"setpoint_c": -18, "interval_s": 1, "defrost": true}, "version": version}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    let done = wait_shadow(&server, &token, "sim1", |s| {
        s["reported"]["setpoint_c"] == json!(-18.0)
    })
    .await;
    assert_eq!(done["reported"]["interval_s"], json!(1.0));
    assert_eq!(
        done["delta"],
        json!({"defrost": true}),
        "an unsupported key stays in the delta"
    );
    stop_tx.send(true).unwrap();
    sim.await.unwrap().unwrap();
}
