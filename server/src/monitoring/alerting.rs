//! The alert loop: measures each rule's signal from the counters and the boxes, lets the
//! evaluator decide what fires and what resolves, stores the alerts and delivers notifications.
use super::notify::NotificationMessage;
use super::{rule_kinds, AlertRecord, CostModel, MonitoringSettings, Notifier, WebhookNotifier};
use crate::console::store_error;
use crate::store::{AlertRule, DeviceRecord, Store, StoreError};
use app::domain::{
    AlertsOverview, AppError, DeliveryView, FleetId, MetricValue, PipelineCounts, Role,
};
use app::service::Caller;
use chrono::{DateTime, Utc};
use monitor::alerts::{ActiveAlert, AlertEvaluator, Notification, Observation, ResolvedBecause};
use monitor::detect::{DetectorConfig, SpikeDetector};
use monitor::rules::{AlertKind, Signal};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const MINUTE_MS: i64 = 60_000;
/// How much history a new spike detector learns from before its first verdict.
const WARM_UP_MS: i64 = 24 * 3_600_000;
/// The window of the loss-ratio rule.
const LOSS_WINDOW_MS: i64 = 5 * MINUTE_MS;
/// Recent alerts listed on the alerts page.
const RECENT: usize = 100;

fn to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Minutes of traffic a spike detector learns before its first verdict. The monitor crate's
/// default is an hour; a quarter of an hour lets a new fleet (or the demo) be watched sooner, at
/// the price of a rougher first baseline.
const WARM_UP_MINUTES: u64 = 15;

/// A spike detector of one rule, and the next minute it has not seen yet.
struct SpikeState {
    detector: SpikeDetector,
    next_minute: i64,
    last: Option<Signal>,
    /// Minutes before the fleet's first message are not learnt: no traffic yet is not a level.
    seen_traffic: bool,
}

#[derive(Default)]
struct LoopState {
    evaluator: AlertEvaluator,
    spikes: HashMap<String, SpikeState>,
    /// The alerts of this process, by (rule, subject, fired_at), to update their deliveries.
    records: HashMap<(String, String, i64), AlertRecord>,
    /// The firing alerts were read back from the store (once per process).
    reloaded: bool,
}

pub struct AlertService {
    store: Arc<dyn Store>,
    costs: Arc<CostModel>,
    settings: MonitoringSettings,
    notifiers: Vec<Arc<dyn Notifier>>,
    state: tokio::sync::Mutex<LoopState>,
}

fn active_of(r: &AlertRecord) -> ActiveAlert {
    ActiveAlert {
        rule_id: r.rule_id.clone(),
        fleet: r.fleet.clone(),
        kind: r.kind.clone(),
        subject: r.subject.clone(),
        since: to_utc(r.since),
        fired_at: to_utc(r.fired_at),
        last_value: r.last_value,
    }
}

fn record_of(a: &ActiveAlert) -> AlertRecord {
    AlertRecord {
        rule_id: a.rule_id.clone(),
        fleet: a.fleet.clone(),
        kind: a.kind.clone(),
        subject: a.subject.clone(),
        since: a.since.timestamp_millis(),
        fired_at: a.fired_at.timestamp_millis(),
        last_value: a.last_value,
        resolved_at: None,
        resolved_because: None,
        deliveries: Vec::new(),
    }
}

fn key_of(r: &AlertRecord) -> (String, String, i64) {
    (r.rule_id.clone(), r.subject.clone(), r.fired_at)
}

fn metric_number(v: &MetricValue) -> Option<f64> {
    match v {
        MetricValue::Number(x) => Some(*x),
        MetricValue::Bool(b) => Some(f64::from(u8::from(*b))),
        MetricValue::Text(_) => None,
    }
}

impl AlertService {
    /// `extra` notifiers are added to the settings' webhooks (SNS on AWS).
    pub fn new(
        store: Arc<dyn Store>,
        costs: Arc<CostModel>,
        settings: MonitoringSettings,
        extra: Vec<Arc<dyn Notifier>>,
    ) -> Arc<Self> {
        let notifiers = settings
            .webhooks
            .iter()
            .map(|url| {
                Arc::new(WebhookNotifier::new(
                    url.clone(),
                    settings.webhook_attempts,
                    settings.webhook_backoff,
                    settings.webhook_timeout,
                )) as Arc<dyn Notifier>
            })
            .chain(extra)
            .collect();
        Arc::new(Self {
            store,
            costs,
            settings,
            notifiers,
            state: tokio::sync::Mutex::new(LoopState::default()),
        })
    }

