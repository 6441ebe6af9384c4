//! Alert notifications to an SNS topic (the AWS shape), against moto: a queue subscribed to the
//! topic receives the notification the alert loop published.
//!
//!   cargo test -p boxpilot-tests --features aws --test monitoring_sns
#![cfg(feature = "aws")]

use boxpilot::monitoring::SnsTarget;
use boxpilot::testing::moto;
use boxpilot_tests::{box_options, now_ms, telemetry, Client, MonitoringSettings, TestServer};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// One call of an AWS query API on moto (which routes by the credential scope and does not check
/// signatures); the XML answer.
async fn aws_query(service: &str, params: &[(&str, &str)]) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=local/20261130/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
        moto::REGION
    );
    let r = reqwest::Client::new()
        .post(moto::endpoint())
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            params
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace('/', "%2F")))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{service} {params:?}: {status} {text}");
    text
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {text}"))
        + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_is_published_to_the_sns_topic() {
    let name = moto::table_name();
    let created = aws_query(
        "sns",
        &[
            ("Action", "CreateTopic"),
            ("Name", &name),
            ("Version", "2010-03-31"),
        ],
    )
    .await;
    let topic = between(&created, "<TopicArn>", "</TopicArn>").to_owned();
    let queue = aws_query(
        "sqs",
        &[
            ("Action", "CreateQueue"),
            ("QueueName", &name),
            ("Version", "2012-11-05"),
        ],
    )
    .await;
    let queue_url = between(&queue, "<QueueUrl>", "</QueueUrl>").to_owned();
    let queue_arn = format!("arn:aws:sqs:{}:123456789012:{name}", moto::REGION);
    aws_query(
        "sns",
        &[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "sqs"),
            ("Endpoint", &queue_arn),
            ("Version", "2010-03-31"),
        ],
    )
    .await;

    let server = TestServer::start_monitored(MonitoringSettings {
        evaluate_every: Duration::from_millis(200),
        sns: Some(SnsTarget {
            topic_arn: topic.clone(),
            region: moto::REGION.into(),
            endpoint: Some(moto::endpoint().into()),
        }),
        ..MonitoringSettings::default()
    })
    .await;
    let admin = server.user_token("ada", &["admin"]).await;
    let secret = server.add_device("f1", "b1").await;
    let mut bx = Client::connect(box_options(server.mqtt_port(), "b1", &secret))
        .await
        .unwrap();
    for seq in [1u64, 9] {
        bx.publish_acked(
            "dt/boxpilot/f1/b1/telemetry",
            telemetry(seq, now_ms() - 50, 4.0),
        )
        .await
        .unwrap();
    }
    let (status, _) = server
        .send_json(
            Method::POST,
            "/api/v1/monitoring/alert-rules",
            &admin,
            &json!({"id": "loss", "fleet": "f1", "kind": "loss_ratio_above", "percent": 10}),
        )
        .await;
    assert_eq!(status, 201);
    server.flush().await;

    // The alert records the SNS delivery, and the queue got the notification.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, overview) = server.get_json("/api/v1/monitoring/alerts", &admin).await;
        let delivered = overview["active"][0]["deliveries"]
            .as_array()
            .is_some_and(|d| {
                d.iter()
                    .any(|d| d["channel"] == "sns:fired" && d["status"] == "delivered")
            });
        if delivered {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{overview}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = aws_query(
        "sqs",
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &queue_url),
            ("MaxNumberOfMessages", "10"),
            ("Version", "2012-11-05"),
        ],
    )
    .await;
    assert!(received.contains("boxpilot alert fired"), "{received}");
    assert!(received.contains("loss_ratio_above"), "{received}");
}
