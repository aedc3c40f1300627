//! A concurrency limit and retries around any [`Llm`].

use std::time::Duration;

use async_trait::async_trait;
use podsift_core::config::LlmConfig;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use rand::Rng;
use tokio::sync::Semaphore;

/// Retry policy of [`Resilient`].
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff; doubles per retry, with ±50 % jitter.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured inline; a longer one is waited only this long.
    pub max_retry_after: Duration,
    /// Total time one call may wait out rate limits (`429`) without spending `retries`;
    /// past it, a rate limit counts as a failed attempt like any other error.
    pub throttle_patience: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            throttle_patience: Duration::from_secs(300),
        }
    }
}

/// Wraps an engine: at most `concurrency` requests in flight, retryable errors retried with
/// jittered exponential backoff (honouring `Retry-After`, capped). Never panics; the last
/// error is returned when the retries are spent.
///
/// Works for a concrete engine (`Resilient<OpenAiCompatible>`, [`Resilient::new`]) and for
/// a boxed one from [`crate::engines::from_config`] (`Resilient<dyn Llm>`,
/// [`Resilient::boxed`]).
pub struct Resilient<L: ?Sized = dyn Llm> {
    permits: Semaphore,
    policy: RetryPolicy,
    inner: Box<L>,
}

impl<L: Llm + ?Sized> std::fmt::Debug for Resilient<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("model", &self.inner.model_id())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<L: Llm> Resilient<L> {
    /// Wraps `inner` with `concurrency` (at least 1) and `policy`.
    pub fn new(inner: L, concurrency: usize, policy: RetryPolicy) -> Self {
        Self::boxed(Box::new(inner), concurrency, policy)
    }

    /// Concurrency and retries from the config (`llm.concurrency`, `llm.retries`).
    pub fn from_config(inner: L, cfg: &LlmConfig) -> Self {
        Self::boxed_from_config(Box::new(inner), cfg)
    }
}

impl<L: Llm + ?Sized> Resilient<L> {
    /// Wraps a boxed engine (e.g. `Box<dyn Llm>`).
    pub fn boxed(inner: Box<L>, concurrency: usize, policy: RetryPolicy) -> Self {
        Self {
            inner,
            permits: Semaphore::new(concurrency.max(1)),
            policy,
        }
    }

    /// [`Resilient::boxed`] with concurrency and retries from the config.
    pub fn boxed_from_config(inner: Box<L>, cfg: &LlmConfig) -> Self {
        Self::boxed(
            inner,
            cfg.concurrency,
            RetryPolicy {
                retries: cfg.retries,
                throttle_patience: Duration::from_secs(cfg.throttle_patience_secs),
                ..RetryPolicy::default()
            },
        )
    }

    /// The wrapped engine.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.policy.max_delay);
        let jitter = rand::rng().random_range(0.5..1.5);
        exp.mul_f64(jitter).min(self.policy.max_delay)
    }
}

/// Never earlier than asked, and up to a quarter later: callers told the same
/// `Retry-After` would otherwise come back in lockstep and meet the same throttle again (one
/// of them every time).
fn throttle_wait(retry_after: Duration) -> Duration {
    retry_after.mul_f64(rand::rng().random_range(1.0..1.25))
}

