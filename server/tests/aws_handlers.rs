//! The Lambda handlers (server/src/aws) invoked with fixtures of the real event shapes
//! (server/tests/fixtures/aws): the IoT Core custom authorizer's decision for each role and for
//! bad credentials, and IoT rule events (messages, lifecycle events) through the ingestion core,
//! with the EMF line each invocation prints, and SQS batches of the data rule's messages (partial
//! batch answers). No AWS account is needed: the store is the embedded one and the IoT data plane
//! a recording publisher.
use app::domain::{DeviceId, FleetId, Role};
use app::service::Caller;
use base64::Engine;
use boxpilot::access::BrokerTokens;
use boxpilot::aws::authorizer::{Authorizer, AuthorizerRequest, AuthorizerResponse, Refusal};
use boxpilot::aws::ingest::{IngestLambda, IngestLambdaError, Invocation, MessageOutcome};
use boxpilot::aws::iot_policy::{policy_allows, PolicyContext, PolicyOptions};
use boxpilot::aws::rule_event::RuleEventError;
use boxpilot::identity::{MqttGrant, SigningKeys, TokenClaims};
use boxpilot::outbound::DevicePublisher;
use boxpilot::store::{DeviceRecord, EmbeddedStore, Store};
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[allow(dead_code)]
#[path = "../benches/common/counting_store.rs"]
mod counting_store;

const ISSUER: &str = "https://d111111abcdef8.cloudfront.net";
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

// ------------------------------------------------------------------ authorizer

struct Keys {
    _dir: tempfile::TempDir,
    keys: Arc<SigningKeys>,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(SigningKeys::load_or_create(dir.path()).unwrap());
    Keys { _dir: dir, keys }
}

fn tokens(k: &Keys) -> BrokerTokens {
    BrokerTokens::new(k.keys.clone(), ISSUER, "wss://example/mqtt", 15 * 60)
}

fn authorizer(tokens: BrokerTokens) -> Authorizer {
    Authorizer::new(
        tokens,
        PolicyContext::new(REGION, ACCOUNT),
        PolicyOptions::default(),
    )
}

fn caller(username: &str, role: Role, fleets: &[&str], all: bool) -> Caller {
    Caller {
        sub: format!("sub-{username}"),
        username: username.into(),
        role,
        fleets: fleets.iter().map(|f| FleetId::parse(f).unwrap()).collect(),
        all_fleets: all,
    }
}

fn request(file: &str, username: &str, client_id: &str, password: &[u8]) -> AuthorizerRequest {
    let text = fixture(file)
        .replace("__USERNAME__", username)
        .replace("__CLIENT_ID__", client_id)
        .replace("__PASSWORD_BASE64__", &b64(password));
    serde_json::from_str(&text).unwrap()
}

fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:{kind}/{name}")
}

fn allows(r: &AuthorizerResponse, action: &str, kind: &str, name: &str) -> bool {
    r.policy_documents
        .iter()
        .any(|doc| policy_allows(doc, action, &arn(kind, name)))
}

async fn decide(a: &Authorizer, who: &Caller, t: &BrokerTokens, file: &str) -> AuthorizerResponse {
    let credential = t.issue(who).unwrap();
    let req = request(
        file,
        &credential.username,
        &credential.client_id,
        credential.password.as_bytes(),
    );
    a.check(&req, now_ms()).await.unwrap()
}

