//! podsift-store: the SQLite ([`SqliteStore`]) and PostgreSQL ([`PgStore`]) implementations
//! of [`podsift_core::Store`], including the job queue with leases, plus [`contract`], a
//! store-agnostic test suite both must pass. [`connect`] picks one by URL.
//!
//! Storage conventions, the same in both (see `migrations/0001_initial.sql` and
//! `migrations-pg/0001_initial.sql`):
//! - timestamps are `BIGINT` unix epoch **milliseconds** (UTC); sub-millisecond precision of a
//!   `DateTime` handed to the store is dropped;
//! - structured values (a `ParsedEpisode`, a `TranscriptSource`, a job payload) are JSON text;
//! - transcript segments and chapters are rows (`segments`, `chapters`), in order by `idx`.
//!
//! Concurrency: every multi-statement write runs in a `BEGIN IMMEDIATE` transaction (the write
//! lock is taken up front, so two writers queue on `busy_timeout` instead of failing on a lock
//! upgrade); claiming a job is one `UPDATE … RETURNING` statement, atomic across processes.
//! PostgreSQL: see [`PgStore`].

mod convert;
mod db;
mod episodes;
mod error;
mod feedback;
mod feeds;
mod identity;
mod insights;
mod jobs;
pub use jobs::CRASH_ALLOWANCE;
mod postgres;
mod rows;
mod transcripts;
mod users;
mod web;

pub mod contract;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use podsift_core::insight::{
    CandidateInsight, Delivery, DeliveryOutcome, Digest, ExtractionReport, InsightDraft,
};
use podsift_core::jobs::{FailureKind, Fence, Job, JobId, JobKind, JobState, NewJob};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, Store, StoreError};
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use error::map_sqlx_error;
pub use postgres::{PgOptions, PgStore};

/// A store that is also the LLM answer cache (both implementations are): what [`connect_database`]
/// returns, so a caller can keep it as `Arc<dyn Store>` and `Arc<dyn LlmCache>` at once.
pub trait Database: Store + podsift_core::LlmCache {}

impl<T: Store + podsift_core::LlmCache> Database for T {}

/// Open the database a URL names and apply pending migrations: `sqlite://path` or
/// `sqlite::memory:` opens a [`SqliteStore`], `postgres://…` or `postgresql://…` a [`PgStore`].
/// Any other scheme is a [`StoreError::Permanent`] error.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let db: Arc<dyn Store> = connect_database(url).await?;
    Ok(db)
}

/// [`connect`], keeping the LLM cache side of the store too.
pub async fn connect_database(url: &str) -> Result<Arc<dyn Database>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::Permanent(format!(
            "unsupported database URL {}: expected sqlite:, postgres:// or postgresql://",
            redact_url(url)
        )))
    }
}

/// `url` with any password replaced by `***`, safe to log or show: the userinfo password and
/// a `password=` query parameter. Something that does not parse as a URL is reduced to its
/// scheme.
pub fn redact_url(url: &str) -> String {
    const MASK: &str = "***";
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = parsed.set_password(Some(MASK));
            }
            let secret_query = parsed
                .query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password"));
            if secret_query {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            MASK.to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => match url.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}:<unparsable URL>")
            }
            _ => "<unparsable URL>".to_string(),
        },
    }
}

/// The embedded schema migrations (crates/store/migrations).
static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a statement waits for another connection's write lock before giving up with
/// [`StoreError::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in a file database's pool.
const FILE_POOL_SIZE: u32 = 8;

/// A [`Store`] backed by one SQLite database file (WAL mode, so several processes can share it).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    pub(crate) db: db::Db,
}

impl SqliteStore {
    /// Open (creating the file and its parent directories if needed) the database at `path`,
    /// in WAL mode with a busy timeout and foreign keys on, and apply pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(|e| {
                StoreError::Unavailable(format!("creating {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options, false).await
    }

    /// Connect with a URL: `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:`
    /// (a private in-memory database that lives as long as this store).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Permanent(format!(
                "not an SQLite URL (expected sqlite://path or sqlite::memory:): {:?}",
                url.split(':').next().unwrap_or_default()
            )));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Permanent(format!("invalid database URL: {e}")))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            let file = options.get_filename();
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(parent).await.map_err(|e| {
                    StoreError::Unavailable(format!("creating {}: {e}", parent.display()))
                })?;
            }
        }
        Self::with_options(options, in_memory).await
    }

    async fn with_options(
        options: SqliteConnectOptions,
        in_memory: bool,
    ) -> Result<Self, StoreError> {
        let mut options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool_options = if in_memory {
            // One connection that never closes: an in-memory database dies with its last
            // connection, and a single connection also avoids shared-cache table locks.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            // WAL: readers never block the writer and several processes can share the file.
            // synchronous=NORMAL is durable across application crashes (WAL is fsynced at
            // checkpoints); only an OS crash or power loss may lose the latest commits.
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .connect_with(options)
            .await
            .map_err(map_sqlx_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self {
            db: db::Db::Sqlite(pool.clone()),
            pool,
        })
    }

    /// The underlying connection pool (for later stages' tables in this same database).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Close every connection, waiting for in-flight queries. Dropping the store also closes
    /// the pool, but without waiting.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Run the embedded migrations again (a no-op when the schema is current).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }
}

#[async_trait]
impl Store for SqliteStore {
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
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/podsift"),
            "postgres://app:***@db.example:5432/podsift"
        );
        let q = redact_url("postgresql://app@db/podsift?sslmode=require&password=s3cret");
        assert!(!q.contains("s3cret"), "{q}");
        assert!(q.contains("sslmode=require"), "{q}");
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/postgres"),
            "postgres://postgres@127.0.0.1/postgres"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        let bad = redact_url("postgres://app:s3cret@[::1/x");
        assert!(!bad.contains("s3cret"), "{bad}");
        assert!(!redact_url("no scheme s3cret").contains("s3cret"));
    }
}
