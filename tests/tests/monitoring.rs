//! Issue 5: pipeline health, costs, alerts with webhook delivery (retried), rule validation,
//! `/metrics`, and who may see what.
use boxpilot_tests::{box_options, now_ms, telemetry, Client, MonitoringSettings, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A local HTTP receiver of webhook notifications: answers each POST with the next status of
/// `answers` (the last one repeats), after `delay`; keeps what it received.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

async fn receiver(answers: Vec<u16>, delay: Duration) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let answers = Arc::new(answers);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let (seen, answers) = (seen.clone(), answers.clone());
            async move {
                tokio::time::sleep(delay).await;
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(body);
                    seen.len()
                };
                let code = answers[(n - 1).min(answers.len() - 1)];
                axum::http::StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received }
}

fn quick(webhooks: Vec<String>) -> MonitoringSettings {
    MonitoringSettings {
        evaluate_every: Duration::from_millis(200),
        webhooks,
        webhook_backoff: Duration::from_millis(50),
        webhook_attempts: 4,
        webhook_timeout: Duration::from_millis(500),
        ..MonitoringSettings::default()
    }
}

async fn connected_box(server: &TestServer, device: &str) -> Client {
    let secret = server.add_device("f1", device).await;
    Client::connect(box_options(server.mqtt_port(), device, &secret))
        .await
        .expect("box connects")
}

/// Publishes readings with these sequence numbers, acknowledged (stored).
async fn publish_seqs(bx: &mut Client, device: &str, seqs: impl IntoIterator<Item = u64>) {
    let topic = format!("dt/boxpilot/f1/{device}/telemetry");
    for seq in seqs {
        bx.publish_acked(&topic, telemetry(seq, now_ms() - 50, 4.0))
            .await
            .unwrap();
    }
}

