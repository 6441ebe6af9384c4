//! The DynamoDB store (feature `aws`): the `Store` port on one DynamoDB table, the AWS shape of the
//! embedded redb store, with the same semantics (the same conformance suite passes on both).
//!
//! docs/DYNAMODB.md documents the single-table key design, the access patterns and their
//! operations, item sizes and costs. In short: every method is a GetItem, PutItem, UpdateItem,
//! DeleteItem, Query, BatchWriteItem or TransactWriteItems on a known partition key, never a Scan;
//! every call asks for the consumed capacity, which `stats()` sums (it feeds the cost model);
//! throttling and unprocessed batch items are retried with backoff and counted (`retry.rs`).
mod aggregate;
mod item;
pub mod retry;
mod table;
mod telemetry;

use self::aggregate::hour_of;
use self::item::*;
use self::retry::{Backoff, BatchError, Class, RetryCounters};
pub use self::telemetry::ROLL_UP_GRACE_MS;
use super::{
    reading_codec, AlertRecord, AlertRule, CommandRecord, CommandState, CounterDelta, DeadLetter,
    DeviceRecord, Grant, GrantKind, PipelineCounts, Reading, RollUpReport, RolloutRecord,
    ShadowRecord, Store, StoreError, StoreResult, UserRecord, WriteOutcome,
};
use app::domain::{DeviceId, FleetId, Presence, SeriesPoint};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Put, PutRequest, ReturnConsumedCapacity, TransactWriteItem,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests in flight at once for one call (conditional puts of a batch, aggregate updates).
const CONCURRENCY: usize = 32;
/// Optimistic read-modify-write loops (aggregates, latest values) give up after this many losses.
const CAS_ATTEMPTS: usize = 8;
/// Raw readings are kept this long after they were received (the table's TTL deletes them).
pub const DEFAULT_READING_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longer series are read from the hourly aggregates.
pub const DEFAULT_RAW_SERIES_MAX: Duration = Duration::from_secs(6 * 3600);

const TOTAL: ReturnConsumedCapacity = ReturnConsumedCapacity::Total;

/// What the store has consumed and retried since it was made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamoStats {
    /// Read capacity units DynamoDB reported (`ReturnConsumedCapacity::Total`).
    pub read_units: f64,
    /// Write capacity units DynamoDB reported.
    pub write_units: f64,
    /// Pages read by Query calls.
    pub query_pages: u64,
    pub throttle_retries: u64,
    pub transient_retries: u64,
    pub unprocessed_retries: u64,
    /// HTTP requests sent, by operation name (`PutItem`, `Query`, ...), retries included.
    pub requests: BTreeMap<String, u64>,
}

impl DynamoStats {
    pub fn requests_of(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct Stats {
    /// Thousandths of a capacity unit.
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    query_pages: AtomicU64,
    retries: RetryCounters,
    requests: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn add(counter: &AtomicU64, units: f64) {
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
    fn read(&self, cc: Option<&ConsumedCapacity>) {
        Self::add(
            &self.read_milli,
            cc.and_then(|c| c.capacity_units()).unwrap_or(0.0),
        );
    }
    fn write<'a>(&self, cc: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let units = cc.into_iter().filter_map(|c| c.capacity_units()).sum();
        Self::add(&self.write_milli, units);
    }
}

/// Counts every request the SDK sends, by operation (the `X-Amz-Target` header), so that tests can
/// assert that no Scan is ever sent.
#[derive(Debug)]
struct RequestLog(Arc<Stats>);

impl aws_sdk_dynamodb::config::Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "boxpilot-request-log"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        if let Ok(mut requests) = self.0.requests.lock() {
            *requests.entry(operation).or_default() += 1;
        }
        Ok(())
    }
}

/// The `Store` on one DynamoDB table. Cheap to clone (one SDK client).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    endpoint: String,
    stats: Arc<Stats>,
    backoff: Backoff,
    reading_retention_secs: i64,
    raw_series_max_ms: i64,
}

/// A condition or update expression with its placeholders.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }
    fn value(mut self, placeholder: &str, v: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), v);
        self
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The sort-key part of a Query.
enum Range {
    All,
    Prefix(String),
    /// Inclusive bounds.
    Between(String, String),
}

impl Range {
    /// Sort keys `ord(t)#...` with `t` in `[from, to]`.
    fn times(from: i64, to: i64) -> Self {
        Range::Between(format!("{}#", ord_i64(from)), format!("{}$", ord_i64(to)))
    }
}

struct Query {
    index: Option<&'static str>,
    pk: String,
    range: Range,
    forward: bool,
    limit: Option<usize>,
    /// Strongly consistent (table queries only).
    consistent: bool,
}

impl Query {
    fn table(pk: impl Into<String>, range: Range) -> Self {
        Self {
            index: None,
            pk: pk.into(),
            range,
            forward: true,
            limit: None,
            consistent: false,
        }
    }
    fn index(index: &'static str, pk: impl Into<String>, range: Range) -> Self {
        Self {
            index: Some(index),
            ..Self::table(pk, range)
        }
    }
    fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }
    fn oldest_first(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
    fn newest_first(mut self, limit: usize) -> Self {
        self.forward = false;
        self.limit = Some(limit);
        self
    }
}

