//! [`SqlStore`], the one [`Store`] for both databases: each method below hands over to the
//! query written once in its module (`feeds`, `episodes`, `transcripts`, `jobs`, `insights`,
//! `users`, `web`, `feedback`), which runs on whichever pool the store holds (`crate::db`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use podsift_core::discovery::{Admission, CatalogueShow, CopyKey, Topic, TopicOwner};
use podsift_core::insight::{
    CandidateInsight, Delivery, DeliveryOutcome, Digest, ExtractionReport, InsightDraft, LlmCache,
    LlmResponse,
};
use podsift_core::jobs::{FailureKind, Fence, Job, JobId, JobKind, JobState, NewJob};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, Store, StoreError};
use sqlx::{PgPool, SqlitePool};

use crate::db::Db;
use crate::redact_url;

/// A [`Store`] on SQLite (one file, the laptop default: [`SqlStore::open`]) or PostgreSQL
/// (several workers on one database: [`SqlStore::connect_pg`]); [`SqlStore::connect`] picks
/// one by URL. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) db: Db,
}

impl SqlStore {
    /// Open the database a URL names and apply pending migrations: `sqlite://path` (created
    /// if missing) or `sqlite::memory:`, `postgres://…` or `postgresql://…` (default pool
    /// settings). Any other scheme is a [`StoreError::Permanent`] error.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_pg(url, crate::PgOptions::default()).await
        } else {
            Err(StoreError::Permanent(format!(
                "unsupported database URL {}: expected sqlite:, postgres:// or postgresql://",
                redact_url(url)
            )))
        }
    }

    /// Whether this store runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Pg(_))
    }

    /// The SQLite pool, when the store runs on SQLite (tests and tools reach under the port).
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite(pool) => Some(pool),
            Db::Pg(_) => None,
        }
    }

    /// The PostgreSQL pool, when the store runs on PostgreSQL.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Pg(pool) => Some(pool),
            Db::Sqlite(_) => None,
        }
    }

    /// Close every connection, waiting for in-flight queries. Dropping the store also closes
    /// the pool, but without waiting.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Pg(pool) => pool.close().await,
        }
    }
}

/// The LLM answer cache in the same database, so a rerun (or, on PostgreSQL, another
/// worker's answer) costs nothing.
#[async_trait]
impl LlmCache for SqlStore {
    async fn get(&self, key: &str) -> Option<LlmResponse> {
        self.db.llm_cache_get(key).await
    }

