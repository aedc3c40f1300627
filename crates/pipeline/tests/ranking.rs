//! The digest with the embeddings engine, on a real SQLite store: the same claim on two
//! shows is one pick "also discussed on" the other; the next day does not repeat it; 👎 on
//! everything moves scores but never empties a digest; signed 👍/👎 links in delivery.
//! The embedder is a tiny deterministic bag-of-words one (MiniLM itself is tested in the
//! ranking crate and the CLI).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use podsift_core::config::{DigestConfig, RankingConfig};
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_pipeline::{DigestOutcome, Digester, Ranker};
use podsift_ranking::{Embedder, RankError};
use podsift_store::SqlStore;

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Hashed bag of words, L2-normalised: texts sharing most words are close, texts sharing
/// none are orthogonal.
struct WordsEmbedder;

const DIM: usize = 512;

impl Embedder for WordsEmbedder {
    fn model_id(&self) -> &str {
        "test-words"
    }
    fn dimension(&self) -> usize {
        DIM
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RankError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; DIM];
                for w in t
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 2)
                {
                    // FNV-1a: stable across runs and platforms.
                    let mut h: u64 = 0xcbf29ce484222325;
                    for b in w.to_lowercase().bytes() {
                        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
                    }
                    v[(h % DIM as u64) as usize] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

/// Records what it was given.
struct Capture(Mutex<Vec<RenderedDigest>>);

#[async_trait]
impl Channel for Capture {
    fn name(&self) -> String {
        "capture".into()
    }
    async fn deliver(
        &self,
        _: &Digest,
        r: &RenderedDigest,
        key: &str,
    ) -> Result<String, DeliveryError> {
        self.0.lock().unwrap().push(r.clone());
        Ok(key.to_string())
    }
}

fn draft(text: &str) -> InsightDraft {
    InsightDraft {
        text: text.to_string(),
        quote: String::new(),
        start_seconds: 10.0,
        end_seconds: 20.0,
        speaker: None,
        topics: vec![],
        importance: 0.8,
        novelty: 0.6,
        specificity: 0.7,
        chapter: None,
        ..Default::default()
    }
}

/// A show with one episode holding `texts` as its insights.
async fn show(
    store: &SqlStore,
    user: UserId,
    name: &str,
    ep: &str,
    texts: &[&str],
    now: DateTime<Utc>,
) {
    let (feed, _) = store
        .subscribe(
            user,
            &NewFeed {
                url: format!("https://example.org/{}.xml", name.replace(' ', "-")),
                metadata: FeedMetadata {
                    title: Some(name.to_string()),
                    ..Default::default()
                },
                next_check_at: now,
            },
            now,
        )
        .await
        .unwrap();
    let up = EpisodeUpsert {
        identity: format!("guid:{ep}"),
        content_hash: "h".into(),
        episode: ParsedEpisode {
            title: Some(ep.to_string()),
            ..Default::default()
        },
    };
    let stats = store.upsert_episodes(feed, &[up], 3, now).await.unwrap();
    let id = stats
        .new_candidates
        .first()
        .copied()
        .expect("a new candidate episode");
    let drafts: Vec<InsightDraft> = texts.iter().map(|t| draft(t)).collect();
    store
        .save_extraction(id, "m", &drafts, &ExtractionReport::default(), None, now)
        .await
        .unwrap();
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<SqlStore>,
    clock: TestClock,
    user: UserId,
    capture: Arc<Capture>,
    digester: Digester,
}

async fn setup(base_url: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("r.db")).await.unwrap());
    let clock = TestClock(Arc::new(Mutex::new(Utc::now().trunc_subsecs(0))));
    let user = store.default_user(clock.now()).await.unwrap();
    let capture = Arc::new(Capture(Mutex::new(Vec::new())));
    let cfg = DigestConfig {
        base_url: base_url.map(str::to_string),
        ..DigestConfig::default()
    };
    let digester = Digester::new(
        store.clone(),
        Arc::new(clock.clone()),
        cfg,
        vec![capture.clone() as Arc<dyn Channel>],
    )
    .with_ranker(Ranker::new(
        Arc::new(WordsEmbedder),
        RankingConfig::default(),
    ))
    .with_feedback_secret(b"a test secret of some length".to_vec());
    Setup {
        _dir: dir,
        store,
        clock,
        user,
        capture,
        digester,
    }
}

