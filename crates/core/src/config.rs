//! Configuration. Loaded by the binary from TOML with `PODSIFT_*` environment overrides
//! (`PODSIFT_HTTP__TIMEOUT_SECS=10`); every field has a default so no file is needed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database and caches live. Default: the platform data dir.
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` (default: `DATA_DIR/podsift.db`).
    pub database_url: Option<String>,
    /// Allow feeds on private, loopback and link-local addresses (home servers, tests).
    pub allow_private_networks: bool,
    pub http: HttpConfig,
    pub poll: PollConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub user_agent: String,
    pub connect_timeout_secs: u64,
    /// Whole-request timeout, body included.
    pub timeout_secs: u64,
    pub max_redirects: usize,
    pub max_feed_bytes: u64,
    pub max_transcript_bytes: u64,
    /// Simultaneous requests to one host.
    pub per_host_concurrency: usize,
    /// Minimum gap between two requests to one host, in milliseconds.
    pub per_host_interval_ms: u64,
    /// Retries of a retryable failure inside one fetch (with jittered backoff).
    pub retries: u32,
    /// Longest `Retry-After` podsift waits inline; longer waits reschedule instead.
    pub max_retry_after_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: format!(
                "podsift/{} (+https://github.com/podsift/podsift)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_redirects: 5,
            max_feed_bytes: 50 * 1024 * 1024,
            max_transcript_bytes: 20 * 1024 * 1024,
            per_host_concurrency: 2,
            per_host_interval_ms: 250,
            retries: 2,
            max_retry_after_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// Never poll a feed more often than this.
    pub min_interval_minutes: u64,
    /// Never wait longer than this between polls of a healthy feed.
    pub max_interval_minutes: u64,
    /// First backoff after an error; doubles per consecutive error.
    pub backoff_base_minutes: u64,
    /// Cap of the backoff; also the interval of a failing feed.
    pub backoff_max_minutes: u64,
    /// Consecutive errors after which a feed is marked failing.
    pub failing_after_errors: u32,
    /// On first subscription, how many of the newest episodes are processed.
    pub initial_episodes: usize,
    /// Feeds polled at once.
    pub concurrency: usize,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            min_interval_minutes: 30,
            max_interval_minutes: 24 * 60,
            backoff_base_minutes: 15,
            backoff_max_minutes: 24 * 60,
            failing_after_errors: 5,
            initial_episodes: 3,
            concurrency: 16,
        }
    }
}
