//! What the HTTP channels (webhook, Slack, Discord) share: URL validation, the client, one
//! POST with a bounded response read, and the retryable/permanent error split.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Once};
use std::time::Duration;

use podsift_core::DeliveryError;
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::{Digest as _, Sha256};
use url::Url;

/// Options shared by the HTTP channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpChannelOptions {
    /// Bounds the whole request: connect, send, response headers and the (capped) body read.
    pub timeout: Duration,
    /// Allow `http://` URLs whose host is loopback (`127.0.0.0/8`, `::1`, `localhost`), for a
    /// receiver on the same machine and for tests. Other `http://` URLs are always refused.
    pub allow_http_loopback: bool,
    /// At most this many bytes of the response body are read (the rest is dropped).
    pub max_response_bytes: usize,
    /// Turns the SSRF guard off (the CLI's `--allow-private-networks`, tests). Otherwise a
    /// URL whose host is, or resolves to, a private, loopback or link-local address is
    /// refused when it is set and when it is sent to.
    pub allow_private: bool,
    /// `[http] allow_hosts`: hosts and networks past the guard.
    pub allow_hosts: podsift_fetch::AllowList,
}

impl Default for HttpChannelOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            allow_http_loopback: false,
            max_response_bytes: 64 * 1024,
            allow_private: false,
            allow_hosts: podsift_fetch::AllowList::default(),
        }
    }
}

/// Why an HTTP delivery failed. [`WebhookError::is_retryable`] splits them: timeouts,
/// connection failures, `408`, `429` and `5xx` are worth another try; other `4xx`, redirects
/// and configuration errors are not. Messages never contain the URL's path or query (Slack
/// and Discord webhook URLs are secrets) nor the signing secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The configured URL is unusable (scheme, host, `http` to a non-loopback host).
    #[error("invalid channel URL: {0}")]
    InvalidUrl(String),
    /// Other configuration errors (empty secret, client setup).
    #[error("channel misconfigured: {0}")]
    Config(String),
    /// The receiver did not answer within the timeout.
    #[error("{channel}: no answer within {seconds}s")]
    Timeout { channel: String, seconds: u64 },
    /// Could not connect (refused, DNS, TLS handshake reset) or the connection broke.
    #[error("{channel}: {reason}")]
    Transport { channel: String, reason: String },
    /// `429 Too Many Requests`, with the receiver's `Retry-After` when it sent one.
    #[error("{channel}: rate limited (429){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        channel: String,
        retry_after: Option<Duration>,
    },
    /// `5xx` or `408`: the receiver is having trouble.
    #[error("{channel}: server error {status}: {body}")]
    Server {
        channel: String,
        status: u16,
        body: String,
    },
    /// Another `4xx`: the receiver refuses this request; resending it will not help.
    #[error("{channel}: rejected with {status}: {body}")]
    Rejected {
        channel: String,
        status: u16,
        body: String,
    },
    /// A `3xx`: redirects are not followed (a POST body must not be re-sent elsewhere).
    #[error("{channel}: unexpected redirect ({status}); configure the final URL")]
    Redirect { channel: String, status: u16 },
}

impl WebhookError {
    /// Whether the same delivery may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Transport { .. }
                | Self::RateLimited { .. }
                | Self::Server { .. }
        )
    }

    /// The receiver's `Retry-After`, for a `429`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<WebhookError> for DeliveryError {
    fn from(e: WebhookError) -> Self {
        if e.is_retryable() {
            DeliveryError::Temporary(e.to_string())
        } else {
            DeliveryError::Permanent(e.to_string())
        }
    }
}

/// Installs ring as rustls' process-wide crypto provider (reqwest is built with
/// `rustls-no-provider`; aws-lc would need cmake). Another crate having installed one first
/// is fine.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Validates a channel URL from user configuration: `https` with a host; `http` only to a
/// loopback host and only when `allow_http_loopback`; no fragment.
pub fn validate_channel_url(raw: &str, allow_http_loopback: bool) -> Result<Url, WebhookError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| WebhookError::InvalidUrl(format!("does not parse: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(WebhookError::InvalidUrl("no host".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http_loopback && is_loopback_host(&url) => {}
        "http" => {
            return Err(WebhookError::InvalidUrl(format!(
                "http://{} is not allowed: use https (plain http only to loopback, when allowed)",
                url.host_str().unwrap_or_default()
            )));
        }
        other => {
            return Err(WebhookError::InvalidUrl(format!(
                "scheme {other:?} is not allowed: use https"
            )));
        }
    }
    if url.fragment().is_some() {
        return Err(WebhookError::InvalidUrl("a fragment is not allowed".into()));
    }
    Ok(url)
}

