//! Scripted show directories on loopback, for what the real ones cannot be here (no internet):
//! the iTunes Search API (`GET /search?term=…&media=podcast&entity=podcast&limit=N`, answer
//! `{"resultCount", "results": [{"collectionName", "artistName", "feedUrl", …}]}`) and the
//! Podcast Index API (`/api/1.0/search/byterm`, `/podcasts/trending`, `/recent/feeds`,
//! `/episodes/byfeedid`) which, as the real one does, refuses a request whose auth headers
//! (`User-Agent`, `X-Auth-Key`, `X-Auth-Date` within 3 minutes, `Authorization` = lowercase
//! hex SHA-1 of key + secret + date) are missing or wrong: `401 {"status":"false", …}`.
//! Either can be told to rate-limit (`429` with `Retry-After`) or to answer garbage.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha1::Digest;

/// How a scripted directory misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mood {
    #[default]
    Fine,
    /// `429 Too Many Requests` with `Retry-After: 120`.
    Throttled,
    /// `200` with an HTML error page.
    Garbage,
}

/// One show a scripted directory knows.
#[derive(Debug, Clone)]
pub struct Listing {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub description: String,
    pub feed_url: String,
    pub categories: Vec<String>,
    pub language: String,
    /// Its place in `podcasts/trending` (None: not trending).
    pub trending: Option<usize>,
}

struct Dir {
    shows: Vec<Listing>,
    key: String,
    secret: String,
    mood: Mutex<Mood>,
    calls: AtomicUsize,
    refused: AtomicUsize,
    queries: Mutex<Vec<(String, HashMap<String, String>)>>,
}

/// A running scripted directory.
pub struct ScriptedDirectory {
    pub addr: SocketAddr,
    dir: Arc<Dir>,
}

impl ScriptedDirectory {
    /// An iTunes Search API; its base URL is [`ScriptedDirectory::base_url`].
    pub async fn itunes(shows: Vec<Listing>) -> Self {
        Self::start(shows, "", "", axum::routing::get(itunes_search), "/search").await
    }

    /// A Podcast Index API that accepts `key` and `secret`; its base URL (`…/api/1.0`) is
    /// [`ScriptedDirectory::base_url`].
    pub async fn podcast_index(shows: Vec<Listing>, key: &str, secret: &str) -> Self {
        let app = axum::Router::new()
            .route("/api/1.0/search/byterm", axum::routing::get(pi_search))
            .route(
                "/api/1.0/podcasts/trending",
                axum::routing::get(pi_trending),
            )
            .route("/api/1.0/recent/feeds", axum::routing::get(pi_recent));
        Self::serve(shows, key, secret, app).await
    }

    async fn start(
        shows: Vec<Listing>,
        key: &str,
        secret: &str,
        handler: axum::routing::MethodRouter<Arc<Dir>>,
        path: &str,
    ) -> Self {
        Self::serve(shows, key, secret, axum::Router::new().route(path, handler)).await
    }

    async fn serve(
        shows: Vec<Listing>,
        key: &str,
        secret: &str,
        app: axum::Router<Arc<Dir>>,
    ) -> Self {
        let dir = Arc::new(Dir {
            shows,
            key: key.into(),
            secret: secret.into(),
            mood: Mutex::new(Mood::Fine),
            calls: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            queries: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("scripted directory: bind");
        let addr = listener.local_addr().expect("scripted directory: addr");
        let app = app.with_state(dir.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, dir }
    }

    /// iTunes: `http://127.0.0.1:PORT`; Podcast Index: `http://127.0.0.1:PORT/api/1.0`.
    pub fn base_url(&self) -> String {
        if self.dir.key.is_empty() {
            format!("http://{}", self.addr)
        } else {
            format!("http://{}/api/1.0", self.addr)
        }
    }

    pub fn set_mood(&self, mood: Mood) {
        *self.dir.mood.lock().unwrap_or_else(|e| e.into_inner()) = mood;
    }

    /// Requests answered (any status).
    pub fn calls(&self) -> usize {
        self.dir.calls.load(Ordering::SeqCst)
    }

    /// Requests refused for bad auth.
    pub fn refused(&self) -> usize {
        self.dir.refused.load(Ordering::SeqCst)
    }

    /// Each request's path and query parameters, in order.
    pub fn queries(&self) -> Vec<(String, HashMap<String, String>)> {
        self.dir
            .queries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The Podcast Index's auth check, as its documentation states it.
fn auth_ok(dir: &Dir, h: &HeaderMap) -> bool {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let date: i64 = get("x-auth-date").parse().unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut sha = sha1::Sha1::new();
    sha.update(format!("{}{}{}", dir.key, dir.secret, get("x-auth-date")).as_bytes());
    let want = hex::encode(sha.finalize());
    !get("user-agent").is_empty()
        && get("x-auth-key") == dir.key
        && (now - date).abs() <= 180
        && get("authorization") == want
}

/// Records the call; the misbehaving answer when the mood says so.
fn prelude(dir: &Dir, path: &str, q: &HashMap<String, String>) -> Option<Response> {
    dir.calls.fetch_add(1, Ordering::SeqCst);
    dir.queries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((path.to_string(), q.clone()));
    match *dir.mood.lock().unwrap_or_else(|e| e.into_inner()) {
        Mood::Fine => None,
        Mood::Throttled => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "120")],
                "slow down",
            )
                .into_response(),
        ),
        Mood::Garbage => Some(
            (
                StatusCode::OK,
                [("content-type", "text/html")],
                "<html><body>Service Unavailable</body></html>",
            )
                .into_response(),
        ),
    }
}

