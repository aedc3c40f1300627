//! Contract: users, feeds, subscriptions and poll bookkeeping.

use podsift_core::model::*;
use podsift_core::store::{Store, StoreError};

use super::*;

/// The default user is created once and then stable.
pub async fn default_user_is_stable(store: &dyn Store) {
    let a = store.default_user(t0()).await.unwrap();
    let b = store.default_user(at(60)).await.unwrap();
    assert_eq!(a, b);
}

/// Subscribing twice to one URL reuses the feed row; the second subscription is not new.
pub async fn subscribe_twice_reuses_feed(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let f = new_feed("https://a.example/feed.xml");
    let (id1, new1) = store.subscribe(user, &f, t0()).await.unwrap();
    let (id2, new2) = store.subscribe(user, &f, at(10)).await.unwrap();
    assert_eq!(id1, id2);
    assert!(new1);
    assert!(!new2);
    let feeds = store.list_feeds(None).await.unwrap();
    assert_eq!(feeds.len(), 1);
    let feed = &feeds[0];
    assert_eq!(feed.url, "https://a.example/feed.xml");
    assert_eq!(
        feed.title.as_deref(),
        Some("Title of https://a.example/feed.xml")
    );
    assert_eq!(feed.language.as_deref(), Some("en"));
    assert_eq!(feed.status, FeedStatus::Active);
    assert_eq!(feed.error_count, 0);
    assert_eq!(feed.next_check_at, t0());
    assert_eq!(feed.created_at, t0());
    assert_eq!(feed.episode_count, 0);
}

/// Two users following the same URL share one feed row; each sees it in their list, and
/// unsubscribing one keeps it polled for the other.
pub async fn two_users_share_one_feed(store: &dyn Store, second_user: UserId) {
    let first = store.default_user(t0()).await.unwrap();
    assert_ne!(first, second_user);
    let f = new_feed("https://shared.example/rss");
    let (a, new_a) = store.subscribe(first, &f, t0()).await.unwrap();
    let (b, new_b) = store.subscribe(second_user, &f, t0()).await.unwrap();
    assert_eq!(a, b, "one feed row for one URL");
    assert!(new_a && new_b, "each user's subscription is new");
    let (only_first, _) = store
        .subscribe(first, &new_feed("https://only-first.example/rss"), t0())
        .await
        .unwrap();

    let mine: Vec<FeedId> = ids(store.list_feeds(Some(first)).await.unwrap());
    let theirs: Vec<FeedId> = ids(store.list_feeds(Some(second_user)).await.unwrap());
    assert_eq!(mine, vec![a, only_first]);
    assert_eq!(theirs, vec![a]);
    assert_eq!(store.list_feeds(None).await.unwrap().len(), 2);

    assert!(store.unsubscribe(first, a).await.unwrap());
    assert_eq!(
        ids(store.due_feeds(at(1), 10).await.unwrap()),
        vec![a, only_first]
    );
    assert!(store.unsubscribe(second_user, a).await.unwrap());
    assert_eq!(
        ids(store.due_feeds(at(1), 10).await.unwrap()),
        vec![only_first]
    );
}

fn ids(feeds: Vec<Feed>) -> Vec<FeedId> {
    feeds.into_iter().map(|f| f.id).collect()
}

/// Subscribing a user that does not exist fails without creating anything.
pub async fn subscribe_unknown_user_fails(store: &dyn Store) {
    let err = store
        .subscribe(987_654, &new_feed("https://x.example/rss"), t0())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(store.list_feeds(None).await.unwrap().is_empty());
}

