//! podsift-web: the web UI and its JSON API, served by `podsift serve` next to `/healthz`.
//!
//! Server-rendered HTML (minijinja templates embedded in the binary, autoescaped; publisher
//! HTML through podsift-digest's ammonia sanitiser) with one small script for the audio
//! player, and `/api/...` JSON routes for everything the pages do, described by the OpenAPI
//! document at `/api/openapi.json`.
//!
//! Security: argon2id password hashes; sessions in the database (only the SHA-256 of the
//! cookie token is stored) behind an `HttpOnly; SameSite=Lax` cookie, `Secure` when the
//! public URL is https; a per-session CSRF token on every form and cookie-authenticated API
//! write; failed sign-ins slow further attempts per account and client address (never a
//! lock-out). Every route loads what it
//! shows through the signed-in user: another user's feed, episode, digest or insight is a 404.

mod account;
mod adds;
mod api;
mod auth;
mod coverage;
mod discover;
mod error;
mod extract;
mod feedback;
mod limiter;
mod pages;
mod settings;
mod templates;
mod views;
mod work;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use chrono::NaiveDate;
use podsift_core::{Clock, Store, UserProfile};
use serde::Serialize;

pub use auth::{MIN_PASSWORD_LEN, PasswordError, hash_password, verify_password};
pub use error::WebError;
pub use limiter::LoginLimits;

/// Makes a user's digest on demand ("make my digest now"), the same way the scheduled digest
/// is made. The service implements it; without one the pages only show stored digests.
#[async_trait]
pub trait DigestMaker: Send + Sync {
    /// Make the user's digest for `date` (idempotent per user and date).
    async fn make_digest(&self, user: &UserProfile, date: NaiveDate) -> Result<MadeDigest, String>;
}

/// What [`DigestMaker::make_digest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MadeDigest {
    Created,
    /// That date's digest existed already.
    Existing,
    /// Nothing new since the last digest: no digest.
    NothingNew,
}

/// Settings of the web UI.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The public base URL (`https://…` makes the session cookie `Secure`).
    pub public_url: Option<String>,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// How webhook, Slack and Discord URLs a user sets are checked: the SSRF guard (on unless
    /// `allow_private_networks`), `[http] allow_hosts`, `http://` only to loopback.
    pub channel_options: podsift_digest::HttpChannelOptions,
    pub login_limits: LoginLimits,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`[web] trusted_proxies`).
    pub trusted_proxies: Vec<podsift_core::config::IpNet>,
    /// The key of the digests' signed 👍/👎 links (`/feedback`); without one those links
    /// answer 404.
    pub feedback_secret: Option<Arc<Vec<u8>>>,
    /// Feeds one user may have waiting to be added (`[web] max_pending_feed_adds`).
    pub max_pending_feed_adds: usize,
    /// How long adding a feed waits for the background fetch (`[web] add_feed_wait_secs`).
    pub add_feed_wait: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            channel_options: podsift_digest::HttpChannelOptions::default(),
            login_limits: LoginLimits::default(),
            trusted_proxies: podsift_core::config::WebConfig::default().trusted_proxies,
            feedback_secret: None,
            max_pending_feed_adds: 500,
            add_feed_wait: Duration::from_secs(5),
        }
    }
}

impl WebConfig {
    /// Whether cookies get the `Secure` attribute.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }
}

/// What the web UI needs: the store and clock, the poller that validates and subscribes
/// feeds (the CLI's `subscribe` code), and optionally a [`DigestMaker`].
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Adding a feed needs it; without one the add and import forms answer 503.
    pub poller: Option<Arc<podsift_poller::Poller>>,
    pub digests: Option<Arc<dyn DigestMaker>>,
    /// The show directories of the Discover page (without: it answers 503 to a search).
    pub directory: Option<podsift_discovery::Directory>,
    pub config: WebConfig,
}

impl WebState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: WebConfig) -> Self {
        Self {
            store,
            clock,
            poller: None,
            digests: None,
            directory: None,
            config,
        }
    }

    pub fn with_poller(mut self, poller: Arc<podsift_poller::Poller>) -> Self {
        self.poller = Some(poller);
        self
    }

    pub fn with_directory(mut self, directory: podsift_discovery::Directory) -> Self {
        self.directory = Some(directory);
        self
    }

    pub fn with_digests(mut self, digests: Arc<dyn DigestMaker>) -> Self {
        self.digests = Some(digests);
        self
    }
}

/// The shared state of every handler.
pub(crate) struct App {
    pub web: WebState,
    pub limiter: limiter::RateLimiter,
    pub templates: templates::Templates,
    /// Feeds being added in the background.
    pub adds: adds::FeedAdds,
}

pub(crate) type AppState = Arc<App>;

/// The web UI's routes (pages, static files, `/api/...`), to merge into the service's router.
pub fn router(state: WebState) -> Router {
    let app = Arc::new(App {
        limiter: limiter::RateLimiter::new(state.config.login_limits.clone()),
        templates: templates::Templates::new(),
        adds: adds::FeedAdds::default(),
        web: state,
    });
    pages::routes().merge(api::routes()).with_state(app)
}

/// The paths of the JSON API (as in the router and the OpenAPI document), for tests and docs.
pub fn api_paths() -> Vec<&'static str> {
    api::api_routes().into_iter().map(|(p, _)| p).collect()
}

/// Every path the web UI's router answers (pages and API), as written in the router: it is
/// built from these same lists. Tests walk it, so a new route cannot miss their checks.
pub fn route_paths() -> Vec<&'static str> {
    pages::page_routes()
        .into_iter()
        .chain(api::api_routes())
        .map(|(p, _)| p)
        .collect()
}

/// The OpenAPI 3 document served at `/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");
