//! The store contract (`podsift_store::contract`) run against SQLite: each test gets a fresh
//! database file in its own temporary directory.

use std::sync::Arc;

use podsift_core::store::Store;
use podsift_store::SqlStore;
use podsift_store::contract::{
    self, discovery, episodes, feedback, feeds, insights, jobs, redo, transcripts, users, web,
};
use tempfile::TempDir;

async fn fresh() -> (TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("podsift.db"))
        .await
        .unwrap();
    (dir, store)
}

/// One `#[tokio::test]` per contract function that takes just a fresh store.
macro_rules! contract {
    ($($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_dir, store) = fresh().await;
                $module::$name(&store).await;
            }
        )*
    };
}

podsift_store::for_each_contract_test!(contract);

#[tokio::test]
async fn two_users_share_one_feed() {
    let (_dir, store) = fresh().await;
    let second = store
        .create_user("alice", Some("alice@example.org"), contract::t0())
        .await
        .unwrap();
    feeds::two_users_share_one_feed(&store, second).await;
}

#[tokio::test]
async fn admissions_reach_their_readers() {
    let (_dir, store) = fresh().await;
    let second = store
        .create_user("bob", Some("bob@example.org"), contract::t0())
        .await
        .unwrap();
    discovery::admissions_reach_their_readers(&store, second).await;
}

#[tokio::test]
async fn subscribers_and_audio_usage() {
    let (_dir, store) = fresh().await;
    let second = store
        .create_user("carol", Some("carol@example.org"), contract::t0())
        .await
        .unwrap();
    feeds::subscribers_and_audio_usage(&store, second).await;
}

#[tokio::test]
async fn record_poll_url_merge() {
    let (_dir, store) = fresh().await;
    let second = store
        .create_user("bob", None, contract::t0())
        .await
        .unwrap();
    feeds::record_poll_url_merge(&store, second).await;
}

/// 200 jobs, two store handles on one file (like two processes), four workers each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_two_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqlStore::open(&path).await.unwrap();
    let b = SqlStore::open(&path).await.unwrap();
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(a), Arc::new(b)];
    jobs::concurrent_claims_exactly_once(stores, 200, 4).await;
}

/// The whole single-store contract also holds for an in-memory database.
#[tokio::test]
async fn in_memory_store_passes_contract_samples() {
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    episodes::upsert_insert_unchanged_edit(&store).await;
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    jobs::retry_backoff_then_dead(&store).await;
    let store = SqlStore::connect("sqlite::memory:").await.unwrap();
    transcripts::transcript_replace_and_order(&store).await;
}

#[tokio::test]
async fn llm_cache_round_trip() {
    use podsift_core::{LlmCache, LlmResponse};
    let (_dir, store) = fresh().await;
    assert!(store.get("k").await.is_none());
    let r = LlmResponse {
        text: "{\"insights\":[]}".into(),
        prompt_tokens: 10,
        completion_tokens: 2,
    };
    store.put("k", &r).await;
    assert_eq!(store.get("k").await, Some(r));
}

/// Two handles on one file race to create the same digest: exactly one creates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_digest_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqlStore::open(&path).await.unwrap();
    let b = SqlStore::open(&path).await.unwrap();
    insights::concurrent_digest_exactly_once(vec![Arc::new(a), Arc::new(b)]).await;
}

/// Two handles on one file upsert the same feed at once: no failure, no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_one_feed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqlStore::open(&path).await.unwrap();
    let b = SqlStore::open(&path).await.unwrap();
    episodes::concurrent_upserts_of_one_feed(vec![Arc::new(a), Arc::new(b)]).await;
}

/// `podsift_store::connect` opens SQLite for `sqlite:` URLs.
#[tokio::test]
async fn connect_opens_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let store = podsift_store::connect(&url).await.unwrap();
    let user = store.default_user(contract::t0()).await.unwrap();
    assert_eq!(store.get_user(user).await.unwrap().unwrap().name, "local");
    let err = podsift_store::connect("ftp://x").await.err().unwrap();
    assert!(!err.is_retryable(), "{err}");
}
