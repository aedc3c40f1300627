//! A worker paused past its lease (SIGSTOP: a stalled VM, a swapped-out process, not only a
//! killed one) must not write when it wakes up: two `podsift worker` processes on one
//! PostgreSQL database, a scripted model on loopback that takes its time, and a reader who
//! votes on the insights the second worker stored. When the first worker resumes, its
//! answer arrives and its write is refused by the lease fence: the insights, their ids and
//! the vote stand, and the extraction is the second worker's.
//!
//! Skips loudly without PostgreSQL (`scripts/ensure-postgres`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podsift_core::{JobKind, JobState, Store};
use podsift_testkit::pg::TestDb;
use podsift_testkit::{Route, ScriptedLlm, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

#[path = "crash/fleet.rs"]
#[allow(dead_code)]
mod fleet;
use fleet::Fleet;

const VTT: &str = "WEBVTT

00:00:01.000 --> 00:00:06.000
<v Host>The harbour authority raised docking fees by 12 percent this spring.

00:00:07.000 --> 00:00:12.000
<v Host>The new ferry line to the island carries 400 passengers a day.
";

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig}");
}

fn wait_for(what: &str, limit: Duration, fleet: &Fleet, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}\n{}",
            fleet.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_writes_nothing_when_it_resumes() {
    let Some(db) = TestDb::create().await else {
        podsift_testkit::skip(
            "paused_worker",
            "needs PostgreSQL (scripts/ensure-postgres)",
        );
        return;
    };
    // Each answer takes 1.5 s: the first worker is paused while it waits for one.
    let api = ScriptedLlm::slow(Duration::from_millis(1500)).await;
    let srv = TestServer::start().await;
    let feed = format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Harbour Radio</title><link>https://example.com/</link>
<item><title>Fees</title><guid>fees-1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="https://cdn.example.com/fees.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item></channel></rss>"#,
        srv.url("/t.vtt")
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));
    srv.route("/t.vtt", Route::ok(VTT, "text/vtt"));
    let dir = tempfile::tempdir().expect("tempdir");
    let env: Vec<(String, String)> = [
        ("PODSIFT_DATABASE_URL", db.url.clone()),
        ("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0".into()),
        ("PODSIFT_ASR__ENGINE", "off".into()),
        ("PODSIFT_RANKING__ENGINE", "simple".into()),
        ("PODSIFT_LLM__ENGINE", "openai".into()),
        ("PODSIFT_LLM__BASE_URL", api.base_url()),
        ("PODSIFT_LLM__MODEL", "scripted".into()),
        ("PODSIFT_LLM__CONCURRENCY", "1".into()),
        ("PODSIFT_SERVICE__POLL_EVERY_SECS", "1".into()),
        ("PODSIFT_SERVICE__WORKER_IDLE_MS", "200".into()),
        ("PODSIFT_SERVICE__JOB_LEASE_SECS", "2".into()),
        ("PODSIFT_SERVICE__SHUTDOWN_GRACE_SECS", "2".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let fleet = Fleet {
        dir: dir.path().to_path_buf(),
        env,
        procs: Vec::new(),
        kills: 0,
    };
    let feed_url = srv.url("/feed.xml");
    let db_url = db.url.clone();
    let rt = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || {
        fleet.run(&["subscribe", &feed_url]);
        let store: std::sync::Arc<dyn Store> = rt
            .block_on(podsift_store::connect_database(&db_url))
            .expect("open the test database");
        let spawn = |name: &str| -> Child {
            let log = std::fs::File::create(fleet.dir.join(format!("{name}.log"))).expect("log");
            fleet
                .command(&["worker"])
                .env("PODSIFT_LLM__MODEL", format!("scripted-{name}"))
                .env("RUST_LOG", "info")
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn podsift worker")
        };
        // Worker A starts the extraction and is paused while the model answers it.
        let mut a = spawn("a");
        wait_for(
            "worker a asks the model",
            Duration::from_secs(60),
            &fleet,
            || api.requests() >= 1,
        );
        signal(&a, "-STOP");
        // Past A's 2 s lease, worker B takes the job over and finishes it.
        std::thread::sleep(Duration::from_secs(4));
        let mut b = spawn("b");
        let extract_done = || {
            rt.block_on(store.list_jobs(None, 100))
                .expect("jobs")
                .iter()
                .any(|j| j.kind == JobKind::ExtractInsights && j.state == JobState::Done)
        };
        wait_for(
            "worker b extracts",
            Duration::from_secs(60),
            &fleet,
            extract_done,
        );
        let episode = rt
            .block_on(store.list_jobs(None, 100))
            .expect("jobs")
            .iter()
            .find(|j| j.kind == JobKind::ExtractInsights)
            .and_then(|j| j.episode_id())
            .expect("the extraction job's episode");
        let ids: Vec<i64> = rt
            .block_on(store.episode_insights(episode))
            .expect("insights")
            .iter()
            .map(|i| i.id)
            .collect();
        assert!(!ids.is_empty(), "b stored insights\n{}", fleet.logs());
        let (model, _) = rt
            .block_on(store.get_extraction(episode))
            .expect("extraction")
            .expect("b's extraction");
        assert_eq!(model, "openai:scripted-b");
        // A reader votes on b's first insight.
        let user = rt
            .block_on(store.default_user(chrono::Utc::now()))
            .expect("user");
        rt.block_on(store.record_feedback(user, ids[0], 1, chrono::Utc::now()))
            .expect("vote");
        let _ = b.kill();
        let _ = b.wait();
        // A wakes up: its answer is there, its write must be refused.
        signal(&a, "-CONT");
        let a_log = fleet.dir.join("a.log");
        // Its write is refused ("nothing written"); without the fence it would have written
        // well within this time.
        let refused =
            || std::fs::read_to_string(&a_log).is_ok_and(|l| l.contains("nothing written"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !refused() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = a.kill();
        let _ = a.wait();
        let after: Vec<i64> = rt
            .block_on(store.episode_insights(episode))
            .expect("insights")
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(after, ids, "b's insights stand\n{}", fleet.logs());
        let (model, _) = rt
            .block_on(store.get_extraction(episode))
            .expect("extraction")
            .expect("extraction");
        assert_eq!(
            model, "openai:scripted-b",
            "a's late result was not written"
        );
        let votes = rt
            .block_on(store.list_feedback(user, chrono::DateTime::UNIX_EPOCH))
            .expect("votes");
        assert_eq!(votes.len(), 1, "the vote survives");
        assert_eq!(votes[0].insight_id, ids[0]);
        assert!(refused(), "a said why it wrote nothing\n{}", fleet.logs());
    })
    .await;
    db.drop_db().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
