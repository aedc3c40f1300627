//! The daily editor in the digest, on a real SQLite store with a scripted engine: the
//! connection of two shows is stored as a candidate of its first episode and reaches the
//! digest; a rerun, and another reader of the same shows that day, store no second one; a
//! failing engine does not block the digest.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use podsift_core::config::{DigestConfig, LlmConfig};
use podsift_core::store::NewFeed;
use podsift_core::users::NewUserProfile;
use podsift_core::*;
use podsift_insights::MemoryCache;
use podsift_pipeline::{DailyEditor, DigestOutcome, Digester};
use podsift_store::SqlStore;

struct FixedClock(DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

const LINES: [&str; 2] = [
    "The union now gets eight percent of streaming revenue instead of a flat fee.",
    "Studios cut their streaming budgets by a third this year, says the report.",
];

/// The insights written from those lines (in the digest's register, not copies of them).
const INSIGHTS: [&str; 2] = [
    "The voice actors' union won 8 % of streaming revenue in place of its flat fee. Actors' \
     pay now rises and falls with how well a title streams.",
    "Studios spent a third less on streaming this year, according to the report. Producers \
     who depend on streaming commissions face fewer deals.",
];

const CONNECTION: &str = "The union now gets eight percent of streaming revenue while \
                          studios cut their streaming budgets by a third. The union's new \
                          income shrinks with the budgets it depends on.";

/// Answers the daily editor with a connection of the first two items (or fails).
struct DailyLlm {
    calls: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl Llm for DailyLlm {
    fn model_id(&self) -> String {
        "scripted:daily".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(
            req.system.contains("at most one connection"),
            "{}",
            req.system
        );
        if self.fail {
            return Err(LlmError::Server {
                status: 503,
                message: "down".into(),
            });
        }
        let text = serde_json::json!({"connections": [{"items": ["I1", "I2"],
            "text": CONNECTION, "reason": "Two shows, one squeeze."}]})
        .to_string();
        Ok(LlmResponse {
            text,
            prompt_tokens: 300,
            completion_tokens: 60,
        })
    }
}

/// Two shows the user follows, each with one episode, its transcript and one insight.
async fn seed(store: &SqlStore, user: UserId, now: DateTime<Utc>) -> Vec<EpisodeId> {
    let mut eps = Vec::new();
    for (i, line) in LINES.iter().enumerate() {
        let (feed, _) = store.subscribe(user, &feed(i, now), now).await.unwrap();
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
        let ep = store
            .upsert_episodes(feed, &[up], 3, now)
            .await
            .unwrap()
            .new_candidates[0];
        let at = 60.0 + 100.0 * i as f64;
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
                            speaker: None,
                            text: "Welcome back.".into(),
                        },
                        Segment {
                            start: at,
                            end: at + 5.0,
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
        let draft = InsightDraft {
            text: INSIGHTS[i].to_string(),
            quote: line.to_string(),
            start_seconds: at,
            end_seconds: at + 5.0,
            importance: 0.9 - 0.1 * i as f32,
            topics: vec!["media".into()],
            ..Default::default()
        };
        store
            .save_extraction(ep, "m", &[draft], &ExtractionReport::default(), None, now)
            .await
            .unwrap();
        eps.push(ep);
    }
    eps
}

fn feed(i: usize, now: DateTime<Utc>) -> NewFeed {
    NewFeed {
        url: format!("https://example.org/{i}.xml"),
        metadata: FeedMetadata {
            title: Some(format!("Show {i}")),
            ..Default::default()
        },
        next_check_at: now,
    }
}

async fn connections(store: &SqlStore, eps: &[EpisodeId]) -> Vec<CandidateInsight> {
    let mut out = Vec::new();
    for ep in eps {
        for c in store.episode_insights(*ep).await.unwrap() {
            if c.draft.topics.iter().any(|t| t == "connection") {
                out.push(c);
            }
        }
    }
    out
}

fn digester(store: &Arc<SqlStore>, now: DateTime<Utc>, llm: Arc<DailyLlm>) -> Digester {
    let cache: Arc<dyn LlmCache> = Arc::new(MemoryCache::default());
    let cfg = LlmConfig {
        daily_editor: Some(true),
        ..LlmConfig::default()
    };
    let daily = DailyEditor::from_config(llm, cache, &cfg).expect("on");
    Digester::new(
        store.clone(),
        Arc::new(FixedClock(now)),
        DigestConfig::default(),
        vec![],
    )
    .with_daily_editor(daily)
}

#[tokio::test]
async fn the_connection_is_a_candidate_in_the_digest_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("d.db")).await.unwrap());
    let now = Utc::now().trunc_subsecs(0);
    let user = store.default_user(now).await.unwrap();
    let eps = seed(&store, user, now).await;
    let llm = Arc::new(DailyLlm {
        calls: AtomicUsize::new(0),
        fail: false,
    });
    let dg = digester(&store, now, llm.clone());
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();

    let DigestOutcome::Created { digest, .. } = dg.make_digest(user, day).await.unwrap() else {
        panic!("expected a new digest");
    };
    let stored = connections(&store, &eps).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let c = &stored[0];
    assert_eq!(c.episode_id, eps[0]);
    assert_eq!(c.draft.text, CONNECTION);
    assert_eq!(c.draft.start_seconds, 60.0);
    assert_eq!(c.draft.evidence.len(), 1);
    assert_eq!(c.draft.evidence[0].episode_id, Some(eps[1]));
    assert_eq!(c.draft.evidence[0].start_seconds, 160.0);
    assert!(
        digest.insights.iter().any(|i| i.insight_id == c.id),
        "{:?}",
        digest.insights
    );
    assert_eq!(digest.stats.insights_considered, 3);
    assert_eq!(llm.calls.load(Ordering::SeqCst), 1);

    // A rerun: the digest exists, nothing is asked or stored again.
    assert!(matches!(
        dg.make_digest(user, day).await.unwrap(),
        DigestOutcome::Existing { .. }
    ));
    assert_eq!(connections(&store, &eps).await.len(), 1);
    assert_eq!(llm.calls.load(Ordering::SeqCst), 1);

    // Another reader of the same shows that day: the day's connection is already written.
    let other = store
        .add_user(
            &NewUserProfile {
                email: "b@example.org".into(),
                time_zone: "UTC".into(),
                delivery_time: "07:00".into(),
                digest_size: 5,
                interests: None,
                channels: vec![],
                next_digest_at: None,
                feed_token: "token-b-0123456789abcdef".into(),
            },
            now,
        )
        .await
        .unwrap()
        .id;
    for i in 0..LINES.len() {
        store.subscribe(other, &feed(i, now), now).await.unwrap();
    }
    let DigestOutcome::Created { digest, .. } = dg.make_digest(other, day).await.unwrap() else {
        panic!("expected the other reader's digest");
    };
    assert_eq!(connections(&store, &eps).await.len(), 1);
    assert_eq!(digest.stats.insights_considered, 3);
    assert_eq!(llm.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_daily_editor_does_not_block_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("f.db")).await.unwrap());
    let now = Utc::now().trunc_subsecs(0);
    let user = store.default_user(now).await.unwrap();
    let eps = seed(&store, user, now).await;
    let llm = Arc::new(DailyLlm {
        calls: AtomicUsize::new(0),
        fail: true,
    });
    let dg = digester(&store, now, llm.clone());
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let DigestOutcome::Created { digest, .. } = dg.make_digest(user, day).await.unwrap() else {
        panic!("expected a new digest");
    };
    assert_eq!(digest.insights.len(), 2);
    assert!(connections(&store, &eps).await.is_empty());
    assert!(llm.calls.load(Ordering::SeqCst) >= 1);
}
