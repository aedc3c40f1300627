//! The poller against real parts: SQLite on disk, the real HTTP fetcher, loopback servers.
//! Time is a test clock so backoff and lease expiry can be stepped through without sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use podsift_core::config::{HttpConfig, PollConfig};
use podsift_core::{Clock, FeedKey, JobKind, JobState, Store};
use podsift_poller::{PollOutcome, Poller, PollerSettings};
use podsift_store::SqlStore;
use podsift_testkit::{Route, TestServer};

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn new() -> Self {
        // Whole seconds: the store keeps milliseconds.
        use chrono::SubsecRound;
        Self(Arc::new(Mutex::new(Utc::now().trunc_subsecs(0))))
    }
    fn advance(&self, d: chrono::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct Rig {
    srv: TestServer,
    store: Arc<dyn Store>,
    poller: Poller,
    clock: TestClock,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&dir.path().join("t.db")).await.unwrap());
    let http = HttpConfig {
        per_host_interval_ms: 0,
        retries: 0,
        timeout_secs: 3,
        ..HttpConfig::default()
    };
    let fetcher = Arc::new(podsift_fetch::HttpFetcher::new(&http, true).unwrap());
    let clock = TestClock::new();
    let poller = Poller::new(
        store.clone(),
        fetcher,
        Arc::new(clock.clone()),
        PollerSettings::new(&PollConfig::default(), &http),
    );
    Rig {
        srv,
        store,
        poller,
        clock,
        _dir: dir,
    }
}

fn feed_with(items: &str) -> String {
    format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Show</title><ttl>120</ttl>{items}</channel></rss>"#
    )
}

const VTT: &str = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Ann>First line.\n";

#[tokio::test]
async fn broken_best_offer_falls_back_to_the_next_format() {
    let r = rig().await;
    let items = format!(
        r#"<item><guid>a</guid><title>A</title>
<podcast:transcript url="{}" type="application/json"/>
<podcast:transcript url="{}" type="text/vtt"/>
<podcast:chapters url="{}" type="application/json+chapters"/></item>"#,
        r.srv.url("/t.json"),
        r.srv.url("/t.vtt"),
        r.srv.url("/ch.json")
    );
    r.srv
        .route("/f", Route::ok(feed_with(&items), "application/rss+xml"));
    r.srv
        .route("/t.json", Route::ok("{not json at all", "application/json"));
    r.srv.route("/t.vtt", Route::ok(VTT, "text/vtt"));
    r.srv.route(
        "/ch.json",
        Route::ok(
            r#"{"version":"1.2.0","chapters":[{"startTime":0,"title":"Intro"},{"startTime":65.5,"title":"Main"}]}"#,
            "application/json",
        ),
    );
    let user = r.store.default_user(r.clock.now()).await.unwrap();
    let rep = r.poller.subscribe(user, &r.srv.url("/f")).await.unwrap();
    assert_eq!(rep.episodes.new_candidates.len(), 1);
    let sum = r.poller.run_jobs("t", 2, |_| {}).await.unwrap();
    assert_eq!((sum.done, sum.dead, sum.transcripts), (2, 0, 1));
    let ep = rep.episodes.new_candidates[0];
    let t = r.store.get_transcript(ep).await.unwrap().unwrap();
    assert_eq!(t.source.label(), "publisher:vtt");
    assert_eq!(t.segments[0].speaker.as_deref(), Some("Ann"));
    assert_eq!(r.srv.hits("/t.json"), 1, "the JSON offer was tried first");
    let ch = r.store.get_chapters(ep).await.unwrap().unwrap();
    assert_eq!(ch.len(), 2);
    assert_eq!(ch[1].title.as_deref(), Some("Main"));
    assert_eq!(ch[0].end_seconds, Some(65.5));
}

#[tokio::test]
async fn failing_transcripts_retry_with_backoff_then_die_without_blocking_others() {
    let r = rig().await;
    let items = format!(
        r#"<item><guid>a</guid><title>A</title><podcast:transcript url="{}" type="text/vtt"/></item>
<item><guid>b</guid><title>B</title><podcast:transcript url="{}" type="text/vtt"/></item>
<item><guid>c</guid><title>C</title><podcast:transcript url="{}" type="text/vtt"/></item>"#,
        r.srv.url("/down.vtt"),
        r.srv.url("/garbage.vtt"),
        r.srv.url("/ok.vtt")
    );
    r.srv
        .route("/f", Route::ok(feed_with(&items), "application/rss+xml"));
    r.srv
        .route("/down.vtt", Route::status(503).retry_after("120"));
    r.srv.route(
        "/garbage.vtt",
        Route::ok(vec![0u8, 159, 146, 150, 255, 0, 1, 2], "text/vtt"),
    );
    r.srv.route("/ok.vtt", Route::ok(VTT, "text/vtt"));
    let user = r.store.default_user(r.clock.now()).await.unwrap();
    r.poller.subscribe(user, &r.srv.url("/f")).await.unwrap();

    let sum = r.poller.run_jobs("t", 1, |_| {}).await.unwrap();
    assert_eq!(sum.done, 1, "the good transcript is stored");
    assert_eq!(sum.dead, 1, "garbage is permanent");
    assert_eq!(sum.retrying, 1, "503 is retried later");
    let dead = r.store.list_jobs(Some(JobState::Dead), 10).await.unwrap();
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("garbage.vtt")
    );
    let queued = r.store.list_jobs(Some(JobState::Queued), 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    // Retry-After (120 s) is longer than the first backoff (60 s).
    assert!(queued[0].run_after - r.clock.now() >= chrono::Duration::seconds(119));

    // Nothing is runnable until the backoff passes.
    let sum = r.poller.run_jobs("t", 1, |_| {}).await.unwrap();
    assert_eq!(sum.done + sum.retrying + sum.dead, 0);
    r.srv.route("/down.vtt", Route::ok(VTT, "text/vtt"));
    r.clock.advance(chrono::Duration::minutes(3));
    let sum = r.poller.run_jobs("t", 1, |_| {}).await.unwrap();
    assert_eq!(sum.done, 1);
    assert_eq!(r.srv.hits("/down.vtt"), 2);
}