#[async_trait]
impl<L: Llm + ?Sized> Llm for Resilient<L> {
    fn model_id(&self) -> String {
        self.inner.model_id()
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let mut attempt = 0;
        let mut throttled = Duration::ZERO;
        loop {
            let result = {
                // The semaphore is never closed; if it were, run unthrottled rather than fail.
                let _permit = self.permits.acquire().await.ok();
                self.inner.complete(req).await
            };
            match result {
                Ok(r) => return Ok(r),
                // A rate limit is waited out, without spending a retry, while the call's
                // patience lasts: under a storm of 429s every caller gets through in turn.
                Err(LlmError::RateLimited { retry_after })
                    if throttled < self.policy.throttle_patience =>
                {
                    let wait = match retry_after {
                        Some(ra) => throttle_wait(ra.min(self.policy.max_retry_after)),
                        None => self.backoff(0),
                    }
                    .min(self.policy.throttle_patience - throttled);
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "rate limited, waiting");
                    tokio::time::sleep(wait).await;
                    throttled += wait;
                }
                Err(e) if e.is_retryable() && attempt < self.policy.retries => {
                    let wait = match e.retry_after() {
                        Some(ra) => throttle_wait(ra.min(self.policy.max_retry_after)),
                        None => self.backoff(attempt),
                    };
                    tracing::debug!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "model call failed, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Scripted {
        answers: Mutex<Vec<Result<LlmResponse, LlmError>>>,
        calls: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    #[async_trait]
    impl Llm for Scripted {
        fn model_id(&self) -> String {
            "test:scripted".into()
        }
        async fn complete(&self, _req: &LlmRequest) -> Result<LlmResponse, LlmError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut a = self.answers.lock().unwrap();
            if a.len() > 1 {
                a.remove(0)
            } else {
                a[0].clone()
            }
        }
    }

    fn ok() -> Result<LlmResponse, LlmError> {
        Ok(LlmResponse {
            text: "{}".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
        })
    }

    fn req() -> LlmRequest {
        LlmRequest {
            system: String::new(),
            user: String::new(),
            json_schema: None,
            max_tokens: 10,
            temperature: 0.0,
        }
    }

    fn scripted(answers: Vec<Result<LlmResponse, LlmError>>) -> Scripted {
        Scripted {
            answers: Mutex::new(answers),
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    fn fast(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(50),
            throttle_patience: Duration::from_millis(200),
        }
    }

    fn throttled() -> Result<LlmResponse, LlmError> {
        Err(LlmError::RateLimited {
            retry_after: Some(Duration::from_millis(20)),
        })
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_without_spending_retries() {
        let mut answers = vec![throttled(); 6];
        answers.push(ok());
        let r = Resilient::new(scripted(answers), 1, fast(0));
        assert!(r.complete(&req()).await.is_ok(), "no retries, yet through");
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 7);
    }

    #[tokio::test]
    async fn a_rate_limit_past_the_patience_spends_retries_then_fails() {
        let r = Resilient::new(scripted(vec![throttled()]), 1, fast(2));
        let started = std::time::Instant::now();
        assert!(matches!(
            r.complete(&req()).await,
            Err(LlmError::RateLimited { .. })
        ));
        let calls = r.inner().calls.load(Ordering::SeqCst);
        // Patience 200 ms of 20–25 ms waits (8–11 calls), then 2 retries.
        assert!((10..=14).contains(&calls), "{calls} calls");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn retries_then_succeeds_and_honours_retry_after_capped() {
        let r = Resilient::new(
            scripted(vec![
                Err(LlmError::RateLimited {
                    retry_after: Some(Duration::from_secs(3600)),
                }),
                Err(LlmError::Server {
                    status: 503,
                    message: "busy".into(),
                }),
                ok(),
            ]),
            1,
            fast(3),
        );
        let started = std::time::Instant::now();
        assert!(r.complete(&req()).await.is_ok());
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 3);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(50),
            "Retry-After honoured up to the cap"
        );
        assert!(took < Duration::from_secs(5), "but capped: {took:?}");
    }

    #[tokio::test]
    async fn permanent_is_not_retried_and_retries_are_bounded() {
        let r = Resilient::new(
            scripted(vec![Err(LlmError::Permanent("bad key".into()))]),
            1,
            fast(5),
        );
        assert!(matches!(
            r.complete(&req()).await,
            Err(LlmError::Permanent(_))
        ));
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 1);
        let r = Resilient::new(
            scripted(vec![Err(LlmError::Timeout { seconds: 1 })]),
            1,
            fast(2),
        );
        assert!(matches!(
            r.complete(&req()).await,
            Err(LlmError::Timeout { .. })
        ));
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrency_is_limited() {
        let r = std::sync::Arc::new(Resilient::new(scripted(vec![ok()]), 2, fast(0)));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.complete(&req()).await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(r.inner().max_in_flight.load(Ordering::SeqCst), 2);
    }
}
