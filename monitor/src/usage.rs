//! Measured (or planned) consumption of the billed cloud resources over one period.
//!
//! A [`Usage`] is the input of the cost model. It is a plain record of quantities so that usages
//! can be summed (two fleets, two days) and scaled (one day's usage to a month). The `record_*`
//! helpers take *sizes* rather than pre-computed units, so that the providers' metering steps
//! (5 KB per IoT message, 1 KB per DynamoDB write, 4 KB per read) are applied per message, exactly,
//! instead of being estimated from an average size.
//!
//! Quantities are `f64` because a scaled or averaged usage is fractional; whole counts stay exact up
//! to 2^53, far beyond any monthly volume.

use std::ops::{Add, AddAssign};

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// AWS IoT Core meters a message (payload plus topic) in steps of 5 KB.
pub const IOT_METERING_STEP_BYTES: u64 = 5 * 1024;
/// A DynamoDB write request unit covers an item of up to 1 KB.
pub const DYNAMODB_WRITE_UNIT_BYTES: u64 = 1024;
/// A DynamoDB read request unit covers a strongly consistent read of up to 4 KB.
pub const DYNAMODB_READ_UNIT_BYTES: u64 = 4 * 1024;

/// The number of billed 5 KB message units for one IoT Core message of `metered_bytes` (payload
/// plus topic, see [`metered_message_bytes`]). An empty message still costs one unit.
///
/// ```
/// use monitor::usage::billed_message_units;
/// assert_eq!(billed_message_units(1024), 1);
/// assert_eq!(billed_message_units(5 * 1024), 1);
/// assert_eq!(billed_message_units(5 * 1024 + 1), 2);
/// ```
pub fn billed_message_units(metered_bytes: u64) -> u64 {
    units_of(metered_bytes, IOT_METERING_STEP_BYTES)
}

/// The bytes IoT Core meters for an MQTT PUBLISH: topic plus payload (MQTT 5 properties, if any,
/// must be added to `payload_bytes` by the caller).
pub fn metered_message_bytes(topic: &str, payload_bytes: u64) -> u64 {
    topic.len() as u64 + payload_bytes
}

/// Write request units for one standard (non-transactional) write of an item of `item_bytes`.
pub fn dynamodb_write_units(item_bytes: u64) -> u64 {
    units_of(item_bytes, DYNAMODB_WRITE_UNIT_BYTES)
}

/// Read request units for one read of an item of `item_bytes`.
pub fn dynamodb_read_units(item_bytes: u64, consistency: ReadConsistency) -> f64 {
    let strong = units_of(item_bytes, DYNAMODB_READ_UNIT_BYTES) as f64;
    match consistency {
        ReadConsistency::Eventual => strong / 2.0,
        ReadConsistency::Strong => strong,
        ReadConsistency::Transactional => strong * 2.0,
    }
}

/// Ceiling division with a minimum of one unit: every metered call is billed at least once.
fn units_of(bytes: u64, step: u64) -> u64 {
    bytes.div_ceil(step).max(1)
}

/// How a DynamoDB read is made; it sets the number of read units it consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadConsistency {
    Eventual,
    Strong,
    Transactional,
}

/// How messages travel through IoT Core, which decides what they are charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRoute {
    /// Published to a rule's `$aws/rules/<rule>/...` topic: the broker is bypassed and no
    /// messaging charge applies (rules and actions are still charged).
    pub basic_ingest: bool,
    /// Rules the message triggers.
    pub rules: u32,
    /// Actions each triggered rule executes.
    pub actions_per_rule: u32,
}

impl MessageRoute {
    /// One rule with one action, through the broker (standard messaging charge).
    pub const BROKER_ONE_RULE: Self = Self {
        basic_ingest: false,
        rules: 1,
        actions_per_rule: 1,
    };
    /// One rule with one action, through Basic Ingest (no messaging charge).
    pub const BASIC_INGEST_ONE_RULE: Self = Self {
        basic_ingest: true,
        rules: 1,
        actions_per_rule: 1,
    };
}

/// Why a usage cannot be priced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UsageError {
    #[error("usage quantity `{field}` must be a finite number >= 0, got {value}")]
    Invalid { field: &'static str, value: f64 },
}

