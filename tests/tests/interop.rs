//! Interoperability with MQTT clients nobody here wrote: mosquitto_pub and mosquitto_sub (Debian
//! mosquitto-clients) over TCP, MQTT.js (npm) over WebSocket. `scripts/setup.sh` installs them.
use boxpilot_tests::{box_options, now_ms, telemetry, tools_dir, Client, TestServer};
use std::process::{Command, Stdio};
use std::time::Duration;

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: run scripts/setup.sh");
}

async fn stored_points(server: &TestServer, device: &str) -> u64 {
    let token = server
        .user_token(
            &format!("reader-{device}-{}", now_ms()),
            &["viewer", "fleet:*"],
        )
        .await;
    let (_, s) = server
        .get_json(
            &format!("/api/v1/devices/{device}/telemetry?metric=temp_c"),
            &token,
        )
        .await;
    s["raw_points"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_over_tcp() {
    require("mosquitto_pub");
    require("mosquitto_sub");
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let credential = server
        .broker_credential("ops", &["operator", "fleet:f1"])
        .await;
    let port = server.mqtt_port().to_string();

    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "mqttv311",
            "-q",
            "1",
            "-C",
            "1",
            "-W",
            "15",
            "-v",
        ])
        .args(["-i", credential["client_id"].as_str().unwrap()])
        .args([
            "-u",
            credential["username"].as_str().unwrap(),
            "-P",
            credential["password"].as_str().unwrap(),
        ])
        .args(["-t", "dt/boxpilot/f1/+/telemetry"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;

    let payload = telemetry(1, now_ms(), 18.25);
    let publish = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "mqttv311",
            "-q",
            "1",
            "-i",
            "b1",
            "-u",
            "b1",
            "-P",
            &secret,
        ])
        .args(["-t", "dt/boxpilot/f1/b1/telemetry", "-m", &payload])
        .output()
        .unwrap();
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );

    let received = tokio::task::spawn_blocking(move || sub.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let line = String::from_utf8_lossy(&received.stdout);
    assert!(
        line.starts_with("dt/boxpilot/f1/b1/telemetry "),
        "{line} / {}",
        String::from_utf8_lossy(&received.stderr)
    );
    assert!(line.contains("18.25"));
    assert_eq!(stored_points(&server, "b1").await, 1);

    let refused = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "mqttv311",
            "-q",
            "1",
            "-i",
            "b1",
            "-u",
            "b1",
            "-P",
            "wrong",
        ])
        .args(["-t", "dt/boxpilot/f1/b1/telemetry", "-m", &payload])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        why.contains("bad user name or password") || why.contains("not authori"),
        "{why}"
    );
}

fn mqttjs(args: serde_json::Value) -> std::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/mqttjs_peer.cjs");
    Command::new("node")
        .arg(script)
        .arg(args.to_string())
        .env("NODE_PATH", tools_dir().join("node_modules"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs")
}

fn events(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_js_over_websocket() {
    require("node");
    assert!(
        tools_dir().join("node_modules/mqtt").is_dir(),
        "MQTT.js is missing: run scripts/setup.sh"
    );
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let credential = server
        .broker_credential("ops", &["operator", "fleet:f1"])
        .await;

    // A browser-like session watches the fleet over WebSocket.
    let watcher = mqttjs(serde_json::json!({
        "url": server.ws_url(), "clientId": credential["client_id"], "username": credential["username"],
        "password": credential["password"], "subscribe": "dt/boxpilot/f1/+/telemetry",
    }));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A box publishes over WebSocket too.
    let publisher = mqttjs(serde_json::json!({
        "url": server.ws_url(), "clientId": "b1", "username": "b1", "password": secret,
        "publish": { "topic": "dt/boxpilot/f1/b1/telemetry", "payload": telemetry(1, now_ms(), 3.5) },
    }));
    let published = tokio::task::spawn_blocking(move || publisher.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        events(&published).iter().any(|e| e["event"] == "published"),
        "{:?}",
        events(&published)
    );

    let watched = tokio::task::spawn_blocking(move || watcher.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let got = events(&watched);
    let message = got
        .iter()
        .find(|e| e["event"] == "message")
        .unwrap_or_else(|| panic!("{got:?} {}", String::from_utf8_lossy(&watched.stderr)));
    assert_eq!(message["topic"], "dt/boxpilot/f1/b1/telemetry");
    assert_eq!(stored_points(&server, "b1").await, 1);

    // A wrong secret is refused over WebSocket as over TCP.
    let refused = mqttjs(serde_json::json!({
        "url": server.ws_url(), "clientId": "b1", "username": "b1", "password": "wrong",
        "publish": { "topic": "dt/boxpilot/f1/b1/telemetry", "payload": "{}" },
    }));
    let refused = tokio::task::spawn_blocking(move || refused.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        events(&refused).iter().any(|e| e["event"] == "error"),
        "{:?}",
        events(&refused)
    );

    // Control: the rumqttc box still works.
    let mut bx = Client::connect(box_options(server.mqtt_port(), "b1", &secret))
        .await
        .unwrap();
    bx.publish_acked("dt/boxpilot/f1/b1/telemetry", telemetry(2, now_ms(), 3.6))
        .await
        .unwrap();
}