fn resolver(opts: &HttpChannelOptions) -> podsift_fetch::ssrf::GuardedResolver {
    podsift_fetch::ssrf::GuardedResolver::new(!opts.allow_private)
        .with_allow(opts.allow_hosts.clone())
}

/// Refuses a host that is a private, loopback or link-local address or an internal name
/// (`localhost`, `*.local`, `*.internal`), unless allowed.
fn refuse_private(url: &Url, opts: &HttpChannelOptions) -> Result<(), WebhookError> {
    podsift_fetch::ssrf::check_url_allowing(url, opts.allow_private, &opts.allow_hosts).map_err(
        |e| {
            let why = match e {
                podsift_core::FetchError::Blocked { reason, .. } => reason,
                other => other.to_string(),
            };
            WebhookError::InvalidUrl(format!(
                "{} is not allowed: {why} (an administrator can allow it with [http] allow_hosts)",
                redacted(url)
            ))
        },
    )
}

/// Checks a channel URL when a user sets it (CLI, web, API): the checks of
/// [`validate_channel_url`], then the SSRF guard on its host and on what the host resolves
/// to now. A host that does not resolve is accepted (DNS may be down; every send checks
/// again); one that resolves only to forbidden addresses is refused.
pub async fn check_channel_url(raw: &str, opts: &HttpChannelOptions) -> Result<(), WebhookError> {
    let url = validate_channel_url(raw, opts.allow_http_loopback)?;
    refuse_private(&url, opts)?;
    if opts.allow_private {
        return Ok(());
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    match resolver(opts).check_host(host).await {
        Err(podsift_fetch::ssrf::HostRefused::Forbidden(why)) => {
            Err(WebhookError::InvalidUrl(format!(
                "{} is not allowed: {why} (an administrator can allow it with [http] allow_hosts)",
                redacted(&url)
            )))
        }
        _ => Ok(()),
    }
}

/// A stable, non-secret identifier of a URL: the first 12 hex digits of its SHA-256.
pub(crate) fn url_id(url: &Url) -> String {
    let h = Sha256::digest(url.as_str().as_bytes());
    hex::encode(&h[..6])
}

/// The URL without path, query or credentials, for logs and `Debug`.
pub(crate) fn redacted(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}/…",
        url.scheme(),
        url.host_str().unwrap_or_default()
    )
}

/// A POST target: the client, URL and limits. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Endpoint {
    client: reqwest::Client,
    url: Url,
    /// The channel's name, used in every error and log line.
    pub(crate) name: String,
    opts: HttpChannelOptions,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("url", &redacted(&self.url))
            .field("timeout", &self.opts.timeout)
            .finish()
    }
}

/// What a successful POST got back.
#[derive(Debug, Clone)]
pub(crate) struct Posted {
    pub(crate) status: u16,
}

