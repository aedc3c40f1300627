//! Manual redirect handling: limits, permanence, relative locations, SSRF on hops.

mod common;

use common::{MB, cfg, fetcher, fetcher_with};
use podsift_core::{FetchError, FetchRequest, Fetcher};
use podsift_fetch::HttpFetcher;
use podsift_testkit::{Route, TestServer};

fn ok() -> Route {
    Route::ok("<rss/>", "application/rss+xml")
}

#[tokio::test]
async fn follows_a_chain_within_the_limit() {
    let server = TestServer::start().await;
    server.route("/r1", Route::redirect(302, "/r2"));
    server.route("/r2", Route::redirect(307, "/r3"));
    server.route("/r3", Route::redirect(301, "/final"));
    server.route("/final", ok());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/r1"), MB))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.final_url, server.url("/final"));
    assert_eq!(resp.permanent_redirect, None, "302/307 hops are temporary");
    assert_eq!(resp.body.as_ref(), b"<rss/>");
    for p in ["/r1", "/r2", "/r3", "/final"] {
        assert_eq!(server.hits(p), 1, "{p}");
    }
}

#[tokio::test]
async fn too_many_redirects_is_refused() {
    let server = TestServer::start().await;
    for i in 0..4 {
        server.route(
            &format!("/h{i}"),
            Route::redirect(302, &format!("/h{}", i + 1)),
        );
    }
    server.route("/h4", ok());
    let mut c = cfg();
    c.max_redirects = 3;
    let err = fetcher_with(&c)
        .fetch(FetchRequest::get(server.url("/h0"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooManyRedirects { max: 3, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.hits("/h4"), 0);
    assert_eq!(
        server.hits("/h3"),
        1,
        "the 4th hop's redirect is read, not followed"
    );
    // Exactly at the limit is fine.
    c.max_redirects = 4;
    let resp = fetcher_with(&c)
        .fetch(FetchRequest::get(server.url("/h0"), MB))
        .await
        .unwrap();
    assert_eq!(resp.final_url, server.url("/h4"));
}

#[tokio::test]
async fn redirect_loop_ends() {
    let server = TestServer::start().await;
    server.route("/loop", Route::redirect(301, "/loop"));
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/loop"), MB))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooManyRedirects { max: 5, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.hits("/loop"),
        6,
        "1 request + 5 followed hops, no retries"
    );
}

#[tokio::test]
async fn all_permanent_hops_report_the_new_url() {
    let server = TestServer::start().await;
    server.route("/old", Route::redirect(301, "/older"));
    server.route("/older", Route::redirect(308, "/new.xml?x=1"));
    server.route("/new.xml", ok());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/old"), MB))
        .await
        .unwrap();
    assert_eq!(
        resp.permanent_redirect.as_deref(),
        Some(server.url("/new.xml?x=1").as_str())
    );
    assert_eq!(resp.final_url, server.url("/new.xml?x=1"));
}

#[tokio::test]
async fn one_temporary_hop_makes_it_temporary() {
    let server = TestServer::start().await;
    server.route("/a", Route::redirect(301, "/b"));
    server.route("/b", Route::redirect(302, "/c"));
    server.route("/c", Route::redirect(308, "/d"));
    server.route("/d", ok());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/a"), MB))
        .await
        .unwrap();
    assert_eq!(resp.permanent_redirect, None);
    assert_eq!(resp.final_url, server.url("/d"));
}

#[tokio::test]
async fn no_redirect_means_no_permanent_redirect() {
    let server = TestServer::start().await;
    server.route("/x", ok());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/x"), MB))
        .await
        .unwrap();
    assert_eq!(resp.permanent_redirect, None);
    assert_eq!(resp.final_url, server.url("/x"));
}

#[tokio::test]
async fn relative_locations_are_resolved() {
    let server = TestServer::start().await;
    server.route("/a/b/start", Route::redirect(302, "../c/next"));
    server.route("/a/c/next", Route::redirect(302, "sibling?q=1"));
    server.route("/a/c/sibling", Route::redirect(302, "/abs/end"));
    server.route(
        "/abs/end",
        Route::redirect(302, &format!("//{}/full", server.addr)),
    );
    server.route("/full", ok());
    let resp = fetcher()
        .fetch(FetchRequest::get(server.url("/a/b/start"), MB))
        .await
        .unwrap();
    assert_eq!(resp.final_url, server.url("/full"));
    assert_eq!(server.requests("/a/c/sibling")[0].uri, "/a/c/sibling?q=1");
}

#[tokio::test]
async fn conditional_headers_follow_redirects() {
    let server = TestServer::start().await;
    server.route("/moved", Route::redirect(301, "/feed"));
    server.route("/feed", ok().etag("\"e\""));
    let mut req = FetchRequest::get(server.url("/moved"), MB);
    req.etag = Some("\"e\"".into());
    let resp = fetcher().fetch(req).await.unwrap();
    assert!(resp.not_modified);
    assert_eq!(
        resp.permanent_redirect.as_deref(),
        Some(server.url("/feed").as_str())
    );
}

#[tokio::test]
async fn redirect_to_forbidden_scheme_is_refused() {
    let server = TestServer::start().await;
    server.route("/f", Route::redirect(302, "file:///etc/passwd"));
    let err = fetcher()
        .fetch(FetchRequest::get(server.url("/f"), MB))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");
}

#[test]
fn redirect_hop_check_refuses_internal_targets() {
    use podsift_fetch::ssrf::check_redirect_target;
    let base = url::Url::parse("https://feeds.example.com/podcast/feed.xml").unwrap();
    for loc in [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://2130706433/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://localhost/",
        "//10.0.0.1/x",
        "http://[::ffff:192.168.0.1]/",
    ] {
        let target = base.join(loc).unwrap();
        let err = check_redirect_target(&target, false).unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{loc}: {err:?}");
        // ...and allowed when private networks are.
        assert!(check_redirect_target(&target, true).is_ok(), "{loc}");
    }
    for loc in [
        "/other.xml",
        "https://cdn.example.org/feed",
        "//example.net/x",
    ] {
        let target = base.join(loc).unwrap();
        assert!(check_redirect_target(&target, false).is_ok(), "{loc}");
    }
}

#[tokio::test]
async fn loopback_is_refused_up_front_without_private_networks() {
    let server = TestServer::start().await;
    server.route("/feed", ok());
    let f = HttpFetcher::new(&cfg(), false).unwrap();
    for url in [
        server.url("/feed"),
        format!("http://localhost:{}/feed", server.addr.port()),
        format!("http://2130706433:{}/feed", server.addr.port()),
        format!("http://0x7f.1:{}/feed", server.addr.port()),
    ] {
        let err = f
            .fetch(FetchRequest::get(url.clone(), MB))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{url}: {err:?}");
        assert!(!err.is_retryable());
    }
    assert_eq!(server.total_requests(), 0);
}

#[tokio::test]
async fn names_resolving_to_forbidden_addresses_are_refused_after_dns() {
    use std::collections::HashMap;
    use std::net::IpAddr;
    let server = TestServer::start().await;
    server.route("/feed", ok());
    let port = server.addr.port();
    let overrides: HashMap<String, Vec<IpAddr>> = HashMap::from([
        (
            "rebind.example.com".to_owned(),
            vec!["127.0.0.1".parse().unwrap()],
        ),
        (
            "mixed.example.com".to_owned(),
            vec!["10.0.0.7".parse().unwrap(), "::1".parse().unwrap()],
        ),
        (
            "meta.example.com".to_owned(),
            vec!["169.254.169.254".parse().unwrap()],
        ),
    ]);
    let guarded = HttpFetcher::with_resolver_overrides(&cfg(), false, overrides.clone()).unwrap();
    for host in [
        "rebind.example.com",
        "mixed.example.com",
        "meta.example.com",
    ] {
        let url = format!("http://{host}:{port}/feed");
        let err = guarded
            .fetch(FetchRequest::get(url.clone(), MB))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{url}: {err:?}");
    }
    assert_eq!(server.total_requests(), 0);
    // The same name works when private networks are allowed: the override really routes.
    let open = HttpFetcher::with_resolver_overrides(&cfg(), true, overrides).unwrap();
    let resp = open
        .fetch(FetchRequest::get(
            format!("http://rebind.example.com:{port}/feed"),
            MB,
        ))
        .await
        .unwrap();
    assert_eq!(resp.body.as_ref(), b"<rss/>");
    assert_eq!(server.hits("/feed"), 1);
}
