//! Usage times prices: an itemised cost, and the month-end projection.
//!
//! A cost "per fleet and per hour, day or month" is simply the cost of the usage measured for that
//! fleet over that period: the period lives in the [`Usage`], not here.
//!
//! Free tiers: only Cognito's monthly-active-user free tier is applied, because it is permanent and
//! per account. The others (IoT Core's and API Gateway's 12-month tiers, Lambda's monthly
//! allowance) are deliberately ignored: they are shared across everything else the account runs,
//! so counting them for one fleet would under-state its cost. Likewise only the first price tier is
//! used (later tiers are cheaper). The model therefore errs on the high side.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::prices::PriceTable;
use crate::usage::{Usage, UsageError};

const MILLION: f64 = 1_000_000.0;

/// Why a cost or a projection could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error("`{field}` must be a finite amount >= 0, got {value}")]
    InvalidAmount { field: &'static str, value: f64 },
    #[error("the run-rate window must be longer than zero")]
    EmptyRunRateWindow,
    #[error("the month length must be longer than zero")]
    EmptyMonth,
    #[error(
        "elapsed time ({elapsed_hours} h) must be between 0 and the month length ({month_hours} h)"
    )]
    ElapsedOutOfMonth {
        elapsed_hours: f64,
        month_hours: f64,
    },
}

/// A billed item of the model, one per line of a [`CostBreakdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostItem {
    IotMessaging,
    IotConnectivity,
    IotRulesTriggered,
    IotRuleActions,
    LambdaRequests,
    LambdaDuration,
    SqsRequests,
    DynamodbWrites,
    DynamodbReads,
    DynamodbStorage,
    ApiGatewayRequests,
    CognitoUsers,
}

impl CostItem {
    /// Every item, in the order of a breakdown's lines.
    pub const ALL: [CostItem; 12] = [
        CostItem::IotMessaging,
        CostItem::IotConnectivity,
        CostItem::IotRulesTriggered,
        CostItem::IotRuleActions,
        CostItem::LambdaRequests,
        CostItem::LambdaDuration,
        CostItem::SqsRequests,
        CostItem::DynamodbWrites,
        CostItem::DynamodbReads,
        CostItem::DynamodbStorage,
        CostItem::ApiGatewayRequests,
        CostItem::CognitoUsers,
    ];

    /// A human-readable name for tables.
    pub fn label(self) -> &'static str {
        match self {
            CostItem::IotMessaging => "IoT Core messaging",
            CostItem::IotConnectivity => "IoT Core connectivity",
            CostItem::IotRulesTriggered => "IoT rules triggered",
            CostItem::IotRuleActions => "IoT rule actions",
            CostItem::LambdaRequests => "Lambda requests",
            CostItem::LambdaDuration => "Lambda duration",
            CostItem::SqsRequests => "SQS requests",
            CostItem::DynamodbWrites => "DynamoDB writes",
            CostItem::DynamodbReads => "DynamoDB reads",
            CostItem::DynamodbStorage => "DynamoDB storage",
            CostItem::ApiGatewayRequests => "API Gateway requests",
            CostItem::CognitoUsers => "Cognito users",
        }
    }
}

/// One line of a breakdown: `cost_usd = quantity / per_units * unit_price_usd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub item: CostItem,
    pub name: String,
    /// The billed quantity, in `unit`.
    pub quantity: f64,
    /// What one unit of `quantity` is, e.g. "5 KB message".
    pub unit: String,
    /// The price of `per_units` units (prices are quoted per million for most items).
    pub unit_price_usd: f64,
    pub per_units: f64,
    pub cost_usd: f64,
}

/// The itemised cost of a usage under a price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBreakdown {
    pub region: String,
    pub prices_as_of: NaiveDate,
    /// One line per [`CostItem`], in [`CostItem::ALL`] order, zero lines included (stable tables).
    pub lines: Vec<CostLine>,
    pub total_usd: f64,
}

impl CostBreakdown {
    /// The line of `item`.
    pub fn line(&self, item: CostItem) -> &CostLine {
        self.lines
            .iter()
            .find(|line| line.item == item)
            .expect("a breakdown has one line per item")
    }

    /// The total divided among `boxes` boxes (None for zero boxes).
    pub fn per_box_usd(&self, boxes: u64) -> Option<f64> {
        (boxes > 0).then(|| self.total_usd / boxes as f64)
    }
}

