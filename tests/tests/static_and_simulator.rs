//! The console's static files as `boxpilot serve` sends them, and the simulator end to end.
use app::domain::{DeviceId, FleetId};
use boxpilot::runtime::{self, ServeConfig};
use boxpilot::simulator::{self, SimulatorConfig};
use boxpilot_tests::TestServer;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn built_files_are_served_compressed_cached_and_routed() {
    let data = tempfile::tempdir().unwrap();
    let dist = data.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>boxpilot</title>",
    )
    .unwrap();
    let wasm = "boxpilot-console-0123456789abcdef_bg.wasm";
    std::fs::write(dist.join(wasm), b"\0asm-plain").unwrap();
    std::fs::write(dist.join(format!("{wasm}.br")), b"brotli-bytes").unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let running = runtime::start(ServeConfig {
        http: any,
        mqtt: any,
        mqtt_ws: any,
        data_dir: data.path().to_owned(),
        static_dir: dist,
        public_url: None,
        broker_public_url: None,
        store: Default::default(),
        identity: Default::default(),
    })
    .await
    .unwrap();
    assert!(running.console_built);
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", running.http_addr);

    let r = http
        .get(url(&format!("/{wasm}")))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"brotli-bytes");

    let plain = http.get(url(&format!("/{wasm}"))).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().as_ref(), b"\0asm-plain");

    let index = http.get(url("/")).send().await.unwrap();
    assert_eq!(index.headers()["cache-control"], "no-cache");
    assert!(index.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // A client-side route gets the console, an unknown API route a JSON 404.
    let deep = http.get(url("/devices/box-1")).send().await.unwrap();
    assert_eq!(deep.status(), 200);
    assert!(deep
        .text()
        .await
        .unwrap()
        .contains("<title>boxpilot</title>"));
    let api = http.get(url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(api.headers()["content-type"], "application/json");
    running.stop().await;
}

#[tokio::test]
async fn a_missing_console_is_explained() {
    let server = TestServer::start().await;
    assert!(!server.running.console_built);
    let r = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("The console is not built"));
    // The API works without it.
    assert_eq!(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_boxes_publish_and_their_skipped_messages_are_counted_as_lost() {
    let server = TestServer::start().await;
    let fleet = FleetId::parse("sim").unwrap();
    let mut boxes = Vec::new();
    for n in 1..=3 {
        let id = format!("sim-{n}");
        let secret = server.add_device("sim", &id).await;
        boxes.push((DeviceId::parse(&id).unwrap(), secret));
    }
    let config = SimulatorConfig {
        broker: format!("mqtt://{}", server.running.mqtt_addr),
        fleet,
        boxes,
        rate: 20.0,
        loss: 0.3,
        firmware: "9.9.9".into(),
        fail_rate: 0.0,
        burst: None,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(simulator::run(config, stopped));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.send(true).unwrap();
    let stats = run.await.unwrap().unwrap();
    let published = stats.published.load(Ordering::Relaxed);
    let skipped = stats.skipped.load(Ordering::Relaxed);
    assert!(
        published > 20 && skipped > 0,
        "published {published}, skipped {skipped}"
    );
    assert_eq!(stats.connection_errors.load(Ordering::Relaxed), 0);

    // The boxes' last messages (their offline status) may still be in the pipeline: wait until
    // every received message is counted.
    let support = server.user_token("sup", &["support", "fleet:sim"]).await;
    let mut report = serde_json::Value::Null;
    for _ in 0..50 {
        server.flush().await;
        report = server
            .get_json("/api/v1/monitoring/pipeline?fleet=sim&window=5m", &support)
            .await
            .1;
        if report["total"]["received"] == report["total"]["accepted"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = &report["total"];
    // Every published reading is stored, once (the counters also hold status updates); a box's
    // last reading may have been queued by rumqttc but not sent when it stopped.
    let mut stored = 0;
    for n in 1..=3 {
        let path = format!("/api/v1/devices/sim-{n}/telemetry?metric=temp_c&max_points=10000");
        stored += server.get_json(&path, &support).await.1["raw_points"]
            .as_u64()
            .unwrap();
    }
    assert!(
        stored <= published && stored + 3 >= published,
        "stored {stored}, published {published}: {report}"
    );
    assert_eq!(
        total["received"], total["accepted"],
        "nothing rejected or duplicated: {report}"
    );
    assert_eq!(total["rejected"], serde_json::json!({}), "{report}");
    // Skips at the very end of a run are not gaps yet: lost <= skipped.
    let lost = total["lost"].as_i64().unwrap() as u64;
    assert!(
        lost > 0 && lost <= skipped,
        "lost {lost}, skipped {skipped}"
    );

    let (_, device) = server.get_json("/api/v1/devices/sim-1", &support).await;
    assert_eq!(device["presence"]["firmware"], "9.9.9");
    for metric in ["temp_c", "humidity_pct", "battery_pct", "door_open"] {
        assert!(
            device["latest"].get(metric).is_some(),
            "{metric} in {device}"
        );
    }
}

#[tokio::test]
async fn api_answers_are_compressed_for_clients_that_accept_it() {
    let server = TestServer::start().await;
    let token = server.user_token("v", &["viewer", "fleet:*"]).await;
    for n in 0..30 {
        server.add_device("f1", &format!("box-{n:02}")).await;
    }
    let compressed = server
        .http
        .get(server.url("/api/v1/devices"))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.status(), 200);
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let plain = server
        .http
        .get(server.url("/api/v1/devices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let body: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 30);
}
