//! Discovery end to end on real parts: scripted iTunes Search and Podcast Index servers on
//! loopback (they speak the documented JSON and the Podcast Index checks its auth headers),
//! real feeds from `../shared/corpora` and generated ones served over HTTP, the real
//! SSRF-guarded fetcher and poller, a SQLite store, and all-MiniLM-L6-v2 scoring.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use podsift_core::config::{DiscoveryConfig, HttpConfig, PollConfig};
use podsift_core::discovery::{ShowSource, TopicOwner};
use podsift_core::{Clock, EpisodeState, Store};
use podsift_discovery::{Directory, TopicScanner};
use podsift_poller::{Poller, PollerSettings};
use podsift_ranking::{Embedder, MiniLmEmbedder};
use podsift_store::SqlStore;
use podsift_testkit::directories::{Listing, Mood, ScriptedDirectory};
use podsift_testkit::{Route, TestServer};

const KEY: &str = "PIKEYTEST";
const SECRET: &str = "pi$secret^test";
const TOPIC: &str = "troubleshooting Kubernetes clusters on Azure";

#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn minilm() -> Option<PathBuf> {
    let dir = podsift_testkit::test_assets_dir()?.join("all-minilm-l6-v2");
    ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .all(|f| dir.join(f).is_file())
        .then_some(dir)
}

fn corpus_feed(name: &str) -> Option<Vec<u8>> {
    let p = podsift_testkit::corpora_dir()?
        .join("01_feeds/peer-suites/feed-rs/feed-rs/fixture/rss2")
        .join(name);
    std::fs::read(p).ok()
}