/// Prices `usage` with `prices`. See the module notes for free tiers.
pub fn cost(usage: &Usage, prices: &PriceTable) -> Result<CostBreakdown, CostError> {
    usage.validate()?;
    let p = prices.prices();
    let billable_users = (usage.monthly_active_users - p.cognito_free_mau).max(0.0);
    let lines: Vec<CostLine> = CostItem::ALL
        .iter()
        .map(|&item| {
            let (quantity, unit, unit_price_usd, per_units) = match item {
                CostItem::IotMessaging => (
                    usage.billed_message_units,
                    "5 KB message",
                    p.iot_messaging_per_million,
                    MILLION,
                ),
                CostItem::IotConnectivity => (
                    usage.connection_minutes,
                    "connection-minute",
                    p.iot_connectivity_per_million_minutes,
                    MILLION,
                ),
                CostItem::IotRulesTriggered => (
                    usage.rules_triggered,
                    "rule triggered (5 KB)",
                    p.iot_rules_triggered_per_million,
                    MILLION,
                ),
                CostItem::IotRuleActions => (
                    usage.rule_actions,
                    "action executed (5 KB)",
                    p.iot_rule_actions_per_million,
                    MILLION,
                ),
                CostItem::LambdaRequests => (
                    usage.lambda_invocations,
                    "request",
                    p.lambda_requests_per_million,
                    MILLION,
                ),
                CostItem::LambdaDuration => (
                    usage.lambda_gb_seconds,
                    "GB-second",
                    p.lambda_per_gb_second,
                    1.0,
                ),
                CostItem::SqsRequests => (
                    usage.sqs_requests,
                    "request (64 KB)",
                    p.sqs_requests_per_million,
                    MILLION,
                ),
                CostItem::DynamodbWrites => (
                    usage.dynamodb_write_units,
                    "write request unit",
                    p.dynamodb_write_units_per_million,
                    MILLION,
                ),
                CostItem::DynamodbReads => (
                    usage.dynamodb_read_units,
                    "read request unit",
                    p.dynamodb_read_units_per_million,
                    MILLION,
                ),
                CostItem::DynamodbStorage => (
                    usage.dynamodb_storage_gb_months,
                    "GB-month",
                    p.dynamodb_storage_per_gb_month,
                    1.0,
                ),
                CostItem::ApiGatewayRequests => (
                    usage.api_requests,
                    "HTTP API request",
                    p.api_gateway_http_per_million,
                    MILLION,
                ),
                CostItem::CognitoUsers => (
                    billable_users,
                    "monthly active user beyond the free tier",
                    p.cognito_per_mau,
                    1.0,
                ),
            };
            CostLine {
                item,
                name: item.label().to_owned(),
                quantity,
                unit: unit.to_owned(),
                unit_price_usd,
                per_units,
                cost_usd: quantity / per_units * unit_price_usd,
            }
        })
        .collect();
    let total_usd = lines.iter().map(|line| line.cost_usd).sum();
    Ok(CostBreakdown {
        region: prices.region().to_owned(),
        prices_as_of: prices.as_of(),
        lines,
        total_usd,
    })
}

/// What was spent over a recent window, to derive the current hourly run rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunRate {
    pub cost_usd: f64,
    pub window: Duration,
}

/// A month-end cost projection and the figures it was made from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonthEndProjection {
    pub month_to_date_usd: f64,
    pub hourly_rate_usd: f64,
    pub remaining_hours: f64,
    pub projected_usd: f64,
}

/// Projects the month-end cost: month-to-date cost plus the recent hourly run rate times the
/// hours left in the month.
///
/// `recent` is typically the last 24 hours: long enough to contain a whole daily cycle (so a
/// projection made at night is not too low), short enough to follow a fleet that grew this week.
/// Early in the month, when less than `recent.window` has elapsed, pass what has elapsed.
pub fn project_month_end(
    month_to_date_usd: f64,
    recent: RunRate,
    elapsed: Duration,
    month_length: Duration,
) -> Result<MonthEndProjection, CostError> {
    amount("month_to_date_usd", month_to_date_usd)?;
    amount("recent.cost_usd", recent.cost_usd)?;
    if recent.window <= Duration::zero() {
        return Err(CostError::EmptyRunRateWindow);
    }
    if month_length <= Duration::zero() {
        return Err(CostError::EmptyMonth);
    }
    let elapsed_hours = hours(elapsed);
    let month_hours = hours(month_length);
    if elapsed < Duration::zero() || elapsed > month_length {
        return Err(CostError::ElapsedOutOfMonth {
            elapsed_hours,
            month_hours,
        });
    }
    let hourly_rate_usd = recent.cost_usd / hours(recent.window);
    let remaining_hours = month_hours - elapsed_hours;
    Ok(MonthEndProjection {
        month_to_date_usd,
        hourly_rate_usd,
        remaining_hours,
        projected_usd: month_to_date_usd + hourly_rate_usd * remaining_hours,
    })
}

