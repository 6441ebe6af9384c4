//! Desired state on IoT Core's Device Shadow service (`--broker iot`, the Lambdas), against moto
//! server: the adapter's reads and conditional writes, box reports through the ingestion Lambda's
//! handler, and `boxpilot serve --broker iot --store dynamodb` end to end over HTTP.
//!
//!   cargo test -p boxpilot --features aws --test shadow_iot
//!
//! Without the feature, the last test checks that `--broker iot` is refused with a clear error.
#[cfg(feature = "aws")]
mod on_moto {
    use app::domain::{AppError, DeviceId, FleetId, Role, ShadowUpdate};
    use app::service::Caller;
    use base64::Engine;
    use boxpilot::aws::device_shadow::{DeviceShadows, BOOKKEEPING_KEY, SHADOW_NAME};
    use boxpilot::aws::ingest::IngestLambda;
    use boxpilot::aws::sdk::iot_data_client_at;
    use boxpilot::outbound::DevicePublisher;
    use boxpilot::shadow::{ShadowDocuments, ShadowRecord, ShadowService};
    use boxpilot::store::{EmbeddedStore, Store, StoreError};
    use boxpilot::testing::moto;
    use serde_json::{json, Value};
    use std::io::BufRead;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn id(s: &str) -> DeviceId {
        DeviceId::parse(s).unwrap()
    }
    fn fleet(s: &str) -> FleetId {
        FleetId::parse(s).unwrap()
    }

    /// A box id no other test of this process uses (things live as long as moto).
    fn box_id(prefix: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
    }

