//! Issue 3, bulk commands: a rollout reaches every target box through the command path, follows
//! its rate, stops at its abort threshold, can be cancelled, and refuses bad input and strangers.
use boxpilot_tests::{answer_all, answer_all_with, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn start(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    server
        .send_json(Method::POST, "/api/v1/rollouts", token, &body)
        .await
}

/// Polls the rollout until `done` says so (10 s at most).
async fn wait_rollout(
    server: &TestServer,
    token: &str,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, r) = server
            .get_json(&format!("/api/v1/rollouts/{id}"), token)
            .await;
        assert_eq!(status, 200, "{r}");
        if done(&r) {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rollout never {what}: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(r: &Value, state: &str) -> u64 {
    r["progress"]["states"][state].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_rollout_reaches_every_target_box_and_completes() {
    let server = TestServer::start().await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut answering = Vec::new();
    for i in 0..4 {
        let id = format!("b{i}");
        let secret = server.add_device("f1", &id).await;
        let bx = server.command_box("f1", &id, &secret).await;
        server.wait_online(&id, &token).await;
        answering.push(answer_all(bx, format!("cmd/boxpilot/f1/{id}/resp"), "ok"));
    }
    // Not targeted: another fleet, and a box filtered out by the target list.
    server.add_device("f2", "other").await;

    let (status, r) = start(
        &server,
        &token,
        json!({"fleet": "f1", "name": "set_setpoint", "params": {"value": 4.5},
               "target": {"devices": ["b0", "b1", "b2", "b3"]},
               "rate_per_minute": 6000, "abort": {"threshold_percent": 10, "min_finished": 2}}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["status"], "running");
    assert_eq!(r["progress"]["targets"], 4);
    assert_eq!(r["issuer"], "user:ops");
    let id = r["id"].as_str().unwrap().to_owned();

    let done = wait_rollout(&server, &token, &id, "completed", |r| {
        r["status"] == "completed"
    })
    .await;
    assert_eq!(done["progress"]["issued"], 4);
    assert_eq!(count(&done, "succeeded"), 4, "{done}");
    assert!(done["finished_at"].as_i64().is_some());

    // Each box got exactly one command, recorded like any other with the rollout and the issuer.
    for (i, answers) in answering.into_iter().enumerate() {
        let (_, history) = server
            .get_json(&format!("/api/v1/devices/b{i}/commands"), &token)
            .await;
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(history[0]["rollout"], id.as_str());
        assert_eq!(history[0]["source"], "rollout");
        assert_eq!(history[0]["issuer"], "user:ops");
        assert_eq!(history[0]["state"], "succeeded");
        let received = answers.await.unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["params"]["value"], 4.5);
    }
    let (_, listed) = server.get_json("/api/v1/rollouts?fleet=f1", &token).await;
    assert_eq!(listed[0]["id"], id.as_str());
}

#[tokio::test]
async fn a_rollout_stops_at_its_abort_threshold() {
    let server = TestServer::start().await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut failing = Vec::new();
    for i in 0..10 {
        let id = format!("b{i}");
        let secret = server.add_device("f1", &id).await;
        let bx = server.command_box("f1", &id, &secret).await;
        server.wait_online(&id, &token).await;
        failing.push(answer_all_with(
            bx,
            format!("cmd/boxpilot/f1/{id}/resp"),
            &["accepted", "failed"],
            "sensor fault",
        ));
    }
    // One command every 300 ms: the boxes fail each one long before the next goes out.
    let (status, r) = start(
        &server,
        &token,
        json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 200,
               "abort": {"threshold_percent": 50, "min_finished": 3}}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    let stopped = wait_rollout(&server, &token, id, "stopped", |r| r["status"] != "running").await;
    assert_eq!(stopped["status"], "aborted", "{stopped}");
    let detail = stopped["status_detail"].as_str().unwrap();
    assert!(
        detail.contains("failed") && detail.contains("50%"),
        "{detail}"
    );
    let issued = stopped["progress"]["issued"].as_u64().unwrap();
    assert!(
        (3..10).contains(&issued),
        "stopped once 3 had failed, before reaching every box: {stopped}"
    );
    // Nothing more goes out after the abort.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, later) = server
        .get_json(&format!("/api/v1/rollouts/{id}"), &token)
        .await;
    assert_eq!(later["progress"]["issued"].as_u64().unwrap(), issued);
    let mut boxes_reached = 0;
    for bx in failing {
        boxes_reached += bx.await.unwrap().len() as u64;
    }
    assert_eq!(boxes_reached, issued);
}

#[tokio::test]
async fn cancelling_withdraws_the_commands_not_delivered_and_sending_stops() {
    let server = TestServer::start().await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    for i in 0..3 {
        server.add_device("f1", &format!("off{i}")).await;
    }
    // One command a minute: the first goes out at once (held: the boxes are offline).
    let (status, r) = start(
        &server,
        &token,
        json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 1, "ttl_secs": 600}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    let first = wait_rollout(&server, &token, id, "issued its first command", |r| {
        r["progress"]["issued"] == 1
    })
    .await;
    assert_eq!(
        count(&first, "created"),
        1,
        "held for the offline box: {first}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, still) = server
        .get_json(&format!("/api/v1/rollouts/{id}"), &token)
        .await;
    assert_eq!(
        still["progress"]["issued"], 1,
        "the rate holds the others back"
    );

    let (status, cancelled) = server
        .send_json(
            Method::POST,
            &format!("/api/v1/rollouts/{id}/cancel"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["status_detail"], "cancelled by ops");
    assert_eq!(count(&cancelled, "cancelled"), 1, "{cancelled}");
    assert_eq!(count(&cancelled, "created"), 0);
    let (_, history) = server
        .get_json("/api/v1/devices/off0/commands", &token)
        .await;
    assert_eq!(history[0]["state"], "cancelled");

    let (status, again) = server
        .send_json(
            Method::POST,
            &format!("/api/v1/rollouts/{id}/cancel"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, after) = server
        .get_json(&format!("/api/v1/rollouts/{id}"), &token)
        .await;
    assert_eq!(after["progress"]["issued"], 1, "nothing sent after cancel");
    let (_, other) = server
        .get_json("/api/v1/devices/off1/commands", &token)
        .await;
    assert_eq!(other.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_rollouts_and_strangers_are_refused_with_a_reason() {
    let server = TestServer::start().await;
    server.add_device("f1", "b1").await;
    server.add_device("f2", "b2").await;
    let ops = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let viewer = server.user_token("vera", &["viewer", "fleet:f1"]).await;
    let stranger = server.user_token("sam", &["operator", "fleet:f2"]).await;

    let ok = json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 60});
    for (token, body, code, words) in [
        (&viewer, ok.clone(), 403, "operator"),
        (&stranger, ok.clone(), 403, "fleet f1"),
        (
            &ops,
            json!({"fleet": "f1", "name": "self_destruct", "rate_per_minute": 60}),
            400,
            "self_destruct",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "set_setpoint", "params": {"value": "hot"}, "rate_per_minute": 60}),
            400,
            "value",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 0}),
            400,
            "rate_per_minute",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 60, "abort": {"threshold_percent": 120}}),
            400,
            "threshold_percent",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 60, "target": {"devices": ["b1", "b2"]}}),
            400,
            "b2",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 60, "target": {"online_only": true}}),
            400,
            "no box",
        ),
        (
            &ops,
            json!({"fleet": "f1", "name": "reboot", "rate_per_minute": 60, "surprise": 1}),
            400,
            "surprise",
        ),
    ] {
        let (status, answer) = start(&server, token, body.clone()).await;
        assert_eq!(status, code, "{body} -> {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{body} -> {message}");
    }
    // Nothing was sent to anyone.
    let (_, history) = server.get_json("/api/v1/devices/b1/commands", &ops).await;
    assert_eq!(history.as_array().unwrap().len(), 0, "{history}");

    let (status, r) = start(&server, &ops, ok).await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap();
    // Another fleet's operator neither sees nor cancels it; a viewer sees but cannot cancel.
    let (status, _) = server
        .get_json(&format!("/api/v1/rollouts/{id}"), &stranger)
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .send_json(
            Method::POST,
            &format!("/api/v1/rollouts/{id}/cancel"),
            &stranger,
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .get_json(&format!("/api/v1/rollouts/{id}"), &viewer)
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .send_json(
            Method::POST,
            &format!("/api/v1/rollouts/{id}/cancel"),
            &viewer,
            &json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get_json("/api/v1/rollouts?fleet=f1", &stranger)
        .await;
    assert_eq!(status, 403);
}
