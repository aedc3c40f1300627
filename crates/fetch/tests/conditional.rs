//! Conditional GET, content codings, caching headers, request headers.

mod common;

use std::time::Duration;

use common::{MB, fetcher};
use podsift_core::{FetchRequest, Fetcher};
use podsift_testkit::{Route, TestServer};

const RSS: &str =
    "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title></channel></rss>";

#[tokio::test]
async fn etag_round_trip_gives_not_modified() {
    let server = TestServer::start().await;
    server.route(
        "/feed.xml",
        Route::ok(RSS, "application/rss+xml").etag("\"v1\""),
    );
    let f = fetcher();

    let first = f
        .fetch(FetchRequest::get(server.url("/feed.xml"), MB))
        .await
        .unwrap();
    assert_eq!(first.status, 200);
    assert!(!first.not_modified);
    assert_eq!(first.body.as_ref(), RSS.as_bytes());
    assert_eq!(first.etag.as_deref(), Some("\"v1\""));
    assert_eq!(first.content_type.as_deref(), Some("application/rss+xml"));

    let mut again = FetchRequest::get(server.url("/feed.xml"), MB);
    again.etag = first.etag.clone();
    let second = f.fetch(again).await.unwrap();
    assert_eq!(second.status, 304);
    assert!(second.not_modified);
    assert!(second.body.is_empty());
    assert_eq!(second.etag.as_deref(), Some("\"v1\""));

    let reqs = server.requests("/feed.xml");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("if-none-match"), None);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
}

#[tokio::test]
async fn changed_etag_gives_full_body() {
    let server = TestServer::start().await;
    server.route(
        "/feed.xml",
        Route::ok(RSS, "application/rss+xml").etag("\"v2\""),
    );
    let mut req = FetchRequest::get(server.url("/feed.xml"), MB);
    req.etag = Some("\"v1\"".into());
    let resp = fetcher().fetch(req).await.unwrap();
    assert!(!resp.not_modified);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.etag.as_deref(), Some("\"v2\""));
    assert_eq!(resp.body.len(), RSS.len());
}

#[tokio::test]
async fn last_modified_round_trip_gives_not_modified() {
    let lm = "Wed, 21 Oct 2015 07:28:00 GMT";
    let server = TestServer::start().await;
    server.route(
        "/feed.xml",
        Route::ok(RSS, "application/rss+xml").last_modified(lm),
    );
    let f = fetcher();
    let first = f
        .fetch(FetchRequest::get(server.url("/feed.xml"), MB))
        .await
        .unwrap();
    assert_eq!(first.last_modified.as_deref(), Some(lm));
    assert!(!first.not_modified);

    let mut again = FetchRequest::get(server.url("/feed.xml"), MB);
    again.last_modified = first.last_modified.clone();
    let second = f.fetch(again).await.unwrap();
    assert!(second.not_modified);
    assert!(second.body.is_empty());
    // The validator is kept for the caller even though a 304 need not repeat it.
    assert_eq!(second.last_modified.as_deref(), Some(lm));
    assert_eq!(
        server.requests("/feed.xml")[1].header("if-modified-since"),
        Some(lm)
    );
}

#[tokio::test]
async fn gzip_body_is_decoded() {
    let body = RSS.repeat(200);
    let server = TestServer::start().await;
    server.route("/gz", Route::ok(body.clone(), "application/rss+xml").gzip());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/gz"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), body.as_bytes());
    let ae = server.requests("/gz")[0]
        .header("accept-encoding")
        .unwrap_or_default()
        .to_owned();
    assert!(
        ae.contains("gzip") && ae.contains("br"),
        "accept-encoding: {ae}"
    );
}

#[tokio::test]
async fn brotli_body_is_decoded() {
    let body = RSS.repeat(200);
    let server = TestServer::start().await;
    server.route(
        "/br",
        Route::ok(body.clone(), "application/rss+xml").brotli(),
    );
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/br"), MB))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), body.as_bytes());
}

#[tokio::test]
async fn caching_headers_are_parsed() {
    let server = TestServer::start().await;
    server.route(
        "/c",
        Route::ok(RSS, "application/rss+xml")
            .cache_control("public, max-age=600")
            .header("expires", "Thu, 01 Dec 2033 16:00:00 GMT"),
    );
    server.route(
        "/nc",
        Route::ok(RSS, "text/xml").cache_control("no-cache, max-age=600"),
    );
    let f = fetcher();
    let resp = f
        .fetch(FetchRequest::get(server.url("/c"), MB))
        .await
        .unwrap();
    assert_eq!(resp.max_age, Some(Duration::from_secs(600)));
    assert_eq!(
        resp.expires.map(|d| d.to_rfc3339()),
        Some("2033-12-01T16:00:00+00:00".to_owned())
    );
    let resp = f
        .fetch(FetchRequest::get(server.url("/nc"), MB))
        .await
        .unwrap();
    assert_eq!(resp.max_age, None);
    assert_eq!(resp.expires, None);
}

#[tokio::test]
async fn user_agent_and_accept_are_sent() {
    let server = TestServer::start().await;
    server.route("/a", Route::ok(RSS, "application/rss+xml"));
    let mut req = FetchRequest::get(server.url("/a"), MB);
    req.accept = Some("application/rss+xml, application/xml;q=0.9".into());
    fetcher().fetch(req).await.unwrap();
    let r = &server.requests("/a")[0];
    assert!(r.header("user-agent").unwrap().starts_with("podsift/"));
    assert_eq!(
        r.header("accept"),
        Some("application/rss+xml, application/xml;q=0.9")
    );
}

#[tokio::test]
async fn custom_user_agent_from_config() {
    let server = TestServer::start().await;
    server.route("/a", Route::ok(RSS, "text/xml"));
    let mut cfg = common::cfg();
    cfg.user_agent = "podsift-test/9 (+https://example.invalid)".into();
    common::fetcher_with(&cfg)
        .fetch(FetchRequest::get(server.url("/a"), MB))
        .await
        .unwrap();
    assert_eq!(
        server.requests("/a")[0].header("user-agent"),
        Some("podsift-test/9 (+https://example.invalid)")
    );
}
