//! Retries, Retry-After and error classification.

mod common;

use std::time::{Duration, Instant};

use common::{MB, cfg, fetcher, fetcher_with};
use podsift_core::{FetchError, FetchRequest, Fetcher};
use podsift_testkit::{Route, TestServer};

#[tokio::test]
async fn short_retry_after_is_waited_out() {
    let server = TestServer::start().await;
    server.route(
        "/rl",
        Route::sequence(vec![
            Route::status(429).retry_after("1"),
            Route::ok("fine", "text/plain"),
        ]),
    );
    let started = Instant::now();
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/rl"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), b"fine");
    assert_eq!(server.hits("/rl"), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn long_retry_after_is_returned_to_the_scheduler() {
    let server = TestServer::start().await;
    server.route("/rl", Route::status(429).retry_after("3600"));
    server.route(
        "/busy",
        Route::status(503).retry_after("Fri, 31 Dec 2100 23:59:59 GMT"),
    );
    let f = fetcher();
    let err = f
        .fetch(FetchRequest::get(server.url("/rl"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 429, retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.hits("/rl"), 1, "not retried inline");

    let err = f
        .fetch(FetchRequest::get(server.url("/busy"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.retry_after().unwrap() > Duration::from_secs(365 * 24 * 3600));
    assert_eq!(server.hits("/busy"), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let server = TestServer::start().await;
    server.route(
        "/flaky",
        Route::sequence(vec![
            Route::status(500),
            Route::status(502),
            Route::ok("ok", "text/plain"),
        ]),
    );
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/flaky"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), b"ok");
    assert_eq!(server.hits("/flaky"), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = TestServer::start().await;
    server.route("/down", Route::status(500));
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/down"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.hits("/down"), 3, "1 try + 2 retries");

    let mut c = cfg();
    c.retries = 0;
    server.route("/down0", Route::status(503));
    let _ = fetcher_with(&c)
        .fetch(FetchRequest::get(server.url("/down0"), MB))
        .await
        .unwrap_err();
    assert_eq!(server.hits("/down0"), 1);
}

#[tokio::test]
async fn client_errors_are_permanent_and_not_retried() {
    let server = TestServer::start().await;
    server.route("/gone", Route::status(410));
    let f = fetcher();
    for (path, code) in [("/missing", 404u16), ("/gone", 410)] {
        let err = f
            .fetch(FetchRequest::get(server.url(path), MB))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Status { status, retry_after: None, .. } if status == code),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(server.hits(path), 1, "{path} not retried");
    }
}

#[tokio::test]
async fn request_timeout_408_is_retried() {
    let server = TestServer::start().await;
    server.route(
        "/t",
        Route::sequence(vec![Route::status(408), Route::ok("ok", "text/plain")]),
    );
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/t"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), b"ok");
    assert_eq!(server.hits("/t"), 2);
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = fetcher()
        .fetch(FetchRequest::get(format!("http://127.0.0.1:{port}/"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn invalid_urls_are_permanent() {
    let f = fetcher();
    for url in [
        "not a url",
        "ftp://example.com/feed",
        "file:///etc/passwd",
        "http://",
        "data:,hello",
    ] {
        let err = f.fetch(FetchRequest::get(url, MB)).await.unwrap_err();
        assert!(
            matches!(err, FetchError::InvalidUrl { .. }),
            "{url}: {err:?}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn secrets_do_not_leak_into_errors() {
    let server = TestServer::start().await;
    let url = format!(
        "http://alice:hunter2@127.0.0.1:{}/private?token=s3cr3t",
        server.addr.port()
    );
    let err = fetcher()
        .fetch(FetchRequest::get(url, MB))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err:?}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("s3cr3t") && !text.contains("alice"),
        "{text}"
    );
    // The credentials were still used for the request.
    let auth = server.requests("/private")[0]
        .header("authorization")
        .map(str::to_owned);
    assert!(auth.is_some_and(|a| a.starts_with("Basic ")));
}
