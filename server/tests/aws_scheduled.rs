//! The scheduled function's work (`boxpilot::aws::scheduled`) on a process that did not start the
//! work itself, as on AWS where the API function freezes between requests: a command past its
//! expiry is timed out, a rollout started by a request (whose process then stopped) is stepped to
//! its end, and an alert rule fires. The store is the embedded one; the IoT data plane a
//! recording publisher.
use app::domain::{CommandState, DeviceId, FleetId, Presence, Role, RolloutRequest};
use app::service::Caller;
use boxpilot::aws::scheduled::ScheduledWork;
use boxpilot::commands::{Catalogue, CommandService, IssueRequest};
use boxpilot::monitoring::MonitoringSettings;
use boxpilot::outbound::DevicePublisher;
use boxpilot::rollouts::RolloutService;
use boxpilot::store::{conformance, EmbeddedStore, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl DevicePublisher for Recorded {
    async fn publish(&self, topic: &str, _payload: Vec<u8>) -> Result<(), String> {
        self.0.lock().unwrap().push(topic.to_owned());
        Ok(())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn operator() -> Caller {
    Caller {
        sub: "sub-ops".into(),
        username: "ops".into(),
        role: Role::Operator,
        fleets: vec![FleetId::parse("f1").unwrap()],
        all_fleets: false,
    }
}

#[test]
fn a_scheduled_run_does_what_background_tasks_do_in_serve() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let box_id = |n: u32| DeviceId::parse(&format!("b{n}")).unwrap();

    // A request-serving process: boxes, one short command, a slow rollout; then it stops (its
    // runtime is dropped with every task it spawned, as a frozen function would not run them).
    let request_time = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rollout_id = request_time.block_on(async {
        for n in 1..=4 {
            store
                .create_device(&conformance::device(&format!("b{n}"), "f1"))
                .await
                .unwrap();
            let online = n <= 3;
            let presence = Presence {
                online,
                last_seen: Some(now_ms() - if online { 1_000 } else { 20 * 60_000 }),
                firmware: Some("1.4.2".into()),
            };
            store.set_presence(&box_id(n), &presence).await.unwrap();
        }
        let alert: boxpilot::store::AlertRule = serde_json::from_value(serde_json::json!({
            "id": "f1-offline", "fleet": "f1", "kind": "box_offline_longer_than", "minutes": 5
        }))
        .unwrap();
        store.put_alert_rule(&alert).await.unwrap();
        // A reading: its box's latest values are for the store's roll-up to write.
        store
            .put_readings(&[conformance::reading("b1", "f1", 1, now_ms() - 2_000, 21.5)])
            .await
            .unwrap();
        let commands = CommandService::new(store.clone(), Catalogue::builtin());
        commands.set_publisher(Arc::new(Recorded::default()));
        let short = commands
            .issue(
                &operator(),
                &box_id(1),
                IssueRequest {
                    name: "set_interval".into(),
                    params: serde_json::json!({"seconds": 30}),
                    ttl_secs: Some(1),
                },
            )
            .await
            .unwrap();
        assert_eq!(short.state, CommandState::Sent);
        let rollouts = RolloutService::new(store.clone(), commands.clone());
        let request: RolloutRequest = serde_json::from_value(serde_json::json!({
            "fleet": "f1", "name": "set_interval", "params": {"seconds": 60},
            "target": {"online_only": true}, "rate_per_minute": 60, "ttl_secs": 2
        }))
        .unwrap();
        let view = rollouts.start(&operator(), request).await.unwrap();
        view.id
    });
    drop(request_time);
    let stored = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(store.get_rollout(&rollout_id))
        .unwrap()
        .unwrap();
    assert!(
        stored.progress.issued < 3,
        "the stopped process issued {} of 3",
        stored.progress.issued
    );
    std::thread::sleep(Duration::from_millis(1_200));

    // The scheduled function, in a process of its own.
    let scheduled_time = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    scheduled_time.block_on(async {
        let published = Arc::new(Recorded::default());
        let work = ScheduledWork::new(
            store.clone(),
            published.clone(),
            MonitoringSettings::default(),
            Vec::new(),
        );
        let report = work.run(now_ms, Duration::from_secs(8)).await;
        assert!(report.errors.is_empty(), "{report:?}");
        assert!(report.open_commands >= 1, "{report:?}");
        assert_eq!(report.rollouts_driven, 1, "{report:?}");
        assert_eq!(
            report.rollouts_finished, 1,
            "the rollout's last commands time out within the budget: {report:?}"
        );
        assert!(report.alerts_evaluated);
        assert_eq!(
            report.rolled_up.boxes, 1,
            "the store's roll-up ran: {report:?}"
        );

        // The short command timed out (it was delivered, the box never answered).
        let commands = store.list_commands(&box_id(1), 10).await.unwrap();
        let short = commands
            .iter()
            .find(|c| c.params == serde_json::json!({"seconds": 30}))
            .unwrap();
        assert_eq!(short.state, CommandState::TimedOut, "{short:?}");
        // The rollout sent its remaining commands from this process and finished.
        let rollout = store.get_rollout(&rollout_id).await.unwrap().unwrap();
        assert_eq!(rollout.progress.issued, 3, "{:?}", rollout.progress);
        assert!(rollout.status.is_final(), "{:?}", rollout.status);
        assert!(
            published.0.lock().unwrap().len() >= 3 - stored.progress.issued,
            "the remaining commands were published from here"
        );
        // The offline box is alerted.
        let firing = store.active_alerts().await.unwrap();
        assert!(
            firing.iter().any(|a| a.subject == "b4"),
            "an offline alert for b4: {firing:?}"
        );

        // A second run finds nothing left to drive.
        let again = work.run(now_ms, Duration::from_secs(1)).await;
        assert_eq!(again.rollouts_driven, 0, "{again:?}");
        assert_eq!(
            again.rolled_up.boxes, 0,
            "nothing new to roll up: {again:?}"
        );
    });
}
