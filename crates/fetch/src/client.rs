//! [`HttpFetcher`]: the request loop (retries → redirect hops → one hop with its body).

use std::collections::HashMap;
use std::error::Error as _;
use std::net::IpAddr;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use podsift_core::config::HttpConfig;
use podsift_core::{FetchError, FetchRequest, FetchResponse, Fetcher};
use rand::Rng;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;
use url::Url;

use crate::headers::{parse_cache_control_max_age, parse_expires, parse_retry_after};
use crate::limiter::HostLimiter;
use crate::ssrf::{self, GuardedResolver, ResolveBlocked, ResolveFailed};
use crate::{redact, redact_str};

/// Default base of the retry backoff (doubles per retry, ±50 % jitter).
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Longest single backoff sleep.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Initial body buffer; grows up to the cap as data arrives.
const MAX_PREALLOC: u64 = 1 << 20;

/// Installs ring as rustls' process-wide crypto provider (reqwest is built with
/// `rustls-no-provider`; aws-lc would need cmake). Another crate having installed one first
/// is fine.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `[http] allow_hosts`, checked at config load (a bad entry there never gets here; should
/// one, it allows nothing).
fn allow_list(cfg: &HttpConfig) -> crate::AllowList {
    crate::AllowList::parse(&cfg.allow_hosts).unwrap_or_default()
}

/// The real [`Fetcher`]. Cheap to clone: clones share the connection pool and the per-host
/// limiter.
#[derive(Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    /// For downloads: no transparent decompression, so byte ranges address the file itself.
    pub(crate) dl_client: reqwest::Client,
    pub(crate) limiter: Arc<HostLimiter>,
    pub(crate) s: Settings,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) allow_private: bool,
    /// `[http] allow_hosts`: past the guard even when `allow_private` is off.
    pub(crate) allow: crate::AllowList,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_redirects: usize,
    pub(crate) retries: u32,
    pub(crate) max_retry_after: Duration,
    pub(crate) backoff_base: Duration,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("settings", &self.s)
            .finish()
    }
}

/// What one hop ended with.
enum Hop {
    Done(FetchResponse),
    Redirect { status: u16, location: String },
}

impl HttpFetcher {
    /// Builds a fetcher from the HTTP configuration. With `allow_private_networks` the SSRF
    /// guard is off (home servers, tests on loopback); only the http/https rule remains.
    pub fn new(cfg: &HttpConfig, allow_private_networks: bool) -> Result<Self, FetchError> {
        Self::build(
            cfg,
            GuardedResolver::new(!allow_private_networks).with_allow(allow_list(cfg)),
            allow_private_networks,
        )
    }

    /// Like [`HttpFetcher::new`], but resolves the given host names to fixed addresses instead
    /// of asking DNS (like `curl --resolve`). The SSRF guard still judges those addresses;
    /// tests use this to simulate a name that resolves to a private address.
    pub fn with_resolver_overrides(
        cfg: &HttpConfig,
        allow_private_networks: bool,
        overrides: HashMap<String, Vec<IpAddr>>,
    ) -> Result<Self, FetchError> {
        let resolver = GuardedResolver::new(!allow_private_networks)
            .with_allow(allow_list(cfg))
            .with_overrides(overrides);
        Self::build(cfg, resolver, allow_private_networks)
    }

    fn build(
        cfg: &HttpConfig,
        resolver: GuardedResolver,
        allow_private: bool,
    ) -> Result<Self, FetchError> {
        install_crypto_provider();
        let user_agent = HeaderValue::from_str(cfg.user_agent.trim())
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| {
                HeaderValue::from_static(concat!("podsift/", env!("CARGO_PKG_VERSION")))
            });
        let connect_timeout = Duration::from_secs(cfg.connect_timeout_secs.max(1));
        let build_err = |e: reqwest::Error| FetchError::Other {
            url: String::new(),
            reason: format!("building the HTTP client: {}", chain(&e)),
        };
        let dl_client = reqwest::Client::builder()
            .user_agent(user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .no_proxy()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .dns_resolver(resolver.clone())
            .build()
            .map_err(build_err)?;
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            // A proxy would resolve and connect on our behalf, around the SSRF guard.
            .no_proxy()
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .pool_max_idle_per_host(cfg.per_host_concurrency.max(1))
            .dns_resolver(resolver)
            .build()
            .map_err(|e| FetchError::Other {
                url: String::new(),
                reason: format!("building the HTTP client: {}", chain(&e)),
            })?;
        Ok(Self {
            client,
            dl_client,
            limiter: Arc::new(HostLimiter::new(
                cfg.per_host_concurrency,
                Duration::from_millis(cfg.per_host_interval_ms),
            )),
            s: Settings {
                allow_private,
                allow: allow_list(cfg),
                connect_timeout,
                timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
                max_redirects: cfg.max_redirects,
                retries: cfg.retries,
                max_retry_after: Duration::from_secs(cfg.max_retry_after_secs),
                backoff_base: DEFAULT_BACKOFF_BASE,
            },
        })
    }

