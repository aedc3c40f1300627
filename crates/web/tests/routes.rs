//! Walks the router's own route list (`podsift_web::route_paths`, the lists the router is
//! built from) so that a new route cannot miss these checks:
//!
//! - every state-changing method (POST, PUT, PATCH, DELETE) of every route refuses a
//!   cross-site request (a session cookie, the form encodings another site can send, a
//!   missing or wrong CSRF token) and changes nothing;
//! - every route with an id or a date in its path answers 404, for every method, when the
//!   id or date is another user's, and changes nothing of theirs.
//!
//! The methods a path answers are found by asking the router (405 means not routed).

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use podsift_web::WebConfig;
use support::*;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Ann's ids, put in the paths.
struct Ids {
    user: i64,
    feed: i64,
    episode: i64,
    insight: i64,
    topic: i64,
    date: &'static str,
}

/// The concrete path for `route` with Ann's ids. A new kind of path parameter fails here
/// until the test knows whose id it is.
fn concrete(route: &str, ids: &Ids) -> String {
    if !route.contains('{') {
        return route.to_string();
    }
    let id = if route.starts_with("/subscriptions/{id}") || route.starts_with("/api/feeds/{id}") {
        ids.feed
    } else if route.starts_with("/episodes/{id}") || route.starts_with("/api/episodes/{id}") {
        ids.episode
    } else if route.starts_with("/topics/{id}") {
        ids.topic
    } else if route.contains("{date}") {
        return route.replace("{date}", ids.date);
    } else {
        panic!("{route}: which kind of id is this? Teach tests/routes.rs");
    };
    route.replace("{id}", &id.to_string())
}

