//! The conformance suite every `Store` adapter must pass. Each adapter's tests call
//! `store_conformance_tests!(async { make_a_fresh_store().await })`, which expands to one test per
//! check so a failure names what broke.
use super::*;
use crate::clock::now_ms;
use app::domain::MetricValue;
use std::collections::BTreeMap;

fn id(s: &str) -> DeviceId {
    DeviceId::parse(s).unwrap()
}
fn fleet(s: &str) -> FleetId {
    FleetId::parse(s).unwrap()
}

pub fn device(d: &str, f: &str) -> DeviceRecord {
    DeviceRecord {
        id: id(d),
        fleet: fleet(f),
        secret_hash: "00".repeat(32),
        created_at: 1_000,
        presence: Presence::default(),
        latest_ts: None,
        latest_seq: None,
        latest: BTreeMap::new(),
    }
}

pub fn reading(d: &str, f: &str, seq: u64, ts: i64, temp: f64) -> Reading {
    Reading {
        device: id(d),
        fleet: fleet(f),
        seq,
        ts,
        received_at: ts + 5,
        metrics: BTreeMap::from([
            ("temp_c".to_string(), MetricValue::Number(temp)),
            (
                "door_open".to_string(),
                MetricValue::Bool(seq.is_multiple_of(2)),
            ),
            ("mode".to_string(), MetricValue::Text("eco".into())),
        ]),
    }
}

pub async fn device_ids_are_unique_across_fleets(store: &dyn Store) {
    store.create_device(&device("b1", "north")).await.unwrap();
    let again = store.create_device(&device("b1", "south")).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    let got = store.get_device(&id("b1")).await.unwrap().unwrap();
    assert_eq!(got.fleet, fleet("north"));
    assert!(store.get_device(&id("nope")).await.unwrap().is_none());
}

pub async fn devices_are_listed_per_fleet_in_id_order(store: &dyn Store) {
    for (d, f) in [("c", "north"), ("a", "north"), ("b", "south")] {
        store.create_device(&device(d, f)).await.unwrap();
    }
    let north: Vec<_> = store
        .list_devices(Some(&fleet("north")))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(north, vec![id("a"), id("c")]);
    assert_eq!(store.list_devices(None).await.unwrap().len(), 3);
    assert!(store
        .list_devices(Some(&fleet("west")))
        .await
        .unwrap()
        .is_empty());
}