/// Consumption of every billed resource over one period (for one fleet, or for all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Usage {
    /// IoT messages received, whatever their route (for information; not billed by itself).
    pub messages: f64,
    /// 5 KB message units charged for messaging (broker route only).
    pub billed_message_units: f64,
    /// Messages that came through Basic Ingest (not charged for messaging).
    pub basic_ingest_messages: f64,
    /// Minutes boxes were connected to IoT Core, summed over boxes.
    pub connection_minutes: f64,
    /// Rules triggered, in 5 KB units of the message that triggered them.
    pub rules_triggered: f64,
    /// Rule actions executed, in 5 KB units of the message they processed.
    pub rule_actions: f64,
    /// Lambda invocations.
    pub lambda_invocations: f64,
    /// Lambda duration: memory (GB) times billed seconds, summed.
    pub lambda_gb_seconds: f64,
    /// SQS requests (64 KB chunks): the rule's SendMessage, the function's receives and deletes.
    #[serde(default)]
    pub sqs_requests: f64,
    /// DynamoDB write request units.
    pub dynamodb_write_units: f64,
    /// DynamoDB read request units.
    pub dynamodb_read_units: f64,
    /// DynamoDB storage, in GB-months (GB held times the fraction of a month held).
    pub dynamodb_storage_gb_months: f64,
    /// API Gateway HTTP API requests.
    pub api_requests: f64,
    /// Distinct Cognito users active in the month.
    pub monthly_active_users: f64,
}

impl Usage {
    /// An empty usage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `count` IoT messages of `metered_bytes` each, travelling by `route`.
    ///
    /// The 5 KB step is applied to each message, then multiplied by `count`, so a batch of
    /// same-sized messages is billed exactly as the provider bills them one by one.
    pub fn record_messages(&mut self, count: u64, metered_bytes: u64, route: MessageRoute) {
        let units = billed_message_units(metered_bytes) as f64;
        let count = count as f64;
        self.messages += count;
        if route.basic_ingest {
            self.basic_ingest_messages += count;
        } else {
            self.billed_message_units += count * units;
        }
        let rules = count * f64::from(route.rules) * units;
        self.rules_triggered += rules;
        self.rule_actions += rules * f64::from(route.actions_per_rule);
    }

    /// Records `boxes` boxes connected for `minutes` minutes each.
    pub fn record_connection(&mut self, boxes: u64, minutes: u64) {
        self.connection_minutes += boxes as f64 * minutes as f64;
    }

    /// Records `count` Lambda invocations with `memory_mb` configured, each billed `billed_ms`
    /// (Lambda rounds each duration up to the millisecond; a GB is 1,024 MB).
    pub fn record_lambda(&mut self, count: u64, memory_mb: u32, billed_ms: u64) {
        let count = count as f64;
        self.lambda_invocations += count;
        self.lambda_gb_seconds +=
            count * (f64::from(memory_mb) / 1024.0) * (billed_ms as f64 / 1000.0);
    }

    /// Records `messages` (each under 64 KB) going through an SQS queue to a function that
    /// receives them `batch` at a time (one ReceiveMessage, then DeleteMessageBatch by tens):
    /// one SendMessage each, plus each batch's receive and deletes. Returns the number of
    /// batches, i.e. of function invocations. Idle long polls are not counted.
    pub fn record_queue_batches(&mut self, messages: u64, batch: u64) -> u64 {
        let batch = batch.max(1);
        let batches = messages.div_ceil(batch);
        let deletes_per_batch = batch.div_ceil(10);
        self.sqs_requests += (messages + batches * (1 + deletes_per_batch)) as f64;
        batches
    }

    /// Records `count` standard DynamoDB writes of an item of `item_bytes`.
    pub fn record_dynamodb_writes(&mut self, count: u64, item_bytes: u64) {
        self.dynamodb_write_units += count as f64 * dynamodb_write_units(item_bytes) as f64;
    }

    /// Records `count` DynamoDB reads of an item of `item_bytes`.
    pub fn record_dynamodb_reads(
        &mut self,
        count: u64,
        item_bytes: u64,
        consistency: ReadConsistency,
    ) {
        self.dynamodb_read_units += count as f64 * dynamodb_read_units(item_bytes, consistency);
    }

    /// Records `stored_gb` held for `held` out of a month of `month_length`.
    pub fn record_storage(&mut self, stored_gb: f64, held: Duration, month_length: Duration) {
        let fraction = held.num_seconds() as f64 / month_length.num_seconds().max(1) as f64;
        self.dynamodb_storage_gb_months += stored_gb * fraction;
    }

    /// Records `count` API Gateway HTTP API requests.
    pub fn record_api_requests(&mut self, count: u64) {
        self.api_requests += count as f64;
    }