fn classify<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Class {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Class::Transient
        }
        SdkError::ServiceError(se) => match se.err().code() {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded",
            ) => Class::Throttled,
            Some("InternalServerError" | "ServiceUnavailable") => Class::Transient,
            _ if se.raw().status().is_server_error() => Class::Transient,
            _ => Class::Final,
        },
        _ => Class::Final,
    }
}

fn is_condition_failed<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// The store's id of a grant kind, in keys.
fn grant_kind_key(kind: GrantKind) -> u8 {
    match kind {
        GrantKind::Session => 1,
        GrantKind::RefreshToken => 2,
    }
}

/// Keys of the single table (see docs/DYNAMODB.md).
mod keys {
    use super::item::ord_i64;
    pub const FLEETS: &str = "FLEETS";
    pub const USERS: &str = "USERS";
    pub const RULES: &str = "RULES";
    pub const ALERTS: &str = "ALERTS";
    pub const ACTIVE_ALERTS: &str = "ACTIVE_ALERTS";
    pub const DEAD_LETTERS: &str = "DL";
    pub const RUNNING_ROLLOUTS: &str = "RUNNING_ROLLOUTS";
    pub const ONE: &str = "#";
    pub fn device(id: &str) -> String {
        format!("DEV#{id}")
    }
    pub fn fleet(fleet: &str, kind: &str) -> String {
        format!("F#{fleet}#{kind}")
    }
    pub fn readings(device: &str) -> String {
        format!("R#{device}")
    }
    pub fn hours(device: &str) -> String {
        format!("H#{device}")
    }
    /// The hour up to which every box was rolled up (the scheduled function's bookmark).
    pub const ROLLED_UP: &str = "ROLLED_UP";
    pub fn command(issued_at: i64, id: &str) -> String {
        format!("CMD#{}#{id}", ord_i64(issued_at))
    }
    pub fn command_id(id: &str) -> String {
        format!("CMDID#{id}")
    }
    pub fn counters(fleet: &str) -> String {
        format!("C#{fleet}")
    }
    pub fn hourly(fleet: &str) -> String {
        format!("HC#{fleet}")
    }
}

