//! Adding feeds on the web fetches them in the background, not inside the request: a slow
//! feed is answered "being added" and appears when it is ready, a feed that fails says why
//! on the subscriptions page, and one user cannot have more than `max_pending_feed_adds`
//! waiting. A real SQLite store, real loopback feeds through the CLI's poller.

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use podsift_testkit::Route;
use podsift_web::WebConfig;
use support::*;

async fn feed_count(ann: &mut Browser) -> usize {
    let feeds: serde_json::Value = serde_json::from_str(&ann.get("/api/feeds").await.body).unwrap();
    feeds.as_array().unwrap().len()
}

async fn eventually(ann: &mut Browser, what: &str, mut done: impl FnMut(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = ann.get("/subscriptions").await.body;
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_feeds_are_added_in_the_background_and_failures_say_why() {
    let env = env_config(WebConfig {
        add_feed_wait: Duration::from_millis(300),
        max_pending_feed_adds: 2,
        ..WebConfig::default()
    })
    .await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;

    // Quick: answered as before, subscribed within the wait.
    let quick = serve_feed(&env.srv, "quick");
    let r = ann
        .submit("/subscriptions", &[("url", quick.as_str())])
        .await;
    assert_eq!(r.location(), "/subscriptions?ok=subscribed");
    assert_eq!(feed_count(&mut ann).await, 1);

    // Slow (2 s, past the 300 ms wait): "being added", then there.
    let slow = serve_feed_after(&env.srv, "slow", Duration::from_secs(2));
    let started = Instant::now();
    let r = ann
        .submit("/subscriptions", &[("url", slow.as_str())])
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the request waited for the feed"
    );
    assert_eq!(r.location(), "/subscriptions?ok=pending");
    let page = ann.get("/subscriptions?ok=pending").await.body;
    assert!(
        page.contains("being fetched and checked in the background"),
        "{page}"
    );
    assert!(
        page.contains("Being added") && page.contains("/slow.xml"),
        "{page}"
    );
    eventually(&mut ann, "the slow feed", |p| !p.contains("Being added")).await;
    assert_eq!(feed_count(&mut ann).await, 2);

    // One that fails, slowly: the reason shows once it is known.
    env.srv.route(
        "/gone.xml",
        Route::status(404).delay(Duration::from_millis(800)),
    );
    let r = ann
        .submit(
            "/subscriptions",
            &[("url", env.srv.url("/gone.xml").as_str())],
        )
        .await;
    assert_eq!(r.location(), "/subscriptions?ok=pending");
    let page = eventually(&mut ann, "the failure", |p| {
        p.contains("Could not be added")
    })
    .await;
    assert!(page.contains("/gone.xml") && page.contains("404"), "{page}");

    // The cap: two slow ones waiting, a third is refused (429, said next to the form).
    for n in ["s1", "s2"] {
        env.srv.route(
            &format!("/{n}.xml"),
            Route::ok("<rss/>", "application/rss+xml").delay(Duration::from_secs(3)),
        );
        let r = ann
            .submit(
                "/subscriptions",
                &[("url", env.srv.url(&format!("/{n}.xml")).as_str())],
            )
            .await;
        assert_eq!(r.location(), "/subscriptions?ok=pending");
    }
    let r = ann
        .submit(
            "/subscriptions",
            &[("url", env.srv.url("/s3.xml").as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(
        r.body.contains("2 feeds are already being added"),
        "{}",
        r.body
    );
    let r = ann
        .json(
            "POST",
            "/api/feeds",
            Some(serde_json::json!({"url": env.srv.url("/s4.xml")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // Another user is not held up by Ann's queue of waiting feeds.
    let mut bob = Browser::new(&env);
    bob.login("bob@example.org").await;
    let bobs = serve_feed(&env.srv, "bobs");
    let r = bob
        .json("POST", "/api/feeds", Some(serde_json::json!({"url": bobs})))
        .await;
    assert!(
        r.status == StatusCode::CREATED || r.status == StatusCode::ACCEPTED,
        "{}: {}",
        r.status,
        r.body
    );
}
