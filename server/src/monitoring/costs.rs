//! The cost model applied to measured counts: what a fleet would cost on AWS per hour, day or
//! month, with the month-end projection.
use super::{CostAssumptions, CONSOLE_FLEET};
use crate::console::store_error;
use crate::store::Store;
use app::domain::{
    AppError, CostLineView, CostPeriod, CostPoint, CostReport, FleetId, MonthProjection,
    PipelineCounts, Role,
};
use app::service::Caller;
use chrono::{DateTime, Duration, Utc};
use monitor::cost::{cost, month_containing, project_month_end, RunRate};
use monitor::prices::PriceTable;
use monitor::usage::Usage;
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The billed quantities that the measured counts stand for on the AWS shape.
pub fn usage_from_counts(c: &PipelineCounts, a: &CostAssumptions) -> Usage {
    let mut u = Usage::new();
    let messages = c.received as f64;
    let units = c.message_units.max(c.received) as f64;
    u.messages = messages;
    if a.basic_ingest {
        u.basic_ingest_messages = messages;
    } else {
        u.billed_message_units = units;
    }
    // One rule with one action (to the SQS queue) per message; rules are metered in the same
    // 5 KB steps. The ingestion function takes the queue's messages in batches.
    u.rules_triggered = units;
    u.rule_actions = units;
    let batches = u.record_queue_batches(c.received, a.messages_per_batch);
    u.record_lambda(batches, a.lambda_memory_mb, a.lambda_ms);
    u.dynamodb_write_units = c.write_units as f64;
    u.dynamodb_read_units = c.read_units as f64 / 2.0;
    u.connection_minutes = c.connection_minutes as f64;
    u.api_requests = c.api_requests as f64;
    u
}

fn day_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

fn to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub struct CostModel {
    pub prices: PriceTable,
    pub assumptions: CostAssumptions,
}

impl CostModel {
    /// The prices and assumptions of the monitoring settings.
    pub fn from_settings(settings: &super::MonitoringSettings) -> Self {
        Self {
            prices: settings.prices.clone(),
            assumptions: settings.assumptions.clone(),
        }
    }

    fn total(&self, counts: &PipelineCounts) -> Result<f64, AppError> {
        Ok(self.breakdown(counts)?.total_usd)
    }

    fn breakdown(&self, counts: &PipelineCounts) -> Result<monitor::cost::CostBreakdown, AppError> {
        self.breakdown_with_users(counts, 0)
    }

    fn breakdown_with_users(
        &self,
        counts: &PipelineCounts,
        monthly_active_users: usize,
    ) -> Result<monitor::cost::CostBreakdown, AppError> {
        let mut usage = usage_from_counts(counts, &self.assumptions);
        usage.monthly_active_users = monthly_active_users as f64;
        cost(&usage, &self.prices).map_err(|e| AppError::Internal(format!("cost model: {e}")))
    }

    /// What a fleet would cost over `period` ending now (support and admin). The console's own
    /// usage (API requests) is the pseudo-fleet `_console`, for those who see every fleet.
    pub async fn report(
        &self,
        store: &dyn Store,
        caller: &Caller,
        fleet: &FleetId,
        period: CostPeriod,
        now_ms: i64,
    ) -> Result<CostReport, AppError> {
        caller.require(Role::Support)?;
        let console = fleet.as_str() == CONSOLE_FLEET;
        if !(caller.may_see_fleet(fleet) || console && caller.all_fleets) {
            return Err(AppError::Forbidden(format!(
                "fleet {fleet} is not one of yours"
            )));
        }
        let this_hour = now_ms - now_ms.rem_euclid(HOUR_MS);
        let (month_start, month_length) = month_containing(to_utc(now_ms));
        let month_start = month_start.timestamp_millis();
        // Points of the chart: minutes for the last hour, hours for a day, days for the month.
        let (from, to, points): (i64, i64, BTreeMap<i64, PipelineCounts>) = match period {
            CostPeriod::Hour => {
                let to = now_ms - now_ms.rem_euclid(60_000) + 60_000;
                let mut points = BTreeMap::new();
                for d in store
                    .counters(fleet, to - HOUR_MS, to)
                    .await
                    .map_err(store_error)?
                {
                    points
                        .entry(d.minute)
                        .or_insert_with(PipelineCounts::default)
                        .add(&d.counts);
                }
                (to - HOUR_MS, to, points)
            }
            CostPeriod::Day => {
                let to = this_hour + HOUR_MS;
                let hours = store
                    .hourly_counters(fleet, to - DAY_MS, to)
                    .await
                    .map_err(store_error)?;
                (to - DAY_MS, to, hours.into_iter().collect())
            }
            CostPeriod::Month => {
                let to = this_hour + HOUR_MS;
                let mut days: BTreeMap<i64, PipelineCounts> = BTreeMap::new();
                for (hour, counts) in store
                    .hourly_counters(fleet, month_start, to)
                    .await
                    .map_err(store_error)?
                {
                    days.entry(day_of(hour)).or_default().add(&counts);
                }
                (month_start, to, days)
            }
        };
        let mut total = PipelineCounts::default();
        let mut series = Vec::with_capacity(points.len());
        for (at, counts) in &points {
            total.add(counts);
            series.push(CostPoint {
                at: *at,
                cost_usd: self.total(counts)?,
            });
        }
        // Monthly active users are a month's figure, billed to the console's own usage.
        let active_users = if console && period == CostPeriod::Month {
            store
                .list_users()
                .await
                .map_err(store_error)?
                .iter()
                .filter(|u| u.last_active_at.is_some_and(|at| at >= month_start))
                .count()
        } else {
            0
        };
        let breakdown = self.breakdown_with_users(&total, active_users)?;
        let boxes = if console {
            0
        } else {
            store
                .list_devices(Some(fleet))
                .await
                .map_err(store_error)?
                .len()
        };
        let projection = match period {
            CostPeriod::Month => Some(
                self.projection(store, fleet, &breakdown, now_ms, month_start, month_length)
                    .await?,
            ),
            _ => None,
        };
        Ok(CostReport {
            fleet: fleet.clone(),
            period,
            from,
            to,
            region: breakdown.region.clone(),
            prices_as_of: breakdown.prices_as_of.to_string(),
            assumptions: self.assumptions.describe(),
            per_box_usd: breakdown.per_box_usd(boxes as u64),
            lines: breakdown
                .lines
                .iter()
                .filter(|l| l.quantity > 0.0)
                .map(|l| CostLineView {
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit: l.unit.clone(),
                    unit_price_usd: l.unit_price_usd,
                    per_units: l.per_units,
                    cost_usd: l.cost_usd,
                })
                .collect(),
            total_usd: breakdown.total_usd,
            boxes,
            series,
            projection,
        })
    }