#[tokio::test]
async fn each_role_gets_the_topics_of_its_credential() {
    let k = keys();
    let t = tokens(&k);
    let a = authorizer(t.clone());

    let viewer = caller("vera", Role::Viewer, &["north"], false);
    let r = decide(&a, &viewer, &t, "authorizer-mqtt-wss.json").await;
    assert!(r.is_authenticated);
    assert!(r.principal_id.starts_with("uservera"));
    assert!((300..=900).contains(&r.disconnect_after_in_seconds));
    assert_eq!(r.refresh_after_in_seconds, 300);
    assert!(allows(
        &r,
        "iot:Connect",
        "client",
        "console-vera-0011223344556677"
    ));
    assert!(!allows(
        &r,
        "iot:Connect",
        "client",
        "console-olga-0011223344556677"
    ));
    assert!(!allows(&r, "iot:Connect", "client", "cold-room-7"));
    assert!(allows(
        &r,
        "iot:Subscribe",
        "topicfilter",
        "dt/boxpilot/north/+/+"
    ));
    assert!(allows(
        &r,
        "iot:Receive",
        "topic",
        "dt/boxpilot/north/cold-room-7/telemetry"
    ));
    assert!(!allows(
        &r,
        "iot:Receive",
        "topic",
        "dt/boxpilot/south/b1/telemetry"
    ));
    assert!(!allows(
        &r,
        "iot:Subscribe",
        "topicfilter",
        "cmd/boxpilot/north/+/resp"
    ));
    assert!(!allows(
        &r,
        "iot:Publish",
        "topic",
        "cmd/boxpilot/north/b1/req"
    ));

    for role in [Role::Operator, Role::Support] {
        let op = caller("olga", role, &["north", "south"], false);
        let r = decide(&a, &op, &t, "authorizer-mqtt-wss.json").await;
        assert!(r.is_authenticated, "{role:?}");
        for fleet in ["north", "south"] {
            assert!(allows(
                &r,
                "iot:Subscribe",
                "topicfilter",
                &format!("cmd/boxpilot/{fleet}/+/resp")
            ));
            assert!(allows(
                &r,
                "iot:Receive",
                "topic",
                &format!("cmd/boxpilot/{fleet}/b1/resp")
            ));
            assert!(allows(
                &r,
                "iot:Receive",
                "topic",
                &format!("dt/boxpilot/{fleet}/b1/status")
            ));
        }
        assert!(!allows(
            &r,
            "iot:Receive",
            "topic",
            "dt/boxpilot/west/b1/status"
        ));
        // Commands go through the HTTP API's checks on AWS (iot_policy module notes).
        assert!(!allows(
            &r,
            "iot:Publish",
            "topic",
            "cmd/boxpilot/north/b1/req"
        ));
    }

    let admin = caller("ada", Role::Admin, &[], true);
    let r = decide(&a, &admin, &t, "authorizer-mqtt-443.json").await;
    assert!(r.is_authenticated);
    assert!(allows(
        &r,
        "iot:Subscribe",
        "topicfilter",
        "dt/boxpilot/+/+/+"
    ));
    assert!(allows(
        &r,
        "iot:Receive",
        "topic",
        "dt/boxpilot/any-fleet/b1/telemetry"
    ));
    assert!(allows(
        &r,
        "iot:Receive",
        "topic",
        "cmd/boxpilot/any-fleet/b1/resp"
    ));
    assert!(!allows(
        &r,
        "iot:Receive",
        "topic",
        "cmd/boxpilot/any-fleet/b1/req"
    ));

    // With console publishing switched on, operators get exactly their credential's filters.
    let parity = Authorizer::new(
        t.clone(),
        PolicyContext::new(REGION, ACCOUNT),
        PolicyOptions {
            console_publish: true,
        },
    );
    let op = caller("olga", Role::Operator, &["north"], false);
    let r = decide(&parity, &op, &t, "authorizer-mqtt-wss.json").await;
    assert!(allows(
        &r,
        "iot:Publish",
        "topic",
        "cmd/boxpilot/north/b1/req"
    ));
    assert!(!allows(
        &r,
        "iot:Publish",
        "topic",
        "cmd/boxpilot/south/b1/req"
    ));
    let r = decide(&parity, &viewer, &t, "authorizer-mqtt-wss.json").await;
    assert!(!allows(
        &r,
        "iot:Publish",
        "topic",
        "cmd/boxpilot/north/b1/req"
    ));

    // The answer has the field names IoT Core reads.
    let json = serde_json::to_value(&r).unwrap();
    for field in [
        "isAuthenticated",
        "principalId",
        "disconnectAfterInSeconds",
        "refreshAfterInSeconds",
        "policyDocuments",
    ] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
    assert_eq!(json["policyDocuments"][0]["Version"], "2012-10-17");
}

