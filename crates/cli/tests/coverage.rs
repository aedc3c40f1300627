//! `podsift episodes` says how much of each episode was read: a READ column (`100 %`,
//! `64 % (capped)`, `—` when not read yet) and the share and words in `--json`. The store is
//! seeded with extraction reports as the extractor writes them; the binary reads it.

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_store::SqlStore;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn podsift(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .args(args)
        .env_remove("PODSIFT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("RUST_LOG", "error")
        .output()
        .expect("run podsift");
    assert!(
        out.status.success(),
        "podsift failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three episodes, newest first: read in full, capped, not read yet.
async fn seed(dir: &Path) {
    let store = SqlStore::open(&dir.join("podsift.db")).await.unwrap();
    let now = Utc::now();
    let user = store.default_user(now).await.unwrap();
    let (feed, _) = store
        .subscribe(
            user,
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
    let ups: Vec<EpisodeUpsert> = (1..=3)
        .map(|n| EpisodeUpsert {
            identity: format!("guid:{n}"),
            content_hash: format!("h{n}"),
            episode: ParsedEpisode {
                title: Some(format!("Episode {n}")),
                published: Some(now - chrono::Duration::days(10 - i64::from(n))),
                ..Default::default()
            },
        })
        .collect();
    store.upsert_episodes(feed, &ups, 3, now).await.unwrap();
    let eps = store.list_episodes(Some(feed), 10).await.unwrap();
    let id = |title: &str| {
        eps.iter()
            .find(|e| e.data.title.as_deref() == Some(title))
            .unwrap()
            .id
    };
    let full = ExtractionReport {
        words_total: 10_000,
        words_ad: 588,
        words_read: 9_412,
        ..ExtractionReport::default()
    };
    let capped = ExtractionReport {
        words_total: 10_000,
        words_read: 6_400,
        cap: Some("episode_token_budget = 8000".into()),
        ..ExtractionReport::default()
    };
    for (ep, r) in [(id("Episode 3"), full), (id("Episode 2"), capped)] {
        store
            .save_extraction(ep, "test", &[], &r, None, now)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn episodes_show_how_much_was_read() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;

    let table = podsift(dir.path(), &["episodes"]);
    let header = table.lines().next().unwrap();
    assert!(header.trim_end().ends_with("READ"), "{table}");
    let row = |title: &str| {
        table
            .lines()
            .find(|l| l.contains(title))
            .unwrap_or_else(|| panic!("no row for {title}: {table}"))
            .trim_end()
            .to_string()
    };
    assert!(row("Episode 3").ends_with(" 100 %"), "{table}");
    assert!(row("Episode 2").ends_with(" 64 % (capped)"), "{table}");
    assert!(row("Episode 1").ends_with(" —"), "{table}");

    let v: Value = serde_json::from_str(&podsift(dir.path(), &["episodes", "--json"])).unwrap();
    let eps = v.as_array().unwrap();
    let by_title = |t: &str| eps.iter().find(|e| e["title"] == t).unwrap();
    let full = by_title("Episode 3");
    assert_eq!(full["read_share"], 1.0);
    assert_eq!(full["words_total"], 10_000);
    assert_eq!(full["words_ad"], 588);
    assert_eq!(full["words_read"], 9_412);
    assert_eq!(full["capped"], false);
    assert!(full["cap"].is_null());
    let capped = by_title("Episode 2");
    assert_eq!(capped["read_share"], 0.64);
    assert_eq!(capped["cap"], "episode_token_budget = 8000");
    assert_eq!(capped["capped"], true);
    let unread = by_title("Episode 1");
    for k in ["read_share", "words_total", "words_read", "capped"] {
        assert!(unread[k].is_null(), "{k}: {unread}");
    }
}
