//! The service end to end on a real SQLite store: job workers extract insights, the
//! per-user schedule makes one digest per date and delivers it once to a loopback webhook,
//! across restarts (also one that "crashed" between making the digest and storing the next
//! slot); /healthz, /metrics and the private feed answer; shutdown is prompt.
//! The model is a scripted engine (no model file); everything else is real.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{SubsecRound, Timelike, Utc};
use podsift_core::config::LlmConfig;
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_pipeline::{DigestRecipe, ExtractStage, Extractor, Stage, StageError, StageEvents};
use podsift_service::{Mode, Service, ServiceSettings};
use podsift_store::SqlStore;
use podsift_testkit::{Route, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct ScriptedLlm;

#[async_trait]
impl Llm for ScriptedLlm {
    fn model_id(&self) -> String {
        "scripted".into()
    }
    async fn complete(&self, _req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let quote = "Battery prices fell forty percent in two years";
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

/// One show with one transcribed episode, followed by `user`; not due for polling.
async fn seed_episode(store: &SqlStore, user: UserId) {
    let now = Utc::now().trunc_subsecs(0);
    let (feed, _) = store
        .subscribe(
            user,
            &NewFeed {
                url: "https://example.org/show.xml".into(),
                metadata: FeedMetadata {
                    title: Some("Show".into()),
                    ..Default::default()
                },
                next_check_at: now + chrono::Duration::days(1),
            },
            now,
        )
        .await
        .unwrap();
    let up = EpisodeUpsert {
        identity: "guid:1".into(),
        content_hash: "h".into(),
        episode: ParsedEpisode {
            title: Some("Episode 1".into()),
            enclosure: Some(Enclosure {
                url: "https://cdn.example.org/1.mp3".into(),
                mime_type: None,
                length: None,
            }),
            ..Default::default()
        },
    };
    let stats = store.upsert_episodes(feed, &[up], 3, now).await.unwrap();
    let ep = stats.new_candidates[0];
    let seg = |start: f64, text: &str| Segment {
        start,
        end: start + 5.0,
        speaker: Some("Ann".into()),
        text: text.into(),
    };
    store
        .save_transcript(
            &Transcript {
                episode_id: ep,
                source: TranscriptSource::Local { model: "t".into() },
                language: None,
                segments: vec![
                    seg(0.0, "Welcome back to the show."),
                    seg(
                        61.0,
                        "Battery prices fell forty percent in two years, says the report.",
                    ),
                ],
                skipped: 0,
                created_at: now,
            },
            None,
        )
        .await
        .unwrap();
}

const FEEDBACK_SECRET: &[u8] = b"test-feedback-secret-0123456789";

/// `GET path` over a plain TCP connection: (status, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// `POST path` of a urlencoded form: (status, body).
async fn post_form(addr: SocketAddr, path: &str, form: &str) -> (u16, String) {
    exchange(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

async fn exchange(addr: SocketAddr, request: String) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), podsift_service::ServiceError>>,
}

impl Running {
    /// Signal shutdown; the service must be gone within 5 s.
    async fn stop(self) {
        let _ = self.stop.send(());
        let t = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .expect("service stopped within 5 s")
            .unwrap()
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}

async fn start(store: Arc<SqlStore>) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let extractor = Arc::new(Extractor::new(
        store.clone(),
        Arc::new(ScriptedLlm),
        store.clone(),
        clock.clone(),
        LlmConfig::default(),
    ));
    start_with(store, vec![(Arc::new(ExtractStage { extractor }), 2)]).await
}

async fn start_with(store: Arc<SqlStore>, stages: Vec<(Arc<dyn Stage>, usize)>) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let recipe = DigestRecipe {
        store: store.clone(),
        clock: clock.clone(),
        digest: Default::default(),
        ranker: None,
        feedback_secret: Some(FEEDBACK_SECRET.to_vec()),
        delivery: Default::default(),
        smtp: None,
        local_address: None,
        local_channels: Vec::new(),
        channel_options: podsift_digest::HttpChannelOptions {
            allow_http_loopback: true,
            allow_private: true,
            ..Default::default()
        },
        daily: None,
    };
    let service = Service {
        store: store.clone(),
        clock,
        poller: None,
        stages,
        recipe,
        directory: None,
        topics: None,
        settings: ServiceSettings {
            worker_idle: Duration::from_millis(100),
            schedule_every: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(3),
            worker_id: "test".into(),
            ..ServiceSettings::default()
        },
    };
    let listener = podsift_service::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(service.run(Mode::Serve, Some(listener), async move {
        let _ = rx.await;
    }));
    Running { addr, stop, handle }
}

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while !f().await {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_digest_once_per_date_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let hook = TestServer::start().await;
    hook.route("/hook", Route::ok("ok", "text/plain"));

    // The slot is 2 s ahead: the workers extract the episode first.
    let slot = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(2);
    let at = format!(
        "{:02}:{:02}:{:02}",
        slot.hour(),
        slot.minute(),
        slot.second()
    );
    let user = store
        .add_user(
            &NewUserProfile {
                email: "ann@example.org".into(),
                time_zone: "UTC".into(),
                delivery_time: at,
                digest_size: 3,
                interests: None,
                channels: vec![ChannelSpec::Webhook {
                    url: hook.url("/hook"),
                    secret: "s3cret".into(),
                }],
                next_digest_at: Some(slot),
                feed_token: podsift_service::new_feed_token(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    seed_episode(&store, user.id).await;
    let date = slot.date_naive();

    let run = start(store.clone()).await;
    let (status, body) = get(run.addr, "/healthz").await;
    assert_eq!((status, body.trim()), (200, "ok"));
    wait_for("the digest to be delivered", || async {
        hook.hits("/hook") == 1
    })
    .await;
    assert!(store.get_digest(user.id, date).await.unwrap().is_some());
    let next = store
        .user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap()
        .next_digest_at
        .unwrap();
    assert_eq!(
        next,
        slot + chrono::Duration::days(1),
        "advanced from the stored slot"
    );

    let (status, metrics) = get(run.addr, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "podsift_jobs{kind=\"extract_insights\",state=\"done\"} 1",
        "podsift_digests 1",
        "podsift_deliveries{state=\"sent\"} 1",
        "podsift_feeds 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    assert!(metrics.contains("podsift_uptime_seconds "));
    let (status, atom) = get(run.addr, &format!("/feeds/{}.atom", user.feed_token)).await;
    assert_eq!(status, 200);
    assert!(
        atom.contains("<feed") && atom.contains("forty percent"),
        "{atom}"
    );
    let (status, json) = get(run.addr, &format!("/feeds/{}.json", user.feed_token)).await;
    assert_eq!(status, 200);
    assert!(json.contains("jsonfeed.org"), "{json}");
    assert_eq!(
        get(run.addr, "/feeds/0123456789abcdef0123.atom").await.0,
        404
    );

    // The digest's signed 👍 link works without a login; a forged or altered one does not.
    let (_, digest) = store.get_digest(user.id, date).await.unwrap().unwrap();
    let insight = digest.insights[0].insight_id;
    let vote = podsift_digest::FeedbackVote::Up;
    let token = podsift_digest::feedback_token(FEEDBACK_SECRET, insight, vote, user.id);
    // A GET (what a mail scanner does) only shows the confirmation form; its POST votes.
    let fields = format!("i={insight}&v=up&u={}&t={token}", user.id);
    let (status, page) = get(run.addr, &format!("/feedback?{fields}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("method=\"post\" action=\"/feedback\"") && page.contains(&token),
        "{page}"
    );
    let since = Utc::now() - chrono::Duration::hours(1);
    assert!(
        store
            .list_feedback(user.id, since)
            .await
            .unwrap()
            .is_empty(),
        "a GET records no vote"
    );
    assert_eq!(post_form(run.addr, "/feedback", &fields).await.0, 200);
    let votes = store.list_feedback(user.id, since).await.unwrap();
    assert_eq!(votes.len(), 1, "{votes:?}");
    let down = format!("i={insight}&v=down&u={}&t={token}", user.id);
    assert_eq!(
        post_form(run.addr, "/feedback", &down).await.0,
        403,
        "the token signs the vote too"
    );
    let other = format!("i={insight}&v=up&u={}&t={token}", user.id + 1);
    assert_eq!(
        post_form(run.addr, "/feedback", &other).await.0,
        403,
        "and the user"
    );
    assert_eq!(
        get(run.addr, &format!("/feedback?{other}")).await.0,
        403,
        "the confirmation page checks the link too"
    );
    run.stop().await;

    // A crash after the digest was made but before the next slot was stored: the stored
    // slot is still the old one (now in the past). The restart finds the date's digest and
    // sends nothing again.
    assert!(
        store
            .advance_next_digest(user.id, Some(next), Some(slot))
            .await
            .unwrap()
    );
    for restart in 0..2 {
        let run = start(store.clone()).await;
        wait_for("the slot to advance again", || async {
            store
                .user_by_email("ann@example.org")
                .await
                .unwrap()
                .unwrap()
                .next_digest_at
                == Some(next)
        })
        .await;
        // A few more schedule and delivery passes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        run.stop().await;
        assert_eq!(hook.hits("/hook"), 1, "restart {restart}: sent once");
        assert_eq!(store.service_counts().await.unwrap().digests, 1);
    }
}

/// A stage that panics on its first `panics` runs, then runs nothing.
struct Panicky {
    panics: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl Stage for Panicky {
    fn name(&self) -> &'static str {
        "panicky"
    }
    fn kinds(&self) -> &'static [JobKind] {
        &[]
    }
    async fn run(&self, _worker: &str, _events: &dyn StageEvents) -> Result<usize, StageError> {
        let left = self.panics.load(std::sync::atomic::Ordering::SeqCst);
        if left > 0 {
            self.panics
                .store(left - 1, std::sync::atomic::Ordering::SeqCst);
            panic!("index out of bounds in the panicky stage");
        }
        Ok(0)
    }
}

/// A stage loop that panics is restarted after a backoff instead of ending for good; while
/// it is down /healthz answers 503 naming it and the panic, and /metrics counts the restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_stage_is_restarted_and_healthz_says_so_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("p.db")).await.unwrap());
    let stage = Arc::new(Panicky {
        panics: std::sync::atomic::AtomicU32::new(2),
    });
    let run = start_with(store, vec![(stage.clone(), 1)]).await;
    // The first panic: the loop waits a second before its restart, and health says why.
    let mut seen_down = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen_down.is_none() && Instant::now() < deadline {
        let (status, body) = get(run.addr, "/healthz").await;
        if status == 503 {
            seen_down = Some(body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = seen_down.expect("healthz reported the loop down");
    assert!(body.contains("panicky-0 is not running"), "{body}");
    assert!(body.contains("index out of bounds"), "{body}");
    // Two panics, two restarts (1 s, then 2 s), then it runs and health is ok again.
    wait_for("the stage to run again", || async {
        get(run.addr, "/healthz").await.0 == 200
            && stage.panics.load(std::sync::atomic::Ordering::SeqCst) == 0
    })
    .await;
    let (_, metrics) = get(run.addr, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "podsift_process_loop_restarts_total{loop=\"panicky-0\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "podsift_process_loop_up{loop=\"panicky-0\"} 1"),
        "{metrics}"
    );
    run.stop().await;
}