/// Unsubscribing reports whether there was a subscription; unfollowed feeds are not due.
pub async fn unsubscribe_stops_polling(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let id = feed_with_subscriber(store, "https://u.example/rss").await;
    assert_eq!(store.due_feeds(t0(), 10).await.unwrap().len(), 1);
    assert!(store.unsubscribe(user, id).await.unwrap());
    assert!(!store.unsubscribe(user, id).await.unwrap());
    assert!(store.due_feeds(at(3600), 10).await.unwrap().is_empty());
    assert!(store.list_feeds(Some(user)).await.unwrap().is_empty());
    // The feed row stays (its episodes and history are kept) and comes back on resubscribe.
    assert!(store.find_feed(&FeedKey::Id(id)).await.unwrap().is_some());
    let (again, new) = store
        .subscribe(user, &new_feed("https://u.example/rss"), at(5))
        .await
        .unwrap();
    assert_eq!(again, id);
    assert!(new);
}

/// `due_feeds`: only subscribed feeds with `next_check_at <= now`, oldest first, limited.
pub async fn due_feeds_order_and_filter(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let feed_at = |url: &'static str, due: i64| {
        let mut f = new_feed(url);
        f.next_check_at = at(due);
        f
    };
    let (late, _) = store
        .subscribe(user, &feed_at("https://late.example/", 300), t0())
        .await
        .unwrap();
    let (early, _) = store
        .subscribe(user, &feed_at("https://early.example/", 100), t0())
        .await
        .unwrap();
    let (mid, _) = store
        .subscribe(user, &feed_at("https://mid.example/", 200), t0())
        .await
        .unwrap();
    let (future, _) = store
        .subscribe(user, &feed_at("https://future.example/", 9000), t0())
        .await
        .unwrap();
    let (orphan, _) = store
        .subscribe(user, &feed_at("https://orphan.example/", 0), t0())
        .await
        .unwrap();
    assert!(store.unsubscribe(user, orphan).await.unwrap());

    assert!(store.due_feeds(at(99), 10).await.unwrap().is_empty());
    assert_eq!(
        ids(store.due_feeds(at(100), 10).await.unwrap()),
        vec![early]
    );
    assert_eq!(
        ids(store.due_feeds(at(1000), 10).await.unwrap()),
        vec![early, mid, late]
    );
    assert_eq!(
        ids(store.due_feeds(at(1000), 2).await.unwrap()),
        vec![early, mid]
    );
    assert_eq!(
        ids(store.due_feeds(at(9000), 10).await.unwrap()),
        vec![early, mid, late, future]
    );
    assert!(store.due_feeds(at(1000), 0).await.unwrap().is_empty());
}