impl Endpoint {
    pub(crate) fn new(
        raw_url: &str,
        name_prefix: &str,
        opts: HttpChannelOptions,
    ) -> Result<Self, WebhookError> {
        let url = validate_channel_url(raw_url, opts.allow_http_loopback)?;
        refuse_private(&url, &opts)?;
        install_crypto_provider();
        let timeout = opts.timeout.max(Duration::from_millis(1));
        let client = reqwest::Client::builder()
            .user_agent(concat!("podsift/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            // The URL is the user's; a proxy from the environment would see every payload.
            .no_proxy()
            // Every connection checks the addresses DNS gave (rebinding, a name that later
            // points inside): the same guard as feeds.
            .dns_resolver(Arc::new(resolver(&opts)))
            .build()
            .map_err(|e| WebhookError::Config(format!("building the HTTP client: {e}")))?;
        let name = format!("{name_prefix}:{}", url_id(&url));
        Ok(Self {
            client,
            url,
            name,
            opts: HttpChannelOptions { timeout, ..opts },
        })
    }

    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// One POST of `body` as JSON with `headers`; `2xx` is success, everything else an error.
    pub(crate) async fn post_json(
        &self,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Posted, WebhookError> {
        // reqwest's timeout covers the body read too; the outer one is a backstop for a
        // receiver that trickles bytes.
        let limit = self.opts.timeout;
        match tokio::time::timeout(
            limit + Duration::from_secs(1),
            self.post_inner(headers, body),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(self.timeout_error()),
        }
    }

    fn timeout_error(&self) -> WebhookError {
        WebhookError::Timeout {
            channel: self.name.clone(),
            seconds: self.opts.timeout.as_secs().max(1),
        }
    }

    async fn post_inner(&self, headers: HeaderMap, body: Vec<u8>) -> Result<Posted, WebhookError> {
        let resp = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .header(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| self.map_reqwest(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = self.read_capped(resp).await?;
        let channel = self.name.clone();
        match status {
            200..=299 => Ok(Posted { status }),
            429 => Err(WebhookError::RateLimited {
                channel,
                retry_after,
            }),
            408 | 500..=599 => Err(WebhookError::Server {
                channel,
                status,
                body: snippet(&body),
            }),
            300..=399 => Err(WebhookError::Redirect { channel, status }),
            _ => Err(WebhookError::Rejected {
                channel,
                status,
                body: snippet(&body),
            }),
        }
    }

    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<String, WebhookError> {
        let cap = self.opts.max_response_bytes;
        let mut buf: Vec<u8> = Vec::with_capacity(cap.min(8 * 1024));
        while buf.len() < cap {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap - buf.len();
                    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => return Err(self.map_reqwest(&e)),
            }
        }
        // Dropping the response closes the connection if more was coming.
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn map_reqwest(&self, e: &reqwest::Error) -> WebhookError {
        if e.is_timeout() {
            return self.timeout_error();
        }
        WebhookError::Transport {
            channel: self.name.clone(),
            reason: chain(e),
        }
    }
}

/// An error and its sources, joined with `: `, without reqwest's ` for url (...)` (the URL
/// is a secret for Slack and Discord).
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    if let Some(i) = out.find(" for url (") {
        out.truncate(i);
    }
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        out.push_str(": ");
        out.push_str(&err.to_string());
        source = err.source();
    }
    out
}

/// At most 200 characters of a response body, control characters removed.
fn snippet(body: &str) -> String {
    crate::text::clean(body, 200)
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at a day.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = v.parse::<f64>() {
        // Discord sends fractional seconds.
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        Duration::from_secs_f64(secs.min(86_400.0))
    } else {
        let when = httpdate::parse_http_date(v).ok()?;
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(d.min(Duration::from_secs(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(validate_channel_url("https://hooks.example.com/x", false).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "javascript:alert(1)",
            "https://",
            "https://user:pw@",
            "not a url",
            "https://hooks.example.com/x#frag",
        ] {
            assert!(
                matches!(
                    validate_channel_url(bad, true),
                    Err(WebhookError::InvalidUrl(_))
                ),
                "{bad}"
            );
        }
        for lo in [
            "http://127.0.0.1:8080/h",
            "http://localhost/h",
            "http://[::1]/h",
        ] {
            assert!(validate_channel_url(lo, true).is_ok(), "{lo}");
            assert!(validate_channel_url(lo, false).is_err(), "{lo}");
        }
        // A name that merely starts like loopback is not.
        assert!(validate_channel_url("http://127.0.0.1.evil.example/h", true).is_err());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("999999999"),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-3"), None);
    }

    #[test]
    fn errors_split_and_redact() {
        let c = || "webhook:abc".to_string();
        assert!(
            WebhookError::Server {
                channel: c(),
                status: 503,
                body: String::new()
            }
            .is_retryable()
        );
        assert!(
            !WebhookError::Rejected {
                channel: c(),
                status: 400,
                body: String::new()
            }
            .is_retryable()
        );
        let rl = WebhookError::RateLimited {
            channel: c(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(3)));
        assert!(matches!(
            DeliveryError::from(rl),
            DeliveryError::Temporary(_)
        ));
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/SECRETTOKEN?x=1").unwrap();
        assert_eq!(redacted(&url), "https://hooks.slack.com/…");
        assert_eq!(url_id(&url).len(), 12);
    }
}
