//! Contract: episode upserts, the first-import rule and listings.

use std::collections::HashSet;

use podsift_core::model::*;
use podsift_core::store::{Store, StoreError};

use super::*;

fn states(eps: &[Episode]) -> Vec<(String, EpisodeState)> {
    eps.iter().map(|e| (e.identity.clone(), e.state)).collect()
}

/// Insert, re-poll unchanged, edit in place (id, state and first-seen kept), never duplicate.
pub async fn upsert_insert_unchanged_edit(store: &dyn Store) {
    let feed = feed_with_subscriber(store, "https://ep.example/rss").await;
    let v1 = [
        episode("a", "h1", Some(30)),
        episode("b", "h1", Some(20)),
        episode("c", "h1", Some(10)),
    ];
    let s = store.upsert_episodes(feed, &v1, 10, at(1)).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (3, 0, 0));
    assert_eq!(s.new_candidates.len(), 3);
    let before = store.list_episodes(Some(feed), 100).await.unwrap();
    assert_eq!(before.len(), 3);

    let s = store.upsert_episodes(feed, &v1, 10, at(2)).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 3));
    assert!(s.new_candidates.is_empty());

    let mut edited = episode("b", "h2", Some(20));
    edited.episode.title = Some("Fixed typo".into());
    let s = store
        .upsert_episodes(feed, &[v1[0].clone(), edited, v1[2].clone()], 10, at(3))
        .await
        .unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 1, 2));
    let after = store.list_episodes(Some(feed), 100).await.unwrap();
    assert_eq!(after.len(), 3, "no duplicates after re-polls");
    let old_b = before.iter().find(|e| e.identity == "b").unwrap();
    let new_b = after.iter().find(|e| e.identity == "b").unwrap();
    assert_eq!(new_b.id, old_b.id);
    assert_eq!(new_b.state, old_b.state);
    assert_eq!(new_b.first_seen_at, at(1));
    assert_eq!(new_b.updated_at, at(3));
    assert_eq!(new_b.data.title.as_deref(), Some("Fixed typo"));
    assert_eq!(
        s.updated_candidates,
        vec![new_b.id],
        "an edited candidate is reported"
    );
    assert!(s.new_candidates.is_empty());
    let got = store.get_episode(new_b.id).await.unwrap().unwrap();
    assert_eq!(&got, new_b);
    assert_eq!(got.feed_id, feed);
    assert_eq!(
        got.data.enclosure.as_ref().map(|e| e.url.as_str()),
        Some("https://cdn.example.org/b.mp3")
    );
    assert_eq!(got.data.duration_seconds, Some(1800));

    // A later poll that adds one episode: only that one is new, and it is a candidate.
    let mut v2 = vec![episode("d", "h1", Some(40))];
    v2.extend(v1.iter().cloned());
    let s = store.upsert_episodes(feed, &v2, 0, at(4)).await.unwrap();
    assert_eq!(
        (s.inserted, s.updated, s.unchanged),
        (1, 1, 2),
        "b reverted to h1"
    );
    assert_eq!(s.new_candidates.len(), 1);
    let d = store
        .get_episode(s.new_candidates[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.identity.as_str(), d.state),
        ("d", EpisodeState::Candidate)
    );
    assert_eq!(store.list_episodes(Some(feed), 100).await.unwrap().len(), 4);
    assert!(store.get_episode(d.id + 1000).await.unwrap().is_none());
}

