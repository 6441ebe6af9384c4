//! The same console on the DynamoDB store (moto server): telemetry in over MQTT and out as a
//! chart, pipeline counts, a command round trip, a rollout and desired state. The adapters are
//! chosen at start; everything above them is the code `boxpilot serve` runs.
//!
//!   cargo test -p boxpilot-tests --features aws --test on_dynamodb
#![cfg(feature = "aws")]

use boxpilot::testing::moto;
use boxpilot_tests::{answer_all, now_ms, telemetry, MonitoringSettings, StoreChoice, TestServer};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn server_on_moto() -> TestServer {
    TestServer::start_full(
        StoreChoice::DynamoDb {
            table: moto::table_name(),
            endpoint: Some(moto::endpoint().to_string()),
            region: moto::REGION.into(),
            create_table: true,
        },
        MonitoringSettings::default(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_runs_on_dynamodb() {
    let server = server_on_moto().await;
    let (_, health) = server.get_json("/healthz", "").await;
    assert!(health.to_string().contains("dynamodb table"), "{health}");
    let token = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let support = server.user_token("sue", &["support", "fleet:f1"]).await;

    // Telemetry over MQTT, with one gap and one redelivery.
    let secret = server.add_device("f1", "b1").await;
    let mut bx = server.command_box("f1", "b1", &secret).await;
    let t0 = now_ms() - 10_000;
    for seq in [1u64, 2, 4] {
        let payload = telemetry(seq, t0 + seq as i64 * 1000, 4.0 + seq as f64);
        bx.publish_acked("dt/boxpilot/f1/b1/telemetry", payload.clone())
            .await
            .unwrap();
        if seq == 4 {
            bx.publish_acked("dt/boxpilot/f1/b1/telemetry", payload)
                .await
                .unwrap();
        }
    }
    let (status, series) = server
        .get_json(
            "/api/v1/devices/b1/telemetry?metric=temp_c&max_points=100",
            &token,
        )
        .await;
    assert_eq!(status, 200, "{series}");
    assert_eq!(series["raw_points"], 3, "{series}");
    server.flush().await;
    let (_, health) = server
        .get_json("/api/v1/monitoring/pipeline?fleet=f1&window=5m", &support)
        .await;
    assert_eq!(health["total"]["accepted"], 3, "{health}");
    assert_eq!(health["total"]["duplicates"], 1);
    assert_eq!(health["total"]["lost"], 1);

    // A command: sent to the box, answered, final state visible through the API.
    let answers = answer_all(bx, "cmd/boxpilot/f1/b1/resp".into(), "ok");
    let (status, c) = server
        .send_json(
            Method::POST,
            "/api/v1/devices/b1/commands",
            &token,
            &json!({"name": "set_setpoint", "params": {"value": 3.5}}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, history) = server.get_json("/api/v1/devices/b1/commands", &token).await;
        if history[0]["id"] == id.as_str() && history[0]["state"] == "succeeded" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{history}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A rollout to the fleet (the one online box) completes.
    let (status, r) = server
        .send_json(
            Method::POST,
            "/api/v1/rollouts",
            &token,
            &json!({"fleet": "f1", "name": "set_setpoint", "params": {"value": 2.0}, "rate_per_minute": 600}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, r) = server
            .get_json(&format!("/api/v1/rollouts/{rid}"), &token)
            .await;
        if r["status"] == "completed" {
            assert_eq!(r["progress"]["states"]["succeeded"], 1, "{r}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answers.await.unwrap().len(), 2);

    // Desired state: a conditional write; a stale version is refused.
    let put = |version: u64| {
        let (server, token) = (&server, &token);
        async move {
            server
                .send_json(
                    Method::PUT,
                    "/api/v1/devices/b1/shadow",
                    token,
                    &json!({"desired": {"setpoint_c": 4}, "version": version}),
                )
                .await
        }
    };
    assert_eq!(put(0).await.0, 200);
    assert_eq!(put(0).await.0, 409);
}
