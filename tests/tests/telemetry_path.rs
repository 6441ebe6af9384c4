//! One telemetry path end to end: a real MQTT box publishes through the embedded broker into the
//! store; the API returns exactly what was accepted; rejections become dead letters.
use boxpilot_tests::{box_options, now_ms, telemetry, Client, TestServer};
use std::time::Duration;

#[tokio::test]
async fn valid_duplicate_and_invalid_messages_over_mqtt() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let mut bx = Client::connect(box_options(server.mqtt_port(), "b1", &secret))
        .await
        .unwrap();
    let topic = "dt/boxpilot/f1/b1/telemetry";
    let t0 = now_ms() - 10_000;
    for (seq, temp) in [(1, 20.5), (2, 21.0), (4, 22.5)] {
        bx.publish_acked(topic, telemetry(seq, t0 + seq as i64 * 1000, temp))
            .await
            .unwrap();
    }
    // A QoS 1 redelivery of seq 2, then three invalid messages: all acknowledged by the broker.
    bx.publish_acked(topic, telemetry(2, t0 + 2000, 21.0))
        .await
        .unwrap();
    bx.publish_acked(
        topic,
        format!(
            r#"{{"seq":5,"ts":{},"metrics":{{"temp_c":NaN}}}}"#,
            t0 + 5000
        ),
    )
    .await
    .unwrap();
    bx.publish_acked(
        topic,
        format!(r#"{{"seq":6,"ts":{},"metrics":{{"Temp C":1}}}}"#, t0 + 6000),
    )
    .await
    .unwrap();
    bx.publish_acked(topic, telemetry(7, now_ms() + 3_600_000, 1.0))
        .await
        .unwrap();

    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let path = format!(
        "/api/v1/devices/b1/telemetry?metric=temp_c&from={}&to={}&max_points=100",
        t0 - 1,
        now_ms() + 60_000
    );
    let (status, series) = server.get_json(&path, &token).await;
    assert_eq!(status, 200, "{series}");
    let values: Vec<f64> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(
        values,
        vec![20.5, 21.0, 22.5],
        "exactly the valid readings, once each"
    );

    let (_, device) = server.get_json("/api/v1/devices/b1", &token).await;
    assert_eq!(device["latest"]["temp_c"], 22.5);
    assert_eq!(device["presence"]["online"], true);

    server.flush().await;
    let support = server.user_token("sup", &["support", "fleet:f1"]).await;
    let (status, report) = server
        .get_json("/api/v1/monitoring/pipeline?fleet=f1&window=5m", &support)
        .await;
    assert_eq!(status, 200, "{report}");
    let total = &report["total"];
    assert_eq!(total["received"], 7, "{report}");
    assert_eq!(total["accepted"], 3);
    assert_eq!(total["duplicates"], 1);
    assert_eq!(total["lost"], 1, "seq 3 never arrived");
    assert_eq!(total["rejected"]["not_finite_number"], 1);
    assert_eq!(total["rejected"]["invalid_metric_name"], 1);
    assert_eq!(total["rejected"]["timestamp_in_future"], 1);

    let (status, letters) = server
        .get_json("/api/v1/monitoring/dead-letters?fleet=f1", &support)
        .await;
    assert_eq!(status, 200);
    let mut reasons: Vec<&str> = letters
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "invalid_metric_name",
            "not_finite_number",
            "timestamp_in_future"
        ]
    );
    assert!(letters[0]["payload_preview"]
        .as_str()
        .unwrap()
        .contains("seq"));
    assert!(!letters[0]["detail"].as_str().unwrap().is_empty());

    // Operators do not see pipeline internals.
    assert_eq!(
        server
            .get_json("/api/v1/monitoring/dead-letters?fleet=f1", &token)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_box_cannot_publish_on_another_boxs_topics() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    server.add_device("f1", "b2").await;
    let mut bx = Client::connect(box_options(server.mqtt_port(), "b1", &secret))
        .await
        .unwrap();
    // The connection may end while the publish waits for its ack (then polling again would
    // reconnect), or just after.
    let closed = match bx
        .publish_acked("dt/boxpilot/f1/b2/telemetry", telemetry(1, now_ms(), 99.0))
        .await
    {
        Err(e) if e != "no PUBACK" => true,
        _ => bx.closed_within(Duration::from_secs(5)).await,
    };
    assert!(
        closed,
        "an MQTT 3.1.1 box is disconnected on a denied publish"
    );

    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let (_, series) = server
        .get_json("/api/v1/devices/b2/telemetry?metric=temp_c", &token)
        .await;
    assert_eq!(series["raw_points"], 0, "{series}");
}

#[tokio::test]
async fn wrong_secret_unknown_box_and_no_credentials_are_refused() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let port = server.mqtt_port();
    let wrong = Client::connect(box_options(port, "b1", "not-the-secret"))
        .await
        .err()
        .expect("refused");
    assert!(wrong.contains("BadUserNamePassword"), "{wrong}");
    let unknown = Client::connect(box_options(port, "ghost", &secret))
        .await
        .err()
        .expect("refused");
    assert!(unknown.contains("BadUserNamePassword"), "{unknown}");
    let anonymous = Client::connect(rumqttc::MqttOptions::new("b1", "127.0.0.1", port))
        .await
        .err()
        .expect("refused");
    assert!(anonymous.contains("refused"), "{anonymous}");
    // Another box's secret under this box's id.
    let other = server.add_device("f1", "b2").await;
    assert!(Client::connect(box_options(port, "b1", &other))
        .await
        .is_err());
    // The right secret connects.
    assert!(Client::connect(box_options(port, "b1", &secret))
        .await
        .is_ok());
}

#[tokio::test]
async fn presence_follows_connection_and_status() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    let token = server.user_token("v", &["viewer", "fleet:f1"]).await;
    let (_, before) = server.get_json("/api/v1/devices/b1", &token).await;
    assert_eq!(before["presence"]["online"], false);

    let mut bx = Client::connect(box_options(server.mqtt_port(), "b1", &secret))
        .await
        .unwrap();
    bx.publish_acked(
        "dt/boxpilot/f1/b1/status",
        r#"{"online":true,"fw":"2.0.1"}"#,
    )
    .await
    .unwrap();
    let (_, online) = server.get_json("/api/v1/devices/b1", &token).await;
    assert_eq!(online["presence"]["online"], true);
    assert_eq!(online["presence"]["firmware"], "2.0.1");

    // DISCONNECT, then close the socket as a box does (rumqttc keeps it open otherwise).
    bx.client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(300), bx.events.poll()).await;
    drop(bx);
    let mut offline = false;
    for _ in 0..50 {
        let (_, d) = server.get_json("/api/v1/devices/b1", &token).await;
        if d["presence"]["online"] == false {
            offline = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(offline, "a closed connection marks the box offline");
}