// Insights in the digest's register (two sentences, a figure or names, what follows), so
// that the ranking's register check lets them through and their order is the test's.
const WIDGET_A: &str = "Acme shipped Widget 2.0 with builds forty percent faster than before. \
Teams with large codebases save time on every change, and rival build tools lose their edge.";
const WIDGET_B: &str = "Acme shipped Widget 2.0, whose builds run forty percent faster than \
before. Large codebases save minutes on every change, and rival build tools lose their edge.";
const WIDGET_C: &str = "Acme shipped Widget 2.0 and builds are forty percent faster than \
before. Developers on big projects wait less, so rival build tools lose their edge.";
const BATTERY: &str = "Battery prices fell sharply over two years, according to analysts at \
BloombergNEF. Home storage gets cheaper for households, and utilities lose evening demand.";
const UNION: &str = "The voice actors' union negotiated an eight percent share of streaming \
revenue. Actors' income now tracks a title's success, and studios share the risk of a flop.";
const FUSION: &str = "Helion, a fusion startup, reached a plasma ignition milestone in its \
latest experiment. Investors gain evidence for the design, and rival fusion firms face pressure.";
const RECYCLING: &str = "Battery recycling plants across Europe doubled their output this \
year, says Fastmarkets. Carmakers gain a cheaper local supply, and miners lose pricing power.";

async fn created(s: &Setup, day: NaiveDate) -> Digest {
    match s.digester.make_digest(s.user, day).await.unwrap() {
        DigestOutcome::Created { digest, .. } => digest,
        other => panic!("expected a new digest, got {other:?}"),
    }
}

#[tokio::test]
async fn same_claim_on_two_shows_is_one_pick_and_the_next_day_does_not_repeat_it() {
    let s = setup(None).await;
    let now = s.clock.now();
    show(&s.store, s.user, "Show A", "A1", &[WIDGET_A, BATTERY], now).await;
    show(&s.store, s.user, "Show B", "B1", &[WIDGET_B], now).await;
    show(&s.store, s.user, "Show C", "C1", &[UNION], now).await;

    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let d1 = created(&s, day).await;
    let texts: Vec<&str> = d1.insights.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(d1.insights.len(), 3, "{texts:?}");
    let widget: Vec<_> = d1
        .insights
        .iter()
        .filter(|i| i.text.contains("Widget"))
        .collect();
    assert_eq!(widget.len(), 1, "one pick for the shared claim: {texts:?}");
    let other = if widget[0].podcast == "Show A" {
        "Show B"
    } else {
        "Show A"
    };
    let why = widget[0].reasons.join("; ");
    assert!(
        why.contains("said on 2 shows") && why.contains(other),
        "{why}"
    );
    assert!(d1.insights.iter().all(|i| !i.reasons.is_empty()));

    // Every format shows the reasons; no feedback links without a base URL.
    s.digester.deliver_pending(|_| {}).await.unwrap();
    let r = s.capture.0.lock().unwrap().pop().expect("delivered");
    for body in [&r.text, &r.markdown, &r.html] {
        assert!(body.contains("said on 2 shows"), "{body}");
        assert!(!body.contains("/feedback?"), "{body}");
    }

    // Day 2: the same claim again on a third show, and something new.
    *s.clock.0.lock().unwrap() += chrono::Duration::days(1);
    let now = s.clock.now();
    show(&s.store, s.user, "Show D", "D1", &[WIDGET_C, FUSION], now).await;
    let d2 = created(&s, day.succ_opt().unwrap()).await;
    let texts: Vec<&str> = d2.insights.iter().map(|i| i.text.as_str()).collect();
    assert!(texts.contains(&FUSION), "{texts:?}");
    assert!(
        texts.iter().all(|t| !t.contains("Widget")),
        "yesterday's claim is not sent again (neither today's retelling nor yesterday's unsent duplicate): {texts:?}"
    );
}

#[tokio::test]
async fn thumbs_down_on_everything_never_empties_the_digest() {
    let s = setup(Some("https://pod.example.org")).await;
    let now = s.clock.now();
    show(&s.store, s.user, "Show A", "A1", &[WIDGET_A, BATTERY], now).await;
    show(&s.store, s.user, "Show C", "C1", &[UNION], now).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let d1 = created(&s, day).await;
    assert_eq!(d1.insights.len(), 3);

    // Signed links in every delivered format, verifiable by the web server.
    s.digester.deliver_pending(|_| {}).await.unwrap();
    let r = s.capture.0.lock().unwrap().pop().expect("delivered");
    let first = d1.insights[0].insight_id;
    let token = podsift_digest::feedback_token(
        b"a test secret of some length",
        first,
        podsift_digest::FeedbackVote::Up,
        s.user,
    );
    let link = format!(
        "https://pod.example.org/feedback?i={first}&v=up&u={}&t={token}",
        s.user
    );
    // HTML escapes `&` in attributes.
    assert!(r.html.contains(&link.replace('&', "&amp;")), "{}", r.html);
    assert!(r.text.contains(&link), "{}", r.text);
    assert!(podsift_digest::verify_feedback_token(
        b"a test secret of some length",
        first,
        podsift_digest::FeedbackVote::Up,
        s.user,
        &token
    ));

    for i in &d1.insights {
        s.store
            .record_feedback(s.user, i.insight_id, -1, now)
            .await
            .unwrap();
    }
    // Day 2: more from the same (now disliked) shows, on the same topics.
    *s.clock.0.lock().unwrap() += chrono::Duration::days(1);
    let now = s.clock.now();
    show(&s.store, s.user, "Show A", "A2", &[RECYCLING, FUSION], now).await;
    let d2 = created(&s, day.succ_opt().unwrap()).await;
    assert_eq!(d2.insights.len(), 2, "👎 moves scores, it never filters");
    let why: Vec<String> = d2.insights.iter().map(|i| i.reasons.join("; ")).collect();
    assert!(
        why.iter().any(|w| w.contains("you rate Show A lower")),
        "{why:?}"
    );
}

