//! `GET /healthz`, `GET /metrics`, `GET /feeds/{token}.atom|.json`, and the web UI
//! (`podsift_web`: pages and `/api/...`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use podsift_core::{Clock, Store};
use podsift_digest::feed::{FeedOptions, atom, json_feed};

use crate::Metrics;

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
    /// Digests made on demand from the web UI: the scheduled digest's recipe.
    pub scheduler: Arc<crate::DigestScheduler>,
    pub channel_options: podsift_digest::HttpChannelOptions,
}

pub(crate) fn router(state: HttpState) -> Router {
    let web = web_state(&state);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/feeds/{file}", get(feed))
        .route("/feedback", get(feedback))
        .with_state(state)
        .merge(podsift_web::router(web))
}

fn web_state(s: &HttpState) -> podsift_web::WebState {
    let config = podsift_web::WebConfig {
        public_url: s.public_url.clone(),
        channel_options: s.channel_options.clone(),
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
            podsift_pipeline::DigestOutcome::NothingNew => Ok(podsift_web::MadeDigest::NothingNew),
        }
    }
}

#[derive(serde::Deserialize)]
struct FeedbackQuery {
    i: i64,
    v: String,
    u: i64,
    t: String,
}

/// `GET /feedback?i=INSIGHT&v=up|down&u=USER&t=TOKEN`: the digest's signed 👍/👎 links, which
/// work without a login because the token is an HMAC of exactly this insight, vote and user.
async fn feedback(
    State(s): State<HttpState>,
    axum::extract::Query(q): axum::extract::Query<FeedbackQuery>,
) -> Response {
    let Some(secret) = &s.feedback_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(vote) = podsift_digest::FeedbackVote::parse(&q.v) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !podsift_digest::verify_feedback_token(secret, q.i, vote, q.u, &q.t) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match s
        .store
        .record_feedback(q.u, q.i, vote.sign(), s.clock.now())
        .await
    {
        Ok(()) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!doctype html><meta charset=utf-8><title>podsift</title><p>Thanks: noted {}.</p>",
                if vote.sign() > 0 { "👍" } else { "👎" }
            ),
        )
            .into_response(),
        Err(podsift_core::StoreError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!("feedback: {e}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
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

async fn metrics(State(s): State<HttpState>) -> Response {
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