#[tokio::test]
async fn a_crashed_worker_loses_nothing() {
    let r = rig().await;
    let items = format!(
        r#"<item><guid>a</guid><title>A</title><podcast:transcript url="{}" type="text/vtt"/></item>"#,
        r.srv.url("/ok.vtt")
    );
    r.srv
        .route("/f", Route::ok(feed_with(&items), "application/rss+xml"));
    r.srv.route("/ok.vtt", Route::ok(VTT, "text/vtt"));
    let user = r.store.default_user(r.clock.now()).await.unwrap();
    let rep = r.poller.subscribe(user, &r.srv.url("/f")).await.unwrap();
    // A worker claims the job and dies before finishing it.
    let lease = Duration::from_secs(300);
    let job = r
        .store
        .claim(
            &[JobKind::FetchTranscript],
            "dead-worker",
            lease,
            r.clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.episode_id(), Some(rep.episodes.new_candidates[0]));
    // While the lease holds, nobody else runs it.
    let sum = r.poller.run_jobs("t", 1, |_| {}).await.unwrap();
    assert_eq!(sum.done, 0);
    // After the lease expires, another worker picks it up.
    r.clock.advance(chrono::Duration::seconds(301));
    let sum = r.poller.run_jobs("t", 1, |_| {}).await.unwrap();
    assert_eq!(sum.done, 1);
    assert!(
        r.store
            .get_transcript(job.episode_id().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    // The dead worker's late completion is refused.
    assert!(
        !r.store
            .complete(job.id, "dead-worker", r.clock.now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn schedule_follows_ttl_and_retry_after() {
    let r = rig().await;
    r.srv.route(
        "/f",
        Route::ok(
            feed_with("<item><guid>a</guid></item>"),
            "application/rss+xml",
        )
        .cache_control("max-age=600"),
    );
    let user = r.store.default_user(r.clock.now()).await.unwrap();
    let rep = r.poller.subscribe(user, &r.srv.url("/f")).await.unwrap();
    let feed = r
        .store
        .find_feed(&FeedKey::Id(rep.feed_id))
        .await
        .unwrap()
        .unwrap();
    // <ttl>120</ttl> beats max-age=600 s and the 30-minute minimum.
    assert_eq!(
        feed.next_check_at - r.clock.now(),
        chrono::Duration::minutes(120)
    );
    assert!(
        r.store
            .due_feeds(r.clock.now(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A 429 with a long Retry-After pushes the next check past the backoff.
    r.srv.route("/f", Route::status(429).retry_after("7200"));
    r.clock.advance(chrono::Duration::minutes(121));
    let due = r.store.due_feeds(r.clock.now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let report = r.poller.poll_feed(&due[0]).await;
    assert!(matches!(
        report.outcome,
        PollOutcome::Failed { error_count: 1, .. }
    ));
    let feed = r
        .store
        .find_feed(&FeedKey::Id(rep.feed_id))
        .await
        .unwrap()
        .unwrap();
    assert!(feed.next_check_at - r.clock.now() >= chrono::Duration::seconds(7200));
    assert_eq!(feed.error_count, 1);
}

#[tokio::test]
async fn a_billion_laughs_feed_is_refused_and_nothing_is_stored() {
    let r = rig().await;
    let mut bomb =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        bomb.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    bomb.push_str("]>\n<rss><channel><title>&lol9;</title></channel></rss>");
    r.srv.route("/bomb", Route::ok(bomb, "application/rss+xml"));
    let user = r.store.default_user(r.clock.now()).await.unwrap();
    match r.poller.subscribe(user, &r.srv.url("/bomb")).await {
        // Refused outright, or parsed with the entity left unexpanded: never a billion lols.
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(rep) => {
            let feed = r
                .store
                .find_feed(&FeedKey::Id(rep.feed_id))
                .await
                .unwrap()
                .unwrap();
            assert!(feed.title.unwrap_or_default().len() < 100);
        }
    }
}