/// The calendar month (UTC) containing `now`: its start and its length, for
/// [`project_month_end`] (elapsed = `now - start`).
pub fn month_containing(now: DateTime<Utc>) -> (DateTime<Utc>, Duration) {
    let start = first_of_month(now.year(), now.month());
    let (next_year, next_month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let end = first_of_month(next_year, next_month);
    (start, end - start)
}

fn first_of_month(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .expect("the first of a month at midnight UTC exists")
}

fn hours(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 3_600_000.0
}

fn amount(field: &'static str, value: f64) -> Result<(), CostError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(CostError::InvalidAmount { field, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::MessageRoute;

    fn table() -> PriceTable {
        PriceTable::aws_us_east_1()
    }

    #[test]
    fn every_item_has_one_line_and_the_total_is_their_sum() {
        let mut usage = Usage::new();
        usage.record_messages(2_000_000, 1024, MessageRoute::BROKER_ONE_RULE);
        usage.record_connection(10, 1000);
        let breakdown = cost(&usage, &table()).unwrap();
        assert_eq!(breakdown.lines.len(), CostItem::ALL.len());
        let sum: f64 = breakdown.lines.iter().map(|l| l.cost_usd).sum();
        assert!((breakdown.total_usd - sum).abs() < 1e-12);
        // 2 M messages at $1.00 / M, 10,000 minutes at $0.08 / M, 2 M rules and actions at $0.15 / M.
        assert!((breakdown.line(CostItem::IotMessaging).cost_usd - 2.0).abs() < 1e-12);
        assert!((breakdown.line(CostItem::IotConnectivity).cost_usd - 0.0008).abs() < 1e-12);
        assert!((breakdown.line(CostItem::IotRuleActions).cost_usd - 0.3).abs() < 1e-12);
        assert!((breakdown.total_usd - (2.0 + 0.0008 + 0.3 + 0.3)).abs() < 1e-9);
        assert_eq!(breakdown.region, "us-east-1");
    }

    #[test]
    fn cognito_charges_only_users_beyond_the_free_tier() {
        let within = Usage {
            monthly_active_users: 10_000.0,
            ..Usage::default()
        };
        assert_eq!(cost(&within, &table()).unwrap().total_usd, 0.0);
        let beyond = Usage {
            monthly_active_users: 10_100.0,
            ..Usage::default()
        };
        let breakdown = cost(&beyond, &table()).unwrap();
        assert_eq!(breakdown.line(CostItem::CognitoUsers).quantity, 100.0);
        assert!((breakdown.total_usd - 1.5).abs() < 1e-12);
    }

    #[test]
    fn other_free_tiers_are_not_applied() {
        // Lambda's monthly allowance (1 M requests) would make this free; the model charges it.
        let mut usage = Usage::new();
        usage.record_lambda(1_000, 128, 1);
        let breakdown = cost(&usage, &table()).unwrap();
        assert!(breakdown.line(CostItem::LambdaRequests).cost_usd > 0.0);
    }

    #[test]
    fn an_invalid_usage_is_refused() {
        let usage = Usage {
            connection_minutes: -5.0,
            ..Usage::default()
        };
        assert!(matches!(
            cost(&usage, &table()),
            Err(CostError::Usage(UsageError::Invalid {
                field: "connection_minutes",
                ..
            }))
        ));
    }

    #[test]
    fn per_box_divides_the_total() {
        let mut usage = Usage::new();
        usage.record_api_requests(3_000_000);
        let breakdown = cost(&usage, &table()).unwrap();
        assert!((breakdown.per_box_usd(3).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(breakdown.per_box_usd(0), None);
    }

    #[test]
    fn projection_adds_the_run_rate_over_the_remaining_hours() {
        // 10 days into a 30-day month, $100 spent, $12 over the last 24 h ($0.50 / h),
        // 480 hours left: 100 + 0.5 * 480 = 340.
        let projection = project_month_end(
            100.0,
            RunRate {
                cost_usd: 12.0,
                window: Duration::hours(24),
            },
            Duration::days(10),
            Duration::days(30),
        )
        .unwrap();
        assert!((projection.hourly_rate_usd - 0.5).abs() < 1e-12);
        assert!((projection.remaining_hours - 480.0).abs() < 1e-12);
        assert!((projection.projected_usd - 340.0).abs() < 1e-9);
    }

    #[test]
    fn projection_at_month_end_is_the_month_to_date() {
        let projection = project_month_end(
            42.0,
            RunRate {
                cost_usd: 99.0,
                window: Duration::hours(24),
            },
            Duration::days(31),
            Duration::days(31),
        )
        .unwrap();
        assert_eq!(projection.projected_usd, 42.0);
    }

    #[test]
    fn projection_refuses_bad_inputs() {
        let rate = RunRate {
            cost_usd: 1.0,
            window: Duration::hours(24),
        };
        let month = Duration::days(30);
        assert_eq!(
            project_month_end(-1.0, rate, Duration::days(1), month),
            Err(CostError::InvalidAmount {
                field: "month_to_date_usd",
                value: -1.0
            })
        );
        assert!(matches!(
            project_month_end(1.0, rate, Duration::days(31), month),
            Err(CostError::ElapsedOutOfMonth { .. })
        ));
        let empty = RunRate {
            cost_usd: 1.0,
            window: Duration::zero(),
        };
        assert_eq!(
            project_month_end(1.0, empty, Duration::days(1), month),
            Err(CostError::EmptyRunRateWindow)
        );
        let nan = RunRate {
            cost_usd: f64::NAN,
            window: Duration::hours(1),
        };
        assert!(project_month_end(1.0, nan, Duration::days(1), month).is_err());
    }

    #[test]
    fn month_containing_handles_lengths_and_december() {
        let feb = Utc.with_ymd_and_hms(2028, 2, 10, 5, 0, 0).unwrap();
        let (start, length) = month_containing(feb);
        assert_eq!(start, Utc.with_ymd_and_hms(2028, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(length, Duration::days(29));
        let dec = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        let (start, length) = month_containing(dec);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(length, Duration::days(31));
    }
}