    /// This usage with every flow multiplied by `factor` (e.g. one day to a 30-day month).
    ///
    /// `monthly_active_users` is kept as is: it counts distinct users in the month, and a month
    /// does not have thirty times the users of one of its days.
    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            messages: self.messages * factor,
            billed_message_units: self.billed_message_units * factor,
            basic_ingest_messages: self.basic_ingest_messages * factor,
            connection_minutes: self.connection_minutes * factor,
            rules_triggered: self.rules_triggered * factor,
            rule_actions: self.rule_actions * factor,
            lambda_invocations: self.lambda_invocations * factor,
            lambda_gb_seconds: self.lambda_gb_seconds * factor,
            sqs_requests: self.sqs_requests * factor,
            dynamodb_write_units: self.dynamodb_write_units * factor,
            dynamodb_read_units: self.dynamodb_read_units * factor,
            dynamodb_storage_gb_months: self.dynamodb_storage_gb_months * factor,
            api_requests: self.api_requests * factor,
            monthly_active_users: self.monthly_active_users,
        }
    }

    /// Every quantity with its JSON name, in a fixed order.
    pub fn quantities(&self) -> [(&'static str, f64); 14] {
        [
            ("messages", self.messages),
            ("billed_message_units", self.billed_message_units),
            ("basic_ingest_messages", self.basic_ingest_messages),
            ("connection_minutes", self.connection_minutes),
            ("rules_triggered", self.rules_triggered),
            ("rule_actions", self.rule_actions),
            ("lambda_invocations", self.lambda_invocations),
            ("lambda_gb_seconds", self.lambda_gb_seconds),
            ("sqs_requests", self.sqs_requests),
            ("dynamodb_write_units", self.dynamodb_write_units),
            ("dynamodb_read_units", self.dynamodb_read_units),
            (
                "dynamodb_storage_gb_months",
                self.dynamodb_storage_gb_months,
            ),
            ("api_requests", self.api_requests),
            ("monthly_active_users", self.monthly_active_users),
        ]
    }

    /// Refuses a negative or non-finite quantity (a usage deserialised from outside may hold one).
    pub fn validate(&self) -> Result<(), UsageError> {
        for (field, value) in self.quantities() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(UsageError::Invalid { field, value });
            }
        }
        Ok(())
    }
}

/// Sums two usages. `monthly_active_users` is summed too, which is right when the two cover
/// different users (two user pools); when they may share users, set it from the distinct count.
impl Add for Usage {
    type Output = Usage;