    /// Sets the base of the jittered exponential retry backoff (default 200 ms); tests use a
    /// few milliseconds.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.s.backoff_base = base;
        self
    }

    /// Sets the whole-request timeout with sub-second precision (the config has whole
    /// seconds); tests use this for fast timeout checks.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.s.timeout = timeout;
        self
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .s
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(MAX_BACKOFF);
        exp.mul_f64(rand::rng().random_range(0.5..1.5))
    }

    /// One attempt: follows redirects hop by hop, each under the per-host limiter, all within
    /// one whole-request deadline (started once the first hop got its slot).
    async fn attempt(&self, start: &Url, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let mut current = start.clone();
        let mut hops = 0usize;
        let mut all_permanent = true;
        let mut deadline: Option<Instant> = None;
        loop {
            let permit = self
                .limiter
                .acquire(current.host_str().unwrap_or_default())
                .await;
            let until = *deadline.get_or_insert_with(|| Instant::now() + self.s.timeout);
            let same_origin = current.origin() == start.origin();
            let hop = tokio::time::timeout_at(until, self.hop(&current, req, same_origin))
                .await
                .map_err(|_| FetchError::Timeout {
                    url: redact(&current),
                    seconds: self.s.timeout.as_secs().max(1),
                })??;
            drop(permit);
            match hop {
                Hop::Done(mut resp) => {
                    resp.final_url = current.to_string();
                    resp.permanent_redirect =
                        (hops > 0 && all_permanent).then(|| current.to_string());
                    return Ok(resp);
                }
                Hop::Redirect { status, location } => {
                    hops += 1;
                    if hops > self.s.max_redirects {
                        return Err(FetchError::TooManyRedirects {
                            url: redact(start),
                            max: self.s.max_redirects,
                        });
                    }
                    let next = self.redirect_target(&current, &location)?;
                    if status != 301 && status != 308 {
                        all_permanent = false;
                    }
                    tracing::debug!(from = %redact(&current), to = %redact(&next), status, "following redirect");
                    current = next;
                }
            }
        }
    }

    /// Where a redirect's `Location` points, resolved against `current` and judged by the
    /// SSRF guard (feed fetches and audio downloads both follow redirects hop by hop).
    pub(crate) fn redirect_target(&self, current: &Url, location: &str) -> Result<Url, FetchError> {
        let next = current.join(location).map_err(|e| FetchError::InvalidUrl {
            url: redact_str(location),
            reason: format!("bad redirect Location from {}: {e}", redact(current)),
        })?;
        ssrf::check_url_allowing(&next, self.s.allow_private, &self.s.allow)?;
        Ok(next)
    }

    /// One request/response, body included.
    /// `same_origin`: whether this hop is still at the request's own origin (the caller's
    /// extra headers go only there).
    async fn hop(
        &self,
        url: &Url,
        req: &FetchRequest,
        same_origin: bool,
    ) -> Result<Hop, FetchError> {
        let mut headers = HeaderMap::new();
        let mut put = |name, value: &Option<String>| {
            // A validator or Accept value that is not a valid header is dropped, not fatal.
            if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, v);
            }
        };
        put(header::IF_NONE_MATCH, &req.etag);
        put(header::IF_MODIFIED_SINCE, &req.last_modified);
        put(header::ACCEPT, &req.accept);
        if same_origin {
            for (name, value) in &req.headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.insert(n, v);
                }
            }
        }
        let started = Instant::now();
        let resp = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.map_err(&e, url))?;
        let status = resp.status().as_u16();
        tracing::debug!(url = %redact(url), status, elapsed_ms = started.elapsed().as_millis() as u64, "response headers");
        let h = resp.headers();
        let text =
            |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);

        if matches!(status, 301 | 302 | 303 | 307 | 308)
            && let Some(loc) = h.get(header::LOCATION)
        {
            let location = String::from_utf8_lossy(loc.as_bytes()).into_owned();
            return Ok(Hop::Redirect { status, location });
        }
        let base = FetchResponse {
            final_url: url.to_string(),
            permanent_redirect: None,
            status,
            not_modified: false,
            body: Bytes::new(),
            content_type: text(header::CONTENT_TYPE),
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
            max_age: text(header::CACHE_CONTROL)
                .as_deref()
                .and_then(parse_cache_control_max_age),
            expires: text(header::EXPIRES).as_deref().and_then(parse_expires),
        };
        if status == 304 {
            // Keep the caller's validators when the 304 does not repeat them.
            return Ok(Hop::Done(FetchResponse {
                not_modified: true,
                content_type: None,
                etag: base.etag.or_else(|| req.etag.clone()),
                last_modified: base.last_modified.or_else(|| req.last_modified.clone()),
                ..base
            }));
        }
        if !(200..300).contains(&status) {
            let retry_after = if status == 429 || status == 503 {
                text(header::RETRY_AFTER)
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()))
            } else {
                None
            };
            return Err(FetchError::Status {
                url: redact(url),
                status,
                retry_after,
            });
        }
        let body = self.read_capped(resp, url, req.max_bytes).await?;
        tracing::debug!(url = %redact(url), bytes = body.len(), elapsed_ms = started.elapsed().as_millis() as u64, "body read");
        Ok(Hop::Done(FetchResponse { body, ..base }))
    }

    /// Streams the (decoded) body, failing as soon as it exceeds `cap`; never holds more
    /// than `cap` bytes.
    async fn read_capped(
        &self,
        mut resp: reqwest::Response,
        url: &Url,
        cap: u64,
    ) -> Result<Bytes, FetchError> {
        let too_large = || FetchError::TooLarge {
            url: redact(url),
            limit: cap,
        };
        let announced = resp.content_length();
        if announced.is_some_and(|len| len > cap) {
            return Err(too_large());
        }
        let prealloc = announced.unwrap_or(8 * 1024).min(cap).min(MAX_PREALLOC);
        // prealloc ≤ 1 MiB, so it fits in usize.
        let mut buf = BytesMut::with_capacity(prealloc as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_err(&e, url))? {
            if (buf.len() as u64).saturating_add(chunk.len() as u64) > cap {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// Maps a reqwest error to the core error, recognising the guard's resolver errors.
    pub(crate) fn map_err(&self, e: &reqwest::Error, url: &Url) -> FetchError {
        let mut source = e.source();
        while let Some(err) = source {
            if let Some(b) = err.downcast_ref::<ResolveBlocked>() {
                return FetchError::Blocked {
                    url: redact(url),
                    reason: b.to_string(),
                };
            }
            if let Some(f) = err.downcast_ref::<ResolveFailed>() {
                return FetchError::Dns {
                    host: f.host.clone(),
                    reason: f.reason.clone(),
                };
            }
            source = err.source();
        }
        if e.is_timeout() {
            let limit = if e.is_connect() {
                self.s.connect_timeout
            } else {
                self.s.timeout
            };
            return FetchError::Timeout {
                url: redact(url),
                seconds: limit.as_secs().max(1),
            };
        }
        if e.is_connect() {
            return FetchError::Connect {
                url: redact(url),
                reason: chain(e),
            };
        }
        FetchError::Other {
            url: redact(url),
            reason: chain(e),
        }
    }
}

/// An error and its sources, joined with `: ` (reqwest's Display hides the cause). reqwest
/// appends ` for url (...)` — the full URL, query tokens included — which is cut off.
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    if let Some(i) = out.find(" for url (") {
        out.truncate(i);
    }
    let mut source = e.source();
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let url = Url::parse(req.url.trim()).map_err(|e| FetchError::InvalidUrl {
            url: redact_str(&req.url),
            reason: e.to_string(),
        })?;
        ssrf::check_url_allowing(&url, self.s.allow_private, &self.s.allow)?;
        let mut attempt = 0u32;
        loop {
            let err = match self.attempt(&url, &req).await {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            if attempt >= self.s.retries || !err.is_retryable() {
                tracing::debug!(url = %redact(&url), attempt, error = %err, "fetch failed");
                return Err(err);
            }
            let wait = match (&err, err.retry_after()) {
                (FetchError::Status { .. }, Some(ra)) => {
                    if ra > self.s.max_retry_after {
                        // Too long to wait inline: the scheduler reschedules.
                        return Err(err);
                    }
                    ra
                }
                _ => self.backoff(attempt),
            };
            tracing::debug!(url = %redact(&url), attempt, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}