/// A feed of `items`: (guid, title, description, date, enclosure, seconds).
fn feed(title: &str, items: &[(&str, &str, &str, &str, &str, u32)]) -> String {
    let mut body = String::new();
    for (guid, t, d, date, enc, secs) in items {
        body.push_str(&format!(
            "<item><guid>{guid}</guid><title>{t}</title><description>{d}</description>\
             <pubDate>{date}</pubDate><enclosure url=\"{enc}\" type=\"audio/mpeg\" length=\"1000\"/>\
             <itunes:duration>{secs}</itunes:duration></item>"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">\
         <channel><title>{title}</title><link>https://example.org</link><description>{title}</description>{body}</channel></rss>"
    )
}

struct World {
    _feeds: TestServer,
    itunes: ScriptedDirectory,
    pi: ScriptedDirectory,
    store: Arc<dyn Store>,
    clock: TestClock,
    scanner: TopicScanner,
    _dir: tempfile::TempDir,
}

async fn world(name: &str, cfg: DiscoveryConfig) -> Option<World> {
    let Some(model) = minilm() else {
        podsift_testkit::skip(
            name,
            "the MiniLM test model is absent (scripts/fetch-test-assets)",
        );
        return None;
    };
    let (Some(ch9), Some(bbc), Some(nightvale)) = (
        corpus_feed("rss_2.0_ch9.xml"),
        corpus_feed("rss_2.0_bbc.xml"),
        corpus_feed("rss_2.0_nightvale.xml"),
    ) else {
        podsift_testkit::skip(name, &podsift_testkit::corpora_hint());
        return None;
    };
    let srv = TestServer::start().await;
    srv.route("/ch9.xml", Route::ok(ch9, "application/rss+xml"));
    srv.route("/bbc.xml", Route::ok(bbc, "application/rss+xml"));
    srv.route(
        "/nightvale.xml",
        Route::ok(nightvale, "application/rss+xml"),
    );
    let enc = |n: &str| srv.url(&format!("/audio/{n}.mp3"));
    srv.route(
        "/weekly.xml",
        Route::ok(
            feed(
                "Cloud Native Weekly",
                &[
                    ("cnw-1", "Debugging AKS node pools that will not scale", "How to troubleshoot Kubernetes cluster autoscaler failures on Azure Kubernetes Service.", "Mon, 06 Feb 2023 10:00:00 GMT", &enc("cnw1"), 1800),
                    ("cnw-2", "AKS networking deep dive", "Troubleshooting pod networking and DNS in Kubernetes clusters on Azure.", "Fri, 03 Feb 2023 10:00:00 GMT", &enc("cnw2"), 2400),
                    ("cnw-3", "Kubernetes upgrades without downtime", "Upgrading Azure Kubernetes clusters safely, and what to check when an upgrade fails.", "Tue, 31 Jan 2023 10:00:00 GMT", &enc("cnw3"), 2000),
                    ("cnw-4", "Our favourite sourdough recipes", "We take the week off from computers and bake bread.", "Sat, 28 Jan 2023 10:00:00 GMT", &enc("cnw4"), 1500),
                ],
            ),
            "application/rss+xml",
        ),
    );
    // The same network episode syndicated (same enclosure) and a re-upload (same title and
    // duration, another file and GUID).
    srv.route(
        "/mirror.xml",
        Route::ok(
            feed(
                "Cloud Native Network",
                &[
                    ("mirror-a", "AKS networking deep dive", "Troubleshooting pod networking and DNS in Kubernetes clusters on Azure.", "Fri, 03 Feb 2023 12:00:00 GMT", &enc("cnw2"), 2400),
                    ("mirror-b", "Kubernetes upgrades without downtime", "Upgrading Azure Kubernetes clusters safely, and what to check when an upgrade fails.", "Tue, 31 Jan 2023 12:00:00 GMT", &enc("mirror-b"), 2001),
                ],
            ),
            "application/rss+xml",
        ),
    );
    let listing =
        |id: i64, title: &str, desc: &str, path: &str, cats: &[&str], trending: Option<usize>| {
            Listing {
                id,
                title: title.into(),
                author: "Someone".into(),
                description: desc.into(),
                feed_url: srv.url(path),
                categories: cats.iter().map(|c| c.to_string()).collect(),
                language: "en".into(),
                trending,
            }
        };
    let shows = vec![
        listing(
            1,
            "Azure Friday",
            "Azure and Kubernetes how-tos",
            "/ch9.xml",
            &["Technology"],
            Some(12),
        ),
        listing(
            2,
            "Cloud Native Weekly",
            "Kubernetes clusters on Azure, troubleshooting",
            "/weekly.xml",
            &["Technology"],
            None,
        ),
        listing(
            3,
            "Cloud Native Network",
            "Kubernetes and Azure, syndicated",
            "/mirror.xml",
            &["Technology"],
            None,
        ),
        listing(
            4,
            "In Our Time",
            "Ideas and history: troubleshooting the past",
            "/bbc.xml",
            &["History"],
            None,
        ),
        listing(
            5,
            "Welcome to Night Vale",
            "Kubernetes fiction from a desert town",
            "/nightvale.xml",
            &["Fiction"],
            None,
        ),
        // A feed on a private address: the SSRF guard refuses it, the scan goes on.
        listing(
            6,
            "Cluster Internals",
            "Kubernetes clusters on Azure",
            "/x",
            &["Technology"],
            None,
        ),
    ];
    let mut shows = shows;
    shows[5].feed_url = "http://169.254.169.254/latest/feed.xml".into();
    let itunes = ScriptedDirectory::itunes(shows.clone()).await;
    let pi = ScriptedDirectory::podcast_index(shows, KEY, SECRET).await;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await.unwrap());
    let clock = TestClock(Arc::new(Mutex::new(
        Utc.with_ymd_and_hms(2023, 2, 10, 6, 0, 0).unwrap(),
    )));
    // Loopback is let through by name (the directories and feeds here); every other private
    // address stays refused.
    let http = HttpConfig {
        allow_hosts: vec!["127.0.0.1".into()],
        retries: 0,
        ..HttpConfig::default()
    };
    let fetcher = Arc::new(podsift_fetch::HttpFetcher::new(&http, false).unwrap());
    let poller = Arc::new(Poller::new(
        store.clone(),
        fetcher.clone(),
        Arc::new(clock.clone()),
        PollerSettings::new(&PollConfig::default(), &http).with_transcription(true),
    ));
    let cfg = DiscoveryConfig {
        itunes_base_url: itunes.base_url(),
        podcastindex_base_url: pi.base_url(),
        ..cfg
    };
    let directory = Directory::new(vec![
        Arc::new(podsift_discovery::podcastindex::PodcastIndex::new(
            &cfg.podcastindex_base_url,
            KEY.into(),
            SECRET.into(),
            fetcher.clone(),
            Arc::new(podsift_core::SystemClock),
            podsift_discovery::gate::Gate::new("podcastindex", 20, std::time::Duration::ZERO),
        )) as Arc<dyn ShowSource>,
        Arc::new(podsift_discovery::itunes::Itunes::new(
            &cfg.itunes_base_url,
            fetcher,
            podsift_discovery::gate::Gate::new("itunes", 20, std::time::Duration::from_secs(600)),
        )),
    ]);
    let embedder: Arc<dyn Embedder> = Arc::new(MiniLmEmbedder::load(&model).unwrap());
    let scanner = TopicScanner {
        store: store.clone(),
        poller,
        directory,
        embedder: Some(embedder),
        cfg,
        usd_per_mtok: None,
        clock: Arc::new(clock.clone()),
    };
    Some(World {
        _feeds: srv,
        itunes,
        pi,
        store,
        clock,
        scanner,
        _dir: dir,
    })
}

fn cfg(daily_episodes: usize) -> DiscoveryConfig {
    DiscoveryConfig {
        daily_episodes,
        daily_audio_hours: 0.0,
        daily_dollars: 0.0,
        lookback_days: 3650,
        min_match: 0.3,
        ..DiscoveryConfig::default()
    }
}

/// A topic scan admits the best-matching episodes of shows the reader does not follow within
/// the daily budget, says why each was read and what was left out, reads a syndicated copy
/// once, survives a refused feed, and admits the rest the next day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_scan_admits_the_best_matches_within_the_budget() {
    let Some(w) = world(
        "a_topic_scan_admits_the_best_matches_within_the_budget",
        cfg(2),
    )
    .await
    else {
        return;
    };
    let now = w.clock.now();
    let user = w.store.default_user(now).await.unwrap();
    let (topic, new) = w.store.add_topic(Some(user), TOPIC, now).await.unwrap();
    assert!(new);
    let r = w.scanner.scan(&topic).await.unwrap();
    assert_eq!(r.method, "embedding");
    assert!(
        r.categories.contains(&"Technology".to_string()),
        "{:?}",
        r.categories
    );
    assert!(r.shows_found >= 5, "{r:#?}");
    // The Podcast Index was asked with valid auth (the scripted one refuses anything else).
    assert!(w.pi.calls() >= 3 && w.pi.refused() == 0);
    let paths: Vec<String> = w.pi.queries().into_iter().map(|(p, _)| p).collect();
    assert!(
        paths.contains(&"/podcasts/trending".to_string()),
        "{paths:?}"
    );
    let trending =
        w.pi.queries()
            .into_iter()
            .find(|(p, _)| p == "/podcasts/trending")
            .unwrap()
            .1;
    assert_eq!(trending.get("lang").map(String::as_str), Some("en"));
    assert!(
        trending
            .get("cat")
            .is_some_and(|c| c.contains("Technology"))
    );

    assert_eq!(r.admitted.len(), 2, "{r:#?}");
    for a in &r.admitted {
        assert!(
            a.reason
                .starts_with(&format!("found for your topic '{TOPIC}': 0.")),
            "{}",
            a.reason
        );
        assert!(
            a.show.contains("Azure") || a.show.contains("Cloud Native"),
            "{a:?}"
        );
    }
    assert!(
        r.left_out
            .iter()
            .any(|l| l.why.starts_with("over today's budget of 2 episodes")),
        "{r:#?}"
    );
    assert!(
        r.left_out
            .iter()
            .any(|l| l.title.contains("sourdough") && l.why.starts_with("below the 0.30 match")),
        "{r:#?}"
    );
    assert!(r.left_out.iter().any(|l| l.show == "In Our Time"), "{r:#?}");
    // The refused feed is a problem line, not a failure.
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("Cluster Internals") && p.contains("refused")),
        "{:?}",
        r.problems
    );
    // Only the admitted episodes are stored and queued (speech-to-text: no transcripts).
    assert_eq!(r.jobs_queued, 2);
    let eps = w.store.list_episodes(None, 100).await.unwrap();
    assert_eq!(eps.len(), 2);
    assert!(eps.iter().all(|e| e.state == EpisodeState::Candidate));
    // The report is kept on the topic.
    let stored = w.store.list_topics(TopicOwner::Reader(user)).await.unwrap();
    assert_eq!(
        stored[0].last_report.as_ref().unwrap()["admitted"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The next day: yesterday's admissions are not admitted again; the budget is new.
    *w.clock.0.lock().unwrap() = now + chrono::Duration::days(1);
    let r2 = w.scanner.scan(&stored[0]).await.unwrap();
    let first: Vec<i64> = r.admitted.iter().map(|a| a.episode_id).collect();
    assert!(!r2.admitted.is_empty(), "{r2:#?}");
    assert!(
        r2.admitted.iter().all(|a| !first.contains(&a.episode_id)),
        "{r2:#?}"
    );
}

/// Syndicated copies (the same enclosure; the same title and duration) are read once: the
/// copy is left out in the scan that admits the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syndicated_copies_are_read_once() {
    let Some(w) = world("syndicated_copies_are_read_once", cfg(20)).await else {
        return;
    };
    let now = w.clock.now();
    let user = w.store.default_user(now).await.unwrap();
    let (topic, _) = w.store.add_topic(Some(user), TOPIC, now).await.unwrap();
    let r = w.scanner.scan(&topic).await.unwrap();
    let copies: Vec<_> = r
        .left_out
        .iter()
        .filter(|l| l.why.contains("read once"))
        .collect();
    assert_eq!(copies.len(), 2, "{r:#?}");
    let titles: Vec<&str> = r.admitted.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "AKS networking deep dive")
            .count(),
        1,
        "{titles:?}"
    );
    let eps = w.store.list_episodes(None, 100).await.unwrap();
    assert_eq!(eps.len(), r.admitted.len());
    // A catalogue topic that finds the same episode gets the copy already read, not a new one.
    let (cat_topic, _) = w.store.add_topic(None, TOPIC, now).await.unwrap();
    let r2 = w.scanner.scan(&cat_topic).await.unwrap();
    assert!(r2.admitted.iter().all(|a| a.read_once_elsewhere), "{r2:#?}");
    assert_eq!(
        w.store.list_episodes(None, 100).await.unwrap().len(),
        eps.len()
    );
    assert_eq!(r2.jobs_queued, 0);
}