impl DynamoStore {
    /// A store on `table`, in `region`, at `endpoint_override` if given (moto, DynamoDB Local,
    /// ScyllaDB Alternator), else at the region's DynamoDB endpoint. Credentials come from the
    /// usual chain (environment, profile, web identity, container, instance); with an endpoint
    /// override and no `AWS_ACCESS_KEY_ID`/`AWS_PROFILE` in the environment, fixed local ones.
    /// Makes no request: `ping` tells whether the table answers.
    pub async fn connect(
        table: impl Into<String>,
        endpoint_override: Option<String>,
        region: impl Into<String>,
    ) -> StoreResult<Self> {
        let region = region.into();
        let loader = crate::aws::sdk::config_loader(Some(&region), endpoint_override.as_deref())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            );
        let config = loader.load().await;
        let endpoint =
            endpoint_override.unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        Ok(Self::from_sdk_config(&config, table, endpoint))
    }

    /// A store from an SDK configuration made elsewhere (`endpoint` only names it in errors).
    pub fn from_sdk_config(
        config: &aws_config::SdkConfig,
        table: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Self {
        let stats = Arc::new(Stats::default());
        let conf = aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(RequestLog(stats.clone()))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: Client::from_conf(conf),
            table: table.into(),
            endpoint: endpoint.into(),
            stats,
            backoff: Backoff::default(),
            reading_retention_secs: DEFAULT_READING_RETENTION.as_secs() as i64,
            raw_series_max_ms: DEFAULT_RAW_SERIES_MAX.as_millis() as i64,
        }
    }

    /// How long raw readings are kept after they were received (default 30 days).
    pub fn with_reading_retention(mut self, retention: Duration) -> Self {
        self.reading_retention_secs = retention.as_secs() as i64;
        self
    }

    /// Series longer than this are read from the hourly aggregates (default 6 hours).
    pub fn with_raw_series_max(mut self, span: Duration) -> Self {
        self.raw_series_max_ms = span.as_millis() as i64;
        self
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Consumed capacity, Query pages, retries and requests since the store was made.
    pub fn stats(&self) -> DynamoStats {
        let s = &self.stats;
        DynamoStats {
            read_units: s.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: s.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            query_pages: s.query_pages.load(Ordering::Relaxed),
            throttle_retries: s.retries.throttle_retries.load(Ordering::Relaxed),
            transient_retries: s.retries.transient_retries.load(Ordering::Relaxed),
            unprocessed_retries: s.retries.unprocessed_retries.load(Ordering::Relaxed),
            requests: s.requests.lock().map(|r| r.clone()).unwrap_or_default(),
        }
    }

    /// Sends with retries on throttling and transient failures.
    async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        retry::with_retries(&self.backoff, &self.stats.retries, classify, op).await
    }

    /// The error the caller sees once retries are spent: always `Unavailable`, naming the
    /// operation, the table and the endpoint.
    fn fail<E>(&self, operation: &str, e: SdkError<E, HttpResponse>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let what = match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
                "DynamoDB endpoint {} is unreachable (after {} attempts)",
                self.endpoint, self.backoff.transient_attempts
            ),
            _ => match e.code() {
                Some("ResourceNotFoundException") => format!(
                    "table {} does not exist at {} (create it first)",
                    self.table, self.endpoint
                ),
                Some(
                    "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded",
                ) => format!(
                    "table {} still throttled after {} attempts",
                    self.table, self.backoff.throttle_attempts
                ),
                _ => format!("table {} at {}", self.table, self.endpoint),
            },
        };
        StoreError::Unavailable(format!(
            "DynamoDB {operation}: {what}: {}",
            DisplayErrorContext(&e)
        ))
    }

    async fn get(&self, key: Item, consistent: bool) -> StoreResult<Option<Item>> {
        let b = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .return_consumed_capacity(TOTAL);
        let out = self
            .call(|| b.clone().send())
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        self.stats.read(out.consumed_capacity());
        Ok(out.item)
    }

    /// Puts `item` if `condition` holds (or always); `Ok(false)` when the condition failed.
    async fn put(&self, item: Item, condition: Option<(&str, Expr)>) -> StoreResult<bool> {
        let mut b = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(TOTAL);
        if let Some((expr, ph)) = condition {
            b = b
                .condition_expression(expr)
                .set_expression_attribute_names(ph.names())
                .set_expression_attribute_values(ph.values());
        }
        match self.call(|| b.clone().send()).await {
            Ok(out) => {
                self.stats.write(out.consumed_capacity());
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.fail("PutItem", e)),
        }
    }

    /// Updates the item at `key`; `Ok(false)` when the condition failed.
    async fn update(
        &self,
        key: Item,
        update: &str,
        condition: Option<&str>,
        ph: Expr,
    ) -> StoreResult<bool> {
        let b = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(ph.names())
            .set_expression_attribute_values(ph.values())
            .return_consumed_capacity(TOTAL);
        match self.call(|| b.clone().send()).await {
            Ok(out) => {
                self.stats.write(out.consumed_capacity());
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.fail("UpdateItem", e)),
        }
    }

    /// Deletes the item at `key`; with `must_exist`, `Ok(false)` when there was none.
    async fn delete(&self, key: Item, must_exist: bool) -> StoreResult<bool> {
        let mut b = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .return_consumed_capacity(TOTAL);
        if must_exist {
            b = b
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK);
        }
        match self.call(|| b.clone().send()).await {
            Ok(out) => {
                self.stats.write(out.consumed_capacity());
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(self.fail("DeleteItem", e)),
        }
    }

    /// Writes all or nothing; `Ok(Err(reasons))` when a condition failed (one code per item,
    /// `None` for the items that were fine).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Result<(), Vec<Option<String>>>> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let b = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(TOTAL);
        // A transaction cancelled by a conflicting one, or by throttling, is retried like a throttle.
        let classify_tx = |e: &SdkError<TransactWriteItemsError, HttpResponse>| {
            if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                e.as_service_error()
            {
                let retry = c.cancellation_reasons().iter().any(|r| {
                    matches!(
                        r.code(),
                        Some(
                            "TransactionConflict"
                                | "ThrottlingError"
                                | "ProvisionedThroughputExceeded"
                        )
                    )
                });
                let failed = c
                    .cancellation_reasons()
                    .iter()
                    .any(|r| r.code() == Some("ConditionalCheckFailed"));
                return if retry && !failed {
                    Class::Throttled
                } else {
                    Class::Final
                };
            }
            if e.code() == Some("TransactionConflictException") {
                return Class::Throttled;
            }
            classify(e)
        };
        let result = retry::with_retries(&self.backoff, &self.stats.retries, classify_tx, || {
            b.clone().send()
        })
        .await;
        match result {
            Ok(out) => {
                self.stats.write(out.consumed_capacity());
                Ok(Ok(()))
            }
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let reasons: Vec<Option<String>> = c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                        .collect();
                    if reasons
                        .iter()
                        .flatten()
                        .any(|r| r == "ConditionalCheckFailed")
                    {
                        return Ok(Err(reasons));
                    }
                }
                Err(self.fail("TransactWriteItems", e))
            }
        }
    }

    /// Every page of a Query (or the first `limit` items).
    async fn query(&self, q: Query) -> StoreResult<Vec<Item>> {
        let (pk_name, sk_name) = match q.index {
            None => (PK, SK),
            Some(GSI1) => (GSI1_PK, GSI1_SK),
            Some(_) => (GSI2_PK, GSI2_SK),
        };
        let mut ph = Expr::default()
            .name("#pk", pk_name)
            .value(":pk", s(q.pk.clone()));
        let condition = match &q.range {
            Range::All => "#pk = :pk",
            Range::Prefix(p) => {
                ph = ph.name("#sk", sk_name).value(":p", s(p.clone()));
                "#pk = :pk AND begins_with(#sk, :p)"
            }
            Range::Between(a, b) => {
                ph = ph
                    .name("#sk", sk_name)
                    .value(":a", s(a.clone()))
                    .value(":b", s(b.clone()));
                "#pk = :pk AND #sk BETWEEN :a AND :b"
            }
        };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = q.limit.map(|l| l.saturating_sub(out.len()));
            if remaining == Some(0) {
                break;
            }
            let b = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_expression_attribute_names(ph.names())
                .set_expression_attribute_values(ph.values())
                .scan_index_forward(q.forward)
                .set_consistent_read(q.consistent.then_some(true))
                .set_limit(remaining.map(|r| r.min(1_000) as i32))
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(TOTAL);
            let page = self
                .call(|| b.clone().send())
                .await
                .map_err(|e| self.fail("Query", e))?;
            self.stats.query_pages.fetch_add(1, Ordering::Relaxed);
            self.stats.read(page.consumed_capacity());
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        if let Some(limit) = q.limit {
            out.truncate(limit);
        }
        Ok(out)
    }

    /// Puts many items without conditions: BatchWriteItem by 25, resending what comes back
    /// unprocessed.
    async fn put_batch(&self, items: Vec<Item>) -> StoreResult<()> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|it| {
                PutRequest::builder()
                    .set_item(Some(it))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect::<StoreResult<_>>()?;
        let table = self.table.clone();
        let result = retry::write_batches(&self.backoff, &self.stats.retries, requests, |batch| {
            let b = self
                .client
                .batch_write_item()
                .request_items(table.clone(), batch)
                .return_consumed_capacity(TOTAL);
            let table = table.clone();
            async move {
                let mut out = self.call(|| b.clone().send()).await?;
                self.stats.write(out.consumed_capacity());
                Ok(out
                    .unprocessed_items
                    .take()
                    .and_then(|mut m| m.remove(&table))
                    .unwrap_or_default())
            }
        })
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(BatchError::Call(e)) => Err(self.fail("BatchWriteItem", e)),
            Err(BatchError::Unprocessed(n)) => Err(StoreError::Unavailable(format!(
                "DynamoDB BatchWriteItem: {n} items of table {} still unprocessed after {} attempts",
                self.table, self.backoff.throttle_attempts
            ))),
        }
    }

    async fn docs<T: serde::de::DeserializeOwned>(&self, q: Query) -> StoreResult<Vec<T>> {
        self.query(q).await?.iter().map(from_doc).collect()
    }

    async fn doc_at<T: serde::de::DeserializeOwned>(&self, key: Item) -> StoreResult<Option<T>> {
        self.get(key, false)
            .await?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    /// The box items of one fleet, or of every fleet (the `FLEETS` partition, then each fleet's
    /// boxes from gsi1).
    async fn device_items(&self, fleet: Option<&FleetId>) -> StoreResult<Vec<Item>> {
        let fleets: Vec<String> = match fleet {
            Some(f) => vec![f.as_str().to_string()],
            None => self
                .query(Query::table(keys::FLEETS, Range::All))
                .await?
                .iter()
                .map(|it| get_s(it, SK).map(str::to_owned))
                .collect::<StoreResult<_>>()?,
        };
        let mut out = Vec::new();
        for f in fleets {
            out.extend(
                self.query(Query::index(GSI1, keys::fleet(&f, "DEV"), Range::All))
                    .await?,
            );
        }
        Ok(out)
    }

    // --- counters -------------------------------------------------------------------------

    /// Adds `counts` to the item at `key`: one UpdateItem, atomic ADD per field, and the maximum
    /// latency set there too when the item has none yet (`if_not_exists`). The old maximum comes
    /// back with the answer (`UPDATED_OLD`, no extra capacity); only when ours is larger is a
    /// second, conditional SET sent. One write per counter item in the usual case, instead of
    /// two (each write unit is billed even when its condition fails).
    async fn add_counts(&self, key_of: Item, counts: &PipelineCounts) -> StoreResult<()> {
        let mut ph = Expr::default();
        let mut adds = Vec::new();
        for (i, (name, value)) in additive_fields(counts).into_iter().enumerate() {
            if value != 0 || name == "received" {
                adds.push(format!("#c{i} :c{i}"));
                ph = ph
                    .name(&format!("#c{i}"), name)
                    .value(&format!(":c{i}"), n(value));
            }
        }
        for (i, (reason, value)) in counts.rejected.iter().enumerate() {
            adds.push(format!("#r{i} :r{i}"));
            ph = ph
                .name(&format!("#r{i}"), &format!("rejected.{reason}"))
                .value(&format!(":r{i}"), n(value));
        }
        let mut update = format!("ADD {}", adds.join(", "));
        let max = counts.latency_ms_max;
        if max > 0 {
            update.push_str(" SET #m = if_not_exists(#m, :m)");
            ph = ph.name("#m", "latency_ms_max").value(":m", n(max));
        }
        let b = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of.clone()))
            .update_expression(update)
            .set_expression_attribute_names(ph.names())
            .set_expression_attribute_values(ph.values())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .return_consumed_capacity(TOTAL);
        let out = self
            .call(|| b.clone().send())
            .await
            .map_err(|e| self.fail("UpdateItem", e))?;
        self.stats.write(out.consumed_capacity());
        let old_max: Option<u64> = match out.attributes() {
            Some(old) => opt_n(old, "latency_ms_max")?,
            None => None,
        };
        if max > 0 && old_max.is_some_and(|old| old < max) {
            let ph = Expr::default()
                .name("#m", "latency_ms_max")
                .value(":m", n(max));
            // A failed condition means a larger maximum was stored meanwhile.
            self.update(
                key_of,
                "SET #m = :m",
                Some("attribute_not_exists(#m) OR #m < :m"),
                ph,
            )
            .await?;
        }
        Ok(())
    }
}

