//! `POST /api/v1/ingest`: the same core and rules as MQTT, with box or admin authentication.
use boxpilot_tests::{now_ms, telemetry, TestServer};

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{id}:{secret}")
        )
    )
}

async fn post(
    server: &TestServer,
    topic: &str,
    auth: &str,
    body: String,
) -> (u16, serde_json::Value) {
    let r = server
        .http
        .post(server.url(&format!("/api/v1/ingest?topic={topic}")))
        .header("authorization", auth)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn boxes_ingest_over_http_with_the_mqtt_rules() {
    let server = TestServer::start().await;
    let secret = server.add_device("f1", "b1").await;
    server.add_device("f1", "b2").await;
    let auth = basic("b1", &secret);
    let topic = "dt/boxpilot/f1/b1/telemetry";
    let ts = now_ms();

    assert_eq!(
        post(&server, topic, &auth, telemetry(1, ts, 1.0)).await.0,
        202
    );
    let (status, body) = post(&server, topic, &auth, telemetry(1, ts, 1.0)).await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("duplicate")));

    let (status, body) = post(&server, topic, &auth, "{oops".into()).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (422, Some("malformed_json")),
        "{body}"
    );
    let (status, body) = post(
        &server,
        topic,
        &auth,
        format!(
            r#"{{"seq":2,"ts":{ts},"metrics":{{"a":"{}"}}}}"#,
            "x".repeat(300)
        ),
    )
    .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (422, Some("text_too_long"))
    );
    let big = format!(
        r#"{{"seq":3,"ts":{ts},"metrics":{{"a":1}},"pad":"{}"}}"#,
        "x".repeat(130 * 1024)
    );
    let (status, body) = post(&server, topic, &auth, big).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let huge = "x".repeat(300 * 1024);
    assert_eq!(post(&server, topic, &auth, huge).await.0, 413);

    assert_eq!(
        post(&server, topic, &basic("b1", "wrong"), telemetry(2, ts, 1.0))
            .await
            .0,
        401
    );
    assert_eq!(
        post(
            &server,
            "dt/boxpilot/f1/b2/telemetry",
            &auth,
            telemetry(2, ts, 1.0)
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &server,
            "dt/boxpilot/f1/%2B/telemetry",
            &auth,
            telemetry(2, ts, 1.0)
        )
        .await
        .0,
        403
    );

    // An admin may ingest for a registered box; an unknown box is a dead letter.
    let admin = format!("Bearer {}", server.user_token("root", &["admin"]).await);
    assert_eq!(
        post(
            &server,
            "dt/boxpilot/f1/b2/telemetry",
            &admin,
            telemetry(1, ts, 2.0)
        )
        .await
        .0,
        202
    );
    let (status, body) = post(
        &server,
        "dt/boxpilot/f1/ghost/telemetry",
        &admin,
        telemetry(1, ts, 2.0),
    )
    .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (422, Some("unknown_device"))
    );
    let (status, body) = post(
        &server,
        "dt/boxpilot/f9/b2/telemetry",
        &admin,
        telemetry(2, ts, 2.0),
    )
    .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (422, Some("wrong_fleet"))
    );
    let operator = format!(
        "Bearer {}",
        server.user_token("ops", &["operator", "fleet:f1"]).await
    );
    assert_eq!(
        post(&server, topic, &operator, telemetry(9, ts, 2.0))
            .await
            .0,
        403
    );

    // Accepted data stayed: one reading for b1, one for b2.
    let viewer = server.user_token("v", &["viewer", "fleet:f1"]).await;
    for id in ["b1", "b2"] {
        let (_, s) = server
            .get_json(
                &format!("/api/v1/devices/{id}/telemetry?metric=temp_c"),
                &viewer,
            )
            .await;
        assert_eq!(s["raw_points"], 1, "{id}: {s}");
    }
}
