//! Extraction jobs → digest → outbox delivery, on a real SQLite store and real file delivery.
//! The model is a scripted engine here (deterministic answers, and failures on cue); the
//! real local model runs in the CLI's end-to-end test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use podsift_core::config::{DigestConfig, LlmConfig};
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_digest::FileChannel;
use podsift_pipeline::{DigestOutcome, Digester, Extractor};
use podsift_store::SqlStore;

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Answers every window with one insight quoting the window's first transcript line.
struct ScriptedLlm {
    calls: AtomicUsize,
    fail: bool,
    /// Prompt tokens each call reports.
    tokens: u64,
}

#[async_trait]
impl Llm for ScriptedLlm {
    fn model_id(&self) -> String {
        "scripted".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(LlmError::Server {
                status: 503,
                message: "down".into(),
            });
        }
        if podsift_testkit::llm::is_editor_request(&req.system) {
            return Ok(LlmResponse {
                text: podsift_testkit::llm::echo_editor_answer(&req.user).to_string(),
                prompt_tokens: self.tokens,
                completion_tokens: 20,
            });
        }
        let quote = if req.user.contains("eight percent") {
            "The union now gets eight percent of streaming revenue"
        } else {
            "Battery prices fell forty percent in two years"
        };
        let answer = serde_json::json!({"insights": [{
            "text": format!("Claim: {quote}. That changes the economics for everyone involved."),
            "quote": quote, "speaker": null, "topics": ["economics"],
            "importance": 0.9, "novelty": 0.6, "specificity": 0.8, "is_ad": false
        }]});
        Ok(LlmResponse {
            text: answer.to_string(),
            prompt_tokens: self.tokens,
            completion_tokens: 20,
        })
    }
}

struct FlakyChannel {
    fails_left: AtomicUsize,
    sent: AtomicUsize,
}

#[async_trait]
impl Channel for FlakyChannel {
    fn name(&self) -> String {
        "flaky".into()
    }
    async fn deliver(
        &self,
        _: &Digest,
        r: &RenderedDigest,
        key: &str,
    ) -> Result<String, DeliveryError> {
        assert!(r.html.contains("eight percent") || r.html.contains("forty percent"));
        if self.fails_left.load(Ordering::SeqCst) > 0 {
            self.fails_left.fetch_sub(1, Ordering::SeqCst);
            return Err(DeliveryError::Temporary("connection refused".into()));
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(key.to_string())
    }
}

async fn seed(store: &SqlStore, now: DateTime<Utc>) -> Vec<EpisodeId> {
    let user = store.default_user(now).await.unwrap();
    let mut eps = Vec::new();
    for (i, line) in [
        "The union now gets eight percent of streaming revenue instead of a flat fee.",
        "Battery prices fell forty percent in two years, says the report.",
    ]
    .iter()
    .enumerate()
    {
        let (feed, _) = store
            .subscribe(
                user,
                &NewFeed {
                    url: format!("https://example.org/{i}.xml"),
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
        let up = EpisodeUpsert {
            identity: format!("guid:{i}"),
            content_hash: "h".into(),
            episode: ParsedEpisode {
                title: Some(format!("Episode {i}")),
                enclosure: Some(Enclosure {
                    url: format!("https://cdn.example.org/{i}.mp3"),
                    mime_type: None,
                    length: None,
                }),
                ..Default::default()
            },
        };
        let stats = store.upsert_episodes(feed, &[up], 3, now).await.unwrap();
        let ep = stats.new_candidates[0];
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
                            text: line.to_string(),
                        },
                    ],
                    skipped: 0,
                    created_at: now,
                },
                None,
            )
            .await
            .unwrap();
        eps.push(ep);
    }
    eps
}

