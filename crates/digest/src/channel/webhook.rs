//! A generic, signed JSON webhook.

use std::fmt;

use async_trait::async_trait;
use hmac::{KeyInit, Mac};
use podsift_core::{Channel, DeliveryError, Digest, RenderedDigest};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::http::{Endpoint, HttpChannelOptions, WebhookError};

/// `type` of the payload.
pub const WEBHOOK_TYPE: &str = "podsift.digest";
/// `version` of the payload; bumped on any incompatible change of its shape.
pub const WEBHOOK_VERSION: u32 = 1;

/// Longest `Idempotency-Key` sent as given; longer or non-printable keys are hashed.
const MAX_KEY_CHARS: usize = 200;

/// The webhook body: the documented digest JSON wrapped in a versioned envelope.
#[derive(Debug, Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    version: u32,
    user: &'a str,
    date: chrono::NaiveDate,
    digest: &'a Digest,
}

/// POSTs the digest as JSON to a user-configured URL, signed with a shared secret.
///
/// Body (`Content-Type: application/json`), version 1:
///
/// ```json
/// {"type":"podsift.digest","version":1,"user":"me","date":"2026-11-26","digest":{ ... }}
/// ```
///
/// where `digest` is the digest JSON documented in the README (`podsift_core::Digest`).
///
/// Headers:
/// * `X-Podsift-Timestamp`: Unix seconds of the attempt;
/// * `X-Podsift-Signature: sha256=HEX`, `HEX` = lowercase hex HMAC-SHA256 with the secret
///   over `TIMESTAMP + "." + BODY` (the exact bytes). Receivers should recompute it, compare in
///   constant time and reject stale timestamps (e.g. older than 5 minutes) to stop replays;
/// * `Idempotency-Key`: the delivery's key (stable per digest and channel, so the same on a
///   retry): receivers drop a key they have already processed. A key longer than 200
///   characters or with characters outside printable ASCII is sent as `sha256-HEX` of it.
///
/// One attempt per call; the outbox retries. `2xx` is success (receipt:
/// `HTTP STATUS, Idempotency-Key KEY`); see [`WebhookError`] for the split of failures. The
/// secret is never logged and `Debug` does not show it.
#[derive(Clone)]
pub struct WebhookChannel {
    endpoint: Endpoint,
    secret: Vec<u8>,
}

impl fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl WebhookChannel {
    /// A webhook to `url` (https; http to loopback only with
    /// [`HttpChannelOptions::allow_http_loopback`]) signed with `secret` (must not be empty).
    pub fn new(
        url: &str,
        secret: impl Into<Vec<u8>>,
        opts: HttpChannelOptions,
    ) -> Result<Self, WebhookError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(WebhookError::Config(
                "the webhook secret is empty: set one (receivers verify X-Podsift-Signature)"
                    .into(),
            ));
        }
        Ok(Self {
            endpoint: Endpoint::new(url, "webhook", opts)?,
            secret,
        })
    }

    /// The exact body for `digest`.
    pub fn payload(digest: &Digest) -> Result<Vec<u8>, WebhookError> {
        serde_json::to_vec(&Envelope {
            kind: WEBHOOK_TYPE,
            version: WEBHOOK_VERSION,
            user: &digest.user,
            date: digest.date,
            digest,
        })
        .map_err(|e| WebhookError::Config(format!("serialising the payload: {e}")))
    }

    /// `sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))`.
    pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The receiver's check: `signature` (`sha256=HEX`) is the HMAC of `timestamp` and
    /// `body` with `secret` (compared in constant time), and `timestamp` (Unix seconds) is
    /// within `tolerance` of `now` (replay protection).
    pub fn verify(
        secret: &[u8],
        timestamp: &str,
        body: &[u8],
        signature: &str,
        now: chrono::DateTime<chrono::Utc>,
        tolerance: std::time::Duration,
    ) -> bool {
        let Ok(ts) = timestamp.trim().parse::<i64>() else {
            return false;
        };
        let tol = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
        if now.timestamp().abs_diff(ts) > tol.unsigned_abs() {
            return false;
        }
        let Some(sig) = signature
            .trim()
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
        else {
            return false;
        };
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    }

    /// The `Idempotency-Key` header value for a delivery key.
    pub fn idempotency_header(key: &str) -> String {
        let printable = !key.is_empty()
            && key.chars().count() <= MAX_KEY_CHARS
            && key.chars().all(|c| c.is_ascii_graphic() || c == ' ')
            && !key.starts_with(' ')
            && !key.ends_with(' ');
        if printable {
            key.to_string()
        } else {
            format!("sha256-{}", hex::encode(Sha256::digest(key.as_bytes())))
        }
    }

    /// One signed POST; the typed error tells retryable from permanent and carries
    /// `Retry-After` (the [`Channel`] implementation maps it to [`DeliveryError`]).
    pub async fn send(
        &self,
        digest: &Digest,
        idempotency_key: &str,
    ) -> Result<String, WebhookError> {
        let body = Self::payload(digest)?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = Self::signature(&self.secret, timestamp, &body);
        let key = Self::idempotency_header(idempotency_key);
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), WebhookError> {
            let v = HeaderValue::from_str(value)
                .map_err(|e| WebhookError::Config(format!("header {name}: {e}")))?;
            headers.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        put("x-podsift-timestamp", &timestamp.to_string())?;
        put("x-podsift-signature", &signature)?;
        put("idempotency-key", &key)?;
        let posted = self.endpoint.post_json(headers, body).await?;
        Ok(format!("HTTP {}, Idempotency-Key {key}", posted.status))
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    /// `webhook:ID`, ID = 12 hex digits of the URL's SHA-256 (the URL may hold a token).
    fn name(&self) -> String {
        self.endpoint.name.clone()
    }

    async fn deliver(
        &self,
        digest: &Digest,
        _rendered: &RenderedDigest,
        idempotency_key: &str,
    ) -> Result<String, DeliveryError> {
        match self.send(digest, idempotency_key).await {
            Ok(receipt) => {
                tracing::info!(channel = %self.endpoint.name, host = %self.endpoint.host(), "digest posted to webhook");
                Ok(receipt)
            }
            Err(e) => {
                tracing::warn!(channel = %self.endpoint.name, host = %self.endpoint.host(), retryable = e.is_retryable(), error = %e, "webhook delivery failed");
                Err(e.into())
            }
        }
    }
}
