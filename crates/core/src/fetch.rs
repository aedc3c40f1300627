//! The HTTP fetch port. The real implementation (`podsift-fetch`) adds the SSRF guard,
//! politeness, caps and retries; the poller only sees this trait.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// What to fetch, with the validators of the previous response for a conditional GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Size cap for the body; exceeding it is an error, not a truncation.
    pub max_bytes: u64,
    /// Value of the `Accept` header.
    pub accept: Option<String>,
    /// Further request headers (an API's auth). Sent only to the origin of `url`: a redirect
    /// to another host gets none of them, so a key cannot leak through one. Never logged.
    pub headers: Vec<(String, String)>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>, max_bytes: u64) -> Self {
        Self {
            url: url.into(),
            etag: None,
            last_modified: None,
            max_bytes,
            accept: None,
            headers: Vec::new(),
        }
    }

    /// With one more request header (see [`FetchRequest::headers`]).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchResponse {
    /// The URL the body came from, after redirects.
    pub final_url: String,
    /// Set when every redirect hop on the way was permanent (301/308): the new canonical URL.
    pub permanent_redirect: Option<String>,
    pub status: u16,
    /// 304: the body is empty and the caller's copy is current.
    pub not_modified: bool,
    pub body: Bytes,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    /// `Expires`.
    pub expires: Option<DateTime<Utc>>,
}

/// Why a fetch failed. `is_retryable` separates "try again later" from "this will never work".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "refused to fetch {url}: {reason} (an administrator can let a host through with [http] allow_hosts)"
    )]
    Blocked { url: String, reason: String },
    #[error("DNS lookup failed for {host}: {reason}")]
    Dns { host: String, reason: String },
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("timed out after {seconds}s fetching {url}")]
    Timeout { url: String, seconds: u64 },
    #[error("HTTP {status} from {url}")]
    Status {
        url: String,
        status: u16,
        /// `Retry-After` on 429/503.
        retry_after: Option<Duration>,
    },
    #[error("response from {url} is larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: u64 },
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects { url: String, max: usize },
    #[error("fetching {url} failed: {reason}")]
    Other { url: String, reason: String },
}

impl FetchError {
    /// True when the same request may succeed later (timeouts, 429, 5xx, connection trouble).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Dns { .. } | Self::Connect { .. } | Self::Timeout { .. } | Self::Other { .. } => {
                true
            }
            Self::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::InvalidUrl { .. }
            | Self::Blocked { .. }
            | Self::TooLarge { .. }
            | Self::TooManyRedirects { .. } => false,
        }
    }

    /// The server's requested wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The HTTP port.
#[async_trait]
pub trait Fetcher: Send + Sync {
    async fn fetch(&self, req: FetchRequest) -> Result<FetchResponse, FetchError>;
}

/// A large download streamed to a file (podcast audio): resumable, capped, stall-guarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    pub url: String,
    /// The finished file. Bytes first go to `DEST.part`, which a later call resumes with
    /// `Range`; the rename into place happens only when the body is complete.
    pub dest: std::path::PathBuf,
    /// Fails with [`FetchError::TooLarge`] beyond this many bytes.
    pub max_bytes: u64,
    /// No bytes for this long: the connection is dead (the next attempt resumes).
    pub stall_timeout: Duration,
    /// Slowest average rate accepted, in bytes a second (0: no minimum). Once the stall
    /// timeout has passed, an attempt averaging less is cut (a server trickling a byte a
    /// minute never stalls), and no attempt runs past `stall_timeout + size / rate` (the size
    /// announced, else `max_bytes`). The next attempt resumes where it stopped.
    pub min_bytes_per_sec: u64,
}

/// What a download produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub bytes: u64,
    /// Bytes that were already in `DEST.part` from an interrupted attempt.
    pub resumed_from: u64,
    pub content_type: Option<String>,
    pub final_url: String,
}

/// The download port (the real one applies the same SSRF guard as feed fetches).
#[async_trait]
pub trait Downloader: Send + Sync {
    /// `progress(bytes so far, total if known)` is called as bytes arrive.
    async fn download(
        &self,
        req: &DownloadRequest,
        progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
    ) -> Result<Downloaded, FetchError>;
}