#[tokio::test]
async fn extraction_digest_and_outbox_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let clock = TestClock(Arc::new(Mutex::new(Utc::now().trunc_subsecs(0))));
    let now = clock.now();
    let eps = seed(&store, now).await;
    let user = store.default_user(now).await.unwrap();

    // A dead engine: the run goes on, the jobs wait for a retry.
    let down = Arc::new(ScriptedLlm {
        calls: AtomicUsize::new(0),
        fail: true,
        tokens: 100,
    });
    let ex = Extractor::new(
        store.clone(),
        down.clone(),
        store.clone(),
        Arc::new(clock.clone()),
        LlmConfig::default(),
    );
    assert_eq!(ex.enqueue_pending().await.unwrap(), 2);
    let reps = ex.run_jobs("w", |_| {}).await.unwrap();
    assert_eq!(reps.len(), 2);
    assert!(
        reps.iter()
            .all(|r| r.state == podsift_core::JobOutcome::Retrying && r.error.is_some())
    );
    let backlog = store
        .job_backlog(&[JobKind::ExtractInsights], clock.now())
        .await
        .unwrap();
    assert_eq!(backlog.runnable, 0, "backoff: not runnable yet");

    // The engine is back: after the backoff the episodes are extracted.
    *clock.0.lock().unwrap() += chrono::Duration::minutes(10);
    let llm = Arc::new(ScriptedLlm {
        calls: AtomicUsize::new(0),
        fail: false,
        tokens: 100,
    });
    let ex = Extractor::new(
        store.clone(),
        llm.clone(),
        store.clone(),
        Arc::new(clock.clone()),
        LlmConfig::default(),
    );
    assert_eq!(ex.enqueue_pending().await.unwrap(), 0, "already queued");
    let reps = ex.run_jobs("w", |_| {}).await.unwrap();
    assert_eq!(
        reps.iter()
            .filter(|r| r.state == podsift_core::JobOutcome::Done)
            .count(),
        2
    );
    let ins = store.episode_insights(eps[0]).await.unwrap();
    assert_eq!(ins.len(), 1);
    // Grounded: timestamps and speaker come from the transcript, not the model.
    assert_eq!(ins[0].draft.start_seconds, 61.0);
    assert_eq!(ins[0].draft.speaker.as_deref(), Some("Ann"));
    let calls = llm.calls.load(Ordering::SeqCst);
    assert!(calls >= 2);

    // Digest with a file channel and a flaky one.
    let out = dir.path().join("digests");
    let flaky = Arc::new(FlakyChannel {
        fails_left: AtomicUsize::new(1),
        sent: AtomicUsize::new(0),
    });
    let channels: Vec<Arc<dyn Channel>> = vec![Arc::new(FileChannel::new(&out)), flaky.clone()];
    let dg = Digester::new(
        store.clone(),
        Arc::new(clock.clone()),
        DigestConfig::default(),
        channels,
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let DigestOutcome::Created { digest, .. } = dg.make_digest(user, day).await.unwrap() else {
        panic!("expected a new digest");
    };
    assert_eq!(digest.insights.len(), 2);
    assert_eq!(digest.stats.episodes, 2);
    // One window and the editor per episode.
    assert_eq!(digest.stats.prompt_tokens, 400);
    assert_eq!(
        digest.insights[0]
            .link
            .as_deref()
            .map(|l| l.ends_with("#t=61")),
        Some(true)
    );
    let reps = dg.deliver_pending(|_| {}).await.unwrap();
    let results: Vec<&str> = reps.iter().map(|r| r.result.as_str()).collect();
    assert_eq!(results, ["sent", "retry"]);
    assert!(out.join("2026-11-26.html").exists());

    // A rerun the same day: same digest, nothing sent twice.
    assert!(matches!(
        dg.make_digest(user, day).await.unwrap(),
        DigestOutcome::Existing { .. }
    ));
    assert!(dg.deliver_pending(|_| {}).await.unwrap().is_empty());
    // After the backoff the flaky channel gets it, once.
    *clock.0.lock().unwrap() += chrono::Duration::hours(1);
    let reps = dg.deliver_pending(|_| {}).await.unwrap();
    assert_eq!(reps.len(), 1);
    assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);
    assert!(dg.deliver_pending(|_| {}).await.unwrap().is_empty());

    // Next day: nothing new, so no digest. A rerun of extraction costs nothing (cache).
    let next = day.succ_opt().unwrap();
    assert!(matches!(
        dg.make_digest(user, next).await.unwrap(),
        DigestOutcome::NothingNew { .. }
    ));
    assert!(
        store
            .episodes_needing_insights(10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `[llm] daily_token_budget`: what one day's extractions spent is counted from the store; an
/// episode the rest of the cap cannot read waits for the next day, and is read then.
#[tokio::test]
async fn a_spent_daily_cap_defers_episodes_to_the_next_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("c.db")).await.unwrap());
    let noon = NaiveDate::from_ymd_opt(2026, 11, 26)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    let clock = TestClock(Arc::new(Mutex::new(noon)));
    seed(&store, noon).await;
    let llm = Arc::new(ScriptedLlm {
        calls: AtomicUsize::new(0),
        fail: false,
        tokens: 1000,
    });
    // One episode costs 2000 prompt tokens (a window and the editor); what is left of the
    // cap after it is less than one window.
    let cfg = LlmConfig {
        daily_token_budget: Some(2300),
        ..LlmConfig::default()
    };
    let ex = Extractor::new(
        store.clone(),
        llm.clone(),
        store.clone(),
        Arc::new(clock.clone()),
        cfg,
    );
    assert_eq!(ex.enqueue_pending().await.unwrap(), 2);
    let reps = ex.run_jobs("w", |_| {}).await.unwrap();
    assert_eq!(reps.len(), 2, "{reps:?}");
    assert_eq!(reps[0].state, JobOutcome::Done);
    let report = reps[0].report.as_ref().unwrap();
    assert_eq!(report.cap.as_deref(), Some("daily_token_budget = 2300"));
    assert_eq!(report.read_share(), 1.0, "the cap left room for all of it");
    assert_eq!(reps[1].state, JobOutcome::Retrying);
    let err = reps[1].error.as_deref().unwrap();
    assert!(
        err.contains("daily_token_budget = 2300") && err.contains("tomorrow"),
        "{err}"
    );
    assert_eq!(
        llm.calls.load(Ordering::SeqCst),
        2,
        "no call for the deferred one"
    );
    // Still today: nothing runs.
    assert!(ex.run_jobs("w", |_| {}).await.unwrap().is_empty());
    // Tomorrow the cap renews and the episode is read.
    *clock.0.lock().unwrap() = noon + chrono::Duration::hours(13);
    let reps = ex.run_jobs("w", |_| {}).await.unwrap();
    assert_eq!(reps.len(), 1);
    assert_eq!(reps[0].state, JobOutcome::Done, "{reps:?}");
}
