//! The store port. SQLite is the default implementation; PostgreSQL implements the same trait
//! for multi-worker deployments. Every method takes `now` from the caller's [`crate::Clock`]
//! so behaviour over time is testable.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::insight::{
    CandidateInsight, Delivery, DeliveryOutcome, Digest, ExtractionReport, InsightDraft,
};
use crate::jobs::{FailureKind, Job, JobId, JobKind, JobState, NewJob};
use crate::model::*;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database is unreachable, busy or locked: try again.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A constraint, a missing row or corrupt data: retrying will not help.
    #[error("database error: {0}")]
    Permanent(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A fenced write refused: the job's lease passed to another claim (this worker was
    /// paused or slow past it). Nothing was written; the result is dropped, not retried.
    #[error("lease lost: {0}")]
    LeaseLost(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A new subscription's feed, as validated by fetching it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeed {
    pub url: String,
    pub metadata: FeedMetadata,
    pub next_check_at: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync {
    // ----- users -----------------------------------------------------------------------
    /// The single local user of a laptop install (created on first use).
    async fn default_user(&self, now: DateTime<Utc>) -> Result<UserId, StoreError>;

    // ----- feeds and subscriptions -----------------------------------------------------
    /// Insert the feed if its URL is new (else reuse it) and subscribe the user.
    /// Returns the feed id and whether the *subscription* is new.
    async fn subscribe(
        &self,
        user: UserId,
        feed: &NewFeed,
        now: DateTime<Utc>,
    ) -> Result<(FeedId, bool), StoreError>;
    /// Remove the user's subscription. Returns false if there was none. Feeds nobody follows
    /// any more are not polled.
    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<bool, StoreError>;
    async fn find_feed(&self, key: &FeedKey) -> Result<Option<Feed>, StoreError>;
    /// The user's feeds (all feeds when `user` is None), with episode counts.
    async fn list_feeds(&self, user: Option<UserId>) -> Result<Vec<Feed>, StoreError>;
    /// Feeds with at least one subscriber whose `next_check_at <= now`, oldest first.
    async fn due_feeds(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Feed>, StoreError>;
    /// Record a poll: on success reset the error count; on failure increment it.
    async fn record_poll(
        &self,
        feed: FeedId,
        outcome: &FeedPollOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // ----- episodes ----------------------------------------------------------------------
    /// Insert new episodes and update edited ones in place (by `identity`). New episodes are
    /// `Candidate`s, except on a feed's first import where only the newest
    /// `first_import_candidates` (by published date, then feed order) are; the rest are `Seen`.
    /// `first_import` is true when the feed has no episodes yet.
    async fn upsert_episodes(
        &self,
        feed: FeedId,
        episodes: &[EpisodeUpsert],
        first_import_candidates: usize,
        now: DateTime<Utc>,
    ) -> Result<UpsertStats, StoreError>;
    /// Newest first. `feed` None means every feed.
    async fn list_episodes(
        &self,
        feed: Option<FeedId>,
        limit: usize,
    ) -> Result<Vec<Episode>, StoreError>;
    async fn get_episode(&self, id: EpisodeId) -> Result<Option<Episode>, StoreError>;

    // ----- transcripts and chapters ------------------------------------------------------
    /// Store (or replace) an episode's transcript; with a fence, only while that claim holds
    /// its job ([`crate::jobs::Fence`]).
    async fn save_transcript(
        &self,
        transcript: &Transcript,
        fence: Option<&crate::jobs::Fence>,
    ) -> Result<(), StoreError>;
    async fn get_transcript(&self, episode: EpisodeId) -> Result<Option<Transcript>, StoreError>;
    async fn save_chapters(
        &self,
        episode: EpisodeId,
        chapters: &[Chapter],
        fence: Option<&crate::jobs::Fence>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn get_chapters(&self, episode: EpisodeId) -> Result<Option<Vec<Chapter>>, StoreError>;

    // ----- jobs --------------------------------------------------------------------------
    /// Enqueue unless an unfinished job with the same dedupe key exists. Returns the new id.
    async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<JobId>, StoreError>;
    /// Claim the oldest runnable job of the given kinds: queued with `run_after <= now`, or
    /// running with an expired lease. Increments `attempts` and sets the lease. Atomic: two
    /// workers never get the same job.
    async fn claim(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError>;
    /// Extend the lease. False when the worker no longer holds it.
    async fn heartbeat(
        &self,
        job: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Mark done. False when the worker no longer holds the lease (someone reclaimed it).
    async fn complete(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Record a failed attempt: requeue after `backoff` or mark dead (permanent failure, or
    /// attempts exhausted). Returns the new state.
    async fn fail(
        &self,
        job: JobId,
        worker: &str,
        error: &str,
        kind: FailureKind,
        backoff: Duration,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError>;
    /// What of `kinds` is runnable now (the jobs [`Store::claim`] would hand out) and what
    /// runs under a live lease: the one answer to "is there work" for every driver.
    async fn job_backlog(
        &self,
        kinds: &[crate::jobs::JobKind],
        now: DateTime<Utc>,
    ) -> Result<crate::jobs::JobBacklog, StoreError>;
    async fn list_jobs(
        &self,
        state: Option<JobState>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError>;
    /// Every job an episode has had (transcript, chapters, speech-to-text, extraction),
    /// newest first: what its page shows of work waiting, running or given up on.
    async fn episode_jobs(&self, episode: EpisodeId) -> Result<Vec<Job>, StoreError>;
    /// Episodes of `user`'s shows with work queued or running (transcript, speech-to-text or
    /// reading jobs).
    async fn queued_episode_jobs(&self, user: crate::UserId) -> Result<u64, StoreError>;
    /// The users subscribed to a feed, by id.
    async fn feed_subscribers(&self, feed: FeedId) -> Result<Vec<crate::UserId>, StoreError>;
    /// Seconds of speech-to-text used by `user` on `day` (UTC), 0 when none.
    async fn audio_seconds_used(
        &self,
        user: crate::UserId,
        day: chrono::NaiveDate,
    ) -> Result<f64, StoreError>;
    /// Adds `secs` of speech-to-text to `user`'s use on `day`.
    async fn add_audio_seconds(
        &self,
        user: crate::UserId,
        day: chrono::NaiveDate,
        secs: f64,
    ) -> Result<(), StoreError>;
    /// One job by id.
    async fn get_job(&self, job: JobId) -> Result<Option<Job>, StoreError>;
    /// A user's feeds being added in the background ([`crate::jobs::JobKind::Subscribe`]):
    /// those queued or running, and those finished at or after `since`, newest first (at most
    /// `limit`).
    async fn feed_adds(
        &self,
        user: crate::UserId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError>;
    /// Put a dead job back in the queue with its attempts reset.
    async fn retry_job(&self, job: JobId, now: DateTime<Utc>) -> Result<bool, StoreError>;

    // ----- users ---------------------------------------------------------------------------
    async fn get_user(&self, user: UserId) -> Result<Option<User>, StoreError>;

    // ----- insights ----------------------------------------------------------------------
    /// Candidate episodes with a transcript, no extraction yet and no extraction job ever
    /// (one job per episode: a finished one is not queued again by a racing worker, and a dead
    /// one comes back only by hand, `podsift jobs --retry`), oldest first.
    async fn episodes_needing_insights(&self, limit: usize) -> Result<Vec<EpisodeId>, StoreError>;
    /// Store an episode's insights and its extraction report, replacing earlier ones; with a
    /// fence, only while that claim holds its job ([`crate::jobs::Fence`]). An insight keeps
    /// its id across a redo when its quote is the same (its stable identity: the episode and
    /// the quote's words), so 👍/👎 and "already sent" survive; an earlier insight the redo
    /// no longer gives is deleted, or retired (kept, never a candidate again) when it was
    /// sent or voted on. Returns the ids in `insights`' order.
    async fn save_extraction(
        &self,
        episode: EpisodeId,
        model: &str,
        insights: &[InsightDraft],
        report: &ExtractionReport,
        fence: Option<&crate::jobs::Fence>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError>;
    /// Prompt tokens and dollars of the extractions saved at or after `since`.
    async fn llm_spend_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<crate::insight::LlmSpend, StoreError>;
    /// The model and report of an episode's extraction.
    async fn get_extraction(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<(String, ExtractionReport)>, StoreError>;
    /// An episode's insights in time order.
    async fn episode_insights(
        &self,
        episode: EpisodeId,
    ) -> Result<Vec<CandidateInsight>, StoreError>;
    /// Insights from the user's feeds created at or after `since` that none of the user's
    /// digests contains yet.
    async fn insight_candidates(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CandidateInsight>, StoreError>;
    /// Add one insight to an episode's stored ones (the daily editor's connection), leaving
    /// the others and their ids as they are. Returns its id; an unknown episode is `NotFound`.
    async fn add_insight(
        &self,
        episode: EpisodeId,
        insight: &InsightDraft,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    // ----- digests and the delivery outbox ------------------------------------------------
    /// Store the user's digest for `digest.date` with one pending delivery per channel, in one
    /// transaction. If that date's digest exists, nothing changes: returns its id and false.
    async fn create_digest(
        &self,
        user: UserId,
        digest: &Digest,
        channels: &[String],
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError>;
    async fn get_digest(
        &self,
        user: UserId,
        date: chrono::NaiveDate,
    ) -> Result<Option<(i64, Digest)>, StoreError>;
    async fn digest_by_id(&self, digest: i64) -> Result<Option<Digest>, StoreError>;
    /// The user's most recent digest.
    async fn latest_digest(&self, user: UserId) -> Result<Option<(i64, Digest)>, StoreError>;
    /// Deliveries that are pending (or `sending` for longer than `stale`, i.e. a crashed send)
    /// and due at `now`.
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Mark a delivery as being sent (attempts + 1). False if it is not due any more (another
    /// process took it, or it was sent).
    async fn start_delivery(
        &self,
        delivery: i64,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<bool, StoreError>;
    async fn finish_delivery(
        &self,
        delivery: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn list_deliveries(&self, digest: i64) -> Result<Vec<Delivery>, StoreError>;

    // ----- feedback (👍/👎 links, podsift feedback) ------------------------------------------
    /// Record the user's vote (+1 or −1) on a stored insight; a later vote on the same insight
    /// replaces the earlier one. An unknown insight is `NotFound`, a vote other than ±1
    /// `Permanent`.
    async fn record_feedback(
        &self,
        user: UserId,
        insight: i64,
        vote: i8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The user's votes cast at or after `since`, oldest first, with the insights' text.
    async fn list_feedback(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::feedback::Feedback>, StoreError>;

    // ----- scheduled users (podsift users, podsift serve) ---------------------------------
    /// Add a user with a schedule. An email that exists is a `Permanent` error.
    async fn add_user(
        &self,
        user: &crate::users::NewUserProfile,
        now: DateTime<Utc>,
    ) -> Result<crate::users::UserProfile, StoreError>;
    /// Users added with `add_user` (not the laptop's local user), by id.
    async fn list_users(&self) -> Result<Vec<crate::users::UserProfile>, StoreError>;
    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<crate::users::UserProfile>, StoreError>;
    async fn user_by_feed_token(
        &self,
        token: &str,
    ) -> Result<Option<crate::users::UserProfile>, StoreError>;
    /// Delete the user with their subscriptions, digests and deliveries. False if unknown.
    async fn remove_user(&self, email: &str) -> Result<bool, StoreError>;
    /// Compare-and-set the next digest instant: only when it is still `expected`, so two
    /// schedulers never both advance one slot. True when it was changed.
    async fn advance_next_digest(
        &self,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;
    /// Queue, feed, digest and outbox counts for monitoring.
    async fn service_counts(&self) -> Result<crate::users::ServiceCounts, StoreError>;

    // ----- the web UI (sessions, settings, archive, search) --------------------------------
    /// A user added with `add_user`, by id.
    async fn user_profile(
        &self,
        user: UserId,
    ) -> Result<Option<crate::users::UserProfile>, StoreError>;
    /// Set (or with `None` clear) the user's password hash (an argon2 PHC string). False if
    /// the user is unknown.
    async fn set_password_hash(&self, user: UserId, hash: Option<&str>)
    -> Result<bool, StoreError>;
    /// Replace the user's private feed token: the old one stops working at once. False if
    /// the user is unknown (or is the local user, who has no private feed).
    async fn set_feed_token(&self, user: UserId, token: &str) -> Result<bool, StoreError>;
    /// The user with this email and their password hash (`None` when no password is set).
    async fn password_hash(
        &self,
        email: &str,
    ) -> Result<Option<(UserId, Option<String>)>, StoreError>;
    /// Store a new session; sessions expired at `now` are deleted on the way.
    async fn create_session(
        &self,
        session: &crate::web::Session,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The unexpired session with this token hash.
    async fn get_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::web::Session>, StoreError>;
    /// Sign out. False when there was no such session.
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError>;
    /// Sign out everywhere (after a password change). Returns how many were deleted.
    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError>;
    /// Replace the user's schedule, digest size, interests and channels. False if unknown.
    async fn update_user_settings(
        &self,
        user: UserId,
        settings: &crate::web::UserSettings,
    ) -> Result<bool, StoreError>;
    /// Set the user's weight for a show they follow (clamped to
    /// [`crate::web::SHOW_WEIGHT_RANGE`]). False when they do not follow it.
    async fn set_show_weight(
        &self,
        user: UserId,
        feed: FeedId,
        weight: f64,
    ) -> Result<bool, StoreError>;
    /// The user's weight of every show they follow, by feed id.
    async fn show_weights(&self, user: UserId) -> Result<Vec<crate::web::ShowWeight>, StoreError>;
    /// The user's digests, newest first.
    async fn list_digests(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<crate::web::DigestSummary>, StoreError>;
    /// Full-text search of the insights and transcript lines of the episodes of the feeds the
    /// user follows (every word must occur; insights first, then transcript lines, best match
    /// first). Words as [`crate::web::search_terms`] gives them; none: no hits.
    async fn search(
        &self,
        user: UserId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<crate::web::SearchHit>, StoreError>;
    /// The episode of an insight the user may see and vote on: one from a show they follow,
    /// or one they were sent in a digest. `None` for anyone else's (or an unknown) insight.
    async fn visible_insight(
        &self,
        user: UserId,
        insight: i64,
    ) -> Result<Option<EpisodeId>, StoreError>;

    // ----- discovery (topics, their admissions, the catalogue) -----------------------
    /// Adds a topic for `user` (None: the catalogue's, which every reader gets). Returns the
    /// topic and whether it is new (the same wording, any case, is the same topic).
    async fn add_topic(
        &self,
        user: Option<UserId>,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(crate::discovery::Topic, bool), StoreError>;
    async fn list_topics(
        &self,
        owner: crate::discovery::TopicOwner,
    ) -> Result<Vec<crate::discovery::Topic>, StoreError>;
    /// Removes one of `user`'s topics (None: the catalogue's). False when there was none.
    async fn remove_topic(&self, user: Option<UserId>, topic: i64) -> Result<bool, StoreError>;
    /// Records a finished scan and its report.
    async fn finish_topic_scan(
        &self,
        topic: i64,
        report: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The id of the feed row for a show a topic found (inserted without a subscription).
    async fn ensure_feed(&self, feed: &NewFeed, now: DateTime<Utc>) -> Result<FeedId, StoreError>;
    /// Another episode being read that is a copy of `key` (syndication), if any.
    async fn find_copy(
        &self,
        key: &crate::discovery::CopyKey,
        except: EpisodeId,
    ) -> Result<Option<EpisodeId>, StoreError>;
    /// Records an admission and makes its episode a candidate. False when already admitted.
    async fn admit_episode(
        &self,
        admission: &crate::discovery::Admission,
    ) -> Result<bool, StoreError>;
    /// A topic's admissions since `since`.
    async fn admissions_since(
        &self,
        topic: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::discovery::Admission>, StoreError>;
    /// Adds a feed to the catalogue; false when it was there.
    async fn add_catalogue_feed(
        &self,
        feed: FeedId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn remove_catalogue_feed(&self, feed: FeedId) -> Result<bool, StoreError>;
    async fn list_catalogue(&self) -> Result<Vec<crate::discovery::CatalogueShow>, StoreError>;
}