/// The same identity on two feeds is two episodes; a repeat inside one batch is stored once.
pub async fn identity_is_per_feed(store: &dyn Store) {
    let a = feed_with_subscriber(store, "https://one.example/rss").await;
    let b = feed_with_subscriber(store, "https://two.example/rss").await;
    let e = episode("same-guid", "h", Some(1));
    store
        .upsert_episodes(a, std::slice::from_ref(&e), 5, t0())
        .await
        .unwrap();
    store
        .upsert_episodes(b, std::slice::from_ref(&e), 5, t0())
        .await
        .unwrap();
    assert_eq!(store.list_episodes(None, 100).await.unwrap().len(), 2);

    let c = feed_with_subscriber(store, "https://three.example/rss").await;
    let repeated = [episode("x", "h1", Some(2)), episode("x", "h2", Some(1))];
    let s = store.upsert_episodes(c, &repeated, 5, t0()).await.unwrap();
    assert_eq!(s.inserted, 1);
    let eps = store.list_episodes(Some(c), 10).await.unwrap();
    assert_eq!(eps.len(), 1);
    assert_eq!(
        eps[0].data.title.as_deref(),
        Some("Episode x (h1)"),
        "first occurrence wins"
    );

    let err = store
        .upsert_episodes(c + 1000, &repeated, 5, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

/// First import: only the newest N (by date) are candidates, the rest seen; later imports:
/// every new episode is a candidate.
pub async fn first_import_candidates_rule(store: &dyn Store) {
    let feed = feed_with_subscriber(store, "https://back.example/rss").await;
    // Feed order is not date order here.
    let eps = [
        episode("e2", "h", Some(200)),
        episode("e5", "h", Some(500)),
        episode("e1", "h", Some(100)),
        episode("e4", "h", Some(400)),
        episode("e3", "h", Some(300)),
    ];
    let s = store.upsert_episodes(feed, &eps, 2, t0()).await.unwrap();
    assert_eq!(s.inserted, 5);
    assert_eq!(s.new_candidates.len(), 2);
    let listed = store.list_episodes(Some(feed), 10).await.unwrap();
    assert_eq!(
        states(&listed),
        vec![
            ("e5".to_string(), EpisodeState::Candidate),
            ("e4".to_string(), EpisodeState::Candidate),
            ("e3".to_string(), EpisodeState::Seen),
            ("e2".to_string(), EpisodeState::Seen),
            ("e1".to_string(), EpisodeState::Seen),
        ]
    );
    let cand: HashSet<EpisodeId> = s.new_candidates.iter().copied().collect();
    let expected: HashSet<EpisodeId> = listed[..2].iter().map(|e| e.id).collect();
    assert_eq!(cand, expected);

    // Editing a seen and a candidate episode: only the candidate is reported.
    let edits = [
        episode("e1", "h-edited", Some(100)),
        episode("e5", "h-edited", Some(500)),
    ];
    let s = store.upsert_episodes(feed, &edits, 2, at(1)).await.unwrap();
    assert_eq!((s.inserted, s.updated), (0, 2));
    assert_eq!(s.updated_candidates, vec![listed[0].id]);
    let e1 = store.get_episode(listed[4].id).await.unwrap().unwrap();
    assert_eq!(
        e1.state,
        EpisodeState::Seen,
        "an edit never changes the state"
    );

    // Second import: both new episodes are candidates even though N = 0 and one is older.
    let later = [episode("e6", "h", Some(600)), episode("e0", "h", Some(0))];
    let s = store.upsert_episodes(feed, &later, 0, at(1)).await.unwrap();
    assert_eq!((s.inserted, s.new_candidates.len()), (2, 2));

    // Undated episodes on a first import: feed order decides (earlier in the document = newer).
    let undated = feed_with_subscriber(store, "https://undated.example/rss").await;
    let eps = [
        episode("u1", "h", None),
        episode("u2", "h", None),
        episode("u3", "h", None),
    ];
    let s = store.upsert_episodes(undated, &eps, 1, t0()).await.unwrap();
    assert_eq!(s.new_candidates.len(), 1);
    let first = store
        .get_episode(s.new_candidates[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.identity, "u1");

    // N larger than the feed: everything is a candidate; N = 0: nothing is.
    let all = feed_with_subscriber(store, "https://all.example/rss").await;
    let s = store.upsert_episodes(all, &eps, 50, t0()).await.unwrap();
    assert_eq!(s.new_candidates.len(), 3);
    let none = feed_with_subscriber(store, "https://none.example/rss").await;
    let s = store.upsert_episodes(none, &eps, 0, t0()).await.unwrap();
    assert!(s.new_candidates.is_empty());
    assert_eq!(s.inserted, 3);
}

/// Listing: newest first by published date, undated last, ties by id descending; limit and
/// feed filter respected.
pub async fn list_episodes_ordering(store: &dyn Store) {
    let a = feed_with_subscriber(store, "https://la.example/rss").await;
    let b = feed_with_subscriber(store, "https://lb.example/rss").await;
    store
        .upsert_episodes(
            a,
            &[
                episode("a-undated", "h", None),
                episode("a-100", "h", Some(100)),
                episode("a-300", "h", Some(300)),
            ],
            10,
            t0(),
        )
        .await
        .unwrap();
    store
        .upsert_episodes(
            b,
            &[
                episode("b-200", "h", Some(200)),
                episode("b-300", "h", Some(300)),
            ],
            10,
            t0(),
        )
        .await
        .unwrap();
    let all = store.list_episodes(None, 100).await.unwrap();
    let order: Vec<&str> = all.iter().map(|e| e.identity.as_str()).collect();
    // a-300 and b-300 tie on date: the higher id (b-300, inserted later) first.
    assert_eq!(order, vec!["b-300", "a-300", "b-200", "a-100", "a-undated"]);
    let top2: Vec<String> = store
        .list_episodes(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.identity)
        .collect();
    assert_eq!(top2, vec!["b-300", "a-300"]);
    let only_a: Vec<String> = store
        .list_episodes(Some(a), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.identity)
        .collect();
    assert_eq!(only_a, vec!["a-300", "a-100", "a-undated"]);
    assert!(store.list_episodes(None, 0).await.unwrap().is_empty());
    for e in &all {
        assert_eq!(e.transcript_source, None);
        assert_eq!(e.segment_count, 0);
    }
}

/// Several processes upsert the same feed's episodes at once (two pollers racing): none
/// fails, every episode exists once, and the first-import rule is applied once.
/// `stores` must all point at one fresh database.
pub async fn concurrent_upserts_of_one_feed(stores: Vec<std::sync::Arc<dyn Store>>) {
    let first = stores.first().expect("at least one store").clone();
    let feed = feed_with_subscriber(first.as_ref(), "https://race.example/rss").await;
    let batch: Vec<EpisodeUpsert> = (0..20)
        .map(|i| episode(&format!("r{i}"), "h", Some(i)))
        .collect();
    let mut tasks = Vec::new();
    for store in stores.iter().cycle().take(stores.len() * 3) {
        let store = store.clone();
        let batch = batch.clone();
        tasks.push(tokio::spawn(async move {
            store.upsert_episodes(feed, &batch, 5, t0()).await.unwrap()
        }));
    }
    let mut inserted = 0;
    let mut candidates = 0;
    for t in tasks {
        let s = t.await.unwrap();
        inserted += s.inserted;
        candidates += s.new_candidates.len();
    }
    assert_eq!(inserted, 20, "each episode inserted by exactly one upsert");
    assert_eq!(candidates, 5, "first-import rule applied once");
    let listed = first.list_episodes(Some(feed), 100).await.unwrap();
    assert_eq!(listed.len(), 20);
    let found = first.find_feed(&FeedKey::Id(feed)).await.unwrap().unwrap();
    assert_eq!(found.episode_count, 20);
}
