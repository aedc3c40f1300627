//! Shared by the web test targets: a real SQLite store, real loopback feeds through the
//! poller the CLI uses, the real digest pipeline, and a browser (a cookie jar) over the
//! real router.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
pub use podsift_core::Store;
use podsift_core::config::{DigestConfig, HttpConfig, PollConfig};
use podsift_core::{
    Clock, ExtractionReport, InsightDraft, NewUserProfile, SystemClock, UserProfile,
};
use podsift_store::SqlStore;
use podsift_testkit::{Route, TestServer};
use podsift_web::{DigestMaker, LoginLimits, MadeDigest, WebConfig, WebState};
use tower::ServiceExt;

/// The pipeline's digest, made on demand (what the service wires).
struct Digests {
    store: Arc<dyn Store>,
}

#[async_trait]
impl DigestMaker for Digests {
    async fn make_digest(&self, user: &UserProfile, date: NaiveDate) -> Result<MadeDigest, String> {
        let cfg = DigestConfig {
            size: user.digest_size as usize,
            ..DigestConfig::default()
        };
        let d =
            podsift_pipeline::Digester::new(self.store.clone(), Arc::new(SystemClock), cfg, vec![]);
        Ok(
            match d
                .make_digest(user.id, date)
                .await
                .map_err(|e| e.to_string())?
            {
                podsift_pipeline::DigestOutcome::Created { .. } => MadeDigest::Created,
                podsift_pipeline::DigestOutcome::Existing { .. } => MadeDigest::Existing,
                podsift_pipeline::DigestOutcome::NothingNew { .. } => MadeDigest::NothingNew,
            },
        )
    }
}

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub store: Arc<SqlStore>,
    pub app: Router,
    pub srv: TestServer,
    pub poller: Arc<podsift_poller::Poller>,
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn env_with(limits: LoginLimits) -> Env {
    env_config(WebConfig {
        login_limits: limits,
        ..WebConfig::default()
    })
    .await
}

/// The web UI with `config` (webhooks on loopback allowed), Ann and Bob with passwords.
pub async fn env_config(config: WebConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("web.db")).await.unwrap());
    let dyn_store: Arc<dyn Store> = store.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http = HttpConfig {
        per_host_interval_ms: 0,
        ..HttpConfig::default()
    };
    let fetcher = Arc::new(podsift_fetch::HttpFetcher::new(&http, true).unwrap());
    let poller = Arc::new(podsift_poller::Poller::new(
        dyn_store.clone(),
        fetcher,
        clock.clone(),
        podsift_poller::PollerSettings::new(&PollConfig::default(), &http),
    ));
    let config = WebConfig {
        channel_options: podsift_digest::HttpChannelOptions {
            allow_http_loopback: true,
            allow_private: true,
            ..Default::default()
        },
        ..config
    };
    let state = WebState::new(dyn_store.clone(), clock, config)
        .with_poller(poller.clone())
        .with_digests(Arc::new(Digests { store: dyn_store }));
    for email in ["ann@example.org", "bob@example.org"] {
        let u = store
            .add_user(
                &NewUserProfile {
                    email: email.into(),
                    time_zone: "UTC".into(),
                    delivery_time: "07:00".into(),
                    digest_size: 5,
                    interests: None,
                    channels: vec![],
                    next_digest_at: None,
                    feed_token: format!("tok{}", email.replace(['@', '.'], "")),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let hash = podsift_web::hash_password(PASSWORD).unwrap();
        store.set_password_hash(u.id, Some(&hash)).await.unwrap();
    }
    let srv = TestServer::start().await;
    Env {
        _dir: dir,
        store,
        app: podsift_web::router(state),
        srv,
        poller,
    }
}

pub async fn env() -> Env {
    env_with(LoginLimits::default()).await
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser: a cookie jar over the router.
pub struct Browser {
    pub app: Router,
    pub cookies: HashMap<String, String>,
    pub csrf: String,
    /// The TCP peer the server sees (none: no connect info, as under `oneshot`).
    pub peer: Option<std::net::SocketAddr>,
    /// Sent as `X-Forwarded-For` (as a reverse proxy would).
    pub forwarded_for: Option<String>,
}

pub fn hidden(body: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle)? + needle.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Browser {
    pub fn new(env: &Env) -> Self {
        Self {
            app: env.app.clone(),
            cookies: HashMap::new(),
            csrf: String::new(),
            peer: None,
            forwarded_for: None,
        }
    }

    /// Requests come from this address (the peer of the connection).
    pub fn with_peer(mut self, ip: &str) -> Self {
        self.peer = Some(std::net::SocketAddr::new(ip.parse().unwrap(), 40000));
        self
    }

    /// Requests carry `X-Forwarded-For: value`.
    pub fn forwarded_for(mut self, value: &str) -> Self {
        self.forwarded_for = Some(value.into());
        self
    }

    pub async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Resp {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = req.header(header::COOKIE, cookie);
        if let Some(f) = &self.forwarded_for {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(body).unwrap();
        if let Some(peer) = self.peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let res = self.app.clone().oneshot(req).await.unwrap();
        for c in res.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path), Body::empty()).await
    }

    pub async fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        self.send(
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(form(pairs)),
        )
        .await
    }

    /// POST a form with this session's CSRF token.
    pub async fn submit(&mut self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post(path, &all).await
    }

    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let csrf = self.csrf.clone();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", csrf);
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        self.send(req, body).await
    }

    pub async fn try_login(&mut self, email: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = hidden(&page.body, "csrf").expect("login form CSRF field");
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf", csrf.as_str()),
            ],
        )
        .await
    }

    pub async fn login(&mut self, email: &str) {
        let r = self.try_login(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = self.get("/settings").await;
        assert_eq!(page.status, StatusCode::OK);
        self.csrf = hidden(&page.body, "csrf").expect("session CSRF field");
    }
}

