//! Test helpers shared by every podsift crate: a loopback HTTP server with canned,
//! reconfigurable routes ([`TestServer`], [`Route`]), a fast synthetic feed farm for
//! benchmarks ([`feed_farm`]) and the location of the shared corpora ([`corpora_dir`],
//! [`require_corpora!`]).
//!
//! ```no_run
//! # async fn demo() {
//! use podsift_testkit::{Route, TestServer};
//! let server = TestServer::start().await;
//! server.route("/feed.xml", Route::ok("<rss/>", "application/rss+xml").etag("\"v1\""));
//! let url = server.url("/feed.xml");
//! // ... fetch `url` ...
//! assert_eq!(server.hits("/feed.xml"), 0);
//! # }
//! ```

pub mod assets;
pub mod directories;
mod farm;
pub mod llm;
pub mod pg;
mod route;
pub mod skip;
pub mod smtp;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use tokio::sync::watch;

pub use assets::{SpeechInputs, speech_inputs, test_asset, test_assets_dir, which};
pub use farm::feed_farm;
pub use llm::ScriptedLlm;
pub use route::Route;
pub use skip::{require_all, skip};
pub use smtp::Smtp;

/// Requests recorded per path (hits keep counting past this).
const MAX_RECORDED_PER_PATH: usize = 10_000;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `HEAD`, ...
    pub method: Method,
    /// Path and query as sent.
    pub uri: String,
    /// The request headers.
    pub headers: HeaderMap,
}

impl RecordedRequest {
    /// A request header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct PathEntry {
    route: Option<Route>,
    hits: usize,
    requests: Vec<RecordedRequest>,
}

pub(crate) struct Shared {
    paths: Mutex<HashMap<String, PathEntry>>,
    farm: Option<farm::Farm>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    total: AtomicUsize,
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    fn paths(&self) -> MutexGuard<'_, HashMap<String, PathEntry>> {
        self.paths.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A loopback HTTP/1.1 server on `127.0.0.1:<ephemeral>`; it stops when dropped.
///
/// Unknown paths answer `404`. Every request is counted ([`TestServer::hits`]) and recorded
/// ([`TestServer::requests`]), except the feed farm's, which are only counted.
pub struct TestServer {
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl TestServer {
    /// Starts an empty server. Panics if it cannot bind (a test helper).
    pub async fn start() -> TestServer {
        Self::start_with(None).await
    }

    pub(crate) async fn start_with(farm: Option<farm::FarmSpec>) -> TestServer {
        let socket = tokio::net::TcpSocket::new_v4().expect("test server: socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("test server: bind 127.0.0.1:0");
        // A deep accept queue so thousands of simultaneous connects don't hit SYN retries.
        let listener = socket.listen(8192).expect("test server: listen");
        let addr = listener.local_addr().expect("test server: local_addr");
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            paths: Mutex::new(HashMap::new()),
            farm: farm.map(|spec| farm::Farm::new(spec, addr)),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            shutdown: shutdown.clone(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let mut stopped = shutdown;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        TestServer { addr, shared, stop }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sets (or replaces) the route for `path` (exact match, query ignored).
    pub fn route(&self, path: &str, route: Route) {
        self.shared
            .paths()
            .entry(path.to_owned())
            .or_default()
            .route = Some(route);
    }

    /// Requests received for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        if let Some(n) = self.shared.farm.as_ref().and_then(|f| f.hits(path)) {
            return n;
        }
        self.shared.paths().get(path).map_or(0, |e| e.hits)
    }

    /// The requests received for `path` (the first 10,000).
    pub fn requests(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .paths()
            .get(path)
            .map(|e| e.requests.clone())
            .unwrap_or_default()
    }

    /// Requests received on all paths.
    pub fn total_requests(&self) -> usize {
        self.shared.total.load(Ordering::Relaxed)
    }

    /// The most requests that were being answered at once (from arrival until the response
    /// headers were produced, so [`Route::delay`] counts and body streaming does not).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Feed-farm `304 Not Modified` answers so far (0 for a plain server).
    pub fn not_modified_served(&self) -> usize {
        self.shared
            .farm
            .as_ref()
            .map_or(0, |f| f.not_modified_served())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    shared.total.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight::enter(&shared);
    let path = uri.path();
    if let Some(farm) = &shared.farm
        && let Some(resp) = farm.respond(path, &headers)
    {
        return resp;
    }
    let route = {
        let mut paths = shared.paths();
        let entry = paths.entry(path.to_owned()).or_default();
        let nth = entry.hits;
        entry.hits += 1;
        if entry.requests.len() < MAX_RECORDED_PER_PATH {
            entry.requests.push(RecordedRequest {
                method: method.clone(),
                uri: uri.to_string(),
                headers: headers.clone(),
            });
        }
        entry.route.as_ref().and_then(|r| r.resolve(nth)).cloned()
    };
    let Some(route) = route else {
        let mut resp = Response::new(Body::from("no route\n"));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        return resp;
    };
    if let Some(delay) = route.pre_delay() {
        let mut shutdown = shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    }
    route.respond(&headers, shared.shutdown.clone())
}

/// The shared corpora directory: `$PODSIFT_CORPORA` if set, else `<workspace>/../shared/corpora`,
/// if it exists.
pub fn corpora_dir() -> Option<PathBuf> {
    let path = match std::env::var_os("PODSIFT_CORPORA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpora"
        )),
    };
    path.is_dir().then_some(path)
}

/// Where [`corpora_dir`] looked, for skip messages.
pub fn corpora_hint() -> String {
    match std::env::var_os("PODSIFT_CORPORA") {
        Some(p) if !p.is_empty() => format!("{} (PODSIFT_CORPORA)", PathBuf::from(p).display()),
        _ => concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora").to_owned(),
    }
}

/// Evaluates to the corpora directory, or prints `SKIP: corpora not found at ...` to stderr and
/// returns from the enclosing test. `require_corpora!(value)` returns `value` instead of `()`
/// (for tests returning `Result`).
#[macro_export]
macro_rules! require_corpora {
    () => {
        $crate::require_corpora!(())
    };
    ($ret:expr) => {
        match $crate::corpora_dir() {
            Some(dir) => dir,
            None => {
                $crate::skip(
                    module_path!(),
                    &format!("corpora not found at {}", $crate::corpora_hint()),
                );
                return $ret;
            }
        }
    };
}
