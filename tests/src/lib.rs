//! Test support: a real `boxpilot` server in-process on free ports with its own data directory,
//! users and boxes, an HTTP client, and real MQTT clients.
use app::domain::{DeviceId, FleetId};
use boxpilot::commands::Catalogue;
pub use boxpilot::identity::IdentityChoice;
pub use boxpilot::monitoring::MonitoringSettings;
pub use boxpilot::runtime::StoreChoice;
use boxpilot::runtime::{self, Running, ServeConfig};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::time::Duration;

pub struct TestServer {
    pub running: Running,
    pub data: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_monitored(MonitoringSettings::default()).await
    }

    /// A server with these monitoring settings (alert webhooks, evaluation period).
    pub async fn start_monitored(monitoring: MonitoringSettings) -> Self {
        Self::start_full(StoreChoice::Embedded, monitoring).await
    }

    /// A server on this store adapter.
    pub async fn start_full(store: StoreChoice, monitoring: MonitoringSettings) -> Self {
        Self::start_configured(store, IdentityChoice::Builtin, monitoring).await
    }

    /// A server on these store and identity adapters.
    pub async fn start_configured(
        store: StoreChoice,
        identity: IdentityChoice,
        monitoring: MonitoringSettings,
    ) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let any = "127.0.0.1:0".parse().unwrap();
        let config = ServeConfig {
            http: any,
            mqtt: any,
            mqtt_ws: any,
            data_dir: data.path().to_owned(),
            static_dir: data.path().join("no-console"),
            public_url: None,
            broker_public_url: None,
            store,
            identity,
        };
        let running = runtime::start_full(config, Catalogue::builtin(), monitoring)
            .await
            .expect("server starts");
        Self {
            running,
            data,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.http_addr, path)
    }

    pub fn mqtt_port(&self) -> u16 {
        self.running.mqtt_addr.port()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.running.ws_addr)
    }

    /// Adds a user with the given groups; returns its password.
    pub async fn add_user(&self, username: &str, groups: &[&str]) -> String {
        let password = format!("pw-{username}-0123456789");
        let groups: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        self.running
            .users
            .add_user(username, &password, &groups)
            .await
            .expect("user added");
        password
    }

    /// Registers a box; returns its secret.
    pub async fn add_device(&self, fleet: &str, id: &str) -> String {
        boxpilot::cli::register_device(
            self.running.store.as_ref(),
            &FleetId::parse(fleet).unwrap(),
            &DeviceId::parse(id).unwrap(),
        )
        .await
        .expect("box registered")
    }

    /// Logs in through the REST API; returns the access token.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let r: serde_json::Value = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {r}"))
            .to_owned()
    }

    /// A user with a token, in one step.
    pub async fn user_token(&self, username: &str, groups: &[&str]) -> String {
        let pw = self.add_user(username, groups).await;
        self.token(username, &pw).await
    }

    pub async fn get_json(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Calls a server function with form arguments and the session cookie: the status and the
    /// JSON answer.
    pub async fn call_form(
        &self,
        cookie: &str,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(endpoint))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or_default())
    }

    /// Calls a server function with the session cookie.
    pub async fn call(&self, cookie: &str, endpoint: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(endpoint))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or_default())
    }

    /// Sends `body` as JSON with `method` to an API path with a bearer token; the status and the
    /// JSON answer (`null` when there is none).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A simulator of one box of fleet `f1` against this server's broker (no loss, no failures).
    pub fn simulated_box(
        &self,
        device: &str,
        secret: String,
        rate: f64,
        firmware: &str,
    ) -> boxpilot::simulator::SimulatorConfig {
        boxpilot::simulator::SimulatorConfig {
            broker: format!("mqtt://127.0.0.1:{}", self.mqtt_port()),
            fleet: FleetId::parse("f1").unwrap(),
            boxes: vec![(DeviceId::parse(device).unwrap(), secret)],
            rate,
            loss: 0.0,
            firmware: firmware.into(),
            fail_rate: 0.0,
            burst: None,
        }
    }

    /// Waits until the API shows the box online (its connection and status were processed).
    pub async fn wait_online(&self, device: &str, token: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, d) = self
                .get_json(&format!("/api/v1/devices/{device}"), token)
                .await;
            if d["presence"]["online"] == true {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{device} never came online: {d}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A broker credential for a new user with these groups, through the server functions.
    pub async fn broker_credential(&self, username: &str, groups: &[&str]) -> serde_json::Value {
        let pw = self.add_user(username, groups).await;
        let cookie = session_cookie(self, username, &pw).await;
        let (status, credential) = self.call(&cookie, "/api/broker/credential").await;
        assert_eq!(status, 200, "{credential}");
        credential
    }

    /// A box of this server connected over TCP and subscribed to its command requests.
    pub async fn command_box(&self, fleet: &str, id: &str, secret: &str) -> Client {
        let mut bx = Client::connect(box_options(self.mqtt_port(), id, secret))
            .await
            .expect("box connects");
        bx.subscribe(&format!("cmd/boxpilot/{fleet}/{id}/req"))
            .await
            .expect("box subscribes");
        bx
    }

    /// Waits until buffered counters are stored.
    pub async fn flush(&self) {
        self.running.ingest.flush().await.expect("flush");
    }
}

