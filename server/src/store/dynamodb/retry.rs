//! Retries with exponential backoff, independent of the SDK so that they can be counted and tested
//! with fakes (the SDK's own retries are disabled in `DynamoStore::connect`).
//!
//! - Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`,
//!   `RequestLimitExceeded`) is retried up to `throttle_attempts` times: nothing is lost, the caller
//!   only waits; each retry is counted.
//! - A transient failure (endpoint unreachable, timeout, 5xx) is retried `transient_attempts`
//!   times, so that a DynamoDB endpoint that is down gives a clear error quickly.
//! - `BatchWriteItem` answers what it could not write in `UnprocessedItems`: `write_batches`
//!   resends those, with the same backoff, and counts each resend.
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay; each retry doubles it, up to `max` (full jitter on the upper half).
    pub base: Duration,
    pub max: Duration,
    /// Attempts in all (first call included) for throttling and unprocessed batch items.
    pub throttle_attempts: u32,
    /// Attempts in all for transient failures (connection refused, timeout, 5xx).
    pub transient_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(25),
            max: Duration::from_secs(2),
            throttle_attempts: 10,
            transient_attempts: 3,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry): `base * 2^(retry-1)`, capped
    /// at `max`, with jitter in its upper half so that many writers do not retry in step.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << (retry.saturating_sub(1)).min(20))
            .min(self.max);
        let half = exp / 2;
        let jitter_ms = half.as_millis() as u64;
        let jitter = if jitter_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 0..=jitter_ms))
        };
        half + jitter
    }
}

/// What a failure calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The table or account is over its rate: wait and resend.
    Throttled,
    /// The endpoint did not answer, or answered 5xx: resend a few times, then give up.
    Transient,
    /// Anything else (a failed condition, a validation error): the caller decides.
    Final,
}

/// Retries made, shared with the store's statistics.
#[derive(Debug, Default)]
pub struct RetryCounters {
    pub throttle_retries: AtomicU64,
    pub transient_retries: AtomicU64,
    pub unprocessed_retries: AtomicU64,
}

/// Calls `op` until it succeeds, fails with a `Final` error, or runs out of attempts; returns the
/// last error then.
pub async fn with_retries<T, E, F, Fut>(
    backoff: &Backoff,
    counters: &RetryCounters,
    classify: impl Fn(&E) -> Class,
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let (mut throttled, mut transient) = (0u32, 0u32);
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let retry = match classify(&err) {
            Class::Final => return Err(err),
            Class::Throttled => {
                throttled += 1;
                if throttled >= backoff.throttle_attempts {
                    return Err(err);
                }
                counters.throttle_retries.fetch_add(1, Ordering::Relaxed);
                throttled
            }
            Class::Transient => {
                transient += 1;
                if transient >= backoff.transient_attempts {
                    return Err(err);
                }
                counters.transient_retries.fetch_add(1, Ordering::Relaxed);
                transient
            }
        };
        tokio::time::sleep(backoff.delay(retry)).await;
    }
}

/// Why a batch write stopped.
#[derive(Debug)]
pub enum BatchError<E> {
    /// A call failed (after its own retries).
    Call(E),
    /// Items were still unprocessed after every attempt.
    Unprocessed(usize),
}

/// `BatchWriteItem` takes at most 25 requests.
pub const BATCH_WRITE_MAX: usize = 25;

/// Sends `items` in batches of 25; `send` writes one batch and returns what the service left
/// unprocessed, which is sent again after a backoff until nothing is left (or attempts run out).
pub async fn write_batches<W, E, F, Fut>(
    backoff: &Backoff,
    counters: &RetryCounters,
    items: Vec<W>,
    mut send: F,
) -> Result<(), BatchError<E>>
where
    F: FnMut(Vec<W>) -> Fut,
    Fut: Future<Output = Result<Vec<W>, E>>,
{
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let mut batch: Vec<W> = items.by_ref().take(BATCH_WRITE_MAX).collect();
        let mut attempt = 1;
        loop {
            let left = send(batch).await.map_err(BatchError::Call)?;
            if left.is_empty() {
                break;
            }
            if attempt >= backoff.throttle_attempts {
                return Err(BatchError::Unprocessed(left.len()));
            }
            counters.unprocessed_retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff.delay(attempt)).await;
            attempt += 1;
            batch = left;
        }
    }
    Ok(())
}
