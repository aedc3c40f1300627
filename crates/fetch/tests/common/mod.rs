//! Shared helpers for the fetch integration tests.
#![allow(dead_code)]

use std::time::Duration;

use podsift_core::config::HttpConfig;
use podsift_fetch::HttpFetcher;

/// A config for loopback tests: no interval, generous concurrency, short timeouts.
pub fn cfg() -> HttpConfig {
    HttpConfig {
        connect_timeout_secs: 2,
        timeout_secs: 10,
        per_host_concurrency: 8,
        per_host_interval_ms: 0,
        retries: 2,
        max_retry_after_secs: 5,
        ..HttpConfig::default()
    }
}

/// A fetcher on `cfg` that allows loopback, with a 5 ms backoff base.
pub fn fetcher_with(cfg: &HttpConfig) -> HttpFetcher {
    HttpFetcher::new(cfg, true)
        .unwrap()
        .with_backoff_base(Duration::from_millis(5))
}

/// [`fetcher_with`] on [`cfg`].
pub fn fetcher() -> HttpFetcher {
    fetcher_with(&cfg())
}

pub const MB: u64 = 1024 * 1024;