/// Logs in through the `login` server function; returns the session cookie pair (and checks
/// the cookie's attributes).
pub async fn session_cookie(server: &TestServer, user: &str, password: &str) -> String {
    let r = server
        .http
        .post(server.url("/api/auth/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "__Host-boxpilot-session=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(
        !set_cookie.contains("Domain"),
        "__Host- cookies have no Domain"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The folder where scripts/setup.sh installs npm tools (MQTT.js, playwright-core).
pub fn tools_dir() -> std::path::PathBuf {
    std::env::var_os("BOXPILOT_TOOLS_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/boxpilot-tools")
        })
}

/// MQTT-over-WebSocket options from a broker credential, as the browser uses them.
pub fn ws_options(server: &TestServer, credential: &serde_json::Value) -> MqttOptions {
    let mut o = MqttOptions::new(
        credential["client_id"].as_str().unwrap(),
        server.ws_url(),
        server.running.ws_addr.port(),
    );
    o.set_transport(rumqttc::Transport::Ws);
    o.set_credentials(
        credential["username"].as_str().unwrap(),
        credential["password"].as_str().unwrap(),
    );
    o
}

/// MQTT options of a box on the server's TCP listener.
pub fn box_options(port: u16, id: &str, secret: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_credentials(id, secret);
    o.set_keep_alive(Duration::from_secs(30));
    o
}

/// A connected MQTT client; the event loop runs until the connection ends.
pub struct Client {
    pub client: AsyncClient,
    pub events: EventLoop,
}

impl Client {
    /// Connects and waits for CONNACK; returns the refusal code if refused.
    pub async fn connect(options: MqttOptions) -> Result<Client, String> {
        let (client, mut events) = AsyncClient::new(options, 256);
        // As boxes should (see the device contract): no Nagle delay on quick answers.
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        events.set_network_options(network);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, events.poll())
                .await
                .map_err(|_| "no CONNACK".to_string())?;
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(Client { client, events }),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Publishes at QoS 1 and waits for its PUBACK; Err if the connection ends first.
    pub async fn publish_acked(
        &mut self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), String> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.poll())
                .await
                .map_err(|_| "no PUBACK".to_string())?;
            match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Subscribes and returns the SUBACK return codes.
    pub async fn subscribe(
        &mut self,
        filter: &str,
    ) -> Result<Vec<rumqttc::SubscribeReasonCode>, String> {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.events.poll())
                .await
                .map_err(|_| "no SUBACK".to_string())?
            {
                Ok(Event::Incoming(Packet::SubAck(ack))) => return Ok(ack.return_codes),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The next PUBLISH received within `wait`.
    pub async fn next_publish(&mut self, wait: Duration) -> Option<rumqttc::Publish> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.events.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => return Some(p),
                Ok(Ok(_)) => {}
                _ => return None,
            }
        }
    }

    /// Polls until the connection ends or `wait` passes; true if it ended.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.events.poll()).await {
                Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn telemetry(seq: u64, ts: i64, temp: f64) -> String {
    serde_json::json!({ "seq": seq, "ts": ts, "metrics": { "temp_c": temp, "door_open": false } })
        .to_string()
}

/// Lets a box answer every command `accepted`, then `succeeded` with `detail`, until no command
/// comes for 8 s; yields the commands it received.
pub fn answer_all(
    bx: Client,
    resp_topic: String,
    detail: &'static str,
) -> tokio::task::JoinHandle<Vec<serde_json::Value>> {
    answer_all_with(bx, resp_topic, &["accepted", "succeeded"], detail)
}

/// Lets a box answer every command with `statuses` in order (e.g. `accepted`, `failed`), until
/// no command comes for 8 s; yields the commands it received.
pub fn answer_all_with(
    mut bx: Client,
    resp_topic: String,
    statuses: &'static [&'static str],
    detail: &'static str,
) -> tokio::task::JoinHandle<Vec<serde_json::Value>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(p) = bx.next_publish(Duration::from_secs(8)).await {
            let cmd: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
            for status in statuses {
                let reply =
                    serde_json::json!({"id": cmd["id"], "status": status, "detail": detail});
                bx.client
                    .publish(&resp_topic, QoS::AtLeastOnce, false, reply.to_string())
                    .await
                    .unwrap();
            }
            seen.push(cmd);
        }
        seen
    })
}