type BoxFut<'a, T> = std::pin::Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Runs `futures` at most `CONCURRENCY` at a time; the first error wins.
async fn run_all<T: Send>(futures: Vec<BoxFut<'_, T>>) -> StoreResult<Vec<T>> {
    futures::stream::iter(futures)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// The fields of `PipelineCounts` that add up, by attribute name.
fn additive_fields(c: &PipelineCounts) -> [(&'static str, i128); 13] {
    [
        ("received", c.received.into()),
        ("accepted", c.accepted.into()),
        ("duplicates", c.duplicates.into()),
        ("lost", c.lost.into()),
        ("bytes", c.bytes.into()),
        ("message_units", c.message_units.into()),
        ("write_units", c.write_units.into()),
        ("read_units", c.read_units.into()),
        ("latency_ms_sum", c.latency_ms_sum.into()),
        ("latency_samples", c.latency_samples.into()),
        ("dropped", c.dropped.into()),
        ("connection_minutes", c.connection_minutes.into()),
        ("api_requests", c.api_requests.into()),
    ]
}

fn parse_counts(it: &Item) -> StoreResult<PipelineCounts> {
    let num = |name: &str| -> StoreResult<u64> { Ok(opt_n::<u64>(it, name)?.unwrap_or(0)) };
    let mut rejected = BTreeMap::new();
    for (name, v) in it {
        if let (Some(reason), AttributeValue::N(x)) = (name.strip_prefix("rejected."), v) {
            let count = x
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("counter {name}")))?;
            rejected.insert(reason.to_string(), count);
        }
    }
    Ok(PipelineCounts {
        received: num("received")?,
        accepted: num("accepted")?,
        duplicates: num("duplicates")?,
        lost: opt_n::<i64>(it, "lost")?.unwrap_or(0),
        rejected,
        bytes: num("bytes")?,
        message_units: num("message_units")?,
        write_units: num("write_units")?,
        read_units: num("read_units")?,
        latency_ms_sum: num("latency_ms_sum")?,
        latency_samples: num("latency_samples")?,
        latency_ms_max: num("latency_ms_max")?,
        dropped: num("dropped")?,
        connection_minutes: num("connection_minutes")?,
        api_requests: num("api_requests")?,
    })
}

