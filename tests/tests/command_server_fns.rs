//! Issue 3, the console's command panel: the server functions `commands/catalogue`,
//! `commands/issue` and `commands/list` with a session cookie, through the same command service
//! (and so the same rules and audit) as the REST API.
use boxpilot_tests::{answer_all, session_cookie, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

async fn issue(server: &TestServer, cookie: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(server.url("/api/commands/issue"))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn list(server: &TestServer, cookie: &str, device: &str) -> (u16, Value) {
    let r = server
        .http
        .post(server.url("/api/commands/list"))
        .header("cookie", cookie)
        .form(&[("device", device), ("limit", "10")])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

fn setpoint(device: &str, value: f64) -> Value {
    json!({"device": device, "name": "set_setpoint", "params": {"value": value}, "ttl_secs": null})
}

#[tokio::test]
async fn viewers_are_refused_and_operators_issue_and_list_through_server_functions() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    server.add_device("f2", "b2").await;
    let viewer_pw = server.add_user("vic", &["viewer", "fleet:f1"]).await;
    let operator_pw = server.add_user("ops", &["operator", "fleet:f1"]).await;
    let viewer = session_cookie(&server, "vic", &viewer_pw).await;
    let operator = session_cookie(&server, "ops", &operator_pw).await;

    // A box that answers every command accepted, then succeeded.
    let bx = server.command_box("f1", "b1", &secret).await;
    let answers = answer_all(bx, "cmd/boxpilot/f1/b1/resp".into(), "setpoint set");

    // The catalogue: typed parameters with ranges and units, dangerous flag, least role.
    let (status, catalogue) = server.call(&viewer, "/api/commands/catalogue").await;
    assert_eq!(status, 200, "{catalogue}");
    assert_eq!(catalogue["model"], "coldbox");
    let commands = catalogue["commands"].as_array().unwrap();
    let find = |name: &str| commands.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(
        find("set_setpoint")["params"][0],
        json!({"name": "value", "type": "number", "min": -30.0, "max": 30.0, "unit": "°C",
               "values": [], "max_len": null, "required": true, "description": ""})
    );
    assert_eq!(find("reboot")["dangerous"], true);
    assert_eq!(find("diagnostics")["min_role"], "support");

    // Nobody without a session; a viewer may not send.
    let (status, _) = issue(&server, "a=b", setpoint("b1", 4.5)).await;
    assert_eq!(status, 401);
    let (status, refused) = issue(&server, &viewer, setpoint("b1", 4.5)).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("operator"), "{refused}");

    // The operator's bad requests: clear reasons, the same as the REST API's.
    let (status, body) = issue(&server, &operator, setpoint("b1", 99.0)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("above the maximum 30 °C"),
        "{body}"
    );
    let diagnostics =
        json!({"device": "b1", "name": "diagnostics", "params": {}, "ttl_secs": null});
    let (status, body) = issue(&server, &operator, diagnostics).await;
    assert_eq!(status, 403, "diagnostics need support: {body}");
    let (status, _) = issue(&server, &operator, setpoint("b2", 4.5)).await;
    assert_eq!(status, 404, "a box outside the operator's fleets");
    let (status, _) = list(&server, &operator, "b2").await;
    assert_eq!(status, 404);

    // The operator sends a command; the list shows it reach `succeeded`, every state timed.
    let (status, sent) = issue(&server, &operator, setpoint("b1", 4.5)).await;
    assert_eq!(status, 200, "{sent}");
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["issuer"], "user:ops");
    assert_eq!(sent["params"], json!({"value": 4.5}));
    assert!(sent["expires_at"].as_i64().unwrap() > sent["issued_at"].as_i64().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let done = loop {
        let (status, commands) = list(&server, &operator, "b1").await;
        assert_eq!(status, 200, "{commands}");
        let found = commands
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .cloned();
        if let Some(c) = found.as_ref().filter(|c| c["state"] == "succeeded") {
            break c.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never succeeded: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let states: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["created", "sent", "accepted", "succeeded"]);
    assert_eq!(done["history"][3]["detail"], "setpoint set");

    // The refusals are in the audit too, newest first; viewers may read the list.
    let (status, all) = list(&server, &viewer, "b1").await;
    assert_eq!(status, 200);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["id"], id.as_str());
    assert!(all[1..].iter().all(|c| c["state"] == "rejected"));
    assert_eq!(
        answers.await.unwrap().len(),
        1,
        "only the valid command reached the box"
    );
}
