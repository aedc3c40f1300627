//! Users with a schedule: add/list/find/remove, the compare-and-set of the next digest
//! instant, and the monitoring counts.

use chrono::Duration as ChronoDuration;
use podsift_core::jobs::{JobKind, NewJob};
use podsift_core::store::{Store, StoreError};
use podsift_core::users::{ChannelSpec, NewUserProfile};

use super::t0;

fn new_user(email: &str, token: &str) -> NewUserProfile {
    NewUserProfile {
        email: email.into(),
        time_zone: "Europe/Berlin".into(),
        delivery_time: "07:00".into(),
        digest_size: 3,
        interests: Some("batteries, labour".into()),
        channels: vec![
            ChannelSpec::Webhook {
                url: "https://hooks.example.org/a".into(),
                secret: "s3cret".into(),
            },
            ChannelSpec::Slack {
                url: "https://hooks.slack.com/services/x".into(),
            },
        ],
        next_digest_at: Some(t0() + ChronoDuration::hours(6)),
        feed_token: token.into(),
    }
}

/// A user round-trips every field; a second user with the same email is refused; the local
/// laptop user is not listed.
pub async fn users_round_trip(store: &dyn Store) {
    store.default_user(t0()).await.unwrap();
    let a = new_user("a@example.org", "tokentokentoken-a");
    let added = store.add_user(&a, t0()).await.unwrap();
    assert_eq!(added.email, a.email);
    assert_eq!(added.time_zone, "Europe/Berlin");
    assert_eq!(added.delivery_time, "07:00");
    assert_eq!(added.digest_size, 3);
    assert_eq!(added.interests, a.interests);
    assert_eq!(added.channels, a.channels);
    assert_eq!(added.next_digest_at, a.next_digest_at);
    assert_eq!(added.feed_token, a.feed_token);
    assert_eq!(added.created_at, t0());

    let dup = store
        .add_user(&new_user("a@example.org", "tokentokentoken-b"), t0())
        .await;
    assert!(matches!(dup, Err(StoreError::Permanent(_))), "{dup:?}");
    let b = store
        .add_user(&new_user("b@example.org", "tokentokentoken-b"), t0())
        .await
        .unwrap();

    let listed = store.list_users().await.unwrap();
    assert_eq!(
        listed.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        ["a@example.org", "b@example.org"]
    );
    assert_eq!(listed[0], added);
    assert_eq!(
        store.user_by_email("b@example.org").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.user_by_email("c@example.org").await.unwrap(), None);
    assert_eq!(
        store
            .user_by_feed_token("tokentokentoken-b")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(b.id)
    );
    assert_eq!(store.user_by_feed_token("nope").await.unwrap(), None);
    // The user id works with the rest of the store (subscriptions are per user).
    assert_eq!(
        store.get_user(b.id).await.unwrap().map(|u| u.name),
        Some("b@example.org".to_string())
    );
}

/// Removing a user deletes them (and only them); removing an unknown email says so.
pub async fn remove_user(store: &dyn Store) {
    let a = store
        .add_user(&new_user("a@example.org", "tokentokentoken-a"), t0())
        .await
        .unwrap();
    store
        .add_user(&new_user("b@example.org", "tokentokentoken-b"), t0())
        .await
        .unwrap();
    assert!(store.remove_user("a@example.org").await.unwrap());
    assert!(!store.remove_user("a@example.org").await.unwrap());
    assert_eq!(store.get_user(a.id).await.unwrap(), None);
    let left = store.list_users().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].email, "b@example.org");
    // The email is free again.
    store
        .add_user(&new_user("a@example.org", "tokentokentoken-c"), t0())
        .await
        .unwrap();
}

/// The next digest instant only moves from the value the caller saw.
pub async fn advance_next_digest_is_compare_and_set(store: &dyn Store) {
    let u = store
        .add_user(&new_user("a@example.org", "tokentokentoken-a"), t0())
        .await
        .unwrap();
    let slot = u.next_digest_at;
    let next = slot.map(|t| t + ChronoDuration::days(1));
    assert!(store.advance_next_digest(u.id, slot, next).await.unwrap());
    // A second scheduler that saw the old slot loses.
    assert!(!store.advance_next_digest(u.id, slot, next).await.unwrap());
    let stored = store.user_by_email("a@example.org").await.unwrap().unwrap();
    assert_eq!(stored.next_digest_at, next);
    // From and to "not scheduled".
    assert!(store.advance_next_digest(u.id, next, None).await.unwrap());
    assert!(store.advance_next_digest(u.id, None, slot).await.unwrap());
    assert!(!store.advance_next_digest(u.id, None, slot).await.unwrap());
}

/// Counts on an empty store are zero; a queued job shows up by kind and state.
pub async fn service_counts(store: &dyn Store) {
    let empty = store.service_counts().await.unwrap();
    assert!(empty.jobs.is_empty());
    assert_eq!((empty.feeds, empty.digests), (0, 0));
    assert!(empty.deliveries.is_empty());
    super::feed_with_subscriber(store, "https://example.org/feed.xml").await;
    let job = NewJob::for_episode(JobKind::FetchTranscript, 7, t0());
    store.enqueue(&job, t0()).await.unwrap();
    let counts = store.service_counts().await.unwrap();
    assert_eq!(counts.feeds, 1);
    assert_eq!(
        counts.jobs,
        vec![(
            JobKind::FetchTranscript.as_str().to_string(),
            "queued".to_string(),
            1
        )]
    );
}