fn claims(username: &str, exp: i64) -> TokenClaims {
    let now = chrono::Utc::now().timestamp();
    TokenClaims {
        sub: format!("sub-{username}"),
        iss: ISSUER.into(),
        token_use: "broker".into(),
        exp,
        iat: now - 3600,
        nbf: Some(now - 3600),
        auth_time: None,
        jti: Some("j1".into()),
        client_id: None,
        aud: Some("boxpilot-broker".into()),
        username: Some(username.into()),
        groups: Vec::new(),
        mqtt: Some(MqttGrant {
            client_id_prefix: format!("console-{username}-"),
            subscribe: vec!["dt/boxpilot/north/+/+".into()],
            publish: vec![],
        }),
    }
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let k = keys();
    let t = tokens(&k);
    let a = authorizer(t.clone());
    let now = chrono::Utc::now().timestamp();
    let client = "console-vera-0011223344556677";
    let refused = |r: Result<AuthorizerResponse, Refusal>| r.unwrap_err();

    // Expired an hour ago, signed with the right key.
    let expired = k.keys.sign(&claims("vera", now - 3600)).unwrap();
    let req = request(
        "authorizer-mqtt-wss.json",
        "vera",
        client,
        expired.as_bytes(),
    );
    let why = refused(a.check(&req, now_ms()).await);
    assert!(
        matches!(&why, Refusal::Credential(e) if e.contains("expired")),
        "{why}"
    );
    // The Lambda's answer for a refusal.
    let denied = a.authorize(&req, now_ms()).await;
    assert!(!denied.is_authenticated && denied.policy_documents.is_empty());

    // Forged: signed by another key.
    let other = keys();
    let forged = other.keys.sign(&claims("vera", now + 600)).unwrap();
    let req = request(
        "authorizer-mqtt-wss.json",
        "vera",
        client,
        forged.as_bytes(),
    );
    assert!(matches!(
        refused(a.check(&req, now_ms()).await),
        Refusal::Credential(_)
    ));

    // Forged: a genuine credential whose grant was widened (signature no longer matches).
    let genuine = t
        .issue(&caller("vera", Role::Viewer, &["north"], false))
        .unwrap();
    let parts: Vec<&str> = genuine.password.split('.').collect();
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&url.decode(parts[1]).unwrap()).unwrap();
    payload["mqtt"]["subscribe"] = serde_json::json!(["#"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        url.encode(payload.to_string()),
        parts[2]
    );
    let req = request(
        "authorizer-mqtt-wss.json",
        "vera",
        &genuine.client_id,
        tampered.as_bytes(),
    );
    let why = refused(a.check(&req, now_ms()).await);
    assert!(
        matches!(&why, Refusal::Credential(e) if e.contains("signature")),
        "{why}"
    );

    // A genuine credential used under another name or another client id.
    let req = request(
        "authorizer-mqtt-wss.json",
        "olga",
        &genuine.client_id,
        genuine.password.as_bytes(),
    );
    assert!(matches!(
        refused(a.check(&req, now_ms()).await),
        Refusal::Credential(_)
    ));
    let req = request(
        "authorizer-mqtt-wss.json",
        "vera",
        "console-olga-1",
        genuine.password.as_bytes(),
    );
    assert!(matches!(
        refused(a.check(&req, now_ms()).await),
        Refusal::Credential(_)
    ));
    // A box's client id never authenticates here (boxes use X.509).
    let req = request(
        "authorizer-mqtt-wss.json",
        "cold-room-7",
        "cold-room-7",
        genuine.password.as_bytes(),
    );
    assert!(matches!(
        refused(a.check(&req, now_ms()).await),
        Refusal::NotConsole(_)
    ));

    // Garbage.
    let req = request("authorizer-mqtt-wss.json", "vera", client, b"garbage");
    assert!(
        matches!(refused(a.check(&req, now_ms()).await), Refusal::Credential(e) if e.contains("malformed"))
    );
    let req = request(
        "authorizer-mqtt-wss.json",
        "vera",
        client,
        &[0xff, 0xfe, 0x00],
    );
    assert_eq!(refused(a.check(&req, now_ms()).await), Refusal::BadPassword);
    let mut req = request("authorizer-mqtt-wss.json", "vera", client, b"x");
    req.protocol_data.mqtt.as_mut().unwrap().password = Some("***not base64***".into());
    assert_eq!(refused(a.check(&req, now_ms()).await), Refusal::BadPassword);
    req.protocol_data.mqtt.as_mut().unwrap().password = None;
    assert_eq!(
        refused(a.check(&req, now_ms()).await),
        Refusal::Missing("password")
    );
    // HTTP publish (no MQTT CONNECT data) is not for consoles.
    let http: AuthorizerRequest =
        serde_json::from_str(&fixture("authorizer-http-publish.json")).unwrap();
    assert_eq!(refused(a.check(&http, now_ms()).await), Refusal::NotMqtt);
    // Not even an authorizer request: the binary answers `denied()`.
    assert!(serde_json::from_str::<AuthorizerRequest>("[1, 2]").is_err());
}