    fn add(mut self, rhs: Usage) -> Usage {
        self += rhs;
        self
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        self.messages += rhs.messages;
        self.billed_message_units += rhs.billed_message_units;
        self.basic_ingest_messages += rhs.basic_ingest_messages;
        self.connection_minutes += rhs.connection_minutes;
        self.rules_triggered += rhs.rules_triggered;
        self.rule_actions += rhs.rule_actions;
        self.lambda_invocations += rhs.lambda_invocations;
        self.lambda_gb_seconds += rhs.lambda_gb_seconds;
        self.sqs_requests += rhs.sqs_requests;
        self.dynamodb_write_units += rhs.dynamodb_write_units;
        self.dynamodb_read_units += rhs.dynamodb_read_units;
        self.dynamodb_storage_gb_months += rhs.dynamodb_storage_gb_months;
        self.api_requests += rhs.api_requests;
        self.monthly_active_users += rhs.monthly_active_users;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn queued_messages_pay_their_send_and_each_batch_its_receive_and_deletes() {
        let mut usage = Usage::new();
        // 25 messages in batches of 10: 3 batches; each receive, then 1 delete call per 10.
        assert_eq!(usage.record_queue_batches(25, 10), 3);
        assert_eq!(usage.sqs_requests, 25.0 + 3.0 * 2.0);
        let mut usage = Usage::new();
        assert_eq!(usage.record_queue_batches(100, 100), 1);
        assert_eq!(usage.sqs_requests, 100.0 + 1.0 + 10.0);
        // A batch size of 0 is taken as 1.
        assert_eq!(Usage::new().record_queue_batches(3, 0), 3);
    }

    use super::*;

    #[test]
    fn message_units_step_every_5_kb() {
        assert_eq!(billed_message_units(0), 1);
        assert_eq!(billed_message_units(1), 1);
        assert_eq!(billed_message_units(5120), 1);
        assert_eq!(billed_message_units(5121), 2);
        assert_eq!(billed_message_units(6 * 1024), 2);
        assert_eq!(billed_message_units(10240), 2);
        assert_eq!(billed_message_units(10241), 3);
        assert_eq!(billed_message_units(128 * 1024), 26);
    }

    #[test]
    fn metered_bytes_include_the_topic() {
        let topic = "dt/boxpilot/north/box-1/telemetry";
        assert_eq!(
            metered_message_bytes(topic, 5120),
            5120 + topic.len() as u64
        );
        // A payload of exactly 5 KB crosses into a second unit once the topic is counted.
        assert_eq!(billed_message_units(metered_message_bytes(topic, 5120)), 2);
    }

    #[test]
    fn dynamodb_units_follow_item_size_and_consistency() {
        assert_eq!(dynamodb_write_units(100), 1);
        assert_eq!(dynamodb_write_units(1024), 1);
        assert_eq!(dynamodb_write_units(1025), 2);
        assert_eq!(dynamodb_write_units(6 * 1024), 6);
        assert_eq!(dynamodb_read_units(4096, ReadConsistency::Strong), 1.0);
        assert_eq!(dynamodb_read_units(4097, ReadConsistency::Strong), 2.0);
        assert_eq!(dynamodb_read_units(4096, ReadConsistency::Eventual), 0.5);
        assert_eq!(
            dynamodb_read_units(8192, ReadConsistency::Transactional),
            4.0
        );
    }

    #[test]
    fn sizes_are_stepped_per_message_not_on_the_average() {
        // A 1 KB and a 9 KB message are 1 + 2 = 3 units, although two messages of their 5 KB
        // average would be billed 2.
        let mut usage = Usage::new();
        usage.record_messages(1, 1024, MessageRoute::BROKER_ONE_RULE);
        usage.record_messages(1, 9 * 1024, MessageRoute::BROKER_ONE_RULE);
        assert_eq!(usage.messages, 2.0);
        assert_eq!(usage.billed_message_units, 3.0);
        assert_eq!(usage.rules_triggered, 3.0);
        assert_eq!(usage.rule_actions, 3.0);
    }

    #[test]
    fn basic_ingest_is_not_charged_messaging_but_still_triggers_rules() {
        let mut usage = Usage::new();
        usage.record_messages(10, 6 * 1024, MessageRoute::BASIC_INGEST_ONE_RULE);
        assert_eq!(usage.messages, 10.0);
        assert_eq!(usage.basic_ingest_messages, 10.0);
        assert_eq!(usage.billed_message_units, 0.0);
        assert_eq!(usage.rules_triggered, 20.0);
    }

    #[test]
    fn actions_multiply_by_rules_and_actions_per_rule() {
        let mut usage = Usage::new();
        let route = MessageRoute {
            basic_ingest: false,
            rules: 2,
            actions_per_rule: 3,
        };
        usage.record_messages(5, 100, route);
        assert_eq!(usage.rules_triggered, 10.0);
        assert_eq!(usage.rule_actions, 30.0);
    }

    #[test]
    fn lambda_gb_seconds_use_1024_mb_per_gb() {
        let mut usage = Usage::new();
        usage.record_lambda(1000, 128, 10);
        assert_eq!(usage.lambda_invocations, 1000.0);
        assert!((usage.lambda_gb_seconds - 1.25).abs() < 1e-12);
    }

    #[test]
    fn storage_is_prorated_over_the_month() {
        let mut usage = Usage::new();
        usage.record_storage(10.0, Duration::days(15), Duration::days(30));
        assert!((usage.dynamodb_storage_gb_months - 5.0).abs() < 1e-12);
    }

    #[test]
    fn add_sums_and_scale_multiplies_flows_but_not_users() {
        let mut a = Usage::new();
        a.record_messages(100, 100, MessageRoute::BROKER_ONE_RULE);
        a.monthly_active_users = 7.0;
        let mut b = Usage::new();
        b.record_api_requests(50);
        b.record_connection(2, 60);
        b.monthly_active_users = 3.0;

        let sum = a.clone() + b;
        assert_eq!(sum.messages, 100.0);
        assert_eq!(sum.api_requests, 50.0);
        assert_eq!(sum.connection_minutes, 120.0);
        assert_eq!(sum.monthly_active_users, 10.0);

        let month = a.scaled(30.0);
        assert_eq!(month.billed_message_units, 3000.0);
        assert_eq!(month.rule_actions, 3000.0);
        assert_eq!(month.monthly_active_users, 7.0);
    }

    #[test]
    fn validate_names_the_bad_quantity() {
        let usage = Usage {
            lambda_gb_seconds: -1.0,
            ..Usage::default()
        };
        assert_eq!(
            usage.validate(),
            Err(UsageError::Invalid {
                field: "lambda_gb_seconds",
                value: -1.0
            })
        );
        let usage = Usage {
            api_requests: f64::NAN,
            ..Usage::default()
        };
        assert!(matches!(
            usage.validate(),
            Err(UsageError::Invalid {
                field: "api_requests",
                ..
            })
        ));
        assert!(Usage::default().validate().is_ok());
    }

    #[test]
    fn usage_json_refuses_unknown_fields() {
        let err = serde_json::from_str::<Usage>(r#"{"mesages": 1}"#).unwrap_err();
        assert!(err.to_string().contains("mesages"));
        let usage: Usage = serde_json::from_str(r#"{"messages": 4}"#).unwrap();
        assert_eq!(usage.messages, 4.0);
    }
}