async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_loss_alert_fires_reaches_the_webhook_after_retries_and_resolves() {
    // The receiver fails twice (500), then accepts.
    let hook = receiver(vec![500, 500, 200], Duration::ZERO).await;
    let server = TestServer::start_monitored(quick(vec![hook.url.clone()])).await;
    let admin = server.user_token("ada", &["admin"]).await;
    let mut bx = connected_box(&server, "b1").await;
    publish_seqs(&mut bx, "b1", [1]).await;

    let (status, rule) = server
        .send_json(
            Method::POST,
            "/api/v1/monitoring/alert-rules",
            &admin,
            &json!({"id": "loss", "fleet": "f1", "kind": "loss_ratio_above", "percent": 10}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");

    // seq 2..=4 never arrive: 3 lost of 5 expected.
    publish_seqs(&mut bx, "b1", [5]).await;
    server.flush().await;
    let active = wait_for("the alert to fire", async || {
        let (_, overview) = server.get_json("/api/v1/monitoring/alerts", &admin).await;
        overview["active"]
            .as_array()
            .filter(|a| !a.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(active[0]["rule_id"], "loss");
    assert_eq!(active[0]["subject"], "f1");
    assert!(
        active[0]["last_value"].as_f64().unwrap() > 50.0,
        "{active:?}"
    );

    // Delivered on the third try, and the outcome is recorded on the alert.
    let delivered = wait_for("the webhook delivery", async || {
        let (_, overview) = server.get_json("/api/v1/monitoring/alerts", &admin).await;
        let deliveries = overview["active"][0]["deliveries"].as_array()?.clone();
        deliveries
            .iter()
            .find(|d| d["channel"] == "webhook:fired" && d["status"] == "delivered")
            .cloned()
    })
    .await;
    assert_eq!(delivered["attempts"], 3, "{delivered}");
    {
        let got = hook.received.lock().unwrap();
        assert_eq!(got.len(), 3, "two failures then one success");
        assert!(got
            .iter()
            .all(|m| m["event"] == "fired" && m["alert"]["rule_id"] == "loss"));
    }

    // Enough messages in order bring the loss under 10%: the alert resolves, once.
    publish_seqs(&mut bx, "b1", 6..=40).await;
    server.flush().await;
    let recent = wait_for("the alert to resolve", async || {
        let (_, overview) = server.get_json("/api/v1/monitoring/alerts", &admin).await;
        let resolved = overview["recent"]
            .as_array()?
            .iter()
            .find(|a| a["resolved_at"].is_i64())?
            .clone();
        overview["active"]
            .as_array()?
            .is_empty()
            .then_some(resolved)
    })
    .await;
    assert_eq!(recent["resolved_because"], "condition_cleared");
    wait_for("the resolution at the webhook", async || {
        let got = hook.received.lock().unwrap();
        got.iter().any(|m| m["event"] == "resolved").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fired = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["event"] == "fired")
        .count();
    assert_eq!(
        fired, 3,
        "not fired again while nothing changed (3 tries of one message)"
    );
}

#[tokio::test]
async fn a_webhook_that_times_out_fails_and_ingestion_goes_on() {
    let hook = receiver(vec![200], Duration::from_secs(3)).await;
    let server = TestServer::start_monitored(quick(vec![hook.url.clone()])).await;
    let admin = server.user_token("ada", &["admin"]).await;
    let mut bx = connected_box(&server, "b1").await;
    publish_seqs(&mut bx, "b1", [1]).await;
    let (status, _) = server
        .send_json(
            Method::POST,
            "/api/v1/monitoring/alert-rules",
            &admin,
            &json!({"id": "cold", "fleet": "f1", "kind": "metric_below", "metric": "temp_c", "value": 100, "for_minutes": 1}),
        )
        .await;
    assert_eq!(status, 201);
    // The rule holds a minute before firing; meanwhile and after, readings keep being stored.
    let (status, _) = server
        .send_json(
            Method::POST,
            "/api/v1/monitoring/alert-rules",
            &admin,
            &json!({"id": "lossy", "fleet": "f1", "kind": "loss_ratio_above", "percent": 1}),
        )
        .await;
    assert_eq!(status, 201);
    publish_seqs(&mut bx, "b1", [3]).await;
    server.flush().await;
    let failed = wait_for("the delivery to fail", async || {
        let (_, overview) = server.get_json("/api/v1/monitoring/alerts", &admin).await;
        overview["active"]
            .as_array()?
            .iter()
            .flat_map(|a| a["deliveries"].as_array().cloned().unwrap_or_default())
            .find(|d| d["status"] == "failed")
    })
    .await;
    assert_eq!(failed["attempts"], 4);
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{failed}"
    );
    // Ingestion was not held up by the slow receiver: every reading is stored.
    publish_seqs(&mut bx, "b1", 4..=10).await;
    let (_, series) = server
        .get_json(
            "/api/v1/devices/b1/telemetry?metric=temp_c&max_points=100",
            &admin,
        )
        .await;
    assert_eq!(series["raw_points"], 9, "{series}");
}

#[tokio::test]
async fn bad_rules_are_refused_with_a_reason_and_only_admins_edit_them() {
    let server = TestServer::start_monitored(quick(vec![])).await;
    let admin = server.user_token("ada", &["admin"]).await;
    let support = server.user_token("sue", &["support", "fleet:f1"]).await;
    let operator = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut bx = connected_box(&server, "b1").await;
    publish_seqs(&mut bx, "b1", [1]).await;
    let post = |token: &str, body: Value| {
        let (server, token) = (&server, token.to_owned());
        async move {
            server
                .send_json(
                    Method::POST,
                    "/api/v1/monitoring/alert-rules",
                    &token,
                    &body,
                )
                .await
        }
    };
    for (body, words) in [
        (
            json!({"id": "a", "fleet": "f1", "kind": "loss_ratio_above", "percent": 150}),
            "percent",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "loss_ratio_above", "percent": -1}),
            "percent",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "metric_above", "metric": "pressure_bar", "value": 2, "for_minutes": 5}),
            "pressure_bar",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "box_offline_longer_than", "minutes": 0}),
            "minutes",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "reject_rate_rising", "factor": 0.5, "min_percent": 1, "window_minutes": 10}),
            "factor",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "temperature_party"}),
            "temperature_party",
        ),
        (
            json!({"id": "a b", "fleet": "f1", "kind": "cost_spike"}),
            "a b",
        ),
        (
            json!({"id": "a", "fleet": "f1", "kind": "cost_spike", "surprise": 1}),
            "surprise",
        ),
    ] {
        let (status, answer) = post(&admin, body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(words), "{body} -> {message}");
    }
    let good = json!({"id": "warm", "fleet": "f1", "kind": "metric_above", "metric": "temp_c", "value": 8, "for_minutes": 15});
    assert_eq!(post(&support, good.clone()).await.0, 403);
    assert_eq!(post(&operator, good.clone()).await.0, 403);
    assert_eq!(post(&admin, good.clone()).await.0, 201);
    let (status, rules) = server
        .get_json("/api/v1/monitoring/alert-rules", &support)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        rules.as_array().unwrap().len(),
        1,
        "support reads the rules"
    );
    let (status, _) = server
        .get_json("/api/v1/monitoring/alerts", &operator)
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .send_json(
            Method::DELETE,
            "/api/v1/monitoring/alert-rules/warm",
            &support,
            &Value::Null,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .send_json(
            Method::DELETE,
            "/api/v1/monitoring/alert-rules/warm",
            &admin,
            &Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .send_json(
            Method::DELETE,
            "/api/v1/monitoring/alert-rules/warm",
            &admin,
            &Value::Null,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn costs_follow_the_measured_counts_and_only_support_and_admin_see_them() {
    let server = TestServer::start_monitored(quick(vec![])).await;
    let support = server.user_token("sue", &["support", "fleet:f1"]).await;
    let other = server.user_token("sam", &["support", "fleet:f2"]).await;
    let operator = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let viewer = server.user_token("vic", &["viewer", "fleet:f1"]).await;
    let mut bx = connected_box(&server, "b1").await;
    publish_seqs(&mut bx, "b1", 1..=20).await;
    // One big message: 6 KB is two 5 KB units.
    let big =
        json!({"seq": 21, "ts": now_ms(), "metrics": {"note": "x".repeat(250), "temp_c": 4.0}});
    let mut padded = big.to_string();
    padded.push_str(&" ".repeat(6 * 1024 - padded.len()));
    bx.publish_acked("dt/boxpilot/f1/b1/telemetry", padded)
        .await
        .unwrap();
    server.flush().await;

    for period in ["hour", "day", "month"] {
        let (status, report) = server
            .get_json(
                &format!("/api/v1/monitoring/costs?fleet=f1&period={period}"),
                &support,
            )
            .await;
        assert_eq!(status, 200, "{report}");
        let line = |name: &str| {
            report["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["name"].as_str().unwrap().contains(name))
                .cloned()
                .unwrap_or_else(|| panic!("no {name} line in {report}"))
        };
        assert_eq!(
            line("messaging")["quantity"],
            22.0,
            "{period}: 21 readings at 1 unit, one at 2"
        );
        // 21 messages through the queue in batches of 10: 3 invocations; 21 sends, 3 receives
        // and 3 deletes.
        assert_eq!(line("Lambda requests")["quantity"], 3.0);
        assert_eq!(line("SQS requests")["quantity"], 27.0);
        assert!(report["total_usd"].as_f64().unwrap() > 0.0);
        assert_eq!(report["boxes"], 1);
        assert!(!report["series"].as_array().unwrap().is_empty());
        assert_eq!(
            report["projection"].is_object(),
            period == "month",
            "{report}"
        );
    }
    for (token, code) in [(&operator, 403), (&viewer, 403), (&other, 403)] {
        let (status, _) = server
            .get_json("/api/v1/monitoring/costs?fleet=f1&period=day", token)
            .await;
        assert_eq!(status, code);
    }
    let (status, answer) = server
        .get_json("/api/v1/monitoring/costs?fleet=f1&period=year", &support)
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("hour, day or month"));
}

#[tokio::test]
async fn pipeline_health_counts_loss_net_of_reboots_and_duplicates_and_metrics_serve_admins() {
    let server = TestServer::start_monitored(quick(vec![])).await;
    let admin = server.user_token("ada", &["admin"]).await;
    let operator = server.user_token("ops", &["operator", "fleet:f1"]).await;
    let mut good = connected_box(&server, "good").await;
    let mut lossy = connected_box(&server, "lossy").await;
    publish_seqs(&mut good, "good", 1..=5).await;
    publish_seqs(&mut lossy, "lossy", [1, 4, 5]).await;
    // seq 9, then the same message again (a QoS 1 redelivery): a duplicate, not loss.
    let nine = telemetry(9, now_ms() - 50, 4.0);
    for _ in 0..2 {
        lossy
            .publish_acked("dt/boxpilot/f1/lossy/telemetry", nine.clone())
            .await
            .unwrap();
    }
    // A box that reboots starts again at seq 1 (a later box time): no loss.
    let mut rebooted = connected_box(&server, "rebooted").await;
    let t0 = now_ms() - 10_000;
    for (seq, ts) in [
        (1u64, t0),
        (2, t0 + 1_000),
        (3, t0 + 2_000),
        (1, t0 + 5_000),
        (2, t0 + 6_000),
    ] {
        rebooted
            .publish_acked("dt/boxpilot/f1/rebooted/telemetry", telemetry(seq, ts, 4.0))
            .await
            .unwrap();
    }
    server.flush().await;
    let (status, health) = server
        .get_json("/api/v1/monitoring/pipeline?fleet=f1&window=5m", &admin)
        .await;
    assert_eq!(status, 200, "{health}");
    // Only the boxes with something wrong are listed: a reboot is not loss, so neither the
    // rebooted box nor the good one is there; their messages are in the totals.
    let listed: Vec<&str> = health["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["device"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["lossy"], "{health}");
    assert_eq!(health["boxes"][0]["device"], "lossy", "{health}");
    assert_eq!(health["boxes"][0]["counts"]["lost"], 5);
    assert_eq!(health["boxes"][0]["counts"]["duplicates"], 1);
    assert_eq!(health["total"]["accepted"], 14);
    assert!(health["total"]["latency_samples"].as_u64().unwrap() >= 9);
    assert!(health["total"]["bytes"].as_u64().unwrap() > 0);

    let r = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(
        text.contains("# TYPE boxpilot_messages_received_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"boxpilot_messages_lost_total{fleet="f1"} 5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"boxpilot_boxes{fleet="f1",state="online"} 3"#),
        "{text}"
    );
    let r = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// The console's monitoring page calls server functions: they are registered and answer with the
/// same rules as the REST API.
#[tokio::test]
async fn the_monitoring_server_functions_answer_the_console() {
    let server = TestServer::start_monitored(quick(vec![])).await;
    let password = server.add_user("ada", &["admin"]).await;
    let admin = boxpilot_tests::session_cookie(&server, "ada", &password).await;
    let r = server
        .http
        .post(server.url("/api/monitoring/alerts"))
        .header("cookie", &admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "status {status}: {text}");
    let overview: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(overview["kinds"].as_array().unwrap().len(), 7);
    let password = server.add_user("ops", &["operator", "fleet:f1"]).await;
    let operator = boxpilot_tests::session_cookie(&server, "ops", &password).await;
    let (status, refused) = server.call(&operator, "/api/monitoring/alerts").await;
    assert_ne!(status, 200, "{refused}");
    assert!(refused.to_string().contains("support"), "{refused}");
}

/// The console's own usage: API requests, and users who logged in this month (monthly active
/// users, as Cognito bills them), on the pseudo-fleet `_console` for those who see every fleet.
#[tokio::test]
async fn the_console_fleet_counts_api_requests_and_monthly_active_users() {
    let prices = MonitoringSettings::default()
        .prices
        .with_overrides(r#"{"prices": {"cognito_free_mau": 0}}"#)
        .unwrap();
    let server = TestServer::start_monitored(MonitoringSettings {
        prices,
        ..quick(vec![])
    })
    .await;
    let admin = server.user_token("ada", &["admin"]).await;
    let _ops = server.user_token("ops", &["operator", "fleet:f1"]).await;
    server.add_user("idle", &["viewer", "fleet:f1"]).await;
    for _ in 0..3 {
        server.get_json("/api/v1/devices", &admin).await;
    }
    server.flush().await;
    let (status, report) = server
        .get_json(
            "/api/v1/monitoring/costs?fleet=_console&period=month",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let line = |name: &str| {
        report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"].as_str().unwrap().contains(name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} line in {report}"))
    };
    assert_eq!(
        line("Cognito")["quantity"],
        2.0,
        "two users logged in, one did not"
    );
    assert!(line("API")["quantity"].as_f64().unwrap() >= 5.0, "{report}");
    let support = server.user_token("sue", &["support", "fleet:f1"]).await;
    let (status, _) = server
        .get_json(
            "/api/v1/monitoring/costs?fleet=_console&period=month",
            &support,
        )
        .await;
    assert_eq!(status, 403, "the console's usage spans every fleet");
}
