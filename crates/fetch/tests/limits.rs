//! Size caps, timeouts and per-host politeness.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{MB, cfg, fetcher, fetcher_with};
use podsift_core::{FetchError, FetchRequest, Fetcher};
use podsift_testkit::{Route, TestServer};

#[tokio::test]
async fn content_length_over_cap_is_refused_before_reading() {
    let server = TestServer::start().await;
    server.route("/big", Route::huge(50 * MB));
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/big"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit, .. } if limit == MB),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.hits("/big"), 1, "TooLarge is permanent: no retry");
}

#[tokio::test]
async fn streamed_body_over_cap_is_cut_off() {
    let server = TestServer::start().await;
    server.route("/chunked", Route::huge_chunked(50 * MB));
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/chunked"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn cap_boundary_is_exact() {
    let server = TestServer::start().await;
    server.route("/exact", Route::huge_chunked(100_000));
    let f = fetcher();
    let ok = f
        .fetch(FetchRequest::get(server.url("/exact"), 100_000))
        .await
        .unwrap();
    assert_eq!(ok.body.len(), 100_000);
    let err = f
        .fetch(FetchRequest::get(server.url("/exact"), 99_999))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn decompressed_size_counts_against_the_cap() {
    // 4 MiB of zeros gzip to a few KiB: a small download, but over a 1 MiB cap once decoded.
    let server = TestServer::start().await;
    server.route(
        "/bomb",
        Route::ok(vec![0u8; 4 * MB as usize], "application/xml").gzip(),
    );
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/bomb"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn stalled_body_times_out() {
    let server = TestServer::start().await;
    server.route("/stall", Route::stall());
    let mut c = cfg();
    c.retries = 0;
    let f = fetcher_with(&c).with_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let err = f
        .fetch(FetchRequest::get(server.url("/stall"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    // Sanity only: it did end, and not before the timeout.
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn slow_body_times_out_as_a_whole() {
    // Each chunk arrives well within the timeout; the whole body does not.
    let server = TestServer::start().await;
    server.route(
        "/slow",
        Route::slow_body(vec![b'a'; 40], Duration::from_millis(100)).chunk_size(1),
    );
    let mut c = cfg();
    c.retries = 0;
    let f = fetcher_with(&c).with_timeout(Duration::from_millis(700));
    let err = f
        .fetch(FetchRequest::get(server.url("/slow"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn slow_headers_time_out_and_are_retried() {
    let server = TestServer::start().await;
    server.route(
        "/late",
        Route::sequence(vec![
            Route::ok("late", "text/plain").delay(Duration::from_secs(30)),
            Route::ok("on time", "text/plain"),
        ]),
    );
    let f = fetcher().with_timeout(Duration::from_millis(500));
    let resp = f
        .fetch(FetchRequest::get(server.url("/late"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), b"on time");
    assert_eq!(server.hits("/late"), 2);
}

#[tokio::test]
async fn per_host_concurrency_is_respected() {
    let server = TestServer::start().await;
    server.route(
        "/slow",
        Route::ok("x", "text/plain").delay(Duration::from_millis(150)),
    );
    let mut c = cfg();
    c.per_host_concurrency = 2;
    let f = Arc::new(fetcher_with(&c));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            let url = server.url("/slow");
            tokio::spawn(async move { f.fetch(FetchRequest::get(url, MB)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.hits("/slow"), 8);
    assert_eq!(
        server.max_in_flight(),
        2,
        "at most 2 in flight, and the limit was reached"
    );
}

#[tokio::test]
async fn concurrency_limit_is_per_host() {
    // Two hosts (127.0.0.1 and localhost) each get their own 1-request budget.
    let server = TestServer::start().await;
    server.route(
        "/slow",
        Route::ok("x", "text/plain").delay(Duration::from_millis(300)),
    );
    let mut c = cfg();
    c.per_host_concurrency = 1;
    let f = Arc::new(fetcher_with(&c));
    let urls = [
        server.url("/slow"),
        format!("http://localhost:{}/slow", server.addr.port()),
    ];
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let f = f.clone();
            tokio::spawn(async move { f.fetch(FetchRequest::get(url, MB)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.max_in_flight(), 2);
}

#[tokio::test]
async fn per_host_interval_spaces_requests() {
    let server = TestServer::start().await;
    server.route("/i", Route::ok("x", "text/plain"));
    let mut c = cfg();
    c.per_host_interval_ms = 100;
    let f = Arc::new(fetcher_with(&c));
    let started = Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let f = f.clone();
            let url = server.url("/i");
            tokio::spawn(async move { f.fetch(FetchRequest::get(url, MB)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Five starts at least 100 ms apart span at least 400 ms (a lower bound, not a speed test).
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}