fn device_item(d: &DeviceRecord) -> Item {
    let mut it = item(
        keys::device(d.id.as_str()),
        keys::ONE,
        [
            (GSI1_PK, s(keys::fleet(d.fleet.as_str(), "DEV"))),
            (GSI1_SK, s(d.id.as_str())),
            ("id", s(d.id.as_str())),
            ("fleet", s(d.fleet.as_str())),
            ("secret_hash", s(d.secret_hash.clone())),
            ("created_at", n(d.created_at)),
            ("online", AttributeValue::Bool(d.presence.online)),
            (
                "latest",
                AttributeValue::M(
                    d.latest
                        .iter()
                        .map(|(k, v)| (k.clone(), metric(v)))
                        .collect(),
                ),
            ),
        ],
    );
    if let Some(t) = d.presence.last_seen {
        it.insert("last_seen".into(), n(t));
    }
    if let Some(fw) = &d.presence.firmware {
        it.insert("firmware".into(), s(fw.clone()));
    }
    if let Some(t) = d.latest_ts {
        it.insert("latest_ts".into(), n(t));
    }
    if let Some(q) = d.latest_seq {
        it.insert("latest_seq".into(), n(q));
    }
    it
}

fn parse_device(it: &Item) -> StoreResult<DeviceRecord> {
    let bad = |what: &str| StoreError::Corrupt(format!("box item: {what}"));
    let latest = match it.get("latest") {
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(k, v)| as_metric(v).map(|v| (k.clone(), v)).ok_or_else(|| bad(k)))
            .collect::<StoreResult<_>>()?,
        _ => BTreeMap::new(),
    };
    Ok(DeviceRecord {
        id: DeviceId::parse(get_s(it, "id")?).map_err(|_| bad("id"))?,
        fleet: FleetId::parse(get_s(it, "fleet")?).map_err(|_| bad("fleet"))?,
        secret_hash: get_s(it, "secret_hash")?.to_string(),
        created_at: get_n(it, "created_at")?,
        presence: Presence {
            online: matches!(it.get("online"), Some(AttributeValue::Bool(true))),
            last_seen: opt_n(it, "last_seen")?,
            firmware: it.get("firmware").and_then(|v| v.as_s().ok()).cloned(),
        },
        latest_ts: opt_n(it, "latest_ts")?,
        latest_seq: opt_n(it, "latest_seq")?,
        latest,
    })
}

