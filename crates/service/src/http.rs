//! `GET /healthz`, `GET /metrics`, `GET /feeds/{token}.atom|.json`, and the web UI
//! (`podsift_web`: pages, the digests' vote links and `/api/...`).

use std::sync::Arc;

use axum::Router;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use podsift_core::{Clock, Store};
use podsift_digest::feed::{FeedOptions, atom, json_feed};

use crate::Metrics;
use podsift_core::config::MetricsAccess;

/// How many days back a private feed looks for digests.
const FEED_DAYS: i64 = 30;

#[derive(Clone)]
pub(crate) struct HttpState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub public_url: Option<String>,
    pub feedback_secret: Option<Arc<Vec<u8>>>,
    /// Validates and subscribes feeds added in the web UI.
    pub poller: Option<Arc<podsift_poller::Poller>>,
    /// The Discover page's show directories.
    pub directory: Option<podsift_discovery::Directory>,
    /// Digests made on demand from the web UI: the scheduled digest's recipe.
    pub scheduler: Arc<crate::DigestScheduler>,
    pub channel_options: podsift_digest::HttpChannelOptions,
    /// `[web]`.
    pub web: podsift_core::config::WebConfig,
    /// `/metrics`' bearer token (`[web] metrics = "token"`).
    pub metrics_token: Option<String>,
}

pub(crate) fn router(state: HttpState) -> Router {
    let web = web_state(&state);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/feeds/{file}", get(feed))
        .with_state(state)
        .merge(podsift_web::router(web))
}

fn web_state(s: &HttpState) -> podsift_web::WebState {
    let config = podsift_web::WebConfig {
        public_url: s.public_url.clone(),
        channel_options: s.channel_options.clone(),
        feedback_secret: s.feedback_secret.clone(),
        login_limits: podsift_web::LoginLimits::from_config(&s.web),
        trusted_proxies: s.web.trusted_proxies.clone(),
        max_pending_feed_adds: s.web.max_pending_feed_adds.max(1),
        add_feed_wait: std::time::Duration::from_secs(s.web.add_feed_wait_secs),
        ..podsift_web::WebConfig::default()
    };
    let digests = WebDigests {
        scheduler: s.scheduler.clone(),
    };
    let mut web = podsift_web::WebState::new(s.store.clone(), s.clock.clone(), config)
        .with_digests(Arc::new(digests));
    if let Some(p) = &s.poller {
        web = web.with_poller(p.clone());
    }
    if let Some(d) = &s.directory {
        web = web.with_directory(d.clone());
    }
    web
}

/// "Make my digest now" in the web UI: the scheduled digest's recipe (the user's size and
/// channels, one outbox row per channel), for the date asked.
struct WebDigests {
    scheduler: Arc<crate::DigestScheduler>,
}

#[async_trait::async_trait]
impl podsift_web::DigestMaker for WebDigests {
    async fn make_digest(
        &self,
        user: &podsift_core::UserProfile,
        date: chrono::NaiveDate,
    ) -> Result<podsift_web::MadeDigest, String> {
        match self
            .scheduler
            .make_digest(user, date)
            .await
            .map_err(|e| e.to_string())?
        {
            podsift_pipeline::DigestOutcome::Created { id, .. } => {
                tracing::info!(user = %user.email, %date, digest = id, "digest made from the web UI");
                Ok(podsift_web::MadeDigest::Created)
            }
            podsift_pipeline::DigestOutcome::Existing { .. } => {
                Ok(podsift_web::MadeDigest::Existing)
            }
            podsift_pipeline::DigestOutcome::NothingNew { .. } => {
                Ok(podsift_web::MadeDigest::NothingNew)
            }
        }
    }
}