    async fn put(&self, key: &str, response: &LlmResponse) {
        self.db.llm_cache_put(key, response).await
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn default_user(&self, now: DateTime<Utc>) -> Result<UserId, StoreError> {
        self.db.default_user(now).await
    }

    async fn subscribe(
        &self,
        user: UserId,
        feed: &NewFeed,
        now: DateTime<Utc>,
    ) -> Result<(FeedId, bool), StoreError> {
        self.db.subscribe(user, feed, now).await
    }

    async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<bool, StoreError> {
        self.db.unsubscribe(user, feed).await
    }

    async fn find_feed(&self, key: &FeedKey) -> Result<Option<Feed>, StoreError> {
        self.db.find_feed(key).await
    }

    async fn list_feeds(&self, user: Option<UserId>) -> Result<Vec<Feed>, StoreError> {
        self.db.list_feeds(user).await
    }

    async fn due_feeds(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Feed>, StoreError> {
        self.db.due_feeds(now, limit).await
    }

    async fn record_poll(
        &self,
        feed: FeedId,
        outcome: &FeedPollOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.record_poll(feed, outcome, now).await
    }

    async fn upsert_episodes(
        &self,
        feed: FeedId,
        episodes: &[EpisodeUpsert],
        first_import_candidates: usize,
        now: DateTime<Utc>,
    ) -> Result<UpsertStats, StoreError> {
        self.db
            .upsert_episodes(feed, episodes, first_import_candidates, now)
            .await
    }

    async fn list_episodes(
        &self,
        feed: Option<FeedId>,
        limit: usize,
    ) -> Result<Vec<Episode>, StoreError> {
        self.db.list_episodes(feed, limit).await
    }

    async fn get_episode(&self, id: EpisodeId) -> Result<Option<Episode>, StoreError> {
        self.db.get_episode(id).await
    }

    async fn save_transcript(
        &self,
        transcript: &Transcript,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        self.db.save_transcript(transcript, fence).await
    }

    async fn get_transcript(&self, episode: EpisodeId) -> Result<Option<Transcript>, StoreError> {
        self.db.get_transcript(episode).await
    }

    async fn save_chapters(
        &self,
        episode: EpisodeId,
        chapters: &[Chapter],
        fence: Option<&Fence>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.save_chapters(episode, chapters, fence, now).await
    }

    async fn get_chapters(&self, episode: EpisodeId) -> Result<Option<Vec<Chapter>>, StoreError> {
        self.db.get_chapters(episode).await
    }

    async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<JobId>, StoreError> {
        self.db.enqueue(job, now).await
    }

    async fn claim(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        self.db.claim(kinds, worker, lease, now).await
    }

    async fn heartbeat(
        &self,
        job: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.db.heartbeat(job, worker, lease, now).await
    }

    async fn complete(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.db.complete(job, worker, now).await
    }

    async fn fail(
        &self,
        job: JobId,
        worker: &str,
        error: &str,
        kind: FailureKind,
        backoff: Duration,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        self.db.fail(job, worker, error, kind, backoff, now).await
    }

    async fn job_backlog(
        &self,
        kinds: &[JobKind],
        now: DateTime<Utc>,
    ) -> Result<podsift_core::jobs::JobBacklog, StoreError> {
        self.db.job_backlog(kinds, now).await
    }

    async fn list_jobs(
        &self,
        state: Option<JobState>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.db.list_jobs(state, limit).await
    }

    async fn queued_episode_jobs(&self, user: i64) -> Result<u64, StoreError> {
        self.db.queued_episode_jobs(user).await
    }

    async fn feed_subscribers(&self, feed: i64) -> Result<Vec<i64>, StoreError> {
        self.db.feed_subscribers(feed).await
    }

    async fn audio_seconds_used(
        &self,
        user: i64,
        day: chrono::NaiveDate,
    ) -> Result<f64, StoreError> {
        self.db.audio_seconds_used(user, day).await
    }

    async fn add_audio_seconds(
        &self,
        user: i64,
        day: chrono::NaiveDate,
        secs: f64,
    ) -> Result<(), StoreError> {
        self.db.add_audio_seconds(user, day, secs).await
    }

    async fn get_job(&self, job: JobId) -> Result<Option<Job>, StoreError> {
        self.db.get_job(job).await
    }

    async fn feed_adds(
        &self,
        user: i64,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        self.db.feed_adds(user, since, limit).await
    }

    async fn episode_jobs(&self, episode: i64) -> Result<Vec<Job>, StoreError> {
        self.db.episode_jobs(episode).await
    }

    async fn retry_job(&self, job: JobId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.db.retry_job(job, now).await
    }

    async fn get_user(&self, user: UserId) -> Result<Option<User>, StoreError> {
        self.db.get_user(user).await
    }

    async fn episodes_needing_insights(&self, limit: usize) -> Result<Vec<EpisodeId>, StoreError> {
        self.db.episodes_needing_insights(limit).await
    }

    async fn save_extraction(
        &self,
        episode: EpisodeId,
        model: &str,
        insights: &[InsightDraft],
        report: &ExtractionReport,
        fence: Option<&Fence>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        self.db
            .save_extraction(episode, model, insights, report, fence, now)
            .await
    }

    async fn llm_spend_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<podsift_core::LlmSpend, StoreError> {
        self.db.llm_spend_since(since).await
    }

    async fn get_extraction(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<(String, ExtractionReport)>, StoreError> {
        self.db.get_extraction(episode).await
    }

    async fn add_insight(
        &self,
        episode: EpisodeId,
        insight: &InsightDraft,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.db.add_insight(episode, insight, now).await
    }

    async fn episode_insights(
        &self,
        episode: EpisodeId,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        self.db.episode_insights(episode).await
    }

    async fn insight_candidates(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        self.db.insight_candidates(user, since).await
    }

    async fn create_digest(
        &self,
        user: UserId,
        digest: &Digest,
        channels: &[String],
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        self.db.create_digest(user, digest, channels, now).await
    }

    async fn get_digest(
        &self,
        user: UserId,
        date: chrono::NaiveDate,
    ) -> Result<Option<(i64, Digest)>, StoreError> {
        self.db.get_digest(user, date).await
    }

    async fn digest_by_id(&self, digest: i64) -> Result<Option<Digest>, StoreError> {
        self.db.digest_by_id(digest).await
    }

    async fn latest_digest(&self, user: UserId) -> Result<Option<(i64, Digest)>, StoreError> {
        self.db.latest_digest(user).await
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.db.due_deliveries(now, stale).await
    }

    async fn start_delivery(
        &self,
        delivery: i64,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        self.db.start_delivery(delivery, now, stale).await
    }

    async fn finish_delivery(
        &self,
        delivery: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.finish_delivery(delivery, outcome, now).await
    }

    async fn list_deliveries(&self, digest: i64) -> Result<Vec<Delivery>, StoreError> {
        self.db.list_deliveries(digest).await
    }

    async fn record_feedback(
        &self,
        user: UserId,
        insight: i64,
        vote: i8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.record_feedback(user, insight, vote, now).await
    }

    async fn list_feedback(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<podsift_core::Feedback>, StoreError> {
        self.db.list_feedback(user, since).await
    }

    async fn add_user(
        &self,
        user: &podsift_core::users::NewUserProfile,
        now: DateTime<Utc>,
    ) -> Result<podsift_core::users::UserProfile, StoreError> {
        self.db.add_user(user, now).await
    }

    async fn list_users(&self) -> Result<Vec<podsift_core::users::UserProfile>, StoreError> {
        self.db.list_users().await
    }

    async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<podsift_core::users::UserProfile>, StoreError> {
        self.db.user_by_email(email).await
    }

    async fn user_by_feed_token(
        &self,
        token: &str,
    ) -> Result<Option<podsift_core::users::UserProfile>, StoreError> {
        self.db.user_by_feed_token(token).await
    }

    async fn remove_user(&self, email: &str) -> Result<bool, StoreError> {
        self.db.remove_user(email).await
    }

    async fn advance_next_digest(
        &self,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.db.advance_next_digest(user, expected, next).await
    }

    async fn service_counts(&self) -> Result<podsift_core::users::ServiceCounts, StoreError> {
        self.db.service_counts().await
    }

    async fn user_profile(
        &self,
        user: UserId,
    ) -> Result<Option<podsift_core::users::UserProfile>, StoreError> {
        self.db.user_profile(user).await
    }

    async fn set_password_hash(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.db.set_password_hash(user, hash).await
    }

    async fn set_feed_token(&self, user: UserId, token: &str) -> Result<bool, StoreError> {
        self.db.set_feed_token(user, token).await
    }

    async fn password_hash(
        &self,
        email: &str,
    ) -> Result<Option<(UserId, Option<String>)>, StoreError> {
        self.db.password_hash(email).await
    }

    async fn create_session(
        &self,
        session: &podsift_core::web::Session,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.create_session(session, now).await
    }

    async fn get_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<podsift_core::web::Session>, StoreError> {
        self.db.get_session(token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        self.db.delete_session(token_hash).await
    }

    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        self.db.delete_user_sessions(user).await
    }

    async fn update_user_settings(
        &self,
        user: UserId,
        settings: &podsift_core::web::UserSettings,
    ) -> Result<bool, StoreError> {
        self.db.update_user_settings(user, settings).await
    }

    async fn set_show_weight(
        &self,
        user: UserId,
        feed: FeedId,
        weight: f64,
    ) -> Result<bool, StoreError> {
        self.db.set_show_weight(user, feed, weight).await
    }

    async fn show_weights(
        &self,
        user: UserId,
    ) -> Result<Vec<podsift_core::web::ShowWeight>, StoreError> {
        self.db.show_weights(user).await
    }

    async fn list_digests(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<podsift_core::web::DigestSummary>, StoreError> {
        self.db.list_digests(user, limit).await
    }

    async fn search(
        &self,
        user: UserId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<podsift_core::web::SearchHit>, StoreError> {
        self.db.search(user, query, limit).await
    }

    async fn visible_insight(
        &self,
        user: UserId,
        insight: i64,
    ) -> Result<Option<EpisodeId>, StoreError> {
        self.db.visible_insight(user, insight).await
    }

    async fn add_topic(
        &self,
        user: Option<UserId>,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Topic, bool), StoreError> {
        self.db.add_topic(user, text, now).await
    }

    async fn list_topics(&self, owner: TopicOwner) -> Result<Vec<Topic>, StoreError> {
        self.db.list_topics(owner).await
    }

    async fn remove_topic(&self, user: Option<UserId>, topic: i64) -> Result<bool, StoreError> {
        self.db.remove_topic(user, topic).await
    }

    async fn finish_topic_scan(
        &self,
        topic: i64,
        report: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.finish_topic_scan(topic, report, now).await
    }

    async fn ensure_feed(&self, feed: &NewFeed, now: DateTime<Utc>) -> Result<FeedId, StoreError> {
        self.db.ensure_feed(feed, now).await
    }

    async fn find_copy(
        &self,
        key: &CopyKey,
        except: EpisodeId,
    ) -> Result<Option<EpisodeId>, StoreError> {
        self.db.find_copy(key, except).await
    }

    async fn admit_episode(&self, admission: &Admission) -> Result<bool, StoreError> {
        self.db.admit_episode(admission).await
    }

    async fn admissions_since(
        &self,
        topic: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<Admission>, StoreError> {
        self.db.admissions_since(topic, since).await
    }

    async fn add_catalogue_feed(
        &self,
        feed: FeedId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.db.add_catalogue_feed(feed, now).await
    }

    async fn remove_catalogue_feed(&self, feed: FeedId) -> Result<bool, StoreError> {
        self.db.remove_catalogue_feed(feed).await
    }

    async fn list_catalogue(&self) -> Result<Vec<CatalogueShow>, StoreError> {
        self.db.list_catalogue().await
    }
}
