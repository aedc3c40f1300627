//! The episode page and `/api/episodes/ID` say how much of the episode was read: the share of
//! the words outside sponsor reads, the cap that cut it short, the editor's status and the
//! insights the checks dropped (with why), all escaped. A real SQLite store; the extraction
//! reports are stored as the extractor would store them.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use podsift_core::jobs::FailureKind;
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_store::SqlStore;
use podsift_web::{WebConfig, WebState};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct Env {
    _dir: tempfile::TempDir,
    app: Router,
    token: String,
    /// Read in full, capped, not read yet.
    full: EpisodeId,
    capped: EpisodeId,
    unread: EpisodeId,
    /// No transcript: speech-to-text gave up on it (too long); still waiting.
    too_long: EpisodeId,
    waiting: EpisodeId,
}

async fn bare_episode(store: &SqlStore, feed: FeedId, n: u32) -> EpisodeId {
    let up = EpisodeUpsert {
        identity: format!("guid:{n}"),
        content_hash: format!("h{n}"),
        episode: ParsedEpisode {
            title: Some(format!("Episode {n}")),
            ..Default::default()
        },
    };
    let stats = store
        .upsert_episodes(feed, &[up], 10, Utc::now())
        .await
        .unwrap();
    stats.new_candidates[0]
}