/// A service user's settings steer their digest: their per-show weights (web UI) and their
/// own interests, not `[ranking] interests`.
#[tokio::test]
async fn a_users_show_weights_and_interests_steer_the_pick() {
    let s = setup(None).await;
    let now = s.clock.now();
    let mut users = Vec::new();
    for (email, interests) in [
        ("a@example.org", None),
        ("b@example.org", None),
        ("c@example.org", Some("fusion plasma ignition")),
    ] {
        let u = s
            .store
            .add_user(
                &NewUserProfile {
                    email: email.into(),
                    time_zone: "UTC".into(),
                    delivery_time: "07:00".into(),
                    digest_size: 1,
                    interests: interests.map(str::to_string),
                    channels: vec![],
                    next_digest_at: None,
                    feed_token: format!("token-{email}"),
                },
                now,
            )
            .await
            .unwrap();
        users.push(u.id);
    }
    show(&s.store, users[0], "Battery Show", "B1", &[BATTERY], now).await;
    show(&s.store, users[0], "Fusion Show", "F1", &[FUSION], now).await;
    for &u in &users[1..] {
        for name in ["Battery-Show", "Fusion-Show"] {
            let feed = NewFeed {
                url: format!("https://example.org/{name}.xml"),
                metadata: FeedMetadata::default(),
                next_check_at: now,
            };
            s.store.subscribe(u, &feed, now).await.unwrap();
        }
    }
    let feeds = s.store.list_feeds(Some(users[0])).await.unwrap();
    let id_of = |title: &str| {
        feeds
            .iter()
            .find(|f| f.title.as_deref() == Some(title))
            .unwrap()
            .id
    };
    let (battery, fusion) = (id_of("Battery Show"), id_of("Fusion Show"));
    // a wants the battery show, b the fusion show.
    s.store
        .set_show_weight(users[0], battery, 1.5)
        .await
        .unwrap();
    s.store
        .set_show_weight(users[0], fusion, 0.5)
        .await
        .unwrap();
    s.store
        .set_show_weight(users[1], battery, 0.5)
        .await
        .unwrap();
    s.store
        .set_show_weight(users[1], fusion, 1.5)
        .await
        .unwrap();
    let digester = Digester::new(
        s.store.clone(),
        Arc::new(s.clock.clone()),
        DigestConfig {
            size: 1,
            ..DigestConfig::default()
        },
        vec![],
    )
    .with_ranker(Ranker::new(
        Arc::new(WordsEmbedder),
        RankingConfig {
            interests: "battery prices".into(),
            ..RankingConfig::default()
        },
    ));
    let day = now.date_naive();
    let mut picked = Vec::new();
    for &u in &users {
        match digester.make_digest(u, day).await.unwrap() {
            DigestOutcome::Created { digest, .. } => {
                picked.push(digest.insights[0].podcast.clone())
            }
            other => panic!("expected a digest, got {other:?}"),
        }
    }
    assert_eq!(
        picked,
        ["Battery Show", "Fusion Show", "Fusion Show"],
        "weights for a and b; c's own interests, not the config's"
    );
}

/// A candidate that fails a hard rule of the register check is never picked, even to fill
/// the digest; the digest is shorter and says why in every format.
#[tokio::test]
async fn a_short_digest_says_why_in_every_format() {
    let s = setup(None).await;
    let now = s.clock.now();
    let pointer = "They discussed it at length on the show. The host said it changes everything.";
    show(&s.store, s.user, "Show A", "A1", &[WIDGET_A, pointer], now).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let d = created(&s, day).await;
    let texts: Vec<&str> = d.insights.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(
        texts,
        [WIDGET_A],
        "the failing candidate is not used to pad"
    );
    let short = d.stats.short.clone().expect("a short digest says why");
    assert!(
        short.starts_with("1 of 5: 2 candidates considered, 1 failed the register check"),
        "{short}"
    );
    s.digester.deliver_pending(|_| {}).await.unwrap();
    let r = s.capture.0.lock().unwrap().pop().expect("delivered");
    for body in [&r.text, &r.markdown, &r.html] {
        // Text and Markdown wrap their lines.
        let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("the digest is shorter rather than padded"),
            "{body}"
        );
    }
}