fn put_of(
    table: &str,
    item: Item,
    condition: Option<(&str, Expr)>,
) -> StoreResult<TransactWriteItem> {
    let mut b = Put::builder().table_name(table).set_item(Some(item));
    if let Some((expr, ph)) = condition {
        b = b
            .condition_expression(expr)
            .set_expression_attribute_names(ph.names())
            .set_expression_attribute_values(ph.values());
    }
    Ok(TransactWriteItem::builder()
        .put(b.build().map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .build())
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        // The box (unique id) and the fleet's entry in the FLEETS partition, all or nothing.
        let items = vec![
            put_of(
                &self.table,
                device_item(device),
                Some(("attribute_not_exists(#pk)", Expr::default().name("#pk", PK))),
            )?,
            put_of(
                &self.table,
                item(keys::FLEETS, device.fleet.as_str(), []),
                None,
            )?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::AlreadyExists(format!("box {}", device.id))),
        }
    }

    async fn get_device(&self, id: &DeviceId) -> StoreResult<Option<DeviceRecord>> {
        self.get(key(keys::device(id.as_str()), keys::ONE), false)
            .await?
            .as_ref()
            .map(parse_device)
            .transpose()
    }

    async fn list_devices(&self, fleet: Option<&FleetId>) -> StoreResult<Vec<DeviceRecord>> {
        let mut out = self
            .device_items(fleet)
            .await?
            .iter()
            .map(parse_device)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn set_presence(&self, id: &DeviceId, presence: &Presence) -> StoreResult<()> {
        let mut ph = Expr::default()
            .name("#pk", PK)
            .name("#on", "online")
            .name("#seen", "last_seen")
            .name("#fw", "firmware")
            .value(":on", AttributeValue::Bool(presence.online));
        let mut sets = vec!["#on = :on"];
        let mut removes = Vec::new();
        match presence.last_seen {
            Some(t) => {
                sets.push("#seen = :seen");
                ph = ph.value(":seen", n(t));
            }
            None => removes.push("#seen"),
        }
        match &presence.firmware {
            Some(fw) => {
                sets.push("#fw = :fw");
                ph = ph.value(":fw", s(fw.clone()));
            }
            None => removes.push("#fw"),
        }
        let mut update = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        if self
            .update(
                key(keys::device(id.as_str()), keys::ONE),
                &update,
                Some("attribute_exists(#pk)"),
                ph,
            )
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("box {id}")))
        }
    }

    async fn put_readings(&self, readings: &[Reading]) -> StoreResult<Vec<WriteOutcome>> {
        self.store_readings(readings).await
    }

    async fn metric_series(
        &self,
        id: &DeviceId,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>> {
        self.series(id.as_str(), metric, from, to).await
    }

    async fn refresh_latest(&self, devices: &mut [DeviceRecord]) -> StoreResult<()> {
        self.bring_latest_up_to_date(devices).await
    }

    async fn roll_up(&self, now_ms: i64) -> StoreResult<RollUpReport> {
        self.roll_up_closed_hours(now_ms).await
    }

    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> StoreResult<()> {
        let items = letters
            .iter()
            .map(|l| {
                let sk = format!("{}#{}", ord_i64(l.received_at), l.id);
                let mut it = item(keys::DEAD_LETTERS, sk.clone(), [(DOC, doc(l)?)]);
                if let Some(f) = &l.fleet {
                    it.insert(GSI1_PK.into(), s(keys::fleet(f.as_str(), "DL")));
                    it.insert(GSI1_SK.into(), s(sk));
                }
                Ok(it)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.put_batch(items).await
    }

    async fn list_dead_letters(
        &self,
        fleet: Option<&FleetId>,
        limit: usize,
    ) -> StoreResult<Vec<DeadLetter>> {
        let q = match fleet {
            None => Query::table(keys::DEAD_LETTERS, Range::All),
            Some(f) => Query::index(GSI1, keys::fleet(f.as_str(), "DL"), Range::All),
        };
        self.docs(q.newest_first(limit)).await
    }

    async fn add_counters(&self, deltas: &[CounterDelta]) -> StoreResult<()> {
        let mut by_hour: BTreeMap<(&str, i64), PipelineCounts> = BTreeMap::new();
        for d in deltas {
            by_hour
                .entry((d.fleet.as_str(), hour_of(d.minute)))
                .or_default()
                .add(&d.counts);
        }
        let minutes = deltas
            .iter()
            .map(|d| -> BoxFut<'_, ()> {
                Box::pin(self.add_counts(
                    key(
                        keys::counters(d.fleet.as_str()),
                        format!("{}#{}", ord_i64(d.minute), d.device),
                    ),
                    &d.counts,
                ))
            })
            .collect();
        run_all(minutes).await?;
        let hours = by_hour
            .iter()
            .map(|((f, h), c)| -> BoxFut<'_, ()> {
                Box::pin(self.add_counts(key(keys::hourly(f), ord_i64(*h)), c))
            })
            .collect();
        run_all(hours).await?;
        Ok(())
    }

    async fn counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<CounterDelta>> {
        if to <= from {
            return Ok(Vec::new());
        }
        let items = self
            .query(Query::table(
                keys::counters(fleet.as_str()),
                Range::times(from, to - 1),
            ))
            .await?;
        items
            .iter()
            .map(|it| {
                let sk = get_s(it, SK)?;
                let (minute, device) = sk
                    .split_once('#')
                    .and_then(|(m, d)| Some((unord_i64(m)?, d)))
                    .ok_or_else(|| StoreError::Corrupt(format!("counter key {sk}")))?;
                Ok(CounterDelta {
                    fleet: fleet.clone(),
                    minute,
                    device: device.to_string(),
                    counts: parse_counts(it)?,
                })
            })
            .collect()
    }

    async fn hourly_counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, PipelineCounts)>> {
        if to <= from {
            return Ok(Vec::new());
        }
        let items = self
            .query(Query::table(
                keys::hourly(fleet.as_str()),
                Range::Between(ord_i64(from), ord_i64(to - 1)),
            ))
            .await?;
        items
            .iter()
            .map(|it| {
                let sk = get_s(it, SK)?;
                let hour =
                    unord_i64(sk).ok_or_else(|| StoreError::Corrupt(format!("hour key {sk}")))?;
                Ok((hour, parse_counts(it)?))
            })
            .collect()
    }

    async fn put_alert_rule(&self, rule: &AlertRule) -> StoreResult<()> {
        self.put(
            item(keys::RULES, rule.id.as_str(), [(DOC, doc(rule)?)]),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn delete_alert_rule(&self, id: &str) -> StoreResult<()> {
        if self.delete(key(keys::RULES, id), true).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("alert rule {id}")))
        }
    }

    async fn list_alert_rules(&self) -> StoreResult<Vec<AlertRule>> {
        self.docs(Query::table(keys::RULES, Range::All)).await
    }

    async fn put_alert(&self, alert: &AlertRecord) -> StoreResult<()> {
        let mut it = item(
            keys::ALERTS,
            format!(
                "{}#{}#{}",
                ord_i64(alert.fired_at),
                alert.rule_id,
                alert.subject
            ),
            [(DOC, doc(alert)?)],
        );
        // Unresolved alerts are also in the sparse index ACTIVE_ALERTS (GSI2).
        if alert.resolved_at.is_none() {
            it.insert(GSI2_PK.into(), s(keys::ACTIVE_ALERTS));
            it.insert(
                GSI2_SK.into(),
                s(format!(
                    "{}#{}#{}",
                    alert.rule_id,
                    alert.subject,
                    ord_i64(alert.fired_at)
                )),
            );
        }
        self.put(it, None).await.map(|_| ())
    }

    async fn list_alerts(&self, limit: usize) -> StoreResult<Vec<AlertRecord>> {
        self.docs(Query::table(keys::ALERTS, Range::All).newest_first(limit))
            .await
    }

    async fn active_alerts(&self) -> StoreResult<Vec<AlertRecord>> {
        let all: Vec<AlertRecord> = self
            .docs(Query::index(GSI2, keys::ACTIVE_ALERTS, Range::All))
            .await?;
        // As the embedded store: one per (rule, subject), the newest fired (ordered last).
        let mut out: Vec<AlertRecord> = Vec::with_capacity(all.len());
        for a in all {
            match out.last_mut() {
                Some(prev) if prev.rule_id == a.rule_id && prev.subject == a.subject => *prev = a,
                _ => out.push(a),
            }
        }
        Ok(out)
    }

    async fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.put(
            item(keys::USERS, user.username.as_str(), [(DOC, doc(user)?)]),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn get_user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.doc_at(key(keys::USERS, username)).await
    }

    async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.docs(Query::table(keys::USERS, Range::All)).await
    }

    async fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        // Deleted by TTL a day after it expired (the caller checks expiry itself).
        let ttl = grant.expires_at.div_euclid(1000) + 24 * 3600;
        let it = item(
            format!("G#{}#{}", grant_kind_key(grant.kind), grant.secret_hash),
            keys::ONE,
            [(DOC, doc(grant)?), (TTL, n(ttl))],
        );
        self.put(it, None).await.map(|_| ())
    }

    async fn get_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<Option<Grant>> {
        self.doc_at(key(
            format!("G#{}#{secret_hash}", grant_kind_key(kind)),
            keys::ONE,
        ))
        .await
    }

    async fn delete_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<()> {
        self.delete(
            key(
                format!("G#{}#{secret_hash}", grant_kind_key(kind)),
                keys::ONE,
            ),
            false,
        )
        .await
        .map(|_| ())
    }

    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        // The id's entry (box, issued_at) may only be created, or rewritten with the same key:
        // ids are never reused. It and the command are written together.
        let id_entry = item(
            keys::command_id(&command.id),
            keys::ONE,
            [
                ("device", s(command.device.as_str())),
                ("issued_at", n(command.issued_at)),
            ],
        );
        let cond = Expr::default()
            .name("#pk", PK)
            .name("#d", "device")
            .name("#at", "issued_at")
            .value(":d", s(command.device.as_str()))
            .value(":at", n(command.issued_at));
        let record = item(
            keys::device(command.device.as_str()),
            keys::command(command.issued_at, &command.id),
            [
                (DOC, doc(command)?),
                (GSI1_PK, s(keys::fleet(command.fleet.as_str(), "CMD"))),
                (
                    GSI1_SK,
                    s(format!("{}#{}", ord_i64(command.issued_at), command.id)),
                ),
            ],
        );
        let items = vec![
            put_of(
                &self.table,
                id_entry,
                Some(("attribute_not_exists(#pk) OR (#d = :d AND #at = :at)", cond)),
            )?,
            put_of(&self.table, record, None)?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::AlreadyExists(format!("command {}", command.id))),
        }
    }

    async fn get_command(&self, id: &str) -> StoreResult<Option<CommandRecord>> {
        let Some(entry) = self
            .get(key(keys::command_id(id), keys::ONE), false)
            .await?
        else {
            return Ok(None);
        };
        let device = get_s(&entry, "device")?;
        let at: i64 = get_n(&entry, "issued_at")?;
        self.doc_at(key(keys::device(device), keys::command(at, id)))
            .await
    }

    async fn list_commands(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.docs(
            Query::table(keys::device(device.as_str()), Range::Prefix("CMD#".into()))
                .newest_first(limit),
        )
        .await
    }

    async fn list_fleet_commands(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>> {
        if to < from || limit == 0 {
            return Ok(Vec::new());
        }
        self.docs(
            Query::index(
                GSI1,
                keys::fleet(fleet.as_str(), "CMD"),
                Range::times(from, to),
            )
            .newest_first(limit),
        )
        .await
    }

    async fn pending_commands(
        &self,
        device: &DeviceId,
        now: i64,
    ) -> StoreResult<Vec<CommandRecord>> {
        // Commands live at most an hour: only the last hour of the box's history can be pending.
        let since = now - crate::commands::MAX_TTL_SECS * 1000;
        let all: Vec<CommandRecord> = self
            .docs(Query::table(
                keys::device(device.as_str()),
                Range::Between(
                    format!("CMD#{}#", ord_i64(since)),
                    format!("CMD#{}$", ord_i64(i64::MAX)),
                ),
            ))
            .await?;
        Ok(all
            .into_iter()
            .filter(|c| c.state == CommandState::Created && c.expires_at > now)
            .collect())
    }

    async fn put_rollout(&self, rollout: &RolloutRecord) -> StoreResult<()> {
        let order = format!("{}#{}", ord_i64(rollout.created_at), rollout.id);
        let mut it = item(
            format!("RO#{}", rollout.id),
            keys::ONE,
            [
                (DOC, doc(rollout)?),
                (GSI1_PK, s(keys::fleet(rollout.fleet.as_str(), "RO"))),
                (GSI1_SK, s(order.clone())),
            ],
        );
        // Running rollouts are also in the sparse index RUNNING_ROLLOUTS (GSI2).
        if !rollout.status.is_final() {
            it.insert(GSI2_PK.into(), s(keys::RUNNING_ROLLOUTS));
            it.insert(GSI2_SK.into(), s(order));
        }
        self.put(it, None).await.map(|_| ())
    }

    async fn get_rollout(&self, id: &str) -> StoreResult<Option<RolloutRecord>> {
        self.doc_at(key(format!("RO#{id}"), keys::ONE)).await
    }

    async fn list_rollouts(
        &self,
        fleet: &FleetId,
        limit: usize,
    ) -> StoreResult<Vec<RolloutRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.docs(
            Query::index(GSI1, keys::fleet(fleet.as_str(), "RO"), Range::All).newest_first(limit),
        )
        .await
    }

    async fn unfinished_rollouts(&self) -> StoreResult<Vec<RolloutRecord>> {
        self.docs(Query::index(GSI2, keys::RUNNING_ROLLOUTS, Range::All))
            .await
    }

    async fn get_shadow(&self, device: &DeviceId) -> StoreResult<Option<ShadowRecord>> {
        self.doc_at(key(format!("SHADOW#{device}"), keys::ONE))
            .await
    }

    async fn put_shadow(&self, shadow: &ShadowRecord, expected: u64) -> StoreResult<()> {
        let it = item(
            format!("SHADOW#{}", shadow.device),
            keys::ONE,
            [(DOC, doc(shadow)?), ("ver", n(shadow.version))],
        );
        let mut ph = Expr::default().name("#ver", "ver").value(":e", n(expected));
        let cond = if expected == 0 {
            ph = ph.name("#pk", PK);
            "attribute_not_exists(#pk) OR #ver = :e"
        } else {
            "#ver = :e"
        };
        if self.put(it, Some((cond, ph))).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "desired state of {} (version is not {expected})",
                shadow.device
            )))
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        self.get(key("PING", keys::ONE), false).await.map(|_| ())
    }
}
