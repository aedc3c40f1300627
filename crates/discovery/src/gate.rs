//! What stands between podsift and a directory's API: a calls-a-minute limit (iTunes allows
//! about 20), an answer cache (the same search within the cache time costs no call), and a
//! cool-down after a 429 for as long as its `Retry-After` asks (no call is made meanwhile).
//! Every call goes through the [`Fetcher`], so the SSRF guard, the timeout, the size cap and
//! the retries on 5xx apply as to any other fetch.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use podsift_core::discovery::DiscoveryError;
use podsift_core::{FetchError, FetchRequest, Fetcher};

/// Largest answer read from a directory.
pub const MAX_ANSWER_BYTES: u64 = 4 << 20;
/// The cool-down after a 429 without a `Retry-After`.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(60);
/// Longest wait for a slot in the calls-a-minute window; past it the call is refused as
/// rate-limited rather than hanging a command.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(65);
/// Most answers kept.
const CACHE_ENTRIES: usize = 512;

/// One directory's limiter and cache.
pub struct Gate {
    source: String,
    per_minute: usize,
    ttl: Duration,
    calls: tokio::sync::Mutex<VecDeque<Instant>>,
    cooldown_until: Mutex<Option<Instant>>,
    cache: Mutex<HashMap<String, (Instant, Bytes)>>,
}

impl Gate {
    pub fn new(source: &str, per_minute: u32, ttl: Duration) -> Self {
        Self {
            source: source.to_string(),
            per_minute: usize::try_from(per_minute.max(1)).unwrap_or(usize::MAX),
            ttl,
            calls: tokio::sync::Mutex::new(VecDeque::new()),
            cooldown_until: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn err_unavailable(&self, reason: String) -> DiscoveryError {
        DiscoveryError::Unavailable {
            source_name: self.source.clone(),
            reason,
        }
    }

    /// The answer body for `req`, from the cache when `cache_key`'s answer is fresh.
    /// `cache_key` names the request without its changing auth headers.
    pub async fn get(
        &self,
        fetcher: &dyn Fetcher,
        req: FetchRequest,
        cache_key: &str,
    ) -> Result<Bytes, DiscoveryError> {
        if let Some(body) = self.cached(cache_key) {
            return Ok(body);
        }
        self.check_cooldown()?;
        self.take_slot().await?;
        match fetcher.fetch(req).await {
            Ok(resp) => {
                self.remember(cache_key, resp.body.clone());
                Ok(resp.body)
            }
            Err(FetchError::Status {
                status: 429,
                retry_after,
                ..
            }) => {
                let wait = retry_after.unwrap_or(DEFAULT_COOLDOWN);
                if let Ok(mut until) = self.cooldown_until.lock() {
                    *until = Some(Instant::now() + wait);
                }
                Err(DiscoveryError::RateLimited {
                    source_name: self.source.clone(),
                    retry_after: Some(wait),
                })
            }
            Err(FetchError::Status { status, .. }) if status == 401 || status == 403 => {
                Err(DiscoveryError::Refused {
                    source_name: self.source.clone(),
                    reason: format!("HTTP {status}: check the API key and secret"),
                })
            }
            Err(e) if e.is_retryable() => Err(self.err_unavailable(e.to_string())),
            Err(e) => Err(DiscoveryError::Refused {
                source_name: self.source.clone(),
                reason: e.to_string(),
            }),
        }
    }

    fn cached(&self, key: &str) -> Option<Bytes> {
        let cache = self.cache.lock().ok()?;
        let (at, body) = cache.get(key)?;
        (at.elapsed() < self.ttl).then(|| body.clone())
    }

    fn remember(&self, key: &str, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                let ttl = self.ttl;
                cache.retain(|_, (at, _)| at.elapsed() < ttl);
                if cache.len() >= CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(key.to_string(), (Instant::now(), body));
        }
    }

    fn check_cooldown(&self) -> Result<(), DiscoveryError> {
        let until = self.cooldown_until.lock().ok().and_then(|u| *u);
        match until {
            Some(t) if t > Instant::now() => Err(DiscoveryError::RateLimited {
                source_name: self.source.clone(),
                retry_after: Some(t - Instant::now()),
            }),
            _ => Ok(()),
        }
    }

    /// Waits for a place among the last minute's calls.
    async fn take_slot(&self) -> Result<(), DiscoveryError> {
        let started = Instant::now();
        loop {
            let wait = {
                let mut calls = self.calls.lock().await;
                let now = Instant::now();
                while calls
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    calls.pop_front();
                }
                if calls.len() < self.per_minute {
                    calls.push_back(now);
                    return Ok(());
                }
                calls
                    .front()
                    .map_or(Duration::ZERO, |t| {
                        Duration::from_secs(60).saturating_sub(now.duration_since(*t))
                    })
                    .max(Duration::from_millis(10))
            };
            if started.elapsed() + wait > MAX_SLOT_WAIT {
                return Err(DiscoveryError::RateLimited {
                    source_name: self.source.clone(),
                    retry_after: Some(wait),
                });
            }
            tracing::debug!(source = %self.source, wait_ms = wait.as_millis() as u64, "directory calls a minute reached; waiting");
            tokio::time::sleep(wait).await;
        }
    }
}

/// A garbage answer's error.
pub(crate) fn garbage(source: &str, reason: impl std::fmt::Display) -> DiscoveryError {
    DiscoveryError::Garbage {
        source_name: source.to_string(),
        reason: reason.to_string(),
    }
}