    /// Month-to-date plus the last 24 hours' hourly rate over the hours left.
    async fn projection(
        &self,
        store: &dyn Store,
        fleet: &FleetId,
        month_to_date: &monitor::cost::CostBreakdown,
        now_ms: i64,
        month_start: i64,
        month_length: Duration,
    ) -> Result<MonthProjection, AppError> {
        let window_start = (now_ms - DAY_MS).max(month_start);
        let mut recent = PipelineCounts::default();
        for (_, counts) in store
            .hourly_counters(
                fleet,
                window_start - window_start.rem_euclid(HOUR_MS),
                now_ms + 1,
            )
            .await
            .map_err(store_error)?
        {
            recent.add(&counts);
        }
        let window = Duration::milliseconds((now_ms - window_start).max(60_000));
        let elapsed = Duration::milliseconds(now_ms - month_start);
        let p = project_month_end(
            month_to_date.total_usd,
            RunRate {
                cost_usd: self.total(&recent)?,
                window,
            },
            elapsed,
            month_length,
        )
        .map_err(|e| AppError::Internal(format!("cost projection: {e}")))?;
        Ok(MonthProjection {
            month_start,
            month_end: month_start + month_length.num_milliseconds(),
            month_to_date_usd: p.month_to_date_usd,
            projected_usd: p.projected_usd,
            method: format!(
                "month to date plus the last {:.0} h's rate (${:.4}/h) over the {:.0} h left",
                window.num_minutes() as f64 / 60.0,
                p.hourly_rate_usd,
                p.remaining_hours
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_become_the_billed_quantities_of_the_aws_shape() {
        let counts = PipelineCounts {
            received: 1000,
            message_units: 1200,
            write_units: 1000,
            read_units: 90,
            connection_minutes: 60,
            ..Default::default()
        };
        let broker = usage_from_counts(&counts, &CostAssumptions::default());
        assert_eq!(broker.billed_message_units, 1200.0);
        assert_eq!(broker.rules_triggered, 1200.0);
        // 1,000 messages in batches of 10: 100 invocations of 30 ms; 1,000 sends, 200 receives
        // and deletes.
        assert_eq!(broker.lambda_invocations, 100.0);
        assert!((broker.lambda_gb_seconds - 100.0 * 0.125 * 0.03).abs() < 1e-9);
        assert_eq!(broker.sqs_requests, 1200.0);
        assert_eq!(broker.dynamodb_read_units, 45.0);
        let basic = usage_from_counts(
            &counts,
            &CostAssumptions {
                basic_ingest: true,
                ..Default::default()
            },
        );
        assert_eq!(basic.billed_message_units, 0.0);
        assert_eq!(basic.basic_ingest_messages, 1000.0);
        let prices = PriceTable::aws_us_east_1();
        assert!(
            cost(&basic, &prices).unwrap().total_usd < cost(&broker, &prices).unwrap().total_usd
        );
    }

    #[test]
    fn ten_thousand_boxes_a_month_cost_what_the_fixture_says() {
        // One 1 KB reading a minute per box for 30 days, with two chartable metrics, metered as
        // the ingestion writer meters them: monitor/fixtures/costs/10k-boxes-deployed-shape.json.
        let n = 10_000u64 * 43_200;
        let counts = PipelineCounts {
            received: n,
            message_units: n,
            write_units: 5 * n,
            read_units: 2 * n,
            connection_minutes: n,
            ..Default::default()
        };
        let model = CostModel {
            prices: PriceTable::aws_us_east_1(),
            assumptions: CostAssumptions::default(),
        };
        let per_box = model.total(&counts).unwrap() / 10_000.0;
        assert!((per_box - 0.2218).abs() < 0.001, "{per_box}");
    }
}
