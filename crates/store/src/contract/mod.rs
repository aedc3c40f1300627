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

pub mod discovery;
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

/// The contract tests that take one fresh store, listed once for every backend: a backend's
/// test file passes a macro that turns each `module::name` into a `#[tokio::test]` on a fresh
/// store of its own (`tests/sqlite_contract.rs`, `tests/pg_contract.rs`). A test added here
/// runs on both databases.
#[macro_export]
macro_rules! for_each_contract_test {
    ($test:ident) => {
        $test!(
            feedback::feedback_round_trip,
            redo::a_lost_lease_writes_nothing,
            redo::a_redo_keeps_insight_ids_and_votes,
            insights::extraction_round_trip,
            insights::llm_spend_adds_up_saved_extractions,
            insights::episode_with_an_extraction_job_is_not_listed,
            insights::add_insight_keeps_the_others,
            insights::digest_and_outbox,
            discovery::topics_round_trip,
            feeds::default_user_is_stable,
            feeds::subscribe_twice_reuses_feed,
            feeds::subscribe_unknown_user_fails,
            feeds::unsubscribe_stops_polling,
            feeds::due_feeds_order_and_filter,
            feeds::find_feed_by_id_and_url,
            feeds::record_poll_success_and_failure,
            feeds::record_poll_moves_url,
            feeds::list_feeds_counts_episodes,
            episodes::upsert_insert_unchanged_edit,
            episodes::identity_is_per_feed,
            episodes::first_import_candidates_rule,
            episodes::list_episodes_ordering,
            transcripts::transcript_replace_and_order,
            transcripts::transcript_rejects_bad_input,
            transcripts::chapters_round_trip,
            jobs::enqueue_dedupe,
            jobs::claim_order_and_run_after,
            jobs::lease_expiry_and_ownership,
            jobs::retry_backoff_then_dead,
            jobs::permanent_failure_and_retry_job,
            jobs::expired_final_attempt_goes_dead,
            jobs::list_jobs_filters,
            jobs::episode_jobs_by_episode,
            jobs::feed_adds_by_user,
            jobs::queued_episode_jobs_per_user,
            jobs::job_backlog_matches_claim,
            users::users_round_trip,
            users::remove_user,
            users::advance_next_digest_is_compare_and_set,
            users::service_counts,
            web::sessions_and_passwords,
            web::settings_and_weights,
            web::digest_archive_is_per_user,
            web::search_is_per_user,
        );
    };
}
