//! Contract: topics, their admissions, the catalogue, the syndication check, and which
//! episodes a reader reads (followed shows, the catalogue, their topics' admissions).

use podsift_core::discovery::{Admission, CopyKey, TopicOwner};
use podsift_core::insight::ExtractionReport;
use podsift_core::store::Store;

use super::insights::draft;
use super::{at, episode, new_feed, t0};

/// Topics are per reader (the same wording in any case is one topic) or the catalogue's;
/// removing one is only its owner's to do.
pub async fn topics_round_trip(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let (a, new) = store
        .add_topic(Some(user), "  Home  batteries ", t0())
        .await
        .unwrap();
    assert!(new);
    assert_eq!(a.text, "Home batteries");
    let (again, new) = store
        .add_topic(Some(user), "home BATTERIES", at(1))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(again.id, a.id);
    let (cat, new) = store.add_topic(None, "home batteries", t0()).await.unwrap();
    assert!(new && cat.id != a.id && cat.user.is_none());
    assert!(store.add_topic(Some(user), "   ", t0()).await.is_err());
    assert_eq!(
        store
            .list_topics(TopicOwner::Reader(user))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.list_topics(TopicOwner::Catalogue).await.unwrap()[0].id,
        cat.id
    );
    assert_eq!(
        store.list_topics(TopicOwner::Everyone).await.unwrap().len(),
        2
    );
    let report = serde_json::json!({"admitted": [1, 2]});
    store.finish_topic_scan(a.id, &report, at(5)).await.unwrap();
    let mine = &store.list_topics(TopicOwner::Reader(user)).await.unwrap()[0];
    assert_eq!(mine.last_scan_at, Some(at(5)));
    assert_eq!(mine.last_report.as_ref(), Some(&report));
    assert!(
        !store.remove_topic(None, a.id).await.unwrap(),
        "not the catalogue's"
    );
    assert!(store.remove_topic(Some(user), a.id).await.unwrap());
    assert!(
        store
            .list_topics(TopicOwner::Reader(user))
            .await
            .unwrap()
            .is_empty()
    );
}

/// An admitted episode of a show nobody follows becomes a candidate, counts against its
/// topic's day, is found as a copy by enclosure, GUID or title and duration, and its insights
/// reach the topic's reader (with the reason) and nobody else; a catalogue show's reach every
/// reader, and catalogue shows are polled.
pub async fn admissions_reach_their_readers(store: &dyn Store, other: podsift_core::UserId) {
    let user = store.default_user(t0()).await.unwrap();
    let feed = store
        .ensure_feed(&new_feed("https://found.example/rss"), t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .ensure_feed(&new_feed("https://found.example/rss"), at(1))
            .await
            .unwrap(),
        feed
    );
    assert!(
        store.due_feeds(at(10), 10).await.unwrap().is_empty(),
        "nobody follows it"
    );
    let stats = store
        .upsert_episodes(feed, &[episode("g1", "h", Some(5))], 1, t0())
        .await
        .unwrap();
    let ep = stats.new_candidates[0];
    let key =
        |enc: Option<&str>, guid: Option<&str>, title: Option<&str>, d: Option<u64>| CopyKey {
            enclosure_url: enc.map(Into::into),
            guid: guid.map(Into::into),
            title: title.map(Into::into),
            duration_seconds: d,
        };
    assert_eq!(
        store
            .find_copy(
                &key(Some("https://cdn.example.org/g1.mp3"), None, None, None),
                0
            )
            .await
            .unwrap(),
        Some(ep)
    );
    assert_eq!(
        store
            .find_copy(&key(None, Some("g1"), None, None), 0)
            .await
            .unwrap(),
        Some(ep)
    );
    assert_eq!(
        store
            .find_copy(&key(None, None, Some("EPISODE g1 (h)"), Some(1801)), 0)
            .await
            .unwrap(),
        Some(ep)
    );
    assert_eq!(
        store
            .find_copy(&key(None, None, Some("Episode g1 (h)"), None), 0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_copy(&key(None, Some("g1"), None, None), ep)
            .await
            .unwrap(),
        None
    );

    let (topic, _) = store
        .add_topic(Some(user), "batteries", t0())
        .await
        .unwrap();
    let adm = Admission {
        topic: topic.id,
        episode: ep,
        score: 0.71,
        reason: "found for your topic 'batteries': 0.71 match".into(),
        audio_seconds: Some(1800),
        admitted_at: at(20),
    };
    assert!(store.admit_episode(&adm).await.unwrap());
    assert!(!store.admit_episode(&adm).await.unwrap(), "once per topic");
    let day = store.admissions_since(topic.id, at(0)).await.unwrap();
    assert_eq!(day, vec![adm.clone()]);
    assert!(
        store
            .admissions_since(topic.id, at(21))
            .await
            .unwrap()
            .is_empty()
    );

    let ids = store
        .save_extraction(
            ep,
            "m",
            &[draft("Battery prices fell", 10.0)],
            &ExtractionReport::default(),
            None,
            at(30),
        )
        .await
        .unwrap();
    let mine = store.insight_candidates(user, t0()).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].found_for.as_deref(), Some(adm.reason.as_str()));
    assert!(
        store
            .insight_candidates(other, t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.visible_insight(user, ids[0]).await.unwrap(), Some(ep));
    assert_eq!(store.visible_insight(other, ids[0]).await.unwrap(), None);

    // The catalogue: every reader gets its shows, which are polled although nobody follows
    // them.
    assert!(store.add_catalogue_feed(feed, at(40)).await.unwrap());
    assert!(!store.add_catalogue_feed(feed, at(41)).await.unwrap());
    let theirs = store.insight_candidates(other, t0()).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].found_for, None, "not found for their topic");
    assert_eq!(store.due_feeds(at(50), 10).await.unwrap().len(), 1);
    let cat = store.list_catalogue().await.unwrap();
    assert_eq!((cat.len(), cat[0].feed_id), (1, feed));
    assert!(store.remove_catalogue_feed(feed).await.unwrap());
    assert!(
        store
            .insight_candidates(other, t0())
            .await
            .unwrap()
            .is_empty()
    );
    // Removing the topic takes its admissions with it.
    assert!(store.remove_topic(Some(user), topic.id).await.unwrap());
    assert!(
        store
            .insight_candidates(user, t0())
            .await
            .unwrap()
            .is_empty()
    );
}