/// Feeds are found by id and by URL; unknown keys give `None`.
pub async fn find_feed_by_id_and_url(store: &dyn Store) {
    let id = feed_with_subscriber(store, "https://find.example/rss").await;
    let by_id = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    let by_url = store
        .find_feed(&FeedKey::Url("https://find.example/rss".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, by_url);
    assert!(
        store
            .find_feed(&FeedKey::Id(id + 100))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_feed(&FeedKey::Url("https://nope.example/".into()))
            .await
            .unwrap()
            .is_none()
    );
}

fn success(etag: Option<&str>, meta: Option<FeedMetadata>, next: i64) -> FeedPollOutcome {
    FeedPollOutcome::Success {
        metadata: meta,
        etag: etag.map(str::to_string),
        last_modified: etag.map(|_| "Wed, 21 Oct 2015 07:28:00 GMT".to_string()),
        new_url: None,
        next_check_at: at(next),
    }
}

fn failure(error: &str, next: i64, failing: bool) -> FeedPollOutcome {
    FeedPollOutcome::Failure {
        error: error.to_string(),
        next_check_at: at(next),
        failing,
    }
}

/// Success stores validators, metadata and the schedule; failures count up, keep the last
/// error and mark the feed failing on request; the next success resets everything.
pub async fn record_poll_success_and_failure(store: &dyn Store) {
    let id = feed_with_subscriber(store, "https://poll.example/rss").await;
    let meta = FeedMetadata {
        title: Some("Renamed".into()),
        author: Some("New host".into()),
        ..Default::default()
    };
    store
        .record_poll(id, &success(Some("\"v1\""), Some(meta), 600), at(1))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!(f.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        f.last_modified.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(f.title.as_deref(), Some("Renamed"));
    assert_eq!(f.author.as_deref(), Some("New host"));
    assert_eq!(f.language, None, "metadata is replaced as a whole");
    assert_eq!(f.last_checked_at, Some(at(1)));
    assert_eq!(f.next_check_at, at(600));

    store
        .record_poll(id, &failure("HTTP 503", 700, false), at(600))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!((f.error_count, f.status), (1, FeedStatus::Active));
    assert_eq!(f.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(f.next_check_at, at(700));
    assert_eq!(f.last_checked_at, Some(at(600)));
    assert_eq!(
        f.etag.as_deref(),
        Some("\"v1\""),
        "a failure keeps the validators"
    );

    store
        .record_poll(id, &failure("timed out", 900, true), at(700))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!((f.error_count, f.status), (2, FeedStatus::Failing));
    assert_eq!(f.last_error.as_deref(), Some("timed out"));
    // Failing feeds are still polled (on their own, slower schedule).
    assert_eq!(ids(store.due_feeds(at(900), 10).await.unwrap()), vec![id]);

    store
        .record_poll(id, &success(None, None, 2000), at(900))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!((f.error_count, f.status), (0, FeedStatus::Active));
    assert_eq!(f.last_error, None);
    assert_eq!(
        f.title.as_deref(),
        Some("Renamed"),
        "a 304 keeps the metadata"
    );
    assert_eq!(
        f.etag.as_deref(),
        Some("\"v1\""),
        "a 304 without validators keeps them"
    );

    // A 200 without validators clears the old ones.
    store
        .record_poll(
            id,
            &success(None, Some(FeedMetadata::default()), 3000),
            at(2000),
        )
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!((f.etag, f.last_modified, f.title), (None, None, None));

    let long = "x".repeat(100_000);
    store
        .record_poll(id, &failure(&long, 4000, false), at(3000))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    let kept = f.last_error.unwrap_or_default().len();
    assert!(
        kept > 0 && kept < 100_000,
        "long errors are bounded, kept {kept}"
    );

    let err = store
        .record_poll(id + 1000, &failure("x", 1, false), at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

/// A new canonical URL moves the feed (same id); an unchanged URL is a no-op.
pub async fn record_poll_moves_url(store: &dyn Store) {
    let id = feed_with_subscriber(store, "http://old.example/rss").await;
    let outcome = |url: &str| FeedPollOutcome::Success {
        metadata: None,
        etag: None,
        last_modified: None,
        new_url: Some(url.to_string()),
        next_check_at: at(60),
    };
    store
        .record_poll(id, &outcome("https://new.example/rss"), at(1))
        .await
        .unwrap();
    let f = store.find_feed(&FeedKey::Id(id)).await.unwrap().unwrap();
    assert_eq!(f.url, "https://new.example/rss");
    assert!(
        store
            .find_feed(&FeedKey::Url("http://old.example/rss".into()))
            .await
            .unwrap()
            .is_none()
    );
    store
        .record_poll(id, &outcome("https://new.example/rss"), at(2))
        .await
        .unwrap();
    assert_eq!(store.list_feeds(None).await.unwrap().len(), 1);
    // Subscribing to the new URL now finds the same feed.
    let user = store.default_user(t0()).await.unwrap();
    let (same, new) = store
        .subscribe(user, &new_feed("https://new.example/rss"), at(3))
        .await
        .unwrap();
    assert_eq!((same, new), (id, false));
}

/// Moving onto a URL another feed row already has merges: every subscription moves to that
/// row, the moved-away row keeps its URL and episodes but is no longer polled.
pub async fn record_poll_url_merge(store: &dyn Store, second_user: UserId) {
    let first = store.default_user(t0()).await.unwrap();
    let (old, _) = store
        .subscribe(first, &new_feed("https://old.example/rss"), t0())
        .await
        .unwrap();
    let (target, _) = store
        .subscribe(first, &new_feed("https://canonical.example/rss"), t0())
        .await
        .unwrap();
    // The second user follows only the old URL.
    store
        .subscribe(second_user, &new_feed("https://old.example/rss"), t0())
        .await
        .unwrap();
    store
        .upsert_episodes(old, &[episode("g1", "h", Some(1))], 3, t0())
        .await
        .unwrap();

    let moved = FeedPollOutcome::Success {
        metadata: None,
        etag: None,
        last_modified: None,
        new_url: Some("https://canonical.example/rss".into()),
        next_check_at: at(60),
    };
    store.record_poll(old, &moved, at(1)).await.unwrap();

    assert_eq!(
        ids(store.list_feeds(Some(first)).await.unwrap()),
        vec![target]
    );
    assert_eq!(
        ids(store.list_feeds(Some(second_user)).await.unwrap()),
        vec![target]
    );
    assert_eq!(
        ids(store.due_feeds(at(100), 10).await.unwrap()),
        vec![target]
    );
    let old_row = store.find_feed(&FeedKey::Id(old)).await.unwrap().unwrap();
    assert_eq!(old_row.url, "https://old.example/rss");
    assert_eq!(old_row.episode_count, 1);
}

/// `list_feeds` fills `episode_count` and filters by user.
pub async fn list_feeds_counts_episodes(store: &dyn Store) {
    let a = feed_with_subscriber(store, "https://a.example/rss").await;
    let b = feed_with_subscriber(store, "https://b.example/rss").await;
    let eps = [episode("1", "h", Some(1)), episode("2", "h", Some(2))];
    store.upsert_episodes(a, &eps, 10, t0()).await.unwrap();
    let feeds = store.list_feeds(None).await.unwrap();
    let counts: Vec<(FeedId, u64)> = feeds.iter().map(|f| (f.id, f.episode_count)).collect();
    assert_eq!(counts, vec![(a, 2), (b, 0)]);
    let found = store.find_feed(&FeedKey::Id(a)).await.unwrap().unwrap();
    assert_eq!(found.episode_count, 2);
    assert!(store.list_feeds(Some(123_456)).await.unwrap().is_empty());
}

/// A feed's subscribers, and speech-to-text seconds per user and day, added up.
pub async fn subscribers_and_audio_usage(store: &dyn Store, second_user: UserId) {
    let first = store.default_user(t0()).await.unwrap();
    let f = new_feed("https://usage.example/rss");
    let (feed, _) = store.subscribe(second_user, &f, t0()).await.unwrap();
    store.subscribe(first, &f, t0()).await.unwrap();
    let (alone, _) = store
        .subscribe(first, &new_feed("https://alone.example/rss"), t0())
        .await
        .unwrap();
    let mut both = vec![first, second_user];
    both.sort();
    assert_eq!(store.feed_subscribers(feed).await.unwrap(), both);
    assert_eq!(store.feed_subscribers(alone).await.unwrap(), vec![first]);

    let day = t0().date_naive();
    let next = day.succ_opt().unwrap();
    assert_eq!(store.audio_seconds_used(first, day).await.unwrap(), 0.0);
    store.add_audio_seconds(first, day, 1800.5).await.unwrap();
    store.add_audio_seconds(first, day, 600.0).await.unwrap();
    store.add_audio_seconds(first, next, 60.0).await.unwrap();
    store
        .add_audio_seconds(second_user, day, 5.0)
        .await
        .unwrap();
    assert_eq!(store.audio_seconds_used(first, day).await.unwrap(), 2400.5);
    assert_eq!(store.audio_seconds_used(first, next).await.unwrap(), 60.0);
    assert_eq!(
        store.audio_seconds_used(second_user, day).await.unwrap(),
        5.0
    );
}
