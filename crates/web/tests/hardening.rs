//! The web service's hardening, against the real router and a real SQLite store: a digest's
//! vote link records nothing on GET (mail scanners follow links), failed sign-ins slow the
//! guesser and never lock the owner out, and `X-Forwarded-For` is believed only from trusted
//! proxies.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use podsift_digest::{FeedbackVote, feedback_token};
use podsift_web::{LoginLimits, WebConfig};
use support::*;

const SECRET: &[u8] = b"test-feedback-secret-0123456789";

async fn user_id(env: &Env, email: &str) -> i64 {
    env.store.user_by_email(email).await.unwrap().unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_link_asks_on_get_and_votes_on_post() {
    let env = env_config(WebConfig {
        feedback_secret: Some(Arc::new(SECRET.to_vec())),
        ..WebConfig::default()
    })
    .await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    let (_, _, ids) = ann_with_insights(&env, &mut ann).await;
    let ann_id = user_id(&env, "ann@example.org").await;
    let token = feedback_token(SECRET, ids[0], FeedbackVote::Down, ann_id);
    let link = format!("/feedback?i={}&v=down&u={ann_id}&t={token}", ids[0]);

    // A mail scanner (no cookies) follows the link, twice, and HEADs it.
    let mut scanner = Browser::new(&env);
    let page = scanner.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    scanner
        .send(axum::http::Request::head(&link), Default::default())
        .await;
    scanner.get(&link).await;
    let votes = env
        .store
        .list_feedback(ann_id, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert!(votes.is_empty(), "a GET recorded {votes:?}");
    // The page shows the vote and the insight, and a form that posts the link's fields.
    assert!(
        page.body
            .contains("The council will build 500 bike lanes by 2027."),
        "{}",
        page.body
    );
    assert!(page.body.contains("👎"));
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/feedback\">")
    );
    let field = |name: &str| hidden(&page.body, name).unwrap_or_default();
    assert_eq!(field("t"), token);
    let (i, v, u, t) = (field("i"), field("v"), field("u"), field("t"));

    // Pressing the button votes (no session, no CSRF token: the link's signature is the key).
    let r = scanner
        .post("/feedback", &[("i", &i), ("v", &v), ("u", &u), ("t", &t)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Thanks"));
    let votes = env
        .store
        .list_feedback(ann_id, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(
        votes
            .iter()
            .map(|f| (f.insight_id, f.vote))
            .collect::<Vec<_>>(),
        vec![(ids[0], -1)]
    );
    // The signature covers the vote, the insight and the user.
    let bob_id = user_id(&env, "bob@example.org").await.to_string();
    let other_insight = ids[1].to_string();
    for (i, v, u) in [
        (i.as_str(), "up", u.as_str()),
        (other_insight.as_str(), "down", u.as_str()),
        (i.as_str(), "down", bob_id.as_str()),
    ] {
        let r = scanner
            .post("/feedback", &[("i", i), ("v", v), ("u", u), ("t", &t)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{i} {v} {u}");
        let q = format!("/feedback?i={i}&v={v}&u={u}&t={t}");
        assert_eq!(scanner.get(&q).await.status, StatusCode::FORBIDDEN, "{q}");
    }
    let votes = env
        .store
        .list_feedback(ann_id, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(votes.len(), 1);
    assert!(
        env.store
            .list_feedback(bob_id.parse().unwrap(), chrono::DateTime::UNIX_EPOCH)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_links_are_404_without_a_secret() {
    let env = env().await;
    let mut b = Browser::new(&env);
    let r = b.get("/feedback?i=1&v=up&u=1&t=00").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = b
        .post(
            "/feedback",
            &[("i", "1"), ("v", "up"), ("u", "1"), ("t", "00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn limits() -> LoginLimits {
    LoginLimits {
        free_failures: 2,
        free_failures_per_ip: 4,
        base_delay: Duration::from_millis(800),
        max_delay: Duration::from_secs(600),
    }
}

/// Failed sign-ins make the guesser wait longer and longer; they never lock the owner out:
/// not from her own address, and not from the guesser's once the wait is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_slow_the_guesser_and_never_lock_out_the_owner() {
    let env = env_with(limits()).await;
    let ann = "ann@example.org";
    let mut guesser = Browser::new(&env).with_peer("198.51.100.7");
    for _ in 0..2 {
        let r = guesser.try_login(ann, "nope nope nope").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The next attempt from there waits, whatever the password.
    let r = guesser.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "1");
    assert!(r.body.contains("too many sign-in attempts"), "{}", r.body);
    // Ann, from her own address, signs in at once.
    let mut owner = Browser::new(&env).with_peer("203.0.113.5");
    let r = owner.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // After the wait, the right password gets in from the guesser's address too.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = guesser.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The wait doubles with each failure in a row (success started the count again).
    let mut g = Browser::new(&env).with_peer("198.51.100.8");
    for _ in 0..2 {
        g.try_login(ann, "wrong wrong").await;
    }
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = g.try_login(ann, "wrong again").await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the wait was over"
    );
    let r = g.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "2");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = g.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "1.6 s this time");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let r = g.try_login(ann, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // One address trying many accounts waits too.
    let mut spray = Browser::new(&env).with_peer("192.0.2.44");
    for n in 0..4 {
        let r = spray.try_login(&format!("u{n}@example.org"), "x").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = spray.try_login("bob@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "per-address wait");
}

/// Behind a reverse proxy the client is the forwarded address, but only when the peer is a
/// trusted proxy: otherwise every user would share the proxy's wait, and anyone could claim
/// any address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let trusted: Vec<podsift_core::config::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let env = env_config(WebConfig {
        login_limits: limits(),
        trusted_proxies: trusted,
        ..WebConfig::default()
    })
    .await;
    let ann = "ann@example.org";
    let mut guesser = Browser::new(&env)
        .with_peer("10.0.0.2")
        .forwarded_for("198.51.100.7");
    for _ in 0..2 {
        guesser.try_login(ann, "nope nope nope").await;
    }
    assert_eq!(
        guesser.try_login(ann, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Ann through the same proxy: her own address, not slowed.
    let mut owner = Browser::new(&env)
        .with_peer("10.0.0.2")
        .forwarded_for("203.0.113.5");
    assert_eq!(
        owner.try_login(ann, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // A client that writes the guesser's address into the header itself, past the proxy:
    // the proxy appends the real one, which is what counts.
    let mut forger = Browser::new(&env)
        .with_peer("10.0.0.2")
        .forwarded_for("203.0.113.5, 198.51.100.7");
    assert_eq!(
        forger.try_login(ann, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right-most untrusted entry"
    );
    // A peer that is not a trusted proxy is itself, whatever its header says.
    let mut direct = Browser::new(&env)
        .with_peer("192.0.2.9")
        .forwarded_for("198.51.100.7");
    assert_eq!(
        direct.try_login(ann, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // Without the proxy in the list, everyone behind it is the proxy: one shared wait.
    let env = env_with(limits()).await;
    let mut guesser = Browser::new(&env)
        .with_peer("10.0.0.2")
        .forwarded_for("198.51.100.7");
    for _ in 0..2 {
        guesser.try_login(ann, "nope nope nope").await;
    }
    let mut owner = Browser::new(&env)
        .with_peer("10.0.0.2")
        .forwarded_for("203.0.113.5");
    assert_eq!(
        owner.try_login(ann, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The private feed's URL is replaced from the settings page (with the session's CSRF
/// token only): the old token finds no one, the new one the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_feed_url_can_be_replaced() {
    let env = env().await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    let old = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap()
        .feed_token;
    let page = ann.get("/settings").await.body;
    assert!(page.contains(&format!("/feeds/{old}.atom")), "{page}");
    assert!(page.contains("action=\"/settings/feed-token\""));

    // Without the CSRF token (a cross-site form): refused, nothing changes.
    for token in ["", "0000"] {
        let r = ann.post("/settings/feed-token", &[("csrf", token)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert!(env.store.user_by_feed_token(&old).await.unwrap().is_some());

    let r = ann.submit("/settings/feed-token", &[]).await;
    assert_eq!(r.location(), "/settings?ok=feed_token");
    let ann_now = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap();
    let new = ann_now.feed_token;
    assert_ne!(new, old);
    assert_eq!(new.len(), 64);
    assert!(env.store.user_by_feed_token(&old).await.unwrap().is_none());
    assert_eq!(
        env.store
            .user_by_feed_token(&new)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ann_now.id)
    );
    let page = ann.get("/settings?ok=feed_token").await.body;
    assert!(page.contains(&format!("/feeds/{new}.atom")), "{page}");
    assert!(!page.contains(&old));
    assert!(page.contains("the old one no longer works"));
    // Bob's token is untouched.
    assert!(
        env.store
            .user_by_feed_token("tokbobexampleorg")
            .await
            .unwrap()
            .is_some()
    );

    // The API: a bearer request, the new URL in the answer.
    let r = ann.json("POST", "/api/settings/feed-token", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let url = v["feed_url"].as_str().unwrap();
    assert!(!url.contains(&new), "{url}");
    let mut no_csrf = Browser::new(&env);
    no_csrf.cookies = ann.cookies.clone();
    let r = no_csrf.json("POST", "/api/settings/feed-token", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "cookie without the header");
}

/// Every API body is a JSON object: serde would read a struct from an array of its fields
/// (`[null]` made today's digest, found by schemathesis); such bodies are refused with 422,
/// and the object form still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bodies_that_are_not_objects_are_refused() {
    let env = env().await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    for (path, body) in [
        ("/api/digests", serde_json::json!([null])),
        (
            "/api/feeds",
            serde_json::json!(["https://example.org/feed.xml"]),
        ),
        ("/api/digests", serde_json::json!("2026-03-01")),
    ] {
        let r = ann.json("POST", path, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {}",
            r.body
        );
        assert!(r.body.contains("JSON object"), "{}", r.body);
    }
    let r = ann
        .json(
            "POST",
            "/api/digests",
            Some(serde_json::json!({"date": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