async fn episode(store: &SqlStore, feed: FeedId, n: u32) -> EpisodeId {
    let now = Utc::now();
    let up = EpisodeUpsert {
        identity: format!("guid:{n}"),
        content_hash: format!("h{n}"),
        episode: ParsedEpisode {
            title: Some(format!("Episode {n}")),
            ..Default::default()
        },
    };
    let stats = store.upsert_episodes(feed, &[up], 10, now).await.unwrap();
    let ep = stats.new_candidates[0];
    store
        .save_transcript(
            &Transcript {
                episode_id: ep,
                source: TranscriptSource::Local { model: "t".into() },
                language: None,
                segments: vec![Segment {
                    start: 0.0,
                    end: 4.0,
                    speaker: None,
                    text: "The plan costs 40 million dollars.".into(),
                }],
                skipped: 0,
                created_at: now,
            },
            None,
        )
        .await
        .unwrap();
    ep
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("web.db")).await.unwrap());
    let now = Utc::now();
    let user = store
        .add_user(
            &NewUserProfile {
                email: "ann@example.org".into(),
                time_zone: "UTC".into(),
                delivery_time: "07:00".into(),
                digest_size: 5,
                interests: None,
                channels: vec![],
                next_digest_at: None,
                feed_token: "tokannexampleorg".into(),
            },
            now,
        )
        .await
        .unwrap();
    let hash = podsift_web::hash_password(PASSWORD).unwrap();
    store.set_password_hash(user.id, Some(&hash)).await.unwrap();
    let (feed, _) = store
        .subscribe(
            user.id,
            &NewFeed {
                url: "https://example.org/feed.xml".into(),
                metadata: FeedMetadata {
                    title: Some("City Desk".into()),
                    ..Default::default()
                },
                next_check_at: now,
            },
            now,
        )
        .await
        .unwrap();
    let (full, capped, unread) = (
        episode(&store, feed, 1).await,
        episode(&store, feed, 2).await,
        episode(&store, feed, 3).await,
    );
    let full_report = ExtractionReport {
        words_total: 10_000,
        words_ad: 588,
        words_read: 9_412,
        editor: Some("wrote 2 insights from 5 claims".into()),
        dropped: vec![DroppedInsight {
            text: "<script>alert(1)</script> The plan costs 90 million dollars.".into(),
            reason: "the figure \"90 million\" is not in the transcript <b>".into(),
        }],
        ..ExtractionReport::default()
    };
    let capped_report = ExtractionReport {
        words_total: 10_000,
        words_ad: 0,
        words_read: 6_400,
        cap: Some("episode_token_budget = 8000".into()),
        ..ExtractionReport::default()
    };
    let (too_long, waiting) = (
        bare_episode(&store, feed, 4).await,
        bare_episode(&store, feed, 5).await,
    );
    // What the speech-to-text stage records for an episode over [asr] max_episode_minutes,
    // a job still waiting, and a reading still waiting.
    for ep in [too_long, waiting] {
        store
            .enqueue(&NewJob::for_episode(JobKind::Transcribe, ep, now), now)
            .await
            .unwrap();
    }
    store
        .enqueue(
            &NewJob::for_episode(JobKind::ExtractInsights, unread, now),
            now,
        )
        .await
        .unwrap();
    let job = store
        .claim(
            &[JobKind::Transcribe],
            "w",
            std::time::Duration::from_secs(60),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.episode_id(), Some(too_long));
    let too_long_error = "not transcribed: the episode is 5 h 12 min long (by the feed), over the 4 h limit ([asr] max_episode_minutes) <b>";
    store
        .fail(
            job.id,
            "w",
            too_long_error,
            FailureKind::Permanent,
            std::time::Duration::ZERO,
            now,
        )
        .await
        .unwrap();
    for (ep, report) in [(full, full_report), (capped, capped_report)] {
        store
            .save_extraction(ep, "test", &[], &report, None, now)
            .await
            .unwrap();
    }
    let app = podsift_web::router(WebState::new(
        store,
        Arc::new(SystemClock),
        WebConfig::default(),
    ));
    let req = Request::post("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({"email": "ann@example.org", "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    Env {
        _dir: dir,
        app,
        token: v["token"].as_str().unwrap().to_string(),
        full,
        capped,
        unread,
        too_long,
        waiting,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

impl Env {
    async fn get(&self, path: &str) -> String {
        let req = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        let (status, body) = send(&self.app, req).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

#[tokio::test]
async fn episode_page_says_how_much_was_read() {
    let env = env().await;
    let page = env.get(&format!("/episodes/{}", env.full)).await;
    assert!(
        page.contains("Read 100 % of the episode (9,412 of 9,412 words outside sponsor reads)."),
        "{page}"
    );
    assert!(!page.contains("Capped by"), "nothing was capped: {page}");
    assert!(
        page.contains("Editor: wrote 2 insights from 5 claims"),
        "{page}"
    );
    // The dropped insight and its reason, collapsed, escaped.
    let details = page
        .find("<details class=\"dropped\">")
        .expect("dropped insights in a closed <details>");
    let list = &page[details..];
    assert!(
        list.contains("<summary>1 insight dropped by the checks</summary>"),
        "{list}"
    );
    assert!(
        list.contains("The plan costs 90 million dollars."),
        "{list}"
    );
    assert!(
        list.contains("the figure &quot;90 million&quot; is not in the transcript &lt;b&gt;"),
        "{list}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let page = env.get(&format!("/episodes/{}", env.capped)).await;
    assert!(
        page.contains("Read 64 % of the episode (6,400 of 10,000 words outside sponsor reads)."),
        "{page}"
    );
    assert!(
        page.contains("Capped by <code>episode_token_budget = 8000</code>"),
        "{page}"
    );
    assert!(
        !page.contains("<details class=\"dropped\">"),
        "none dropped"
    );
    assert!(
        !page.contains("Editor:"),
        "no editor line without an editor"
    );

    // Not read yet: no coverage claims at all.
    let page = env.get(&format!("/episodes/{}", env.unread)).await;
    assert!(!page.contains("Read "), "{page}");
    assert!(!page.contains("class=\"coverage"), "{page}");
}

/// An episode without a transcript or a reading says why: speech-to-text gave up on it
/// (the reason, escaped), or it is waiting; on the page and in the API.
#[tokio::test]
async fn an_episode_says_why_it_has_no_transcript_or_insights_yet() {
    let env = env().await;
    let page = env.get(&format!("/episodes/{}", env.too_long)).await;
    assert!(
        page.contains("Not transcribed: not transcribed: the episode is 5 h 12 min long (by the feed), over the 4 h limit ([asr] max_episode_minutes) &lt;b&gt;"),
        "{page}"
    );
    assert!(!page.contains("No transcript yet."), "{page}");
    let page = env.get(&format!("/episodes/{}", env.waiting)).await;
    assert!(page.contains("Waiting for speech-to-text."), "{page}");
    let page = env.get(&format!("/episodes/{}", env.unread)).await;
    assert!(page.contains("Waiting for the model."), "{page}");
    // Read already: no waiting line.
    let page = env.get(&format!("/episodes/{}", env.full)).await;
    assert!(!page.contains("Waiting for"), "{page}");
    let v: serde_json::Value =
        serde_json::from_str(&env.get(&format!("/api/episodes/{}", env.too_long)).await).unwrap();
    assert!(
        v["work"]["transcript"]
            .as_str()
            .is_some_and(|s| s.contains("max_episode_minutes")),
        "{v}"
    );
    assert!(v["work"]["insights"].is_null(), "{v}");
}

#[tokio::test]
async fn episode_api_carries_the_coverage() {
    let env = env().await;
    let v: serde_json::Value =
        serde_json::from_str(&env.get(&format!("/api/episodes/{}", env.capped)).await).unwrap();
    let c = &v["coverage"];
    assert_eq!(c["read_share"], 0.64);
    assert_eq!(c["words_content"], 10_000);
    assert_eq!(c["words_read"], 6_400);
    assert_eq!(c["cap"], "episode_token_budget = 8000");
    assert_eq!(c["capped"], true);
    let v: serde_json::Value =
        serde_json::from_str(&env.get(&format!("/api/episodes/{}", env.full)).await).unwrap();
    assert_eq!(v["coverage"]["capped"], false);
    assert_eq!(v["coverage"]["words_content"], 9_412);
    assert_eq!(
        v["coverage"]["dropped"][0]["reason"]
            .as_str()
            .map(|r| r.starts_with("the figure")),
        Some(true)
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.get(&format!("/api/episodes/{}", env.unread)).await).unwrap();
    assert!(v["coverage"].is_null(), "{v}");
    // The document describes the field.
    let doc: serde_json::Value = serde_json::from_str(podsift_web::OPENAPI_JSON).unwrap();
    assert!(
        doc["components"]["schemas"]["Episode"]["properties"]["coverage"]["properties"]
            ["read_share"]
            .is_object()
    );
}
