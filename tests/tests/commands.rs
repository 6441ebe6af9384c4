//! Issue 3, the command lifecycle on the server: REST and MQTT issuing, box replies, offline
//! boxes, expiry, refusals, and the simulator honouring commands.
use boxpilot_tests::{answer_all, now_ms, session_cookie, ws_options, Client, TestServer};
use rumqttc::QoS;
use serde_json::{json, Value};
use std::time::Duration;

async fn post_command(server: &TestServer, token: &str, device: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(server.url(&format!("/api/v1/devices/{device}/commands")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn history(server: &TestServer, token: &str, device: &str) -> Vec<Value> {
    let (status, h) = server
        .get_json(&format!("/api/v1/devices/{device}/commands"), token)
        .await;
    assert_eq!(status, 200, "{h}");
    h.as_array().unwrap().clone()
}

fn states(record: &Value) -> Vec<String> {
    record["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["at"].as_i64().unwrap() > 0, "each change has its time");
            h["state"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Polls the history until the command reaches `state`.
async fn wait_state(
    server: &TestServer,
    token: &str,
    device: &str,
    id: &str,
    state: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = history(server, token, device)
            .await
            .into_iter()
            .find(|c| c["id"] == id);
        if let Some(c) = &found {
            if c["state"] == state {
                return c.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "command {id} never became {state}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A box answering every command `accepted` then `succeeded`.
#[tokio::test]
async fn an_operator_command_goes_through_every_state_in_order() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let bx = server.command_box("f1", "b1", &secret).await;
    let answers = answer_all(bx, "cmd/boxpilot/f1/b1/resp".into(), "ok");

    let (status, created) = post_command(
        &server,
        &token,
        "b1",
        json!({"name": "set_setpoint", "params": {"value": 4.5}, "ttl_secs": 30}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(uuid_like(&id), "{id}");
    let done = wait_state(&server, &token, "b1", &id, "succeeded").await;
    assert_eq!(
        states(&done),
        vec!["created", "sent", "accepted", "succeeded"]
    );
    assert_eq!(done["issuer"], "user:ops");
    assert_eq!(done["params"], json!({"value": 4.5}));
    let times: Vec<i64> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let seen = answers.await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], id.as_str());
    assert_eq!(seen[0]["name"], "set_setpoint");
    assert_eq!(seen[0]["params"], json!({"value": 4.5}));
    assert!(seen[0]["expires_at"].as_i64().unwrap() > now_ms());

    // The catalogue is served to any logged-in role.
    let viewer = server.user_token("vic", &["viewer", "fleet:f1"]).await;
    let (status, catalogue) = server.get_json("/api/v1/commands/catalogue", &viewer).await;
    assert_eq!(status, 200);
    assert_eq!(catalogue["model"], "coldbox");
    assert_eq!(catalogue["commands"].as_array().unwrap().len(), 4);
    // ... and the viewer sees the history.
    assert_eq!(history(&server, &viewer, "b1").await.len(), 1);
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn refusals_are_clear_recorded_and_nothing_is_sent() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    server.add_device("f2", "b2").await;
    let mut bx = server.command_box("f1", "b1", &secret).await;
    let operator = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let viewer = server.user_token("vic", &["viewer", "fleet:f1"]).await;

    let ok = json!({"name": "set_setpoint", "params": {"value": 4.5}});
    let (status, body) = post_command(&server, &viewer, "b1", ok.clone()).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = post_command(&server, &operator, "b2", ok.clone()).await;
    assert_eq!(status, 404, "a box outside the caller's fleets");
    let (status, _) = post_command(&server, &operator, "nobox", ok.clone()).await;
    assert_eq!(status, 404);
    let (status, body) = post_command(
        &server,
        &operator,
        "b1",
        json!({"name": "diagnostics", "params": {}}),
    )
    .await;
    assert_eq!(status, 403, "diagnostics need support: {body}");

    for (body, reason) in [
        (json!({"name": "self_destruct"}), "unknown command"),
        (
            json!({"name": "set_setpoint", "params": {"value": "cold"}}),
            "must be a number",
        ),
        (
            json!({"name": "set_setpoint", "params": {"value": 99}}),
            "above the maximum 30 °C",
        ),
        (
            json!({"name": "set_interval", "params": {"seconds": 2.5}}),
            "must be an integer",
        ),
        (json!({"name": "reboot", "ttl_secs": 99999}), "ttl_secs"),
    ] {
        let (status, answer) = post_command(&server, &operator, "b1", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(
            answer.to_string().contains(reason),
            "{answer} lacks {reason}"
        );
    }
    let h = history(&server, &viewer, "b1").await;
    assert_eq!(h.len(), 6, "each refusal is recorded: {h:?}");
    for c in &h {
        assert_eq!(c["state"], "rejected");
        assert_eq!(states(c), vec!["rejected"]);
        assert_eq!(c["issuer"], "user:ops");
        assert!(c["history"][0]["detail"].as_str().unwrap().len() > 5);
    }
    assert!(
        bx.next_publish(Duration::from_millis(700)).await.is_none(),
        "nothing was sent to the box"
    );
}

#[tokio::test]
async fn offline_boxes_get_commands_when_they_return_unless_expired() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;

    let (status, short) = post_command(
        &server,
        &token,
        "b1",
        json!({"name": "reboot", "ttl_secs": 1}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(short["state"], "created", "the box is offline: not sent");
    let (_, long) = post_command(
        &server,
        &token,
        "b1",
        json!({"name": "set_interval", "params": {"seconds": 5}, "ttl_secs": 600}),
    )
    .await;
    assert_eq!(long["state"], "created");
    let short_id = short["id"].as_str().unwrap();
    let long_id = long["id"].as_str().unwrap();
    let expired = wait_state(&server, &token, "b1", short_id, "expired").await;
    assert_eq!(states(&expired), vec!["created", "expired"]);

    let mut bx = server.command_box("f1", "b1", &secret).await;
    let got = bx
        .next_publish(Duration::from_secs(5))
        .await
        .expect("the held command is delivered");
    let cmd: Value = serde_json::from_slice(&got.payload).unwrap();
    assert_eq!(cmd["id"], long_id);
    assert!(
        bx.next_publish(Duration::from_millis(700)).await.is_none(),
        "the expired command is never delivered"
    );
    wait_state(&server, &token, "b1", long_id, "sent").await;
    bx.publish_acked(
        "cmd/boxpilot/f1/b1/resp",
        json!({"id": long_id, "status": "succeeded"}).to_string(),
    )
    .await
    .unwrap();
    let done = wait_state(&server, &token, "b1", long_id, "succeeded").await;
    assert_eq!(states(&done), vec!["created", "sent", "succeeded"]);
    // A late or foreign reply does not move a finished command.
    bx.publish_acked(
        "cmd/boxpilot/f1/b1/resp",
        json!({"id": short_id, "status": "succeeded"}).to_string(),
    )
    .await
    .unwrap();
    let after = history(&server, &token, "b1").await;
    let short_now = after.iter().find(|c| c["id"] == short_id).unwrap();
    assert_eq!(short_now["state"], "expired");
}

#[tokio::test]
async fn a_forged_issuer_over_mqtt_is_ignored_and_bad_commands_refused() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let mut bx = server.command_box("f1", "b1", &secret).await;
    let pw = server.add_user("ops", &["operator", "fleet:f1"]).await;
    let cookie = session_cookie(&server, "ops", &pw).await;
    let (_, credential) = server.call(&cookie, "/api/broker/credential").await;
    let token = server.token("ops", &pw).await;

    let mut pilot = Client::connect(ws_options(&server, &credential))
        .await
        .unwrap();
    let id = "5f0c6f43-7d0e-4c39-9f59-3d5b8c1f2a10";
    pilot
        .publish_acked(
            "cmd/boxpilot/f1/b1/req",
            json!({"id": id, "name": "set_setpoint", "params": {"value": 3.0},
                   "expires_at": now_ms() + 30_000, "issuer": "admin"})
            .to_string(),
        )
        .await
        .unwrap();
    let got = bx
        .next_publish(Duration::from_secs(5))
        .await
        .expect("routed");
    assert_eq!(got.topic, "cmd/boxpilot/f1/b1/req");
    bx.publish_acked(
        "cmd/boxpilot/f1/b1/resp",
        json!({"id": id, "status": "accepted"}).to_string(),
    )
    .await
    .unwrap();
    let c = wait_state(&server, &token, "b1", id, "accepted").await;
    assert_eq!(
        c["issuer"], "user:ops",
        "the connection's identity, not the payload's"
    );
    assert_eq!(c["source"], "mqtt");
    assert_eq!(states(&c), vec!["created", "sent", "accepted"]);

    // A replayed id is refused (MQTT 3.1.1: the connection is closed), nothing reaches the box.
    pilot
        .client
        .publish(
            "cmd/boxpilot/f1/b1/req",
            QoS::AtLeastOnce,
            false,
            json!({"id": id, "name": "reboot", "expires_at": now_ms() + 30_000}).to_string(),
        )
        .await
        .unwrap();
    assert!(pilot.closed_within(Duration::from_secs(5)).await);
    assert!(bx.next_publish(Duration::from_millis(500)).await.is_none());

    // An out-of-range command is refused and recorded as rejected.
    let mut pilot = Client::connect(ws_options(&server, &credential))
        .await
        .unwrap();
    let bad = "0b7a6e9e-2f6d-4d8e-8a7c-1c2d3e4f5a6b";
    pilot
        .client
        .publish(
            "cmd/boxpilot/f1/b1/req",
            QoS::AtLeastOnce,
            false,
            json!({"id": bad, "name": "set_setpoint", "params": {"value": 80},
                   "expires_at": now_ms() + 30_000})
            .to_string(),
        )
        .await
        .unwrap();
    assert!(pilot.closed_within(Duration::from_secs(5)).await);
    assert!(bx.next_publish(Duration::from_millis(500)).await.is_none());
    let c = wait_state(&server, &token, "b1", bad, "rejected").await;
    assert_eq!(c["issuer"], "user:ops");
    assert!(c["history"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("above the maximum"));
    let replay = history(&server, &token, "b1").await;
    assert_eq!(
        replay.iter().filter(|c| c["id"] == id).count(),
        1,
        "the replay did not overwrite the original"
    );
}

#[tokio::test]
async fn the_simulator_honours_commands_and_rejects_unknown_ones() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "sim1").await;
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let config = server.simulated_box("sim1", secret, 5.0, "1.0.0");
    let sim = tokio::spawn(boxpilot::simulator::run(config, stop));
    // Wait for the box to be online.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, d) = server.get_json("/api/v1/devices/sim1", &token).await;
        if d["presence"]["online"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "simulator not online"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // its subscription

    let (status, c) = post_command(
        &server,
        &token,
        "sim1",
        json!({"name": "set_setpoint", "params": {"value": -18.0}}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let done = wait_state(
        &server,
        &token,
        "sim1",
        c["id"].as_str().unwrap(),
        "succeeded",
    )
    .await;
    assert_eq!(
        states(&done),
        vec!["created", "sent", "accepted", "succeeded"]
    );

    // A command the box does not know (the server's catalogue refuses it, so it is put in the
    // store and published directly, as a newer catalogue than the box's firmware would).
    let unknown = "7e57a1b2-0000-4000-8000-000000000001";
    server
        .running
        .store
        .put_command(&boxpilot::commands::CommandRecord {
            id: unknown.into(),
            device: app::domain::DeviceId::parse("sim1").unwrap(),
            fleet: app::domain::FleetId::parse("f1").unwrap(),
            name: "self_destruct".into(),
            params: json!({}),
            issuer: "user:ops".into(),
            source: boxpilot::commands::CommandSource::Api,
            issued_at: now_ms(),
            expires_at: now_ms() + 30_000,
            state: boxpilot::commands::CommandState::Sent,
            history: vec![],
            rollout: None,
        })
        .await
        .unwrap();
    server
        .running
        .broker()
        .publish(
            "cmd/boxpilot/f1/sim1/req",
            json!({"id": unknown, "name": "self_destruct", "params": {}, "expires_at": now_ms() + 30_000})
                .to_string()
                .into_bytes(),
            false,
        )
        .await
        .unwrap();
    let rejected = wait_state(&server, &token, "sim1", unknown, "rejected").await;
    let last = rejected["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["detail"].as_str().unwrap().contains("unknown command"),
        "{last}"
    );
    stop_tx.send(true).unwrap();
    let _ = sim.await;
}