    /// Registers a thing in moto's IoT registry (its Device Shadow service, like IoT Core's
    /// registry-backed one, wants the thing to exist). moto routes by the credential scope of
    /// the Authorization header and does not check signatures.
    async fn create_thing(name: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/things/{name}", moto::endpoint()))
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=local/20250101/{}/iot/aws4_request, SignedHeaders=host, Signature=0",
                    moto::REGION
                ),
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "create thing {name}: {}",
            r.status()
        );
    }

    async fn client() -> aws_sdk_iotdataplane::Client {
        iot_data_client_at(moto::REGION, moto::endpoint()).await
    }

    /// The raw document, as GetThingShadow answers it.
    async fn raw_document(client: &aws_sdk_iotdataplane::Client, thing: &str) -> Value {
        let out = client
            .get_thing_shadow()
            .thing_name(thing)
            .shadow_name(SHADOW_NAME)
            .send()
            .await
            .unwrap();
        serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap()
    }

    #[tokio::test]
    async fn the_device_shadow_keeps_desired_and_reported_state_with_versions() {
        let thing = box_id("shadow");
        create_thing(&thing).await;
        let client = client().await;
        let docs = DeviceShadows::new(client.clone());
        let (device, north) = (id(&thing), fleet("north"));
        assert_eq!(docs.get(&device, &north).await.unwrap(), None);

        // A first desired state: the shadow is created at version 1.
        let empty = ShadowRecord::empty(device.clone(), north.clone());
        let mut v1 = empty.clone();
        v1.desired = serde_json::from_value(json!({"setpoint_c": 4, "mode": "eco"})).unwrap();
        v1.version = 1;
        v1.desired_version = 1;
        v1.desired_at = Some(1_000);
        v1.desired_by = Some("user:ann".into());
        assert_eq!(docs.put(&empty, &v1).await.unwrap(), v1);
        assert_eq!(docs.get(&device, &north).await.unwrap(), Some(v1.clone()));
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 1, "{raw}");
        assert_eq!(
            raw["state"]["desired"],
            json!({"setpoint_c": 4, "mode": "eco"})
        );
        assert_eq!(
            raw["state"]["reported"][BOOKKEEPING_KEY]["desired_by"],
            "user:ann"
        );
        assert_eq!(
            raw["state"]["delta"],
            json!({"setpoint_c": 4, "mode": "eco"})
        );

        // The box reports: reported keys land beside the bookkeeping, the delta shrinks.
        let mut v2 = v1.clone();
        v2.reported = serde_json::from_value(json!({"setpoint_c": 4, "fw": "1.4"})).unwrap();
        v2.version = 2;
        v2.reported_at = Some(2_000);
        assert_eq!(docs.put(&v1, &v2).await.unwrap(), v2);
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["state"]["reported"]["fw"], "1.4");
        assert_eq!(raw["state"]["delta"], json!({"mode": "eco"}), "{raw}");
        assert_eq!(docs.get(&device, &north).await.unwrap(), Some(v2.clone()));

        // A write based on version 1 (someone read before the report) is a conflict, and
        // changes nothing.
        let mut stale = v1.clone();
        stale.desired.insert("mode".into(), json!("comfort"));
        stale.version = 2;
        match docs.put(&v1, &stale).await {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(docs.get(&device, &north).await.unwrap(), Some(v2.clone()));

        // Removing a key (null in the service's patch): gone from the Device Shadow too.
        let mut v3 = v2.clone();
        v3.desired.remove("mode");
        v3.version = 3;
        v3.desired_version = 3;
        assert_eq!(docs.put(&v2, &v3).await.unwrap(), v3);
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["state"]["desired"], json!({"setpoint_c": 4}), "{raw}");
        assert!(raw["state"].get("delta").is_none(), "{raw}");
        let back = docs.get(&device, &north).await.unwrap().unwrap();
        assert_eq!((back.version, back.desired_version), (3, 3));
        assert!(!back.desired.contains_key("mode"));
    }

    #[tokio::test]
    async fn a_shadow_written_by_someone_else_reads_with_its_version() {
        let thing = box_id("outside");
        create_thing(&thing).await;
        let client = client().await;
        for _ in 0..2 {
            client
                .update_thing_shadow()
                .thing_name(&thing)
                .shadow_name(SHADOW_NAME)
                .payload(aws_sdk_iotdataplane::primitives::Blob::new(
                    r#"{"state": {"desired": {"mode": "eco"}}}"#,
                ))
                .send()
                .await
                .unwrap();
        }
        let docs = DeviceShadows::new(client.clone());
        let r = docs
            .get(&id(&thing), &fleet("north"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.version, r.desired_version), (2, 0));
        assert_eq!(r.fleet, fleet("north"));
        assert_eq!(r.desired["mode"], "eco");
    }

    /// A keeper that lets another writer change the Device Shadow between the service's read and
    /// its write.
    struct Racing {
        inner: DeviceShadows,
        client: aws_sdk_iotdataplane::Client,
    }

    #[async_trait::async_trait]
    impl ShadowDocuments for Racing {
        async fn get(
            &self,
            device: &DeviceId,
            fleet: &FleetId,
        ) -> boxpilot::store::StoreResult<Option<ShadowRecord>> {
            self.inner.get(device, fleet).await
        }
        async fn put(
            &self,
            current: &ShadowRecord,
            next: &ShadowRecord,
        ) -> boxpilot::store::StoreResult<ShadowRecord> {
            self.client
                .update_thing_shadow()
                .thing_name(next.device.as_str())
                .shadow_name(SHADOW_NAME)
                .payload(aws_sdk_iotdataplane::primitives::Blob::new(
                    r#"{"state": {"reported": {"fw": "2.0"}}}"#,
                ))
                .send()
                .await
                .unwrap();
            self.inner.put(current, next).await
        }
    }

    #[tokio::test]
    async fn a_change_between_read_and_write_is_the_consoles_conflict() {
        let thing = box_id("racing");
        create_thing(&thing).await;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        boxpilot::cli::register_device(store.as_ref(), &fleet("north"), &id(&thing))
            .await
            .unwrap();
        let client = client().await;
        // A shadow exists (version 1), so that the service's write names a version.
        let docs = DeviceShadows::new(client.clone());
        let empty = ShadowRecord::empty(id(&thing), fleet("north"));
        let mut v1 = empty.clone();
        v1.desired = serde_json::from_value(json!({"mode": "eco"})).unwrap();
        v1.version = 1;
        v1.desired_version = 1;
        docs.put(&empty, &v1).await.unwrap();

        let racing = Arc::new(Racing {
            inner: DeviceShadows::new(client.clone()),
            client: client.clone(),
        });
        let service = ShadowService::with_documents(store, racing);
        let caller = Caller {
            sub: "ann".into(),
            username: "ann".into(),
            role: Role::Operator,
            fleets: vec![fleet("north")],
            all_fleets: false,
        };
        let update = ShadowUpdate {
            desired: serde_json::from_value(json!({"mode": "comfort"})).unwrap(),
            version: 1,
        };
        match service.update_desired(&caller, &id(&thing), update).await {
            Err(AppError::Conflict(message)) => assert!(message.contains("stale"), "{message}"),
            other => panic!("expected the console's conflict, got {other:?}"),
        }
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 2, "only the other writer's change: {raw}");
        assert_eq!(raw["state"]["desired"]["mode"], "eco");
        let view = service.get(&caller, &id(&thing)).await.unwrap();
        assert_eq!(
            (view.version, view.reported["fw"].clone()),
            (2, json!("2.0"))
        );
    }

    /// What the ingestion Lambda sent to boxes.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Value)>>);

    #[async_trait::async_trait]
    impl DevicePublisher for Recorder {
        async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
            let v = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            self.0.lock().unwrap().push((topic.to_owned(), v));
            Ok(())
        }
    }

    fn shadow_report(fleet: &str, device: &str, body: Value) -> Value {
        json!({
            "payload": base64::engine::general_purpose::STANDARD.encode(body.to_string()),
            "topic": format!("dt/boxpilot/{fleet}/{device}/shadow"),
            "client_id": device,
            "received_at": chrono::Utc::now().timestamp_millis(),
        })
    }

    #[tokio::test]
    async fn box_reports_reach_the_device_shadow_through_the_ingestion_lambda() {
        let thing = box_id("reporting");
        create_thing(&thing).await;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        boxpilot::cli::register_device(store.as_ref(), &fleet("north"), &id(&thing))
            .await
            .unwrap();
        let client = client().await;
        let docs = Arc::new(DeviceShadows::new(client.clone()));
        let sent = Arc::new(Recorder::default());
        let lambda = IngestLambda::with_shadow_documents(store, sent.clone(), docs.clone());
        let now = || chrono::Utc::now().timestamp_millis();

        // Desired state set by a person (version 1), as the API would.
        let empty = ShadowRecord::empty(id(&thing), fleet("north"));
        let mut v1 = empty.clone();
        v1.desired = serde_json::from_value(json!({"setpoint_c": 4})).unwrap();
        v1.version = 1;
        v1.desired_version = 1;
        docs.put(&empty, &v1).await.unwrap();

        // The box reports against version 1: applied to the Device Shadow (version 2).
        let event = shadow_report(
            "north",
            &thing,
            json!({"reported": {"setpoint_c": 4, "fw": "1.4"}, "version": 1}),
        );
        let (inv, result) = lambda.handle(event, now).await;
        assert!(result.is_ok(), "{inv:?}");
        assert_eq!(inv.accepted, 1, "{inv:?}");
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 2, "{raw}");
        assert_eq!(raw["state"]["reported"]["fw"], "1.4");
        assert!(raw["state"].get("delta").is_none(), "{raw}");

        // A person changes desired again (version 3); a report still naming version 1 is
        // stale: refused, and the box is sent the current desired state.
        let v2 = docs
            .get(&id(&thing), &fleet("north"))
            .await
            .unwrap()
            .unwrap();
        let mut v3 = v2.clone();
        v3.desired.insert("setpoint_c".into(), json!(6));
        v3.version = 3;
        v3.desired_version = 3;
        docs.put(&v2, &v3).await.unwrap();
        let event = shadow_report(
            "north",
            &thing,
            json!({"reported": {"setpoint_c": 5}, "version": 1}),
        );
        let (_, result) = lambda.handle(event, now).await;
        assert!(result.is_ok());
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 3, "the stale report changed nothing: {raw}");
        assert_eq!(raw["state"]["reported"]["setpoint_c"], 4);
        let sent_now = sent.0.lock().unwrap().clone();
        let (topic, message) = sent_now.last().expect("the desired state sent again");
        assert_eq!(topic, &format!("cmd/boxpilot/north/{thing}/shadow"));
        assert_eq!(message["version"], 3);
        assert_eq!(message["delta"], json!({"setpoint_c": 6}));

        // The box subscribes to its shadow topic again (IoT's lifecycle event): it is sent the
        // desired state read from the Device Shadow.
        let before = sent.0.lock().unwrap().len();
        let subscribed = json!({
            "clientId": thing,
            "timestamp": now(),
            "eventType": "subscribed",
            "sessionIdentifier": "00000000-0000-0000-0000-000000000000",
            "principalIdentifier": "12345678901234567890123456789012",
            "topics": [format!("cmd/boxpilot/north/{thing}/shadow")],
            "topic": format!("$aws/events/subscriptions/subscribed/{thing}"),
        });
        let (inv, result) = lambda.handle(subscribed, now).await;
        assert!(result.is_ok(), "{inv:?}");
        let sent_now = sent.0.lock().unwrap().clone();
        assert_eq!(sent_now.len(), before + 1, "{inv:?}");
        let (topic, message) = sent_now.last().unwrap();
        assert_eq!(topic, &format!("cmd/boxpilot/north/{thing}/shadow"));
        assert_eq!(message["version"], 3);
        assert_eq!(message["desired"], json!({"setpoint_c": 6}));

        // A report removing a key (null) without a version applies.
        let event = shadow_report(
            "north",
            &thing,
            json!({"reported": {"fw": null, "setpoint_c": 6}}),
        );
        let (_, result) = lambda.handle(event, now).await;
        assert!(result.is_ok());
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 4, "{raw}");
        assert!(raw["state"]["reported"].get("fw").is_none(), "{raw}");
        assert!(raw["state"].get("delta").is_none(), "{raw}");
    }

    /// `boxpilot serve` in its own process; killed when dropped.
    struct Serve(std::process::Child);

    impl Drop for Serve {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn serve_with_broker_iot_keeps_desired_state_in_the_device_shadow() {
        let dir = tempfile::tempdir().unwrap();
        let table = moto::table_name();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let broker_url = "wss://example-ats.iot.us-east-1.amazonaws.com/mqtt?x-amz-customauthorizer-name=boxpilot-test-console";
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_boxpilot"))
            .args(["serve", "--http", &format!("127.0.0.1:{port}")])
            .args(["--store", "dynamodb", "--dynamodb-table", &table])
            .args(["--dynamodb-endpoint", moto::endpoint()])
            .args(["--broker", "iot", "--iot-data-endpoint", moto::endpoint()])
            .args(["--broker-public-url", broker_url])
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--static-dir")
            .arg(dir.path().join("no-console"))
            .env("AWS_REGION", moto::REGION)
            .env("BOXPILOT_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let _serve = Serve(child);

        // The first start prints the admin's password, then the broker line. The whole output is
        // read to its end (a closed pipe would fail the server's next print).
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let lines = tokio::task::spawn_blocking(move || {
            let mut seen = Vec::new();
            while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
                let done = line.starts_with("broker ");
                seen.push(line);
                if done {
                    break;
                }
            }
            seen
        })
        .await
        .unwrap();
        let text = lines.join("\n");
        assert!(
            text.contains(&format!("AWS IoT Core at {}", moto::endpoint())),
            "{text}"
        );
        let password = text
            .split("password `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_else(|| panic!("no admin password in {text}"))
            .to_owned();

        let http = reqwest::Client::new();
        let health: Value = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            health
                .to_string()
                .contains(&format!("AWS IoT Core at {}", moto::endpoint())),
            "{health}"
        );
        assert!(health.to_string().contains("dynamodb table"), "{health}");

        // A box, registered in the table and as a thing.
        let thing = box_id("served");
        create_thing(&thing).await;
        let store = boxpilot::store::DynamoStore::connect(
            table.clone(),
            Some(moto::endpoint().to_string()),
            moto::REGION,
        )
        .await
        .unwrap();
        boxpilot::cli::register_device(&store, &fleet("north"), &id(&thing))
            .await
            .unwrap();

        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("login: {login}"))
            .to_owned();
        let shadow_url = format!("{base}/api/v1/devices/{thing}/shadow");
        let put = |body: Value| {
            let (http, url, token) = (http.clone(), shadow_url.clone(), token.clone());
            async move {
                let r = http
                    .put(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };

        let (status, view) =
            put(json!({"desired": {"setpoint_c": 4, "mode": "eco"}, "version": 0})).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["version"], 1, "{view}");
        let client = client().await;
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["version"], 1, "{raw}");
        assert_eq!(
            raw["state"]["desired"],
            json!({"setpoint_c": 4, "mode": "eco"})
        );
        assert_eq!(
            raw["state"]["reported"][BOOKKEEPING_KEY]["desired_by"],
            "user:admin"
        );

        // Based on version 1: accepted, `null` removes the key in the Device Shadow.
        let (status, view) = put(json!({"desired": {"mode": null}, "version": 1})).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["version"], 2);
        let raw = raw_document(&client, &thing).await;
        assert_eq!(raw["state"]["desired"], json!({"setpoint_c": 4}), "{raw}");

        // Based on version 1 again: stale, 409, nothing changes.
        let (status, err) = put(json!({"desired": {"setpoint_c": 9}, "version": 1})).await;
        assert_eq!(status, 409, "{err}");
        // The Device Shadow moved behind the console's back (another writer, version 3): the
        // version the console names is stale. (A change landing between the service's read and
        // its write is IoT's ConflictException, the same 409: the adapter test above.)
        client
            .update_thing_shadow()
            .thing_name(&thing)
            .shadow_name(SHADOW_NAME)
            .payload(aws_sdk_iotdataplane::primitives::Blob::new(
                r#"{"state": {"reported": {"fw": "1.4"}}}"#,
            ))
            .send()
            .await
            .unwrap();
        let (status, err) = put(json!({"desired": {"setpoint_c": 9}, "version": 2})).await;
        assert_eq!(status, 409, "{err}");

        let r = http
            .get(&shadow_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let view: Value = r.json().await.unwrap();
        assert_eq!(view["version"], 3, "{view}");
        assert_eq!(view["desired"], json!({"setpoint_c": 4}));
        assert_eq!(
            view["reported"],
            json!({"fw": "1.4"}),
            "no bookkeeping shown: {view}"
        );
        assert_eq!(view["delta"], json!({"setpoint_c": 4}));
        assert_eq!(view["desired_by"], "user:admin");
    }
}

/// Without the `aws` feature, `--broker iot` is refused with a clear error.
#[cfg(not(feature = "aws"))]
#[test]
fn broker_iot_needs_a_build_with_aws_support() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_boxpilot"))
        .args(["serve", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"])
        .args(["--mqtt-ws", "127.0.0.1:0", "--broker", "iot"])
        .args(["--iot-data-endpoint", "http://127.0.0.1:9"])
        .args(["--broker-public-url", "wss://example/mqtt"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("built without AWS support"), "{text}");
}
