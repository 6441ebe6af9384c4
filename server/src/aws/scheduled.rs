//! The scheduled function (EventBridge, every minute): what `boxpilot serve` does in background
//! tasks, for a shape where nothing runs between requests. It expires and times out commands,
//! steps running rollouts for most of the minute (their progress is stored at each step, so the
//! next run goes on), and evaluates the alert rules once.
use crate::commands::{Catalogue, CommandService, SWEEP_EVERY};
use crate::monitoring::{AlertService, CostModel, MonitoringSettings, Notifier};
use crate::outbound::DevicePublisher;
use crate::rollouts::RolloutService;
use crate::store::{RollUpReport, Store};
use std::sync::Arc;
use std::time::Duration;

/// What one run did (logged, and returned as the invocation's result).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScheduledReport {
    /// Commands not final yet within the longest time to live, before the sweep.
    pub open_commands: usize,
    pub rollouts_driven: usize,
    pub rollouts_finished: usize,
    pub alerts_evaluated: bool,
    /// What the store derived from the hours that closed (DynamoDB: aggregates, latest values).
    pub rolled_up: RollUpReport,
    /// What failed, if anything (the other parts still ran).
    pub errors: Vec<String>,
}

pub struct ScheduledWork {
    store: Arc<dyn Store>,
    commands: Arc<CommandService>,
    rollouts: Arc<RolloutService>,
    alerts: Arc<AlertService>,
}

impl ScheduledWork {
    /// The services over `store`, sending to boxes through `publisher`, alerts through
    /// `notifiers` (SNS on AWS).
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Arc<dyn DevicePublisher>,
        monitoring: MonitoringSettings,
        notifiers: Vec<Arc<dyn Notifier>>,
    ) -> Self {
        let commands = CommandService::new(store.clone(), Catalogue::builtin());
        commands.set_publisher(publisher);
        let rollouts = RolloutService::new(store.clone(), commands.clone());
        let costs = Arc::new(CostModel::from_settings(&monitoring));
        let alerts = AlertService::new(store.clone(), costs, monitoring, notifiers);
        Self {
            store,
            commands,
            rollouts,
            alerts,
        }
    }

    /// One run: the sweep, then rollouts stepped for up to `rollout_budget`, then the store's
    /// roll-up, then the alert rules (on the latest values rolled up). A failing part is
    /// reported and does not stop the others.
    pub async fn run(&self, now_ms: impl Fn() -> i64, rollout_budget: Duration) -> ScheduledReport {
        let mut report = ScheduledReport::default();
        match self.commands.sweep_recent(now_ms()).await {
            Ok(open) => report.open_commands = open,
            Err(e) => report.errors.push(format!("command sweep: {e}")),
        }
        // The sweep goes on while rollouts run, as in `serve`: their commands time out meanwhile.
        let sweeping = async {
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            loop {
                ticker.tick().await;
                self.commands.sweep(now_ms()).await;
            }
        };
        let (driven, finished) = tokio::select! {
            done = self.rollouts.drive_for(rollout_budget) => done,
            _ = sweeping => unreachable!("the sweep loop never ends"),
        };
        report.rollouts_driven = driven;
        report.rollouts_finished = finished;
        match self.store.roll_up(now_ms()).await {
            Ok(rolled) => report.rolled_up = rolled,
            Err(e) => report.errors.push(format!("roll-up: {e}")),
        }
        match self.alerts.evaluate_once(now_ms()).await {
            Ok(()) => report.alerts_evaluated = true,
            Err(e) => report.errors.push(format!("alert rules: {e}")),
        }
        report
    }
}