async fn healthz(State(s): State<HttpState>) -> Response {
    // Every loop of this process runs (none is waiting to restart after a panic).
    let down = s.metrics.loops.down();
    if !down.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", down.join("\n")),
        )
            .into_response();
    }
    // A query that touches the database and nothing else.
    match s.store.get_user(0).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!("health check: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn metrics(
    State(s): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(status) = metrics_allowed(
        s.web.metrics,
        peer.map(|Extension(c)| c.0.ip()),
        &headers,
        s.metrics_token.as_deref(),
    ) {
        let mut res = (status, "not allowed\n").into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"podsift metrics\""),
            );
        }
        return res;
    }
    match s.store.service_counts().await {
        Ok(counts) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            s.metrics.render(&counts),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("metrics: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn feed(State(s): State<HttpState>, Path(file): Path<String>) -> Response {
    let (token, json) = if let Some(t) = file.strip_suffix(".atom") {
        (t, false)
    } else if let Some(t) = file.strip_suffix(".json") {
        (t, true)
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Tokens are 64 hex digits; anything else is not looked up.
    if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let user = match s.store.user_by_feed_token(token).await {
        Ok(Some(u)) => u,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!("feed: {e}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let today = s.clock.now().date_naive() + chrono::Duration::days(1);
    let mut digests = Vec::new();
    for back in 0..=FEED_DAYS {
        let date = today - chrono::Duration::days(back);
        match s.store.get_digest(user.id, date).await {
            Ok(Some(d)) => digests.push(d),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("feed: {e}");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    let base = s.public_url.as_deref().unwrap_or("http://localhost");
    let self_url = format!("{}/feeds/{file}", base.trim_end_matches('/'));
    let opts = FeedOptions {
        title: Some(format!("podsift digests for {}", user.email)),
        home_page_url: None,
    };
    if json {
        (
            [(header::CONTENT_TYPE, "application/feed+json; charset=utf-8")],
            json_feed(&digests, &self_url, &opts),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            atom(&digests, &self_url, &opts),
        )
            .into_response()
    }
}

/// Whether `/metrics` answers this request: anyone (`public`), a loopback peer that is not
/// a reverse proxy passing a request on (`loopback`: a request with `X-Forwarded-For` or
/// `Forwarded` came from elsewhere), or the bearer token (`token`). 403 or 401 otherwise.
pub(crate) fn metrics_allowed(
    access: MetricsAccess,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), StatusCode> {
    match access {
        MetricsAccess::Public => Ok(()),
        MetricsAccess::Loopback => {
            let proxied =
                headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
            let local = peer.is_some_and(|ip| match ip {
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
                v4 => v4.is_loopback(),
            });
            if local && !proxied {
                Ok(())
            } else {
                Err(StatusCode::FORBIDDEN)
            }
        }
        MetricsAccess::Token => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match (given, token) {
                (Some(g), Some(t)) if !t.is_empty() && same_token(g, t) => Ok(()),
                _ => Err(StatusCode::UNAUTHORIZED),
            }
        }
    }
}

/// Equal strings, in time independent of where they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_read_metrics() {
        let local = Some("127.0.0.1".parse().unwrap());
        let mapped = Some("::ffff:127.0.0.1".parse().unwrap());
        let remote = Some("203.0.113.9".parse().unwrap());
        let none = HeaderMap::new();
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef"),
        );
        let lo = MetricsAccess::Loopback;
        assert_eq!(metrics_allowed(lo, local, &none, None), Ok(()));
        assert_eq!(metrics_allowed(lo, mapped, &none, None), Ok(()));
        assert_eq!(
            metrics_allowed(lo, remote, &none, None),
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            metrics_allowed(lo, local, &proxied, None),
            Err(StatusCode::FORBIDDEN),
            "through a reverse proxy on this host"
        );
        assert_eq!(
            metrics_allowed(lo, None, &none, None),
            Err(StatusCode::FORBIDDEN)
        );
        let tok = MetricsAccess::Token;
        let t = Some("0123456789abcdef");
        assert_eq!(metrics_allowed(tok, remote, &bearer, t), Ok(()));
        assert_eq!(
            metrics_allowed(tok, local, &none, t),
            Err(StatusCode::UNAUTHORIZED),
            "loopback is no token"
        );
        assert_eq!(
            metrics_allowed(tok, remote, &bearer, Some("0123456789abcdeX")),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            metrics_allowed(tok, remote, &bearer, None),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            metrics_allowed(MetricsAccess::Public, remote, &none, None),
            Ok(())
        );
    }
}