pub async fn presence_is_replaced_and_unknown_boxes_refused(store: &dyn Store) {
    store.create_device(&device("b1", "north")).await.unwrap();
    let p = Presence {
        online: true,
        last_seen: Some(42),
        firmware: Some("1.4.2".into()),
    };
    store.set_presence(&id("b1"), &p).await.unwrap();
    assert_eq!(
        store.get_device(&id("b1")).await.unwrap().unwrap().presence,
        p
    );
    assert!(matches!(
        store.set_presence(&id("ghost"), &p).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn readings_are_idempotent_and_advance_latest(store: &dyn Store) {
    store.create_device(&device("b1", "north")).await.unwrap();
    let first = store
        .put_readings(&[
            reading("b1", "north", 1, 1_000, 20.0),
            reading("b1", "north", 2, 2_000, 21.0),
        ])
        .await
        .unwrap();
    assert_eq!(first, vec![WriteOutcome::Stored, WriteOutcome::Stored]);
    // A redelivery, and an older reading arriving late: stored, but latest stays on the newest.
    let second = store
        .put_readings(&[
            reading("b1", "north", 2, 2_000, 21.0),
            reading("b1", "north", 0, 500, 5.0),
        ])
        .await
        .unwrap();
    assert_eq!(second, vec![WriteOutcome::Duplicate, WriteOutcome::Stored]);
    let d = fresh_device(store, "b1").await;
    assert_eq!(d.latest_ts, Some(2_000));
    assert_eq!(d.latest_seq, Some(2));
    assert_eq!(d.latest.get("temp_c"), Some(&MetricValue::Number(21.0)));
    assert_eq!(d.presence.last_seen, Some(2_005));
    // Same seq after a reboot (new time) is a new reading, not a duplicate.
    let reboot = store
        .put_readings(&[reading("b1", "north", 1, 9_000, 30.0)])
        .await
        .unwrap();
    assert_eq!(reboot, vec![WriteOutcome::Stored]);
}

/// A box as `get_device` gives it, its latest values brought up to date.
async fn fresh_device(store: &dyn Store, d: &str) -> DeviceRecord {
    store
        .get_device_latest(&id(d))
        .await
        .unwrap()
        .expect("the box")
}

const HOUR: i64 = 3_600_000;

/// Readings of `b1` at `ts`: temp_c as given, `mode` only on the first one.
fn readings_at(first_seq: u64, times_and_temps: &[(i64, f64)]) -> Vec<Reading> {
    times_and_temps
        .iter()
        .enumerate()
        .map(|(i, &(ts, temp))| {
            let mut r = reading("b1", "north", first_seq + i as u64, ts, temp);
            if i > 0 {
                r.metrics.remove("mode");
            }
            r
        })
        .collect()
}

/// Latest values and long charts are the same whether the store derives them at write time
/// (embedded) or in its roll-ups of closed hours (DynamoDB): readings of past hours (written
/// late for their hour), of the current hour, a roll-up as if two hours had passed, and a
/// second roll-up that has nothing left to do.
pub async fn latest_values_and_long_series_hold_across_roll_ups(store: &dyn Store) {
    let now = now_ms();
    let this_hour = now - now.rem_euclid(HOUR);
    let mut b1 = device("b1", "north");
    b1.created_at = now - 4 * HOUR;
    store.create_device(&b1).await.unwrap();
    let past = this_hour - 3 * HOUR;
    let current = this_hour + 60_000;
    store
        .put_readings(&readings_at(
            1,
            &[
                (past + 60_000, 10.0),
                (past + 120_000, -40.0),
                (past + 180_000, 12.0),
            ],
        ))
        .await
        .unwrap();
    store
        .put_readings(&readings_at(
            10,
            &[
                (current, 20.0),
                (current + 60_000, 90.0),
                (current + 120_000, 21.0),
            ],
        ))
        .await
        .unwrap();
    let check = |when: &'static str| async move {
        let d = fresh_device(store, "b1").await;
        assert_eq!(d.latest_ts, Some(current + 120_000), "{when}");
        assert_eq!(d.latest_seq, Some(12), "{when}");
        assert_eq!(
            d.latest.get("temp_c"),
            Some(&MetricValue::Number(21.0)),
            "{when}"
        );
        // `mode` came only with the first reading of each batch: still the latest known.
        assert_eq!(
            d.latest.get("mode"),
            Some(&MetricValue::Text("eco".into())),
            "{when}"
        );
        assert_eq!(d.presence.last_seen, Some(current + 120_005), "{when}");
        let long = store
            .metric_series(&id("b1"), "temp_c", now - 24 * HOUR, now + HOUR)
            .await
            .unwrap();
        let values: Vec<f64> = long.iter().map(|p| p.value).collect();
        for extreme in [-40.0, 90.0, 10.0, 21.0] {
            assert!(values.contains(&extreme), "{when}: {extreme} in {values:?}");
        }
        assert!(
            long.windows(2).all(|w| w[0].ts < w[1].ts),
            "{when}: in time order"
        );
        assert!(
            long.iter()
                .all(|p| [10.0, -40.0, 12.0, 20.0, 90.0, 21.0].contains(&p.value)),
            "{when}: only real readings: {values:?}"
        );
    };
    check("before any roll-up").await;
    store.roll_up(this_hour + 2 * HOUR).await.unwrap();
    check("after rolling the current hour up").await;
    let again = store.roll_up(this_hour + 2 * HOUR).await.unwrap();
    assert_eq!(again.hours, 0, "nothing left to roll up");
    check("after a second roll-up").await;
}

pub async fn series_cover_the_range_of_one_metric_of_one_box(store: &dyn Store) {
    store.create_device(&device("b1", "north")).await.unwrap();
    store.create_device(&device("b2", "north")).await.unwrap();
    let readings: Vec<_> = (1..=10)
        .map(|i| reading("b1", "north", i, i as i64 * 1_000, i as f64))
        .collect();
    store.put_readings(&readings).await.unwrap();
    store
        .put_readings(&[reading("b2", "north", 1, 3_000, 99.0)])
        .await
        .unwrap();
    let s = store
        .metric_series(&id("b1"), "temp_c", 3_000, 6_000)
        .await
        .unwrap();
    assert_eq!(
        s.iter().map(|p| (p.ts, p.value)).collect::<Vec<_>>(),
        vec![(3_000, 3.0), (4_000, 4.0), (5_000, 5.0), (6_000, 6.0)]
    );
    let doors = store
        .metric_series(&id("b1"), "door_open", 1_000, 2_000)
        .await
        .unwrap();
    assert_eq!(
        doors.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![0.0, 1.0]
    );
    assert!(
        store
            .metric_series(&id("b1"), "mode", 0, 20_000)
            .await
            .unwrap()
            .is_empty(),
        "text is not chartable"
    );
    assert!(store
        .metric_series(&id("b1"), "temp_c", 20_000, 30_000)
        .await
        .unwrap()
        .is_empty());
}

fn letter(n: i64, f: Option<&str>) -> DeadLetter {
    DeadLetter {
        id: format!("dl-{n}"),
        received_at: n,
        fleet: f.map(fleet),
        device: None,
        topic: "dt/boxpilot/x/y/telemetry".into(),
        source: "mqtt".into(),
        reason: "malformed_json".into(),
        detail: "expected value".into(),
        payload_preview: "{".into(),
        payload_bytes: 1,
    }
}

pub async fn dead_letters_list_newest_first_per_fleet(store: &dyn Store) {
    store
        .put_dead_letters(&[
            letter(1, Some("north")),
            letter(2, None),
            letter(3, Some("north")),
            letter(4, Some("south")),
        ])
        .await
        .unwrap();
    let all: Vec<_> = store
        .list_dead_letters(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.received_at)
        .collect();
    assert_eq!(all, vec![4, 3, 2, 1]);
    let north: Vec<_> = store
        .list_dead_letters(Some(&fleet("north")), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.received_at)
        .collect();
    assert_eq!(north, vec![3, 1]);
    assert_eq!(store.list_dead_letters(None, 2).await.unwrap().len(), 2);
}

pub async fn counters_accumulate_per_bucket(store: &dyn Store) {
    let delta = |minute: i64, device: &str, accepted: u64| CounterDelta {
        fleet: fleet("north"),
        minute,
        device: device.into(),
        counts: PipelineCounts {
            received: accepted + 1,
            accepted,
            rejected: BTreeMap::from([("malformed_json".into(), 1)]),
            ..Default::default()
        },
    };
    store
        .add_counters(&[delta(60_000, "b1", 2), delta(60_000, "b2", 1)])
        .await
        .unwrap();
    store
        .add_counters(&[delta(60_000, "b1", 3), delta(120_000, "b1", 7)])
        .await
        .unwrap();
    let first_minute = store
        .counters(&fleet("north"), 60_000, 120_000)
        .await
        .unwrap();
    assert_eq!(first_minute.len(), 2);
    let b1 = first_minute.iter().find(|d| d.device == "b1").unwrap();
    assert_eq!(
        (
            b1.counts.accepted,
            b1.counts.received,
            b1.counts.rejected["malformed_json"]
        ),
        (5, 7, 2)
    );
    assert_eq!(
        store
            .counters(&fleet("north"), 0, 1_000_000)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(store
        .counters(&fleet("south"), 0, 1_000_000)
        .await
        .unwrap()
        .is_empty());
}

pub async fn users_round_trip(store: &dyn Store) {
    let user = UserRecord {
        username: "ann".into(),
        sub: "s-1".into(),
        password_hash: "$argon2id$x".into(),
        groups: vec!["operator".into(), "fleet:north".into()],
        enabled: true,
        created_at: 1,
        last_active_at: Some(7),
        signed_out_at: Some(9),
    };
    store.put_user(&user).await.unwrap();
    assert_eq!(store.get_user("ann").await.unwrap(), Some(user.clone()));
    let disabled = UserRecord {
        enabled: false,
        ..user
    };
    store.put_user(&disabled).await.unwrap();
    assert_eq!(store.list_users().await.unwrap(), vec![disabled]);
    assert_eq!(store.get_user("bob").await.unwrap(), None);
}

pub async fn grants_are_kept_per_kind_and_deleted(store: &dyn Store) {
    let grant = Grant {
        kind: GrantKind::Session,
        secret_hash: "h1".into(),
        username: "ann".into(),
        expires_at: 99,
        access_token: Some("a".into()),
        refresh_token: Some("r".into()),
    };
    store.put_grant(&grant).await.unwrap();
    assert_eq!(
        store.get_grant(GrantKind::Session, "h1").await.unwrap(),
        Some(grant)
    );
    assert_eq!(
        store
            .get_grant(GrantKind::RefreshToken, "h1")
            .await
            .unwrap(),
        None
    );
    store.delete_grant(GrantKind::Session, "h1").await.unwrap();
    assert_eq!(
        store.get_grant(GrantKind::Session, "h1").await.unwrap(),
        None
    );
}

pub fn command(id: &str, d: &str, issued_at: i64, expires_at: i64) -> CommandRecord {
    CommandRecord {
        id: id.into(),
        device: self::id(d),
        fleet: fleet("north"),
        name: "set_setpoint".into(),
        params: serde_json::json!({ "value": 4.5 }),
        issuer: "user:ann".into(),
        source: crate::commands::CommandSource::Api,
        issued_at,
        expires_at,
        state: CommandState::Created,
        history: vec![crate::commands::StateChange {
            state: CommandState::Created,
            at: issued_at,
            detail: None,
        }],
        rollout: None,
    }
}

pub async fn hourly_counters_sum_the_minutes_of_each_hour(store: &dyn Store) {
    let delta = |fleet_id: &str, minute: i64, device: &str, received: u64| CounterDelta {
        fleet: fleet(fleet_id),
        minute,
        device: device.into(),
        counts: PipelineCounts {
            received,
            bytes: received * 100,
            ..Default::default()
        },
    };
    let hour = 3_600_000;
    store
        .add_counters(&[
            delta("north", 0, "b1", 1),
            delta("north", 59 * 60_000, "b2", 2),
            delta("north", hour, "b1", 4),
            delta("south", 0, "b9", 50),
        ])
        .await
        .unwrap();
    store
        .add_counters(&[delta("north", 30 * 60_000, "b1", 8)])
        .await
        .unwrap();
    let hours = store
        .hourly_counters(&fleet("north"), 0, 2 * hour)
        .await
        .unwrap();
    let received: Vec<(i64, u64)> = hours.iter().map(|(h, c)| (*h, c.received)).collect();
    assert_eq!(received, [(0, 11), (hour, 4)]);
    assert_eq!(hours[0].1.bytes, 1_100);
    assert_eq!(
        store
            .hourly_counters(&fleet("north"), hour, 2 * hour)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn alert_rules_and_alerts_round_trip(store: &dyn Store) {
    let rule: AlertRule = serde_json::from_value(serde_json::json!({
        "id": "loss", "fleet": "north", "kind": "loss_ratio_above", "percent": 5.0
    }))
    .unwrap();
    store.put_alert_rule(&rule).await.unwrap();
    assert_eq!(
        store.list_alert_rules().await.unwrap(),
        std::slice::from_ref(&rule)
    );
    let alert = |subject: &str, fired_at: i64| AlertRecord {
        rule_id: "loss".into(),
        fleet: "north".into(),
        kind: "loss_ratio_above".into(),
        subject: subject.into(),
        since: fired_at - 10,
        fired_at,
        last_value: Some(7.5),
        resolved_at: None,
        resolved_because: None,
        deliveries: vec![],
    };
    store.put_alert(&alert("north", 1_000)).await.unwrap();
    store.put_alert(&alert("b1", 2_000)).await.unwrap();
    let mut resolved = alert("north", 1_000);
    resolved.resolved_at = Some(3_000);
    resolved.resolved_because = Some("condition_cleared".into());
    store.put_alert(&resolved).await.unwrap();
    let newest: Vec<String> = store
        .list_alerts(10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.subject)
        .collect();
    assert_eq!(newest, ["b1", "north"]);
    assert_eq!(store.list_alerts(1).await.unwrap().len(), 1);
    let active = store.active_alerts().await.unwrap();
    assert_eq!(active, [alert("b1", 2_000)]);
    store.delete_alert_rule("loss").await.unwrap();
    assert!(store.list_alert_rules().await.unwrap().is_empty());
    assert!(matches!(
        store.delete_alert_rule("loss").await,
        Err(StoreError::NotFound(_))
    ));
}

pub fn rollout(id: &str, f: &str, created_at: i64) -> RolloutRecord {
    RolloutRecord {
        id: id.into(),
        fleet: fleet(f),
        name: "reboot".into(),
        params: serde_json::json!({}),
        target: Default::default(),
        rate_per_minute: 60,
        abort: None,
        ttl_secs: 60,
        issuer: "user:ann".into(),
        created_at,
        status: app::domain::RolloutStatus::Running,
        status_detail: None,
        finished_at: None,
        devices: vec![self::id("b1"), self::id("b2")],
        progress: Default::default(),
    }
}

pub async fn rollouts_list_newest_first_and_running_ones_are_indexed(store: &dyn Store) {
    for (r, f, at) in [
        ("r1", "north", 1_000),
        ("r2", "north", 3_000),
        ("r3", "south", 2_000),
    ] {
        store.put_rollout(&rollout(r, f, at)).await.unwrap();
    }
    let north: Vec<String> = store
        .list_rollouts(&fleet("north"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(north, ["r2", "r1"]);
    assert_eq!(
        store.list_rollouts(&fleet("north"), 1).await.unwrap().len(),
        1
    );
    let mut done = rollout("r1", "north", 1_000);
    done.status = app::domain::RolloutStatus::Completed;
    done.progress.issued = 2;
    store.put_rollout(&done).await.unwrap();
    assert_eq!(store.get_rollout("r1").await.unwrap(), Some(done));
    assert!(store.get_rollout("nope").await.unwrap().is_none());
    let running: Vec<String> = store
        .unfinished_rollouts()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        running,
        ["r3", "r2"],
        "oldest first, finished ones left out"
    );
    assert_eq!(
        store
            .list_rollouts(&fleet("north"), 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn shadow_writes_are_conditional_on_the_version(store: &dyn Store) {
    let mut s = ShadowRecord::empty(id("b1"), fleet("north"));
    assert!(store.get_shadow(&id("b1")).await.unwrap().is_none());
    s.version = 1;
    s.desired.insert("setpoint_c".into(), serde_json::json!(19));
    store.put_shadow(&s, 0).await.unwrap();
    // A second writer that also read "no shadow" loses.
    let again = store.put_shadow(&s, 0).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let mut next = s.clone();
    next.version = 2;
    next.reported
        .insert("setpoint_c".into(), serde_json::json!(19));
    let stale = store.put_shadow(&next, 5).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.get_shadow(&id("b1")).await.unwrap(), Some(s));
    store.put_shadow(&next, 1).await.unwrap();
    assert_eq!(store.get_shadow(&id("b1")).await.unwrap(), Some(next));
    assert!(store.get_shadow(&id("b2")).await.unwrap().is_none());
}

pub async fn commands_round_trip_and_list_newest_first(store: &dyn Store) {
    for (i, at) in [(1, 1_000), (2, 3_000), (3, 2_000)] {
        store
            .put_command(&command(&format!("c{i}"), "b1", at, at + 60_000))
            .await
            .unwrap();
    }
    store
        .put_command(&command("other", "b2", 2_500, 62_500))
        .await
        .unwrap();
    let got = store.get_command("c3").await.unwrap().unwrap();
    assert_eq!(got, command("c3", "b1", 2_000, 62_000));
    assert!(store.get_command("nope").await.unwrap().is_none());
    let ids: Vec<_> = store
        .list_commands(&id("b1"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["c2", "c3", "c1"]);
    assert_eq!(store.list_commands(&id("b1"), 1).await.unwrap().len(), 1);
    assert!(store.list_commands(&id("b3"), 10).await.unwrap().is_empty());
}

pub async fn command_updates_replace_and_ids_are_never_reused(store: &dyn Store) {
    let mut c = command("c1", "b1", 1_000, 61_000);
    store.put_command(&c).await.unwrap();
    c.advance(CommandState::Sent, 1_001, None).unwrap();
    store.put_command(&c).await.unwrap();
    assert_eq!(store.get_command("c1").await.unwrap().unwrap(), c);
    assert_eq!(store.list_commands(&id("b1"), 10).await.unwrap().len(), 1);
    for replay in [
        command("c1", "b2", 1_000, 61_000),
        command("c1", "b1", 5_000, 65_000),
    ] {
        let again = store.put_command(&replay).await;
        assert!(
            matches!(again, Err(StoreError::AlreadyExists(_))),
            "{again:?}"
        );
    }
    assert_eq!(store.get_command("c1").await.unwrap().unwrap(), c);
}

pub async fn pending_commands_are_created_and_unexpired(store: &dyn Store) {
    let now = 10_000_000;
    store
        .put_command(&command("live", "b1", now - 1_000, now + 5_000))
        .await
        .unwrap();
    store
        .put_command(&command("old", "b1", now - 70_000, now - 10_000))
        .await
        .unwrap();
    let mut sent = command("sent", "b1", now - 500, now + 5_000);
    sent.advance(CommandState::Sent, now - 400, None).unwrap();
    store.put_command(&sent).await.unwrap();
    store
        .put_command(&command("first", "b1", now - 2_000, now + 5_000))
        .await
        .unwrap();
    store
        .put_command(&command("elsewhere", "b2", now, now + 5_000))
        .await
        .unwrap();
    let ids: Vec<_> = store
        .pending_commands(&id("b1"), now)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec!["first", "live"]);
}

pub async fn fleet_commands_list_newest_first_in_a_window(store: &dyn Store) {
    let in_fleet = |cid: &str, d: &str, fleet: &str, at: i64| {
        let mut c = command(cid, d, at, at + 60_000);
        c.fleet = FleetId::parse(fleet).unwrap();
        c
    };
    for c in [
        in_fleet("a1", "b1", "f1", 1_000),
        in_fleet("a2", "b2", "f1", 3_000),
        in_fleet("a3", "b1", "f1", 2_000),
        in_fleet("a4", "b1", "f1", 2_000),
        in_fleet("x1", "b9", "f2", 2_500),
    ] {
        store.put_command(&c).await.unwrap();
    }
    // A state change replaces the command; it is listed once, with its new state.
    let mut changed = in_fleet("a1", "b1", "f1", 1_000);
    changed.advance(CommandState::Sent, 1_001, None).unwrap();
    store.put_command(&changed).await.unwrap();
    let f1 = FleetId::parse("f1").unwrap();
    let list = |from, to, limit| store.list_fleet_commands(&f1, from, to, limit);
    let ids = |cs: Vec<CommandRecord>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(list(i64::MIN, i64::MAX, 10).await.unwrap()),
        vec!["a2", "a4", "a3", "a1"]
    );
    let all = list(0, 10_000, 10).await.unwrap();
    assert_eq!(all.last().unwrap(), &changed);
    assert_eq!(ids(list(2_000, 2_000, 10).await.unwrap()), vec!["a4", "a3"]);
    assert_eq!(ids(list(1_500, 2_999, 1).await.unwrap()), vec!["a4"]);
    assert!(list(4_000, 5_000, 10).await.unwrap().is_empty());
    assert!(list(3_000, 1_000, 10).await.unwrap().is_empty());
    assert_eq!(
        ids(store
            .list_fleet_commands(&FleetId::parse("f2").unwrap(), 0, 10_000, 10)
            .await
            .unwrap()),
        vec!["x1"]
    );
    assert!(store
        .list_fleet_commands(&FleetId::parse("f3").unwrap(), 0, 10_000, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Expands to one `#[tokio::test]` per conformance check; `$make` is an expression giving a future
/// that yields a fresh, empty store (anything that derefs to a `Store`).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@each $make;
            device_ids_are_unique_across_fleets,
            devices_are_listed_per_fleet_in_id_order,
            presence_is_replaced_and_unknown_boxes_refused,
            readings_are_idempotent_and_advance_latest,
            latest_values_and_long_series_hold_across_roll_ups,
            series_cover_the_range_of_one_metric_of_one_box,
            dead_letters_list_newest_first_per_fleet,
            counters_accumulate_per_bucket,
            users_round_trip,
            grants_are_kept_per_kind_and_deleted,
            commands_round_trip_and_list_newest_first,
            command_updates_replace_and_ids_are_never_reused,
            pending_commands_are_created_and_unexpired,
            fleet_commands_list_newest_first_in_a_window,
            rollouts_list_newest_first_and_running_ones_are_indexed,
            shadow_writes_are_conditional_on_the_version,
            hourly_counters_sum_the_minutes_of_each_hour,
            alert_rules_and_alerts_round_trip);
    };
    (@each $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let store = $make.await;
                $crate::store::conformance::$check(&*store).await;
            }
        )*
    };
}
