//! The store contract: behaviour every [`Store`] implementation must have, as plain async
//! functions over `&dyn Store`. Each function expects a **fresh, empty** store and panics (it is
//! test code) when the implementation misbehaves. An implementation's integration tests call
//! each one with a new store — see `tests/sqlite_contract.rs`; a PostgreSQL store runs the
//! same functions against a fresh schema.
//!
//! Every timestamp used is a whole number of milliseconds, the precision stores keep.
//!
//! Functions that need more than one store handle or user take them as extra arguments:
//! [`feeds::two_users_share_one_feed`] (a second user id, created by the implementation's own
//! means since the trait has no user administration yet) and
//! [`jobs::concurrent_claims_exactly_once`] (several handles on the same database).

pub mod episodes;
pub mod feedback;
pub mod feeds;
pub mod insights;
pub mod jobs;
pub mod redo;
pub mod transcripts;
pub mod users;
pub mod web;

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, Store};

/// The contract's fixed "now": 2026-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0) {
        chrono::LocalResult::Single(t) => t,
        _ => DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// `t0` plus `s` seconds.
pub fn at(s: i64) -> DateTime<Utc> {
    t0() + ChronoDuration::seconds(s)
}

/// A new feed at `url` with a title, due at `t0`.
pub fn new_feed(url: &str) -> NewFeed {
    NewFeed {
        url: url.to_string(),
        metadata: FeedMetadata {
            title: Some(format!("Title of {url}")),
            link: Some("https://example.org/".into()),
            description: Some("A show".into()),
            image: None,
            language: Some("en".into()),
            author: Some("Someone".into()),
        },
        next_check_at: t0(),
    }
}

/// An episode upsert keyed by `identity`, published `published` seconds after `t0` (or undated).
pub fn episode(identity: &str, hash: &str, published: Option<i64>) -> EpisodeUpsert {
    EpisodeUpsert {
        identity: identity.to_string(),
        content_hash: hash.to_string(),
        episode: ParsedEpisode {
            guid: Some(identity.to_string()),
            title: Some(format!("Episode {identity} ({hash})")),
            published: published.map(at),
            duration_seconds: Some(1800),
            enclosure: Some(Enclosure {
                url: format!("https://cdn.example.org/{identity}.mp3"),
                mime_type: Some("audio/mpeg".into()),
                length: Some(1234),
            }),
            ..Default::default()
        },
    }
}

/// Subscribe the default user to a fresh feed at `url`; returns the feed id.
pub async fn feed_with_subscriber(store: &dyn Store, url: &str) -> FeedId {
    let user = store.default_user(t0()).await.unwrap();
    let (id, new) = store.subscribe(user, &new_feed(url), t0()).await.unwrap();
    assert!(new, "fresh subscription to {url}");
    id
}
