//! The newsletter measure (issue 19): an instance-wide catalogue of 50 shows read for 1,000
//! readers costs the same model calls as for one reader. Each episode is read once; ranking,
//! history and the digest stay per reader. Real SQLite store; a counting scripted engine
//! (its calls are what is measured).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use podsift_core::config::{DigestConfig, LlmConfig};
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_pipeline::{Digester, Extractor};
use podsift_store::SqlStore;

const SHOWS: usize = 50;

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A region's made-up name ("Bazo"): the shows' claims differ without figures.
fn region(i: usize) -> String {
    let c = |n: usize| char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
    format!(
        "{}{}z{}",
        c(i).to_ascii_uppercase(),
        c(i / 26 + 4),
        c(i + 7)
    )
}

/// Quotes the window's "Battery prices in the … region …" line; counts every call.
struct CountingLlm {
    calls: AtomicUsize,
}

#[async_trait]
impl Llm for CountingLlm {
    fn model_id(&self) -> String {
        "counting".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if podsift_testkit::llm::is_editor_request(&req.system) {
            return Ok(LlmResponse {
                text: podsift_testkit::llm::echo_editor_answer(&req.user).to_string(),
                prompt_tokens: 100,
                completion_tokens: 20,
            });
        }
        let start = req.user.find("Battery prices in the").unwrap_or(0);
        let quote: String = req.user[start..]
            .split('.')
            .next()
            .unwrap_or("")
            .to_string();
        let answer = serde_json::json!({"insights": [{
            "text": format!("Claim: {quote}. That changes the economics for everyone involved."),
            "quote": quote, "speaker": null, "topics": ["economics"],
            "importance": 0.9, "novelty": 0.6, "specificity": 0.8, "is_ad": false
        }]});
        Ok(LlmResponse {
            text: answer.to_string(),
            prompt_tokens: 100,
            completion_tokens: 20,
        })
    }
}

/// Model calls, readers who get all 50 episodes' insights, and jobs, for `readers` readers
/// of a 50-show catalogue.
async fn newsletter(readers: usize) -> (usize, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let clock = TestClock(Arc::new(Mutex::new(Utc::now().trunc_subsecs(0))));
    let now = clock.now();
    for i in 0..SHOWS {
        let feed = store
            .ensure_feed(
                &NewFeed {
                    url: format!("https://example.org/show{i}.xml"),
                    metadata: FeedMetadata {
                        title: Some(format!("Show {i}")),
                        ..Default::default()
                    },
                    next_check_at: now,
                },
                now,
            )
            .await
            .unwrap();
        assert!(store.add_catalogue_feed(feed, now).await.unwrap());
        let up = EpisodeUpsert {
            identity: format!("guid:{i}"),
            content_hash: "h".into(),
            episode: ParsedEpisode {
                title: Some(format!("Episode {i}")),
                ..Default::default()
            },
        };
        let ep = store
            .upsert_episodes(feed, &[up], 3, now)
            .await
            .unwrap()
            .new_candidates[0];
        let line = format!(
            "Battery prices in the {} region fell forty percent in two years.",
            region(i)
        );
        store
            .save_transcript(
                &Transcript {
                    episode_id: ep,
                    source: TranscriptSource::Local { model: "t".into() },
                    language: None,
                    segments: vec![
                        Segment {
                            start: 0.0,
                            end: 4.0,
                            speaker: Some("Host".into()),
                            text: "Welcome back to the show.".into(),
                        },
                        Segment {
                            start: 61.0,
                            end: 66.0,
                            speaker: Some("Ann".into()),
                            text: line,
                        },
                    ],
                    skipped: 0,
                    created_at: now,
                },
                None,
            )
            .await
            .unwrap();
    }
    let mut users = Vec::new();
    for r in 0..readers {
        // A reader who gives only an email address and interests.
        let p = store
            .add_user(
                &podsift_core::NewUserProfile {
                    email: format!("reader{r}@example.org"),
                    time_zone: "UTC".into(),
                    delivery_time: "07:00".into(),
                    digest_size: 5,
                    interests: Some("battery prices".into()),
                    channels: Vec::new(),
                    next_digest_at: None,
                    feed_token: format!("newsletter-token-{r:06}"),
                },
                now,
            )
            .await
            .unwrap();
        assert!(
            store.list_feeds(Some(p.id)).await.unwrap().is_empty(),
            "follows nothing"
        );
        users.push(p.id);
    }
    let llm = Arc::new(CountingLlm {
        calls: AtomicUsize::new(0),
    });
    let ex = Extractor::new(
        store.clone(),
        llm.clone(),
        store.clone(),
        Arc::new(clock.clone()),
        LlmConfig::default(),
    );
    assert_eq!(ex.enqueue_pending().await.unwrap(), SHOWS);
    let done = ex.run_jobs("w", |_| {}).await.unwrap();
    assert_eq!(done.len(), SHOWS);
    // Each reader gets every catalogue episode's insights to rank (ranking, history and
    // feedback stay theirs), and makes their digest from them.
    let dg = Digester::new(
        store.clone(),
        Arc::new(clock.clone()),
        DigestConfig::default(),
        Vec::new(),
    );
    let day = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
    let mut full = 0;
    for u in &users {
        let cands = store.insight_candidates(*u, now).await.unwrap();
        assert!(cands.iter().all(|c| c.podcast.starts_with("Show ")));
        full += usize::from(cands.len() == SHOWS);
        dg.make_digest(*u, day).await.unwrap();
    }
    let extractions = store.list_jobs(None, 10_000).await.unwrap().len();
    (llm.calls.load(Ordering::SeqCst), full, extractions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_readers_cost_the_model_calls_of_one() {
    let (one_calls, one_full, one_jobs) = newsletter(1).await;
    let (many_calls, many_full, many_jobs) = newsletter(1_000).await;
    eprintln!(
        "newsletter, {SHOWS} catalogue shows: 1 reader {one_calls} model calls, {one_jobs} jobs; \
         1,000 readers {many_calls} model calls, {many_jobs} jobs"
    );
    assert!(one_calls >= SHOWS, "every episode read: {one_calls}");
    assert_eq!(many_calls, one_calls);
    assert_eq!(many_jobs, one_jobs);
    assert_eq!(one_full, 1);
    assert_eq!(
        many_full, 1_000,
        "every reader gets every catalogue episode's insights"
    );
}
