//! The service's HTTP server over loopback with a real SQLite store: a client that trickles
//! its headers (slowloris) or its body is cut off, bodies are capped, requests beyond the
//! concurrency limit wait, and `/metrics` answers only loopback clients or the bearer token,
//! as `[web]` says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podsift_core::config::{MetricsAccess, WebConfig};
use podsift_core::{Clock, SystemClock};
use podsift_pipeline::DigestRecipe;
use podsift_service::{Mode, Service, ServiceError, ServiceSettings};
use podsift_store::SqlStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Running {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), ServiceError>>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("service stopped")
            .unwrap()
            .unwrap();
    }
}

fn service(store: Arc<SqlStore>, web: WebConfig, metrics_token: Option<&str>) -> Service {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let recipe = DigestRecipe {
        store: store.clone(),
        clock: clock.clone(),
        digest: Default::default(),
        ranker: None,
        feedback_secret: None,
        delivery: Default::default(),
        smtp: None,
        local_address: None,
        local_channels: Vec::new(),
        channel_options: podsift_digest::HttpChannelOptions {
            allow_http_loopback: true,
            allow_private: true,
            ..Default::default()
        },
        daily: None,
    };
    Service {
        store,
        clock,
        poller: None,
        stages: Vec::new(),
        recipe,
        directory: None,
        topics: None,
        settings: ServiceSettings {
            shutdown_grace: Duration::from_secs(2),
            worker_id: "test".into(),
            web,
            metrics_token: metrics_token.map(str::to_string),
            ..ServiceSettings::default()
        },
    }
}

async fn start(web: WebConfig, metrics_token: Option<&str>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let listener = podsift_service::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let svc = service(store, web, metrics_token);
    let handle = tokio::spawn(svc.run(Mode::Serve, Some(listener), async move {
        let _ = rx.await;
    }));
    Running {
        _dir: dir,
        addr,
        stop,
        handle,
    }
}

/// Send `request`, read the answer to the end: (status, whole response).
async fn exchange(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    read_all(&mut s).await
}

async fn read_all(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n")
}

fn limits() -> WebConfig {
    WebConfig {
        header_timeout_secs: 1,
        body_timeout_secs: 1,
        request_timeout_secs: 30,
        max_body_bytes: 1000,
        ..WebConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_headers_and_bodies_are_cut_off_and_bodies_capped() {
    let run = start(limits(), None).await;
    assert_eq!(exchange(run.addr, &get("/healthz", "")).await.0, 200);

    // Slowloris: a request line, then a header line every 300 ms, never the blank line.
    let mut s = TcpStream::connect(run.addr).await.unwrap();
    let t = Instant::now();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut cut_off = false;
    while t.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
            cut_off = true;
            break;
        }
        // The server closed the connection (or answered and closed it).
        let mut byte = [0u8; 1];
        if tokio::time::timeout(Duration::from_millis(1), s.read(&mut byte))
            .await
            .is_ok()
        {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "a client trickling headers was never cut off");
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "cut off after {:?}",
        t.elapsed()
    );

    // A body that stops arriving: answered (not held open) soon after the body timeout.
    let mut s = TcpStream::connect(run.addr).await.unwrap();
    let t = Instant::now();
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nemail=a",
    )
    .await
    .unwrap();
    let (status, text) = tokio::time::timeout(Duration::from_secs(5), read_all(&mut s))
        .await
        .expect("a stalled body is not waited for forever");
    assert!((400..500).contains(&status), "{text}");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );

    // A body over the cap: 413, whether it says its length or not.
    let big = "x".repeat(5000);
    let (status, text) = exchange(
        run.addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        ),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    let chunked = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let (status, text) = exchange(
        run.addr,
        &format!(
            "POST /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
        ),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    run.stop().await;
}

/// With one request at a time, a second waits for the first (here: until the first one's
/// whole-request timeout cuts it off).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_beyond_the_limit_wait() {
    let run = start(
        WebConfig {
            max_concurrent_requests: 1,
            request_timeout_secs: 2,
            body_timeout_secs: 30,
            ..limits()
        },
        None,
    )
    .await;
    // The first request holds the only slot: its body never comes.
    let mut first = TcpStream::connect(run.addr).await.unwrap();
    first
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nemail=a",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let (status, _) = exchange(run.addr, &get("/healthz", "")).await;
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(1200),
        "the second request did not wait: {waited:?} ({status})"
    );
    let (status, text) = tokio::time::timeout(Duration::from_secs(5), read_all(&mut first))
        .await
        .unwrap();
    assert_eq!(
        status, 408,
        "the first is cut off by the request timeout: {text}"
    );
    // Free again: answered at once.
    let t = Instant::now();
    assert_eq!(exchange(run.addr, &get("/healthz", "")).await.0, 200);
    assert!(t.elapsed() < Duration::from_secs(1));
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_for_loopback_clients_only_by_default() {
    let run = start(WebConfig::default(), None).await;
    let (status, text) = exchange(run.addr, &get("/metrics", "")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("podsift_uptime_seconds"));
    // Passed on by a reverse proxy on this host: someone elsewhere.
    let (status, _) = exchange(
        run.addr,
        &get("/metrics", "X-Forwarded-For: 203.0.113.9\r\n"),
    )
    .await;
    assert_eq!(status, 403);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_behind_a_bearer_token() {
    let token = "metrics-token-0123456789";
    let web = WebConfig {
        metrics: MetricsAccess::Token,
        ..WebConfig::default()
    };
    let run = start(web.clone(), Some(token)).await;
    let (status, text) = exchange(run.addr, &get("/metrics", "")).await;
    assert_eq!(status, 401, "no token, even on loopback: {text}");
    assert!(text.to_lowercase().contains("www-authenticate: bearer"));
    let (status, _) = exchange(
        run.addr,
        &get(
            "/metrics",
            "Authorization: Bearer metrics-token-012345678X\r\n",
        ),
    )
    .await;
    assert_eq!(status, 401, "a wrong token");
    let (status, text) = exchange(
        run.addr,
        &get("/metrics", &format!("Authorization: Bearer {token}\r\n")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("podsift_uptime_seconds"));
    // Other routes do not need it.
    assert_eq!(exchange(run.addr, &get("/healthz", "")).await.0, 200);
    run.stop().await;

    // Token mode without a usable token does not start.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let listener = podsift_service::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let r = service(store, web, Some("short"))
        .run(Mode::Serve, Some(listener), async {})
        .await;
    assert!(matches!(r, Err(ServiceError::MetricsToken(_))), "{r:?}");
}
