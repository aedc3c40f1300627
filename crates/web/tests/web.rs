//! The web UI against a real SQLite store, real feed fetching (loopback feeds through the
//! poller the CLI uses) and the real digest pipeline: sign-in, CSRF, rate limits, every page,
//! the API, and above all that one user never reaches another's feeds, episodes, digests or
//! insights (404).

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use podsift_testkit::Route;
use support::*;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sign_out_and_csrf() {
    let env = env().await;
    let mut b = Browser::new(&env);
    let r = b.get("/digest").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fdigest");
    let r = b.get("/api/feeds").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let login = b.get("/login").await;
    assert!(
        login.body.contains("<label for=\"email\">"),
        "labelled fields"
    );
    let set = login
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    // The sign-in form's token must match its cookie.
    let r = b
        .post(
            "/login",
            &[
                ("email", "ann@example.org"),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.try_login("ann@example.org", "wrong password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("wrong email or password"));
    let r = b.try_login("nobody@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = b.try_login("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/digest");
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("podsift_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "http public URL: no Secure");
    // Only the token's hash is stored.
    let token = b.cookies["podsift_session"].clone();
    let rows: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(env.store.sqlite_pool().unwrap())
        .await
        .unwrap();
    assert!(!rows.contains(&token));
    let page = b.get("/digest").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann@example.org"));
    let csp = page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    b.csrf = hidden(&page.body, "csrf").unwrap();

    // Every POST route refuses a missing or wrong CSRF token, before doing anything.
    for path in [
        "/logout",
        "/digests",
        "/vote",
        "/subscriptions",
        "/subscriptions/1/unsubscribe",
        "/subscriptions/1/weight",
        "/settings",
    ] {
        for token in ["", "0000"] {
            let r = b
                .post(
                    path,
                    &[
                        ("csrf", token),
                        ("url", "http://x"),
                        ("insight", "1"),
                        ("vote", "up"),
                        ("weight", "1"),
                        ("time_zone", "UTC"),
                        ("delivery_time", "07:00"),
                        ("digest_size", "3"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with {token:?}");
        }
    }
    let r = b
        .send(
            Request::post("/subscriptions/import")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=X"),
            Body::from(
                "--X\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nbad\r\n--X--\r\n",
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Cookie-authenticated API writes need the header.
    let mut no_header = Browser::new(&env);
    no_header.cookies = b.cookies.clone();
    let r = no_header
        .json(
            "POST",
            "/api/feeds",
            Some(serde_json::json!({"url": "http://x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let csrf = b.csrf.clone();
    let r = b.post("/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!b.cookies.contains_key("podsift_session"));
    // The old token is dead too.
    b.cookies.insert("podsift_session".into(), token);
    assert_eq!(b.get("/digest").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_never_reaches_another_users_things() {
    let env = env().await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    let (feed, ep, ids) = ann_with_insights(&env, &mut ann).await;
    let r = ann.submit("/digests", &[("date", "2026-03-01")]).await;
    assert_eq!(r.location(), "/digests/2026-03-01?ok=created");
    let page = ann.get("/digests/2026-03-01").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("500 bike lanes"), "{}", page.body);
    assert_eq!(
        ann.get(&format!("/episodes/{ep}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        ann.get(&format!("/subscriptions/{feed}")).await.status,
        StatusCode::OK
    );

    let mut bob = Browser::new(&env);
    bob.login("bob@example.org").await;
    for path in [
        format!("/subscriptions/{feed}"),
        format!("/episodes/{ep}"),
        "/digests/2026-03-01".to_string(),
        format!("/api/feeds/{feed}"),
        format!("/api/episodes/{ep}"),
        "/api/digests/2026-03-01".to_string(),
        "/episodes/999999".to_string(),
        "/episodes/not-a-number".to_string(),
    ] {
        let r = bob.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "bob GET {path}");
        assert!(!r.body.contains("bike"), "nothing of Ann's leaks on {path}");
    }
    let insight = ids[0].to_string();
    let fid = feed.to_string();
    for (path, pairs) in [
        (
            "/vote",
            vec![("insight", insight.as_str()), ("vote", "down")],
        ),
        (&*format!("/subscriptions/{fid}/unsubscribe"), vec![]),
        (
            &*format!("/subscriptions/{fid}/weight"),
            vec![("weight", "0.5")],
        ),
    ] {
        let r = bob.submit(path, &pairs).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "bob POST {path}");
    }
    let r = bob
        .json(
            "POST",
            "/api/feedback",
            Some(serde_json::json!({"insight_id": ids[0], "vote": "down"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = bob
        .json("DELETE", &format!("/api/feeds/{feed}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = bob
        .json(
            "PUT",
            &format!("/api/feeds/{feed}/weight"),
            Some(serde_json::json!({"weight": 0.5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let bob_id = env
        .store
        .user_by_email("bob@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(
        env.store
            .list_feedback(bob_id, chrono::DateTime::UNIX_EPOCH)
            .await
            .unwrap()
            .is_empty()
    );
    // Bob's pages list nothing of Ann's.
    for path in [
        "/subscriptions",
        "/digests",
        "/digest",
        "/search?q=bike",
        "/api/feeds",
        "/api/search?q=bike",
        "/api/digests",
    ] {
        let r = bob.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.body.contains("City Desk") && !r.body.contains("bike lanes"),
            "{path}: {}",
            r.body
        );
    }
    // Ann's things are untouched, and Ann finds them by search.
    let ann_id = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(env.store.show_weights(ann_id).await.unwrap()[0].weight, 1.0);
    let s = ann.get("/search?q=bike+lanes").await;
    // Both insights (one quote has the words) and the transcript line.
    assert!(s.body.contains("3 results"), "{}", s.body);
    assert!(s.body.contains(&format!("/episodes/{ep}#t=1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_votes_episode_page_and_escaping() {
    let env = env().await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    let (_, ep, ids) = ann_with_insights(&env, &mut ann).await;
    // Digest of one insight; vote it down; the next digest has the other one.
    let csrf = ann.csrf.clone();
    let r = ann
        .post(
            "/settings",
            &[
                ("csrf", csrf.as_str()),
                ("time_zone", "UTC"),
                ("delivery_time", "07:00"),
                ("digest_size", "1"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/settings?ok=saved", "{}", r.body);
    ann.submit("/digests", &[("date", "2026-03-01")]).await;
    let first = ann.get("/digests/2026-03-01").await.body;
    let shown: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| first.contains(&format!("data-insight=\"{id}\"")))
        .collect();
    assert_eq!(shown.len(), 1, "{first}");
    let voted = shown[0].to_string();
    let r = ann
        .submit(
            "/vote",
            &[
                ("insight", voted.as_str()),
                ("vote", "down"),
                ("back", "/digests/2026-03-01"),
            ],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/digests/2026-03-01?ok=voted#i{voted}")
    );
    let again = ann.get("/digests/2026-03-01").await.body;
    assert!(
        again.contains("value=\"down\" aria-pressed=\"true\""),
        "{again}"
    );
    let ann_id = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let fb = env
        .store
        .list_feedback(ann_id, chrono::DateTime::UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!((fb[0].insight_id, fb[0].vote), (shown[0], -1));
    ann.submit("/digests", &[("date", "2026-03-02")]).await;
    let next = ann.get("/digests/2026-03-02").await.body;
    assert!(!next.contains(&format!("data-insight=\"{voted}\"")));
    assert!(
        ids.iter()
            .any(|id| next.contains(&format!("data-insight=\"{id}\"")))
    );
    let r = ann.submit("/digests", &[("date", "2026-03-03")]).await;
    assert_eq!(r.location(), "/digest?ok=nothing");
    let archive = ann.get("/digests").await.body;
    assert!(archive.contains("/digests/2026-03-02") && archive.contains("/digests/2026-03-01"));
    // An open redirect is not possible through `back`.
    let r = ann
        .submit(
            "/vote",
            &[
                ("insight", voted.as_str()),
                ("vote", "up"),
                ("back", "//evil.example/x"),
            ],
        )
        .await;
    assert!(
        r.location().starts_with("/digest?ok=voted"),
        "{}",
        r.location()
    );

    // The episode page: player, insights in time order with time links, transcript lines.
    let page = ann.get(&format!("/episodes/{ep}")).await.body;
    assert!(page.contains("<audio id=\"player\""), "{page}");
    assert!(page.contains("src=\"https://cdn.example.com/ann.mp3\""));
    let a = page.find("500 bike lanes by 2027.").unwrap();
    let b = page.find("40 million dollar plan").unwrap();
    assert!(a < b, "insights in time order");
    assert!(page.contains("href=\"#t=6\" data-t=\"6.5\""));
    assert!(
        page.contains("data-start=\"1.0\""),
        "transcript lines carry their times"
    );
    assert!(page.contains("0:06"));
    // Feed-derived markup never becomes markup.
    for p in [page.as_str(), &ann.get("/subscriptions").await.body] {
        assert!(!p.contains("<script>alert"), "{p}");
        assert!(!p.contains("onerror"), "{p}");
    }
    assert!(page.contains("City Desk ann &lt;script&gt;"));
    assert!(
        page.contains("<div class=\"notes\"><p>Notes"),
        "sanitised show notes keep safe markup: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_errors_opml_weights_and_settings() {
    let env = env().await;
    let mut ann = Browser::new(&env);
    ann.login("ann@example.org").await;
    env.srv.route("/missing.xml", Route::status(404));
    env.srv.route(
        "/page.html",
        Route::ok(
            "<html><head><title>x</title></head><body>hi</body></html>",
            "text/html",
        ),
    );
    let r = ann
        .submit(
            "/subscriptions",
            &[("url", env.srv.url("/missing.xml").as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("404"), "{}", r.body);
    assert!(r.body.contains("aria-invalid=\"true\""));
    let r = ann
        .submit(
            "/subscriptions",
            &[("url", env.srv.url("/page.html").as_str())],
        )
        .await;
    assert!(
        r.body.contains("an HTML page without a feed link"),
        "{}",
        r.body
    );
    let r = ann
        .json(
            "POST",
            "/api/feeds",
            Some(serde_json::json!({"url": env.srv.url("/page.html")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("an HTML page without a feed link"));

    // OPML: two good feeds and a bad one.
    let good1 = serve_feed(&env.srv, "one");
    let good2 = serve_feed(&env.srv, "two");
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="One" xmlUrl="{good1}"/><outline text="Folder"><outline text="Two" xmlUrl="{good2}"/></outline>
<outline text="Bad" xmlUrl="{}"/></body></opml>"#,
        env.srv.url("/missing.xml")
    );
    let body = format!(
        "--X\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--X\r\nContent-Disposition: form-data; name=\"opml\"; filename=\"subs.opml\"\r\nContent-Type: text/x-opml\r\n\r\n{opml}\r\n--X--\r\n",
        ann.csrf
    );
    let r = ann
        .send(
            Request::post("/subscriptions/import")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=X"),
            Body::from(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("Imported 2 feeds; 1 could not be subscribed."),
        "{}",
        r.body
    );
    assert!(r.body.contains("missing.xml"));
    let export = ann.get("/subscriptions/export.opml").await;
    assert!(export.body.contains(&good1) && export.body.contains(&good2));
    let feeds: serde_json::Value = serde_json::from_str(&ann.get("/api/feeds").await.body).unwrap();
    let feeds = feeds.as_array().unwrap();
    assert_eq!(feeds.len(), 2);
    assert_eq!(feeds[0]["status"], "active");
    assert!(feeds[0]["next_check"].is_string() && feeds[0]["last_checked"].is_string());
    let id = feeds[0]["id"].as_i64().unwrap();

    // Weight (clamped) and unsubscribe.
    let r = ann
        .submit(&format!("/subscriptions/{id}/weight"), &[("weight", "1.3")])
        .await;
    assert_eq!(r.location(), "/subscriptions?ok=weight");
    let r = ann
        .json(
            "PUT",
            &format!("/api/feeds/{id}/weight"),
            Some(serde_json::json!({"weight": 7})),
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["weight"], 1.5);
    let r = ann
        .submit(&format!("/subscriptions/{id}/unsubscribe"), &[])
        .await;
    assert_eq!(r.location(), "/subscriptions?ok=unsubscribed");
    assert_eq!(
        ann.get(&format!("/subscriptions/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Settings: validated like `podsift users add`; the schedule restarts.
    let r = ann
        .submit(
            "/settings",
            &[
                ("interests", "bikes, <b>trains</b>"),
                ("time_zone", "Europe/Berlin"),
                ("delivery_time", "6:30"),
                ("digest_size", "3"),
                ("webhook_url", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/settings?ok=saved", "{}", r.body);
    let u = env
        .store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            u.time_zone.as_str(),
            u.delivery_time.as_str(),
            u.digest_size
        ),
        ("Europe/Berlin", "06:30", 3)
    );
    assert_eq!(u.interests.as_deref(), Some("bikes, <b>trains</b>"));
    assert_eq!(u.channels.len(), 1);
    assert!(u.next_digest_at.is_some());
    let page = ann.get("/settings").await.body;
    assert!(page.contains("bikes, &lt;b&gt;trains&lt;/b&gt;"));
    for (field, value, expect) in [
        ("time_zone", "Mars/Base", "time zone"),
        ("delivery_time", "25:00", "time"),
        ("digest_size", "0", "digest size"),
        ("webhook_url", "http://hooks.example.org/x", "webhook URL"),
    ] {
        let mut pairs = vec![
            ("time_zone", "UTC"),
            ("delivery_time", "07:00"),
            ("digest_size", "3"),
        ];
        pairs.retain(|(k, _)| *k != field);
        pairs.push((field, value));
        let r = ann.submit("/settings", &pairs).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        assert!(
            r.body.to_lowercase().contains(&expect.to_lowercase()),
            "{field}: {}",
            r.body
        );
    }
    let v: serde_json::Value = serde_json::from_str(&ann.get("/api/settings").await.body).unwrap();
    assert_eq!(v["time_zone"], "Europe/Berlin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_with_a_bearer_token() {
    let env = env().await;
    let mut api = Browser::new(&env);
    let r = api
        .json(
            "POST",
            "/api/session",
            Some(serde_json::json!({"email": "ann@example.org", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let auth = format!("Bearer {token}");
    // No cookie, no CSRF header: the bearer token alone.
    let app = env.app.clone();
    let call = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let app = app.clone();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, auth.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
            .unwrap();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let (s, body) = call("GET", "/api/me", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("ann@example.org"));
    let url = serve_feed(&env.srv, "api");
    let (s, body) = call("POST", "/api/feeds", Some(serde_json::json!({"url": url}))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) = call("POST", "/api/feeds", Some(serde_json::json!({"url": url}))).await;
    assert_eq!(s, StatusCode::OK, "already subscribed");
    let (s, body) = call(
        "POST",
        "/api/digests",
        Some(serde_json::json!({"date": "2026-03-01"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"nothing_new\""), "{body}");
    let (s, _) = call("GET", "/api/digests/today", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call("DELETE", "/api/session", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call("GET", "/api/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Every route of the API router is in the OpenAPI document, with every method it answers,
/// and the document names no route the router lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_api_route() {
    let env = env().await;
    let mut b = Browser::new(&env);
    let doc: serde_json::Value =
        serde_json::from_str(&b.get("/api/openapi.json").await.body).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    let routed = podsift_web::api_paths();
    for p in paths.keys() {
        assert!(
            routed.contains(&p.as_str()),
            "documented but not routed: {p}"
        );
    }
    for path in routed {
        let entry = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the OpenAPI document"));
        let concrete = path.replace("{id}", "1").replace("{date}", "2026-01-01");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let req = Request::builder().method(method).uri(&concrete);
            let r = b.send(req, Body::empty()).await;
            let answered = r.status != StatusCode::METHOD_NOT_ALLOWED;
            let documented = entry.get(method.to_lowercase()).is_some();
            assert_eq!(
                answered, documented,
                "{method} {path}: routed {answered}, documented {documented}"
            );
        }
    }
}