// ------------------------------------------------------------------ ingestion

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Vec<u8>)>>);

#[async_trait::async_trait]
impl DevicePublisher for Recorder {
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        self.0.lock().unwrap().push((topic.into(), payload));
        Ok(())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    lambda: IngestLambda,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    store
        .create_device(&DeviceRecord {
            id: DeviceId::parse("cold-room-7").unwrap(),
            fleet: FleetId::parse("north").unwrap(),
            secret_hash: "00".into(),
            created_at: now_ms(),
            presence: Default::default(),
            latest_ts: None,
            latest_seq: None,
            latest: Default::default(),
        })
        .await
        .unwrap();
    let lambda = IngestLambda::new(store.clone(), Arc::new(Recorder::default()));
    Setup {
        _dir: dir,
        store,
        lambda,
    }
}

fn telemetry_event(payload: &[u8], received_at: i64) -> Value {
    let text = fixture("iot-rule-telemetry.json")
        .replace("__PAYLOAD_BASE64__", &b64(payload))
        .replace("__RECEIVED_AT__", &received_at.to_string());
    serde_json::from_str(&text).unwrap()
}

fn event(file: &str, at: i64) -> Value {
    let text = fixture(file)
        .replace("__RECEIVED_AT__", &at.to_string())
        .replace("__TIMESTAMP__", &at.to_string());
    serde_json::from_str(&text).unwrap()
}

async fn run(s: &Setup, e: Value) -> (Invocation, Result<(), IngestLambdaError>) {
    s.lambda.handle(e, now_ms).await
}

/// The EMF line of an invocation, parsed, with its metric values.
fn emf(inv: &Invocation) -> Value {
    let line = inv.emf("dev", now_ms()).to_log_line().unwrap();
    assert!(!line.contains('\n'), "one line: {line}");
    serde_json::from_str(&line).unwrap()
}

