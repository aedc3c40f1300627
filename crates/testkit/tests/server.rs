//! The TestServer and its routes, exercised with a real HTTP client.

use std::time::Duration;

use podsift_testkit::{Route, TestServer};
use reqwest::StatusCode;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

#[tokio::test]
async fn ok_route_counts_and_records() {
    let s = TestServer::start().await;
    s.route("/a", Route::ok("hello", "text/plain").header("x-test", "1"));
    let c = client();
    let r = c
        .get(s.url("/a?q=1"))
        .header("x-req", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.headers()["x-test"], "1");
    assert_eq!(r.text().await.unwrap(), "hello");
    c.get(s.url("/a")).send().await.unwrap();
    assert_eq!(s.hits("/a"), 2);
    let reqs = s.requests("/a");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].uri, "/a?q=1");
    assert_eq!(reqs[0].header("x-req"), Some("yes"));
    assert_eq!(reqs[1].header("x-req"), None);
    // Unknown paths: 404, still counted.
    let r = c.get(s.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.hits("/nope"), 1);
    assert_eq!(s.total_requests(), 3);
}

#[tokio::test]
async fn etag_and_last_modified_answer_304() {
    let lm = "Wed, 21 Oct 2015 07:28:00 GMT";
    let s = TestServer::start().await;
    s.route(
        "/f",
        Route::ok("body", "text/xml")
            .etag("\"abc\"")
            .last_modified(lm),
    );
    let c = client();
    let get = |h: &'static str, v: &'static str| c.get(s.url("/f")).header(h, v).send();
    assert_eq!(get("if-none-match", "\"abc\"").await.unwrap().status(), 304);
    assert_eq!(
        get("if-none-match", "W/\"abc\"").await.unwrap().status(),
        304
    );
    assert_eq!(
        get("if-none-match", "\"x\", \"abc\"")
            .await
            .unwrap()
            .status(),
        304
    );
    assert_eq!(
        get("if-none-match", "\"other\"").await.unwrap().status(),
        200
    );
    assert_eq!(get("if-modified-since", lm).await.unwrap().status(), 304);
    assert_eq!(
        get("if-modified-since", "Thu, 22 Oct 2015 00:00:00 GMT")
            .await
            .unwrap()
            .status(),
        304
    );
    assert_eq!(
        get("if-modified-since", "Tue, 20 Oct 2015 00:00:00 GMT")
            .await
            .unwrap()
            .status(),
        200
    );
    let full = c.get(s.url("/f")).send().await.unwrap();
    assert_eq!(full.headers()["etag"], "\"abc\"");
    assert_eq!(full.headers()["last-modified"], lm);
}

#[tokio::test]
async fn sequence_then_repeat_last() {
    let s = TestServer::start().await;
    s.route(
        "/s",
        Route::sequence(vec![
            Route::status(503).retry_after("7"),
            Route::redirect(302, "/elsewhere"),
            Route::ok("third", "text/plain"),
        ]),
    );
    let c = client();
    let r = c.get(s.url("/s")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "7");
    let r = c.get(s.url("/s")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/elsewhere");
    for _ in 0..3 {
        assert_eq!(
            c.get(s.url("/s"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "third"
        );
    }
    assert_eq!(s.hits("/s"), 5);
}

#[tokio::test]
async fn routes_change_while_running() {
    let s = TestServer::start().await;
    let c = client();
    s.route("/x", Route::ok("one", "text/plain"));
    assert_eq!(
        c.get(s.url("/x"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );
    s.route("/x", Route::status(410));
    assert_eq!(c.get(s.url("/x")).send().await.unwrap().status(), 410);
    assert_eq!(s.hits("/x"), 2);
}

#[tokio::test]
async fn gzip_and_brotli_are_really_encoded() {
    let body = "podcast ".repeat(500);
    let s = TestServer::start().await;
    s.route("/gz", Route::ok(body.clone(), "text/plain").gzip());
    s.route("/br", Route::ok(body.clone(), "text/plain").brotli());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_proxy()
        .build()
        .unwrap();
    for (path, enc) in [("/gz", "gzip"), ("/br", "br")] {
        let r = raw.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["content-encoding"], enc);
        let bytes = r.bytes().await.unwrap();
        assert!(
            bytes.len() < body.len() / 4,
            "{path} compressed to {}",
            bytes.len()
        );
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let decoding = reqwest::Client::builder()
        .gzip(true)
        .brotli(true)
        .no_proxy()
        .build()
        .unwrap();
    for path in ["/gz", "/br"] {
        let text = decoding
            .get(s.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, body, "{path}");
    }
}

#[tokio::test]
async fn huge_streams_exactly_n_bytes() {
    let s = TestServer::start().await;
    let n = 3 * 1024 * 1024 + 17;
    s.route("/h", Route::huge(n));
    s.route("/hc", Route::huge_chunked(n));
    let c = client();
    let r = c.get(s.url("/h")).send().await.unwrap();
    assert_eq!(r.content_length(), Some(n));
    assert_eq!(r.bytes().await.unwrap().len() as u64, n);
    let r = c.get(s.url("/hc")).send().await.unwrap();
    assert!(r.headers().get("content-length").is_none());
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len() as u64, n);
    assert!(body.iter().all(|b| *b == b'x'));
}

#[tokio::test]
async fn slow_body_arrives_whole() {
    let s = TestServer::start().await;
    s.route(
        "/slow",
        Route::slow_body("0123456789", Duration::from_millis(20)).chunk_size(3),
    );
    let r = client().get(s.url("/slow")).send().await.unwrap();
    assert_eq!(r.content_length(), Some(10));
    assert_eq!(r.text().await.unwrap(), "0123456789");
}

#[tokio::test]
async fn stall_never_finishes_until_shutdown() {
    let s = TestServer::start().await;
    s.route("/stall", Route::stall());
    let c = client();
    let r = c.get(s.url("/stall")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = tokio::spawn(async move { r.bytes().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!body.is_finished(), "stalled body must not complete");
    drop(s);
    let res = tokio::time::timeout(Duration::from_secs(10), body)
        .await
        .expect("shutdown ends the stall")
        .unwrap();
    assert!(res.is_err(), "a stalled body is cut short, never complete");
}

#[tokio::test]
async fn delay_counts_in_flight() {
    let s = TestServer::start().await;
    s.route(
        "/d",
        Route::ok("x", "text/plain").delay(Duration::from_millis(200)),
    );
    let c = client();
    let futs: Vec<_> = (0..5).map(|_| c.get(s.url("/d")).send()).collect();
    for r in futures::future::join_all(futs).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(s.max_in_flight(), 5);
}

#[test]
fn corpora_are_found_when_present() {
    let dir = podsift_testkit::require_corpora!();
    assert!(dir.is_dir());
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_some(),
        "empty corpora dir"
    );
}