/// A directory that is down, rate-limits or answers garbage: the scan says so and goes on
/// with the others; with none reachable it fails with one clear line, and nothing is stored.
/// A budget of zero admits nothing and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_directories_and_a_zero_budget() {
    let Some(w) = world("bad_directories_and_a_zero_budget", cfg(0)).await else {
        return;
    };
    let now = w.clock.now();
    let user = w.store.default_user(now).await.unwrap();
    let (topic, _) = w.store.add_topic(Some(user), TOPIC, now).await.unwrap();
    w.pi.set_mood(Mood::Throttled);
    let r = w.scanner.scan(&topic).await.unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("podcastindex asks to slow down (retry after 120s)")),
        "{:?}",
        r.problems
    );
    assert!(r.admitted.is_empty());
    assert!(
        r.left_out
            .iter()
            .any(|l| l.why.starts_with("over today's budget of 0 episodes")),
        "{r:#?}"
    );
    // While it cools down, no call is made to it; iTunes' answers come from its cache.
    let before = w.pi.calls();
    let (itunes_before, r) = (w.itunes.calls(), w.scanner.scan(&topic).await.unwrap());
    assert_eq!(
        w.pi.calls(),
        before,
        "a rate-limited directory is left alone until Retry-After"
    );
    assert_eq!(
        w.itunes.calls(),
        itunes_before,
        "the same searches are answered from the cache"
    );
    assert!(r.shows_found >= 5);
    // Nothing reachable (iTunes answers an HTML page for new terms): one clear error.
    w.itunes.set_mood(Mood::Garbage);
    let (other, _) = w
        .store
        .add_topic(Some(user), "grid storage batteries", now)
        .await
        .unwrap();
    let err = w.scanner.scan(&other).await.unwrap_err().to_string();
    assert!(
        err.starts_with("no show directory could be reached:"),
        "{err}"
    );
    assert!(
        err.contains("itunes answered something that is not its API's JSON"),
        "{err}"
    );
    assert!(w.store.list_episodes(None, 10).await.unwrap().is_empty());
}