#[tokio::test]
async fn rule_events_go_through_the_ingestion_core() {
    let s = setup().await;
    let now = now_ms();
    let body =
        format!(r#"{{"seq": 1, "ts": {now}, "metrics": {{"temp_c": 4.5, "door_open": false}}}}"#);

    let (inv, r) = run(&s, telemetry_event(body.as_bytes(), now)).await;
    r.unwrap();
    assert_eq!(inv.outcome, Some(MessageOutcome::Stored));
    let doc = emf(&inv);
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "boxpilot");
    assert_eq!(directive["Dimensions"], serde_json::json!([["Stage"]]));
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    for name in [
        "MessagesReceived",
        "MessagesAccepted",
        "MessagesRejected",
        "MessagesDuplicate",
        "MessagesFailed",
        "IngestLatency",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(doc["Stage"], "dev");
    assert_eq!(doc["MessagesReceived"], 1.0);
    assert_eq!(doc["MessagesAccepted"], 1.0);
    assert_eq!(doc["MessagesRejected"], 0.0);
    assert!(doc["IngestLatency"].as_f64().unwrap() >= 0.0);
    assert_eq!(doc["fleet"], "north");
    assert_eq!(doc["device"], "cold-room-7");
    assert!(doc["_aws"]["Timestamp"].is_number());

    // QoS 1 redelivery: the same message again.
    let (inv, r) = run(&s, telemetry_event(body.as_bytes(), now + 5)).await;
    r.unwrap();
    assert_eq!(inv.outcome, Some(MessageOutcome::Duplicate));
    assert_eq!(emf(&inv)["MessagesDuplicate"], 1.0);

    // Status: presence and firmware.
    let (inv, r) = run(&s, event("iot-rule-status.json", now)).await;
    r.unwrap();
    assert_eq!(inv.outcome, Some(MessageOutcome::StatusUpdated));
    let record = s
        .store
        .get_device(&DeviceId::parse("cold-room-7").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(record.presence.online);
    assert_eq!(record.presence.firmware.as_deref(), Some("1.4.2"));

    // A command reply (unknown command id: the service ignores it, the message is accepted).
    let (inv, r) = run(&s, event("iot-rule-command-reply.json", now)).await;
    r.unwrap();
    assert_eq!(inv.outcome, Some(MessageOutcome::CommandReply));

    // Counters were flushed at the end of each invocation.
    let counts = s
        .store
        .counters(
            &FleetId::parse("north").unwrap(),
            now - 120_000,
            now + 120_000,
        )
        .await
        .unwrap();
    let received: u64 = counts.iter().map(|c| c.counts.received).sum();
    assert!(received >= 3, "{counts:?}");
}

#[tokio::test]
async fn bad_messages_are_dead_letters_and_bad_events_fail() {
    let s = setup().await;
    let now = now_ms();

    // Not JSON: rejected by the core and kept.
    let (inv, r) = run(&s, telemetry_event(b"{\"seq\": 1, ", now)).await;
    r.unwrap();
    assert_eq!(
        inv.outcome,
        Some(MessageOutcome::Rejected("malformed_json".into()))
    );
    assert_eq!(emf(&inv)["MessagesRejected"], 1.0);

    // Over 128 KiB: rejected by the core (the same limit as IoT Core) and kept.
    let big = format!(
        r#"{{"seq": 2, "ts": {now}, "metrics": {{"note": "{}"}}}}"#,
        "x".repeat(128 * 1024)
    );
    let (inv, r) = run(&s, telemetry_event(big.as_bytes(), now)).await;
    r.unwrap();
    assert_eq!(
        inv.outcome,
        Some(MessageOutcome::Rejected("payload_too_large".into()))
    );

    let letters = s
        .store
        .list_dead_letters(Some(&FleetId::parse("north").unwrap()), 10)
        .await
        .unwrap();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert!(
        reasons.contains(&"malformed_json") && reasons.contains(&"payload_too_large"),
        "{reasons:?}"
    );
    assert!(letters.iter().all(|l| l.source == "iot-rule:cold-room-7"));

    // A box that is not registered, on its own topic: the core refuses it (unknown box).
    let mut unknown = telemetry_event(b"{}", now);
    unknown["topic"] = "dt/boxpilot/north/ghost/telemetry".into();
    unknown["client_id"] = "ghost".into();
    let (inv, r) = run(&s, unknown).await;
    r.unwrap();
    assert_eq!(
        inv.outcome,
        Some(MessageOutcome::Rejected("unknown_device".into()))
    );

    // A registered box publishing on another box's topic: the core refuses it (wrong fleet/box).
    let mut other = telemetry_event(b"{}", now);
    other["topic"] = "dt/boxpilot/south/cold-room-7/telemetry".into();
    let (inv, r) = run(&s, other).await;
    r.unwrap();
    assert_eq!(
        inv.outcome,
        Some(MessageOutcome::Rejected("wrong_fleet".into()))
    );

    // An unknown client publishing for a registered box: refused before the core.
    let mut spoof = telemetry_event(b"{}", now);
    spoof["client_id"] = "ghost".into();
    let (inv, r) = run(&s, spoof).await;
    r.unwrap();
    assert!(matches!(inv.outcome, Some(MessageOutcome::Refused(_))));

    // Malformed events: an error (retried by Lambda, then kept in its dead-letter queue), and an
    // EMF line that counts them.
    for (file, expect) in [
        ("iot-rule-missing-fields.json", "UnknownShape"),
        ("iot-rule-bad-base64.json", "BadBase64"),
    ] {
        let (inv, r) = run(&s, event(file, now)).await;
        let err = r.unwrap_err();
        assert!(format!("{err:?}").contains(expect), "{file}: {err:?}");
        assert_eq!(emf(&inv)["MessagesRejected"], 1.0, "{file}");
    }
    let (_, r) = run(&s, serde_json::json!("just a string")).await;
    assert!(matches!(
        r,
        Err(IngestLambdaError::Event(RuleEventError::UnknownShape(_)))
    ));
}

#[tokio::test]
async fn lifecycle_events_keep_presence_in_order() {
    let s = setup().await;
    let id = DeviceId::parse("cold-room-7").unwrap();
    let t0 = now_ms();
    let presence = |s: &Setup| {
        let (store, id) = (s.store.clone(), id.clone());
        async move { store.get_device(&id).await.unwrap().unwrap().presence }
    };

    let (inv, r) = run(&s, event("lifecycle-connected.json", t0)).await;
    r.unwrap();
    assert_eq!(inv.kind, "lifecycle");
    assert!(presence(&s).await.online);
    assert_eq!(presence(&s).await.last_seen, Some(t0));

    // A disconnect from before the connect arrives late: ignored.
    let (inv, r) = run(&s, event("lifecycle-disconnected.json", t0 - 1_000)).await;
    r.unwrap();
    assert!(inv.detail.unwrap().contains("older"));
    assert!(presence(&s).await.online);

    let (_, r) = run(&s, event("lifecycle-disconnected.json", t0 + 1_000)).await;
    r.unwrap();
    assert!(!presence(&s).await.online);

    // Subscriptions: nothing held, nothing sent, no error.
    let (inv, r) = run(&s, event("lifecycle-subscribed.json", t0 + 2_000)).await;
    r.unwrap();
    assert_eq!(inv.fleet.as_deref(), Some("north"));

    // Consoles' lifecycle events are not about boxes.
    let mut console = event("lifecycle-connected.json", t0);
    console["clientId"] = "console-vera-0011".into();
    let (inv, r) = run(&s, console).await;
    r.unwrap();
    assert!(inv.detail.unwrap().contains("not a box"));
}

// ------------------------------------------------------------------ SQS batches

struct Batched {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    stats: Arc<counting_store::WriteStats>,
    lambda: IngestLambda,
}

fn device(id: &str) -> DeviceRecord {
    DeviceRecord {
        id: DeviceId::parse(id).unwrap(),
        fleet: FleetId::parse("north").unwrap(),
        secret_hash: "00".into(),
        created_at: now_ms(),
        presence: Default::default(),
        latest_ts: None,
        latest_seq: None,
        latest: Default::default(),
    }
}

/// Boxes cold-room-7 and cold-room-8 in fleet north, on the embedded store behind a counting one.
async fn batched() -> Batched {
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let counting = counting_store::CountingStore::new(inner.clone());
    let stats = counting.stats.clone();
    let store: Arc<dyn Store> = Arc::new(counting);
    for id in ["cold-room-7", "cold-room-8"] {
        store.create_device(&device(id)).await.unwrap();
    }
    let lambda = IngestLambda::new(store.clone(), Arc::new(Recorder::default()));
    Batched {
        _dir: dir,
        store: inner,
        stats,
        lambda,
    }
}

/// A rule event (telemetry of `box_id`) as the data rule writes it.
fn reading_of(box_id: &str, seq: u64, ts: i64) -> Value {
    let payload = format!(
        r#"{{"seq": {seq}, "ts": {ts}, "metrics": {{"temp_c": 4.5, "door_open": false}}}}"#
    );
    let mut e = telemetry_event(payload.as_bytes(), ts);
    e["topic"] = format!("dt/boxpilot/north/{box_id}/telemetry").into();
    e["client_id"] = box_id.into();
    e
}

/// An SQS event whose records carry `bodies` (rule events, or raw text), built on the fixture's
/// first record; message ids `m-0`, `m-1`, ...
fn sqs(bodies: &[Value]) -> Value {
    let fixture: Value = serde_json::from_str(&fixture("sqs-iot-rule-batch.json")).unwrap();
    let template = fixture["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut r = template.clone();
            r["messageId"] = format!("m-{i}").into();
            r["body"] = match body {
                Value::String(text) => text.clone().into(),
                other => other.to_string().into(),
            };
            r
        })
        .collect();
    serde_json::json!({ "Records": records })
}

fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch answer: {answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

async fn latest_seq(store: &Arc<dyn Store>, id: &str) -> Option<u64> {
    store
        .get_device(&DeviceId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .latest_seq
}

#[tokio::test]
async fn an_sqs_batch_goes_through_the_core_as_one_batch() {
    let b = batched().await;
    let now = now_ms();
    // The fixture as SQS delivers it: a telemetry record and a status record.
    let payload = format!(r#"{{"seq": 1, "ts": {now}, "metrics": {{"temp_c": 4.5}}}}"#);
    let text = fixture("sqs-iot-rule-batch.json")
        .replace("__PAYLOAD_BASE64__", &b64(payload.as_bytes()))
        .replace("__RECEIVED_AT__", &now.to_string());
    let (inv, answer) = b
        .lambda
        .handle_event(serde_json::from_str(&text).unwrap(), now_ms)
        .await;
    let answer = answer.unwrap();
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(inv.kind, "sqs_batch");
    assert_eq!((inv.received, inv.accepted, inv.failed), (2, 2, 0));
    assert_eq!(latest_seq(&b.store, "cold-room-7").await, Some(1));
    let record = b
        .store
        .get_device(&DeviceId::parse("cold-room-7").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(record.presence.online);
    assert_eq!(record.presence.firmware.as_deref(), Some("1.4.2"));

    // Ten readings of two boxes and a redelivery of seq 1: one store write for all of them.
    let commits = b
        .stats
        .reading_commits
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut bodies: Vec<Value> = (2..=6)
        .flat_map(|seq| {
            let ts = now + seq as i64;
            [
                reading_of("cold-room-7", seq, ts),
                reading_of("cold-room-8", seq, ts),
            ]
        })
        .collect();
    bodies.push(reading_of("cold-room-7", 1, now));
    let (inv, answer) = b.lambda.handle_event(sqs(&bodies), now_ms).await;
    assert!(failures(&answer.unwrap()).is_empty());
    assert_eq!(
        b.stats
            .reading_commits
            .load(std::sync::atomic::Ordering::Relaxed)
            - commits,
        1,
        "one put_readings for the whole batch"
    );
    assert_eq!(
        b.stats.max_batch.load(std::sync::atomic::Ordering::Relaxed),
        11
    );
    assert_eq!(
        (inv.received, inv.accepted, inv.duplicates, inv.failed),
        (11, 10, 1, 0)
    );
    assert_eq!(latest_seq(&b.store, "cold-room-7").await, Some(6));
    assert_eq!(latest_seq(&b.store, "cold-room-8").await, Some(6));
    let doc = emf(&inv);
    assert_eq!(doc["MessagesReceived"], 11.0);
    assert_eq!(doc["MessagesAccepted"], 10.0);
    assert_eq!(doc["MessagesDuplicate"], 1.0);
    assert_eq!(doc["fleet"], "north");
    assert!(doc["IngestLatency"].as_f64().unwrap() >= 0.0);

    // Counters were flushed at the end of the invocation.
    let counts = b
        .store
        .counters(
            &FleetId::parse("north").unwrap(),
            now - 120_000,
            now + 120_000,
        )
        .await
        .unwrap();
    let received: u64 = counts.iter().map(|c| c.counts.received).sum();
    assert_eq!(received, 13, "{counts:?}");

    // The direct rule event still works, and answers its kind.
    let (inv, answer) = b
        .lambda
        .handle_event(reading_of("cold-room-7", 7, now + 7), now_ms)
        .await;
    assert_eq!(answer.unwrap(), serde_json::json!({"kind": "message"}));
    assert_eq!(inv.outcome, Some(MessageOutcome::Stored));
}

#[tokio::test]
async fn a_bad_record_is_a_dead_letter_and_the_others_are_stored() {
    let b = batched().await;
    let now = now_ms();
    let bodies = vec![
        reading_of("cold-room-7", 1, now),
        telemetry_event(b"{\"seq\": 2, ", now), // not JSON: the core rejects it
        reading_of("cold-room-7", 3, now + 3),
        reading_of("cold-room-8", 1, now),
    ];
    let (inv, answer) = b.lambda.handle_event(sqs(&bodies), now_ms).await;
    assert!(
        failures(&answer.unwrap()).is_empty(),
        "rejections are not retried"
    );
    assert_eq!((inv.accepted, inv.rejected, inv.failed), (3, 1, 0));
    assert_eq!(emf(&inv)["MessagesRejected"], 1.0);
    assert_eq!(latest_seq(&b.store, "cold-room-7").await, Some(3));
    assert_eq!(latest_seq(&b.store, "cold-room-8").await, Some(1));
    let letters = b
        .store
        .list_dead_letters(Some(&FleetId::parse("north").unwrap()), 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].reason, "malformed_json");
    assert_eq!(letters[0].source, "iot-rule:cold-room-7");

    // A body that is not a rule event is never stored: it alone is handed out again (and after
    // maxReceiveCount receives lands in the queue's dead-letter queue).
    let bodies = vec![
        reading_of("cold-room-7", 4, now + 4),
        Value::String("not a rule event".into()),
        event("iot-rule-bad-base64.json", now),
    ];
    let (inv, answer) = b.lambda.handle_event(sqs(&bodies), now_ms).await;
    assert_eq!(failures(&answer.unwrap()), ["m-1", "m-2"]);
    assert_eq!((inv.accepted, inv.failed), (1, 2));
    assert!(inv.detail.unwrap().contains("2 of 3 records"));
    assert_eq!(latest_seq(&b.store, "cold-room-7").await, Some(4));

    // Not an SQS event at all, though it says so: an error.
    let (_, answer) = b
        .lambda
        .handle_event(
            serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]}),
            now_ms,
        )
        .await;
    assert!(matches!(
        answer,
        Err(IngestLambdaError::Event(RuleEventError::UnknownShape(_)))
    ));
}

#[tokio::test]
async fn a_record_whose_store_write_fails_is_received_again_alone() {
    let b = batched().await;
    let now = now_ms();
    *b.stats.fail_device.lock().unwrap() = Some("cold-room-8".into());
    let mut status_8 = event("iot-rule-status.json", now);
    status_8["topic"] = "dt/boxpilot/north/cold-room-8/status".into();
    status_8["client_id"] = "cold-room-8".into();
    let bodies = vec![
        reading_of("cold-room-7", 1, now),
        reading_of("cold-room-8", 1, now),
        reading_of("cold-room-7", 2, now + 2),
        status_8.clone(),
    ];
    let (inv, answer) = b.lambda.handle_event(sqs(&bodies), now_ms).await;
    assert_eq!(failures(&answer.unwrap()), ["m-1", "m-3"]);
    assert_eq!((inv.accepted, inv.failed), (2, 2));
    assert_eq!(emf(&inv)["MessagesFailed"], 2.0);
    // cold-room-7's readings are stored although they shared a batch with the failing box.
    assert_eq!(latest_seq(&b.store, "cold-room-7").await, Some(2));
    assert_eq!(latest_seq(&b.store, "cold-room-8").await, None);

    // The store recovers; the queue hands out the two failed records again: both stored, and
    // nothing of cold-room-7 was lost or stored twice.
    *b.stats.fail_device.lock().unwrap() = None;
    let again = vec![reading_of("cold-room-8", 1, now), status_8];
    let (inv, answer) = b.lambda.handle_event(sqs(&again), now_ms).await;
    assert!(failures(&answer.unwrap()).is_empty());
    assert_eq!((inv.accepted, inv.duplicates), (2, 0));
    assert_eq!(latest_seq(&b.store, "cold-room-8").await, Some(1));
    let series = b
        .store
        .metric_series(
            &DeviceId::parse("cold-room-7").unwrap(),
            "temp_c",
            now - 1,
            now + 10,
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 2);
}