    /// Resumes the alerts firing when the server stopped, then evaluates every
    /// `settings.evaluate_every`.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            service.reload_active().await;
            let mut ticker = tokio::time::interval(service.settings.evaluate_every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(e) = service
                    .evaluate(chrono::Utc::now().timestamp_millis())
                    .await
                {
                    tracing::warn!(error = %e, "alert rules not evaluated this time");
                }
            }
        })
    }

    /// The alerts firing when the process stopped, so that they do not fire again.
    async fn reload_active(&self) {
        match self.store.active_alerts().await {
            Ok(active) => {
                let mut state = self.state.lock().await;
                state.evaluator = AlertEvaluator::with_active(active.iter().map(active_of));
                state.records.clear();
                state.reloaded = true;
                for r in active {
                    state.records.insert(key_of(&r), r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "firing alerts not reloaded; they may fire again")
            }
        }
    }

    /// For a process that runs now and then (the scheduled function on AWS): one evaluation at
    /// `now`, the firing alerts read back at the first. Pending holds and spike baselines live as
    /// long as the process (a warm function instance keeps them between runs).
    pub async fn evaluate_once(self: &Arc<Self>, now: i64) -> Result<(), StoreError> {
        if !self.state.lock().await.reloaded {
            self.reload_active().await;
        }
        self.evaluate(now).await
    }

    /// Alerts firing now (for `/metrics`).
    pub async fn firing(&self) -> usize {
        self.state.lock().await.evaluator.active().len()
    }

    /// One evaluation of every rule at `now` (ms).
    pub async fn evaluate(self: &Arc<Self>, now: i64) -> Result<(), StoreError> {
        let rules = self.store.list_alert_rules().await?;
        let mut state = self.state.lock().await;
        let mut observations = Vec::new();
        let mut devices: HashMap<String, Vec<DeviceRecord>> = HashMap::new();
        state
            .spikes
            .retain(|id, _| rules.iter().any(|r| &r.id == id && r.enabled));
        for rule in rules.iter().filter(|r| r.enabled) {
            let Ok(fleet) = FleetId::parse(&rule.fleet) else {
                continue;
            };
            match &rule.kind {
                AlertKind::CostSpike {} | AlertKind::MessageRateSpike {} => {
                    if let Some(signal) = self.spike_signal(&mut state, rule, &fleet, now).await? {
                        observations.push(Observation {
                            rule_id: rule.id.clone(),
                            subject: rule.fleet.clone(),
                            signal,
                        });
                    }
                }
                AlertKind::LossRatioAbove { .. } => {
                    let c = self.window(&fleet, now - LOSS_WINDOW_MS, now).await?;
                    observations.push(Observation {
                        rule_id: rule.id.clone(),
                        subject: rule.fleet.clone(),
                        signal: Signal::LossPercent {
                            percent: c.loss_percent(),
                        },
                    });
                }
                AlertKind::RejectRateRising { window_minutes, .. } => {
                    let start = now - i64::from(*window_minutes) * MINUTE_MS;
                    let window = self.window(&fleet, start, now).await?;
                    let baseline = self.window(&fleet, start - WARM_UP_MS, start).await?;
                    observations.push(Observation {
                        rule_id: rule.id.clone(),
                        subject: rule.fleet.clone(),
                        signal: Signal::RejectPercent {
                            window: window.reject_percent(),
                            baseline: baseline.reject_percent(),
                        },
                    });
                }
                AlertKind::BoxOfflineLongerThan { .. }
                | AlertKind::MetricAbove { .. }
                | AlertKind::MetricBelow { .. } => {
                    if !devices.contains_key(&rule.fleet) {
                        let mut list = self.store.list_devices(Some(&fleet)).await?;
                        self.store.refresh_latest(&mut list).await?;
                        devices.insert(rule.fleet.clone(), list);
                    }
                    for d in &devices[&rule.fleet] {
                        let signal = match &rule.kind {
                            AlertKind::BoxOfflineLongerThan { .. } => Signal::Offline {
                                offline: !d.presence.online,
                                since_ms: d.presence.last_seen,
                            },
                            AlertKind::MetricAbove { metric, .. }
                            | AlertKind::MetricBelow { metric, .. } => {
                                match d.latest.get(metric).and_then(metric_number) {
                                    Some(value) => Signal::Metric { value },
                                    None => continue,
                                }
                            }
                            _ => continue,
                        };
                        observations.push(Observation {
                            rule_id: rule.id.clone(),
                            subject: d.id.to_string(),
                            signal,
                        });
                    }
                }
            }
        }
        let notifications = match state.evaluator.tick(to_utc(now), &rules, &observations) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "alert evaluation refused");
                return Ok(());
            }
        };
        for n in notifications {
            let (event, record) = match n {
                Notification::Fired { alert } => {
                    tracing::warn!(rule = %alert.rule_id, subject = %alert.subject, kind = %alert.kind, "alert fired");
                    ("fired", record_of(&alert))
                }
                Notification::Resolved {
                    alert,
                    resolved_at,
                    because,
                } => {
                    tracing::info!(rule = %alert.rule_id, subject = %alert.subject, "alert resolved");
                    let mut record = state
                        .records
                        .get(&(
                            alert.rule_id.clone(),
                            alert.subject.clone(),
                            alert.fired_at.timestamp_millis(),
                        ))
                        .cloned()
                        .unwrap_or_else(|| record_of(&alert));
                    record.last_value = alert.last_value.or(record.last_value);
                    record.resolved_at = Some(resolved_at.timestamp_millis());
                    record.resolved_because = Some(
                        match because {
                            ResolvedBecause::ConditionCleared => "condition_cleared",
                            ResolvedBecause::RuleDisabledOrRemoved => "rule_disabled_or_removed",
                        }
                        .to_owned(),
                    );
                    ("resolved", record)
                }
            };
            let mut record = record;
            record.deliveries.push(DeliveryView {
                channel: format!("in_app:{event}"),
                status: "delivered".into(),
                attempts: 1,
                detail: None,
            });
            for notifier in &self.notifiers {
                record.deliveries.push(DeliveryView {
                    channel: format!("{}:{event}", notifier.channel()),
                    status: "sending".into(),
                    attempts: 0,
                    detail: None,
                });
            }
            self.store.put_alert(&record).await?;
            state.records.insert(key_of(&record), record.clone());
            self.deliver(event, record);
        }
        // Keep the records of this process bounded: resolved alerts whose deliveries ended.
        state.records.retain(|_, r| {
            r.resolved_at.is_none() || r.deliveries.iter().any(|d| d.status == "sending")
        });
        Ok(())
    }

    /// Sends one notification to every notifier in the background and records each outcome.
    fn deliver(self: &Arc<Self>, event: &'static str, record: AlertRecord) {
        for (index, notifier) in self.notifiers.iter().enumerate() {
            let (service, notifier, record) = (self.clone(), notifier.clone(), record.clone());
            tokio::spawn(async move {
                let message = NotificationMessage {
                    event,
                    alert: record.clone(),
                    sent_at: chrono::Utc::now().timestamp_millis(),
                };
                let outcome = notifier.deliver(&message).await;
                let mut state = service.state.lock().await;
                let key = key_of(&record);
                let mut current = state.records.get(&key).cloned().unwrap_or(record);
                // The notifiers' entries of an event follow its in-app entry, in notifier order.
                let channel = format!("{}:{event}", notifier.channel());
                let suffix = format!(":{event}");
                if let Some(slot) = current
                    .deliveries
                    .iter_mut()
                    .filter(|d| d.channel.ends_with(&suffix) && !d.channel.starts_with("in_app"))
                    .nth(index)
                {
                    *slot = DeliveryView { channel, ..outcome };
                }
                if let Err(e) = service.store.put_alert(&current).await {
                    tracing::warn!(error = %e, "notification outcome not recorded");
                }
                state.records.insert(key, current);
            });
        }
    }

    /// The counts of a fleet in `[from, to)`, minute buckets.
    async fn window(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> Result<PipelineCounts, StoreError> {
        let mut total = PipelineCounts::default();
        for d in self.store.counters(fleet, from, to).await? {
            total.add(&d.counts);
        }
        Ok(total)
    }

    /// Feeds the rule's detector the minutes closed since its last look (zero for a minute
    /// without messages) and returns its latest verdict.
    async fn spike_signal(
        &self,
        state: &mut LoopState,
        rule: &AlertRule,
        fleet: &FleetId,
        now: i64,
    ) -> Result<Option<Signal>, StoreError> {
        let cost = matches!(rule.kind, AlertKind::CostSpike {});
        // A minute is closed once its counters are flushed (within a second or two).
        let closed_end = (now - 2_000) - (now - 2_000).rem_euclid(MINUTE_MS);
        if !state.spikes.contains_key(&rule.id) {
            let config = DetectorConfig {
                warmup_samples: WARM_UP_MINUTES,
                ..if cost {
                    DetectorConfig::cost_per_minute()
                } else {
                    DetectorConfig::message_rate()
                }
            };
            let Ok(detector) = SpikeDetector::new(config) else {
                return Ok(None);
            };
            state.spikes.insert(
                rule.id.clone(),
                SpikeState {
                    detector,
                    next_minute: closed_end - WARM_UP_MS,
                    last: None,
                    seen_traffic: false,
                },
            );
        }
        let spike = state.spikes.get_mut(&rule.id).expect("inserted above");
        if spike.next_minute >= closed_end {
            return Ok(spike.last);
        }
        let mut minutes: BTreeMap<i64, PipelineCounts> = BTreeMap::new();
        for d in self
            .store
            .counters(fleet, spike.next_minute, closed_end)
            .await?
        {
            minutes.entry(d.minute).or_default().add(&d.counts);
        }
        let mut minute = spike.next_minute;
        while minute < closed_end {
            let counts = minutes.remove(&minute).unwrap_or_default();
            spike.seen_traffic |= counts.received > 0;
            if !spike.seen_traffic {
                minute += MINUTE_MS;
                continue;
            }
            let value = if cost {
                match self.costs_of(&counts) {
                    Some(v) => v,
                    None => break,
                }
            } else {
                counts.received as f64
            };
            match spike.detector.observe(to_utc(minute), value) {
                Ok(a) => {
                    spike.last = Some(Signal::Spike {
                        spike: a.spike,
                        value,
                    })
                }
                Err(e) => {
                    tracing::warn!(rule = %rule.id, error = %e, "spike detector refused a minute")
                }
            }
            minute += MINUTE_MS;
        }
        spike.next_minute = minute;
        Ok(spike.last)
    }

    fn costs_of(&self, counts: &PipelineCounts) -> Option<f64> {
        monitor::cost::cost(
            &super::usage_from_counts(counts, &self.costs.assumptions),
            &self.costs.prices,
        )
        .ok()
        .map(|b| b.total_usd)
    }

    /// Active and recent alerts of the fleets the caller sees, the rules and the rule kinds
    /// (support and admin).
    pub async fn overview(
        &self,
        caller: &Caller,
        fleet: Option<&FleetId>,
    ) -> Result<AlertsOverview, AppError> {
        caller.require(Role::Support)?;
        if let Some(f) = fleet {
            if !caller.may_see_fleet(f) {
                return Err(AppError::Forbidden(format!(
                    "fleet {f} is not one of yours"
                )));
            }
        }
        let visible = |name: &str| {
            FleetId::parse(name)
                .is_ok_and(|f| caller.may_see_fleet(&f) && fleet.is_none_or(|wanted| wanted == &f))
        };
        let mut active = self.store.active_alerts().await.map_err(store_error)?;
        active.retain(|a| visible(&a.fleet));
        active.sort_by_key(|a| std::cmp::Reverse(a.fired_at));
        let mut recent = self.store.list_alerts(RECENT).await.map_err(store_error)?;
        recent.retain(|a| visible(&a.fleet));
        let rules = self
            .store
            .list_alert_rules()
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|r| visible(&r.fleet))
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        Ok(AlertsOverview {
            active,
            recent,
            rules,
            kinds: rule_kinds(),
        })
    }

    /// Creates or replaces a rule (admins). Thresholds, ids and metric names are checked: a metric
    /// must be one that a box of the fleet reports.
    pub async fn save_rule(
        &self,
        caller: &Caller,
        rule: serde_json::Value,
    ) -> Result<serde_json::Value, AppError> {
        caller.require(Role::Admin)?;
        let rule: AlertRule = serde_json::from_value(rule)
            .map_err(|e| AppError::BadRequest(format!("alert rule: {e}")))?;
        let fleet = FleetId::parse(&rule.fleet)
            .map_err(|e| AppError::BadRequest(format!("alert rule fleet: {e}")))?;
        if !caller.may_see_fleet(&fleet) {
            return Err(AppError::Forbidden(format!(
                "fleet {fleet} is not one of yours"
            )));
        }
        let mut devices = self
            .store
            .list_devices(Some(&fleet))
            .await
            .map_err(store_error)?;
        self.store
            .refresh_latest(&mut devices)
            .await
            .map_err(store_error)?;
        rule.validate(&|metric| devices.iter().any(|d| d.latest.contains_key(metric)))
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        self.store
            .put_alert_rule(&rule)
            .await
            .map_err(store_error)?;
        tracing::info!(rule = %rule.id, fleet = %rule.fleet, kind = rule.kind.name(), by = %caller.username, "alert rule saved");
        serde_json::to_value(&rule).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Deletes a rule (admins); its firing alerts resolve at the next evaluation.
    pub async fn delete_rule(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        caller.require(Role::Admin)?;
        let rules = self.store.list_alert_rules().await.map_err(store_error)?;
        match rules.iter().find(|r| r.id == id) {
            Some(r) if FleetId::parse(&r.fleet).is_ok_and(|f| caller.may_see_fleet(&f)) => {}
            _ => return Err(AppError::NotFound(format!("alert rule {id}"))),
        }
        self.store
            .delete_alert_rule(id)
            .await
            .map_err(store_error)?;
        tracing::info!(rule = %id, by = %caller.username, "alert rule deleted");
        Ok(())
    }
}