pub const VTT: &str = "WEBVTT

00:00:01.000 --> 00:00:06.000
<v Ann>The city council approved a plan to build 500 new bike lanes by 2027.

00:00:06.500 --> 00:00:12.000
<v Ann>The plan costs 40 million dollars and is paid for by a new parking fee.
";

/// A loopback feed with one episode and its transcript; the title carries markup that must
/// never reach a page as markup.
pub fn serve_feed(srv: &TestServer, name: &str) -> String {
    serve_feed_after(srv, name, std::time::Duration::ZERO)
}

/// [`serve_feed`], answered after `delay` (a slow server).
pub fn serve_feed_after(srv: &TestServer, name: &str, delay: std::time::Duration) -> String {
    let feed = format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>City Desk {name} &lt;script&gt;alert(1)&lt;/script&gt;</title><link>https://example.com/</link>
<item><title>Bike lanes {name}</title><guid>{name}-1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate>
<description>&lt;p&gt;Notes&lt;img src=x onerror="alert(2)"&gt;&lt;script&gt;alert(3)&lt;/script&gt;&lt;/p&gt;</description>
<enclosure url="https://cdn.example.com/{name}.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item></channel></rss>"#,
        srv.url(&format!("/{name}.vtt"))
    );
    srv.route(
        &format!("/{name}.xml"),
        Route::ok(feed, "application/rss+xml").delay(delay),
    );
    srv.route(&format!("/{name}.vtt"), Route::ok(VTT, "text/vtt"));
    srv.url(&format!("/{name}.xml"))
}

pub fn draft(text: &str, start: f64) -> InsightDraft {
    InsightDraft {
        text: text.into(),
        quote: "build 500 new bike lanes by 2027".into(),
        start_seconds: start,
        end_seconds: start + 5.0,
        speaker: Some("Ann".into()),
        topics: vec![],
        importance: 0.9,
        novelty: 0.5,
        specificity: 0.8,
        chapter: None,
        // As the extraction stores it: figures checked against the windows.
        faithful_checked: true,
        ..Default::default()
    }
}

/// Ann subscribes through the page, the transcript is fetched (the poller's jobs) and two
/// insights stored (as extraction would). Returns (feed id, episode id, insight ids).
pub async fn ann_with_insights(env: &Env, ann: &mut Browser) -> (i64, i64, Vec<i64>) {
    let url = serve_feed(&env.srv, "ann");
    let r = ann.submit("/subscriptions", &[("url", url.as_str())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/subscriptions?ok=subscribed");
    env.poller.run_jobs("test", 1, |_| {}).await.unwrap();
    let user = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap();
    let feed = env.store.list_feeds(Some(user.id)).await.unwrap()[0].id;
    let ep = env.store.list_episodes(Some(feed), 10).await.unwrap()[0].id;
    assert!(env.store.get_transcript(ep).await.unwrap().is_some());
    let ids = env
        .store
        .save_extraction(
            ep,
            "test",
            &[
                draft("The council will build 500 bike lanes by 2027.", 1.0),
                draft("A new parking fee pays the 40 million dollar plan.", 6.5),
            ],
            &ExtractionReport::default(),
            None,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    (feed, ep, ids)
}
