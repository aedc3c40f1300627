//! SQLite-specific behaviour: durability across reopen, idempotent migrations, URLs.

use podsift_core::jobs::{JobKind, JobState, NewJob};
use podsift_core::model::*;
use podsift_core::store::Store;
use podsift_store::SqlStore;
use podsift_store::contract::{at, episode, new_feed, t0};

#[tokio::test]
async fn reopened_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    // Parent directories are created on open.
    let path = dir.path().join("nested/dir/podsift.db");
    let (feed, ep, job) = {
        let store = SqlStore::open(&path).await.unwrap();
        let user = store.default_user(t0()).await.unwrap();
        let (feed, _) = store
            .subscribe(user, &new_feed("https://d.example/rss"), t0())
            .await
            .unwrap();
        let s = store
            .upsert_episodes(feed, &[episode("g", "h", Some(5))], 1, t0())
            .await
            .unwrap();
        let ep = s.new_candidates[0];
        store
            .save_transcript(
                &Transcript {
                    episode_id: ep,
                    source: TranscriptSource::Local {
                        model: "base".into(),
                    },
                    language: Some("en".into()),
                    segments: vec![Segment {
                        start: 0.0,
                        end: 1.0,
                        speaker: None,
                        text: "kept".into(),
                    }],
                    skipped: 1,
                    created_at: at(1),
                },
                None,
            )
            .await
            .unwrap();
        let job = store
            .enqueue(
                &NewJob::for_episode(JobKind::FetchTranscript, ep, t0()),
                t0(),
            )
            .await
            .unwrap()
            .unwrap();
        store.close().await;
        (feed, ep, job)
    };
    assert!(path.exists());

    let store = SqlStore::open(&path).await.unwrap();
    let user = store.default_user(at(100)).await.unwrap();
    let feeds = store.list_feeds(Some(user)).await.unwrap();
    assert_eq!(feeds.len(), 1);
    assert_eq!((feeds[0].id, feeds[0].episode_count), (feed, 1));
    let got = store.get_episode(ep).await.unwrap().unwrap();
    assert_eq!(got.transcript_source.as_deref(), Some("local:base"));
    assert_eq!(got.segment_count, 1);
    let t = store.get_transcript(ep).await.unwrap().unwrap();
    assert_eq!(t.segments[0].text, "kept");
    let jobs = store.list_jobs(Some(JobState::Queued), 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![job]);
    assert_eq!(jobs[0].episode_id(), Some(ep));
}

#[tokio::test]
async fn dropped_without_close_keeps_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("podsift.db");
    {
        let store = SqlStore::open(&path).await.unwrap();
        let user = store.default_user(t0()).await.unwrap();
        store
            .subscribe(user, &new_feed("https://drop.example/rss"), t0())
            .await
            .unwrap();
        // dropped here, no close()
    }
    let store = SqlStore::open(&path).await.unwrap();
    let found = store
        .find_feed(&FeedKey::Url("https://drop.example/rss".into()))
        .await
        .unwrap();
    assert!(found.is_some());
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("podsift.db");
    let first = SqlStore::open(&path).await.unwrap();
    first.migrate().await.unwrap();
    let second = SqlStore::open(&path).await.unwrap();
    second.migrate().await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(second.sqlite_pool().unwrap())
        .await
        .unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count();
    assert_eq!(usize::try_from(applied).unwrap(), shipped);
    // Both handles work on the migrated schema.
    let user = first.default_user(t0()).await.unwrap();
    assert_eq!(second.default_user(t0()).await.unwrap(), user);
}

#[tokio::test]
async fn connect_urls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/url.db");
    let url = format!("sqlite://{}", file.display());
    let store = SqlStore::connect(&url).await.unwrap();
    store.default_user(t0()).await.unwrap();
    assert!(file.exists());
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    assert_eq!(fk, 1);

    // Two in-memory stores are independent.
    let a = SqlStore::connect("sqlite::memory:").await.unwrap();
    let b = SqlStore::connect("sqlite::memory:").await.unwrap();
    let user = a.default_user(t0()).await.unwrap();
    a.subscribe(user, &new_feed("https://mem.example/"), t0())
        .await
        .unwrap();
    assert_eq!(a.list_feeds(None).await.unwrap().len(), 1);
    assert!(b.list_feeds(None).await.unwrap().is_empty());

    // A URL of no database the store knows is refused for good, naming what it expects.
    let err = SqlStore::connect("mysql://nope").await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("expected sqlite:"), "{err}");
}

#[tokio::test]
async fn duplicate_user_name_is_permanent() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    store.create_user("carol", None, t0()).await.unwrap();
    let err = store.create_user("carol", None, t0()).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
}

/// A database locked by another writer is reported as retryable (`Unavailable`).
#[tokio::test]
async fn locked_database_is_retryable() {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let store = SqlStore::open(&path).await.unwrap();
    let mut holder = store.sqlite_pool().unwrap().acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();

    // A second "process" that does not wait for the lock.
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .busy_timeout(std::time::Duration::ZERO);
    let mut other = SqliteConnection::connect_with(&options).await.unwrap();
    let err = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap_err();
    let mapped = podsift_store::map_sqlx_error(err);
    assert!(mapped.is_retryable(), "{mapped}");

    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
}