/// Whether a listing matches a search: any of the term's words in its title, description or
/// categories.
fn matches(l: &Listing, term: &str) -> bool {
    let hay = format!("{} {} {}", l.title, l.description, l.categories.join(" ")).to_lowercase();
    term.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .any(|w| hay.contains(w))
}

async fn itunes_search(
    State(dir): State<Arc<Dir>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = prelude(&dir, "/search", &q) {
        return r;
    }
    let term = q.get("term").cloned().unwrap_or_default();
    if q.get("media").map(String::as_str) != Some("podcast") {
        return (StatusCode::BAD_REQUEST, "media=podcast expected").into_response();
    }
    let results: Vec<serde_json::Value> = dir
        .shows
        .iter()
        .filter(|l| matches(l, &term))
        .map(|l| {
            serde_json::json!({
                "wrapperType": "track", "kind": "podcast", "collectionId": l.id,
                "collectionName": l.title, "artistName": l.author, "feedUrl": l.feed_url,
                "primaryGenreName": l.categories.first(), "genres": l.categories,
                "trackCount": 10
            })
        })
        .collect();
    let body = serde_json::json!({"resultCount": results.len(), "results": results});
    (
        StatusCode::OK,
        [("content-type", "text/javascript; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn pi_feed(l: &Listing) -> serde_json::Value {
    let cats: serde_json::Map<String, serde_json::Value> = l
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| ((100 + i).to_string(), serde_json::Value::from(c.as_str())))
        .collect();
    serde_json::json!({
        "id": l.id, "title": l.title, "url": l.feed_url, "originalUrl": l.feed_url,
        "description": l.description, "author": l.author, "language": l.language,
        "categories": cats, "episodeCount": 10, "trendScore": 9
    })
}

async fn pi_answer(
    dir: &Dir,
    path: &str,
    h: &HeaderMap,
    q: &HashMap<String, String>,
    picked: Vec<&Listing>,
) -> Response {
    if let Some(r) = prelude(dir, path, q) {
        return r;
    }
    if !auth_ok(dir, h) {
        dir.refused.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            r#"{"status":"false","description":"Authorization failed"}"#,
        )
            .into_response();
    }
    let feeds: Vec<serde_json::Value> = picked.into_iter().map(pi_feed).collect();
    let body = serde_json::json!({"status": "true", "feeds": feeds, "count": feeds.len(),
                                  "description": "Found matching feeds"});
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn in_category(l: &Listing, q: &HashMap<String, String>) -> bool {
    let lang_ok = q
        .get("lang")
        .is_none_or(|langs| langs.split(',').any(|x| x == l.language));
    let cat_ok = q
        .get("cat")
        .is_none_or(|cats| cats.split(',').any(|c| l.categories.iter().any(|x| x == c)));
    lang_ok && cat_ok
}

async fn pi_search(
    State(dir): State<Arc<Dir>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let term = q.get("q").cloned().unwrap_or_default();
    let picked = dir.shows.iter().filter(|l| matches(l, &term)).collect();
    pi_answer(&dir, "/search/byterm", &h, &q, picked).await
}

async fn pi_trending(
    State(dir): State<Arc<Dir>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut order: Vec<&Listing> = dir
        .shows
        .iter()
        .filter(|l| l.trending.is_some() && in_category(l, &q))
        .collect();
    order.sort_by_key(|l| l.trending);
    pi_answer(&dir, "/podcasts/trending", &h, &q, order).await
}

async fn pi_recent(
    State(dir): State<Arc<Dir>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let picked = dir.shows.iter().filter(|l| in_category(l, &q)).collect();
    pi_answer(&dir, "/recent/feeds", &h, &q, picked).await
}