/// Every field any form or JSON body of the app reads, with Ann's insight where one is
/// named, so a body is never refused for a missing field before its CSRF check.
fn fields<'a>(ids: &'a [(&'a str, String)], csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("csrf", csrf)];
    f.extend(ids.iter().map(|(k, v)| (*k, v.as_str())));
    f.extend([
        ("url", "http://127.0.0.1:9/feed.xml"),
        ("topic", "grid storage"),
        ("vote", "down"),
        ("weight", "0.5"),
        ("time_zone", "UTC"),
        ("delivery_time", "07:00"),
        ("digest_size", "3"),
        ("date", "2026-03-05"),
        ("email", "ann@example.org"),
        ("password", PASSWORD),
        ("v", "down"),
        ("t", "00"),
    ]);
    f
}

fn multipart(pairs: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (k, v) in pairs {
        body.push_str(&format!(
            "--X\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str("--X\r\nContent-Disposition: form-data; name=\"opml\"; filename=\"a.opml\"\r\n\r\n<opml version=\"2.0\"><body><outline xmlUrl=\"http://127.0.0.1:9/x\"/></body></opml>\r\n--X--\r\n");
    body
}

/// Everything of Ann's a write could change.
async fn snapshot(env: &Env, ann: &mut Browser) -> String {
    let u = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap();
    let feedback = env
        .store
        .list_feedback(u.id, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap()
        .iter()
        .map(|f| (f.insight_id, f.vote))
        .collect::<Vec<_>>();
    let weights = env
        .store
        .show_weights(u.id)
        .await
        .unwrap()
        .iter()
        .map(|w| (w.feed_id, w.weight))
        .collect::<Vec<_>>();
    let topics = env
        .store
        .list_topics(podsift_core::discovery::TopicOwner::Reader(u.id))
        .await
        .unwrap()
        .iter()
        .map(|t| (t.id, t.text.clone()))
        .collect::<Vec<_>>();
    format!(
        "{u:?}\n{feedback:?}\n{weights:?}\n{topics:?}\n{}\n{}\n{}",
        ann.get("/api/feeds").await.body,
        ann.get("/api/digests").await.body,
        ann.get("/api/me").await.status,
    )
}

async fn setup() -> (Env, Browser, Ids) {
    let env = env_config(WebConfig {
        feedback_secret: Some(Arc::new(b"routes-test-secret-0123456789".to_vec())),
        ..WebConfig::default()
    })
    .await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    let (feed, episode, insights) = ann_with_insights(&env, &mut ann).await;
    let r = ann.submit("/digests", &[("date", "2026-03-01")]).await;
    assert_eq!(r.location(), "/digests/2026-03-01?ok=created");
    let ann_id = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (topic, _) = env
        .store
        .add_topic(Some(ann_id), "home batteries", chrono::Utc::now())
        .await
        .unwrap();
    let ids = Ids {
        user: ann_id,
        feed,
        episode,
        insight: insights[0],
        topic: topic.id,
        date: "2026-03-01",
    };
    (env, ann, ids)
}

/// The methods the router answers on `path` (anything but 405).
async fn methods_of(env: &Env, path: &str) -> Vec<Method> {
    let mut routed = Vec::new();
    let mut anon = Browser::new(env);
    for m in METHODS {
        let r = anon
            .send(
                Request::builder().method(m.clone()).uri(path),
                Body::empty(),
            )
            .await;
        if r.status != StatusCode::METHOD_NOT_ALLOWED {
            routed.push(m);
        }
    }
    routed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_route_refuses_a_request_without_the_csrf_token() {
    let (env, mut ann, ids) = setup().await;
    let insight = ids.insight.to_string();
    let ann_id = ids.user.to_string();
    let id_fields = vec![
        ("insight", insight.clone()),
        ("i", insight.clone()),
        ("u", ann_id),
    ];
    let before = snapshot(&env, &mut ann).await;
    let mut checked = 0;
    for route in podsift_web::route_paths() {
        let path = concrete(route, &ids);
        for method in methods_of(&env, &path).await {
            if method == Method::GET {
                continue;
            }
            for csrf in ["", "0000"] {
                let pairs = fields(&id_fields, csrf);
                // What another site's form can send: urlencoded and multipart, with the
                // victim's cookie and no X-CSRF-Token header.
                for (ctype, body) in [
                    (
                        "application/x-www-form-urlencoded".to_string(),
                        form(&pairs),
                    ),
                    (
                        "multipart/form-data; boundary=X".to_string(),
                        multipart(&pairs),
                    ),
                    ("text/plain".to_string(), form(&pairs)),
                ] {
                    let req = Request::builder()
                        .method(method.clone())
                        .uri(&path)
                        .header(header::CONTENT_TYPE, &ctype);
                    let r = ann.send(req, Body::from(body)).await;
                    // 403: the CSRF check. 400/415/422: this encoding cannot reach the
                    // handler at all (a JSON route; a form route fed multipart). Never a
                    // success, a redirect, or a server error.
                    assert!(
                        matches!(r.status.as_u16(), 403 | 400 | 415 | 422),
                        "{method} {route} ({ctype}, csrf {csrf:?}): {} {}",
                        r.status,
                        r.body
                    );
                    checked += 1;
                }
                // The encoding each route takes must meet the CSRF check itself: at least
                // one of the encodings above got a 403, or the route takes JSON only.
            }
            let pairs = fields(&id_fields, "");
            let mut refused_for_csrf = false;
            for (ctype, body) in [
                ("application/x-www-form-urlencoded", form(&pairs)),
                ("multipart/form-data; boundary=X", multipart(&pairs)),
            ] {
                let req = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::CONTENT_TYPE, ctype);
                refused_for_csrf |= ann.send(req, Body::from(body)).await.status == 403;
            }
            let json_only = {
                let req = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                ann.send(req, Body::from(form(&pairs))).await.status
                    == StatusCode::UNSUPPORTED_MEDIA_TYPE
            };
            assert!(
                refused_for_csrf || json_only,
                "{method} {route}: refused only for its encoding, never for the token"
            );
        }
    }
    assert!(
        checked > 40,
        "only {checked} requests: is the route list empty?"
    );
    assert_eq!(
        snapshot(&env, &mut ann).await,
        before,
        "a refused write changed something"
    );
    // Still signed in: POST /logout was refused too.
    assert_eq!(ann.get("/settings").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_an_id_or_date_is_404_for_another_users() {
    let (env, mut ann, ids) = setup().await;
    let mut bob = Browser::new(&env);
    bob.login("bob@example.org").await;
    let insight = ids.insight.to_string();
    let id_fields = vec![("insight", insight.clone()), ("insight_id", insight)];
    let before = snapshot(&env, &mut ann).await;
    let mut checked = Vec::new();
    for route in podsift_web::route_paths() {
        if !route.contains('{') {
            continue;
        }
        let path = concrete(route, &ids);
        // Ann reaches her own (GET).
        let methods = methods_of(&env, &path).await;
        assert!(!methods.is_empty(), "{route} answers nothing");
        if methods.contains(&Method::GET) {
            let r = ann.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "Ann GET {route}: {}", r.body);
        }
        let csrf = bob.csrf.clone();
        let pairs = fields(&id_fields, &csrf);
        for method in methods {
            let (ctype, body) = if route.starts_with("/api/") {
                let json: serde_json::Map<String, serde_json::Value> = [
                    ("weight", serde_json::json!(0.5)),
                    ("insight_id", serde_json::json!(ids.insight)),
                    ("vote", serde_json::json!("down")),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                (
                    "application/json",
                    serde_json::Value::Object(json).to_string(),
                )
            } else {
                ("application/x-www-form-urlencoded", form(&pairs))
            };
            let req = Request::builder()
                .method(method.clone())
                .uri(&path)
                .header(header::CONTENT_TYPE, ctype)
                .header("x-csrf-token", &csrf);
            let r = bob.send(req, Body::from(body)).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "Bob {method} {route}: {}",
                r.body
            );
            assert!(
                !r.body.contains("bike") && !r.body.contains("City Desk"),
                "Bob {method} {route} shows Ann's: {}",
                r.body
            );
            checked.push(format!("{method} {route}"));
        }
    }
    assert!(checked.len() >= 9, "{checked:?}");
    assert_eq!(
        snapshot(&env, &mut ann).await,
        before,
        "Bob changed Ann's things"
    );
}
