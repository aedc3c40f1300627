//! The job queue: dedupe on enqueue, atomic claims with leases, retries with backoff.

use std::time::Duration;

use chrono::{DateTime, Utc};
use podsift_core::jobs::{FailureKind, Job, JobId, JobKind, JobState, NewJob};
use podsift_core::store::StoreError;
use sqlx::{QueryBuilder, Sqlite};

use crate::SqliteStore;
use crate::convert::*;
use crate::error::{is_unique_violation, map_sqlx_error};
use crate::rows::{JOB_COLUMNS, job_from_row, parse_job_state};

/// Longest dedupe key accepted.
pub const MAX_DEDUPE_KEY: usize = 1024;
/// Longest worker name accepted.
pub const MAX_WORKER_NAME: usize = 256;
/// How many more times than `max_attempts` a job is taken over after its worker vanished
/// (its lease expired) before it goes dead. Written into both stores' claim SQL as `+ 4`.
pub const CRASH_ALLOWANCE: u32 = 4;

pub(crate) fn check_worker(worker: &str) -> Result<(), StoreError> {
    if worker.is_empty() || worker.len() > MAX_WORKER_NAME {
        return Err(StoreError::Permanent(format!(
            "worker name must be 1..={MAX_WORKER_NAME} bytes"
        )));
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn enqueue_impl(
        &self,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<Option<JobId>, StoreError> {
        if job.dedupe_key.is_empty() || job.dedupe_key.len() > MAX_DEDUPE_KEY {
            return Err(StoreError::Permanent(format!(
                "dedupe key must be 1..={MAX_DEDUPE_KEY} bytes"
            )));
        }
        let payload = to_json(&job.payload, "job payload")?;
        // The partial unique index on unfinished jobs turns a duplicate into "no row".
        sqlx::query_scalar(
            "INSERT INTO jobs (kind, dedupe_key, payload, state, attempts, max_attempts, \
             run_after, created_at, updated_at) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(job.kind.as_str())
        .bind(&job.dedupe_key)
        .bind(&payload)
        .bind(i64::from(job.max_attempts))
        .bind(ms(job.run_after))
        .bind(ms(now))
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    pub(crate) async fn claim_impl(
        &self,
        kinds: &[JobKind],
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        check_worker(worker)?;
        if kinds.is_empty() {
            return Ok(None);
        }
        let now_ms = ms(now);
        // A job whose workers keep vanishing while they run it (killed, OOM) is taken over by
        // another worker, up to CRASH_ALLOWANCE (4, in the SQL) times more than it may fail:
        // restarts of healthy workers do not kill it, while a job that crashes every worker
        // does not loop forever. It goes dead, visible and retryable by hand.
        sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL, \
             last_error = COALESCE(last_error || '; ', '') || 'its worker vanished while running it on every allowed attempt', \
             updated_at = ? \
             WHERE state = 'running' AND lease_expires_at <= ? AND attempts >= max_attempts + 4",
        )
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;

        // One statement: SQLite takes the write lock before reading, so no two claimers can
        // pick the same row. (PostgreSQL: add `FOR UPDATE SKIP LOCKED` to the subquery.)
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ",
        );
        qb.push_bind(worker.to_string())
            .push(", lease_expires_at = ")
            .push_bind(now_ms.saturating_add(duration_ms(lease)))
            .push(", updated_at = ")
            .push_bind(now_ms)
            .push(" WHERE id = (SELECT id FROM jobs WHERE kind IN (");
        let mut sep = qb.separated(", ");
        for kind in kinds {
            sep.push_bind(kind.as_str());
        }
        qb.push(") AND ((state = 'queued' AND run_after <= ")
            .push_bind(now_ms)
            .push(") OR (state = 'running' AND lease_expires_at <= ")
            .push_bind(now_ms)
            .push(")) ORDER BY run_after, id LIMIT 1) RETURNING ")
            .push(JOB_COLUMNS);
        let row = qb
            .build()
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub(crate) async fn heartbeat_impl(
        &self,
        job: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now_ms = ms(now);
        let n = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ?, updated_at = ? \
             WHERE id = ? AND state = 'running' AND lease_owner = ?",
        )
        .bind(now_ms.saturating_add(duration_ms(lease)))
        .bind(now_ms)
        .bind(job)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn complete_impl(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
        )
        .bind(ms(now))
        .bind(job)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected();
        Ok(n == 1)
    }

    /// When `worker` does not hold the lease nothing changes and the job's current state is
    /// returned (`Running` under another worker, `Done`, ...); a missing job is `NotFound`.
    pub(crate) async fn fail_impl(
        &self,
        job: JobId,
        worker: &str,
        error: &str,
        kind: FailureKind,
        backoff: Duration,
        now: DateTime<Utc>,
    ) -> Result<JobState, StoreError> {
        let now_ms = ms(now);
        let permanent = kind == FailureKind::Permanent;
        let state: Option<String> = sqlx::query_scalar(
            "UPDATE jobs SET \
             state = CASE WHEN ? OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
             run_after = CASE WHEN ? OR attempts >= max_attempts THEN run_after ELSE ? END, \
             last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ? \
             WHERE id = ? AND state = 'running' AND lease_owner = ? RETURNING state",
        )
        .bind(permanent)
        .bind(permanent)
        .bind(now_ms.saturating_add(duration_ms(backoff)))
        .bind(truncate(error, MAX_ERROR_TEXT))
        .bind(now_ms)
        .bind(job)
        .bind(worker)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        let state = match state {
            Some(s) => s,
            None => sqlx::query_scalar("SELECT state FROM jobs WHERE id = ?")
                .bind(job)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_sqlx_error)?
                .ok_or_else(|| StoreError::NotFound(format!("job {job}")))?,
        };
        parse_job_state(&state)
    }

    pub(crate) async fn job_backlog_impl(
        &self,
        kinds: &[JobKind],
        now: DateTime<Utc>,
    ) -> Result<podsift_core::jobs::JobBacklog, StoreError> {
        let rows = sqlx::query(crate::rows::JOB_BACKLOG_SQL)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        crate::rows::job_backlog_from_rows(&rows, kinds)
    }

    /// Most recently created first.
    pub(crate) async fn list_jobs_impl(
        &self,
        state: Option<JobState>,
        max: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT ");
        qb.push(JOB_COLUMNS).push(" FROM jobs");
        if let Some(state) = state {
            qb.push(" WHERE state = ").push_bind(state.as_str());
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit(max));
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(job_from_row).collect()
    }

    /// [`podsift_core::Store::queued_episode_jobs`].
    pub(crate) async fn queued_episode_jobs_impl(&self, user: i64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(crate::rows::QUEUED_EPISODE_JOBS)
            .bind(user)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(n.max(0) as u64)
    }

    /// [`podsift_core::Store::feed_subscribers`].
    pub(crate) async fn feed_subscribers_impl(&self, feed: i64) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(crate::rows::FEED_SUBSCRIBERS)
            .bind(feed)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    /// [`podsift_core::Store::audio_seconds_used`].
    pub(crate) async fn audio_seconds_used_impl(
        &self,
        user: i64,
        day: chrono::NaiveDate,
    ) -> Result<f64, StoreError> {
        let used: Option<f64> = sqlx::query_scalar(crate::rows::AUDIO_USED)
            .bind(user)
            .bind(day.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(used.unwrap_or(0.0))
    }

    /// [`podsift_core::Store::add_audio_seconds`].
    pub(crate) async fn add_audio_seconds_impl(
        &self,
        user: i64,
        day: chrono::NaiveDate,
        secs: f64,
    ) -> Result<(), StoreError> {
        sqlx::query(crate::rows::AUDIO_ADD)
            .bind(user)
            .bind(day.to_string())
            .bind(secs)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(())
    }

    /// [`podsift_core::Store::get_job`].
    pub(crate) async fn get_job_impl(&self, job: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(crate::rows::GET_JOB)
            .bind(job)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// [`podsift_core::Store::feed_adds`].
    pub(crate) async fn feed_adds_impl(
        &self,
        user: i64,
        since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let pattern = format!("{}%", podsift_core::jobs::subscribe_key_prefix(user));
        let rows = sqlx::query(crate::rows::FEED_ADDS)
            .bind(pattern)
            .bind(ms(since))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(job_from_row).collect()
    }

    /// [`podsift_core::Store::episode_jobs`].
    pub(crate) async fn episode_jobs_impl(&self, episode: i64) -> Result<Vec<Job>, StoreError> {
        let mut q = sqlx::query(crate::rows::EPISODE_JOBS);
        for key in crate::rows::episode_job_keys(episode) {
            q = q.bind(key);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_sqlx_error)?;
        rows.iter().map(job_from_row).collect()
    }

    /// False when the job is not dead, or when an unfinished job with the same dedupe key
    /// was enqueued since (the same work is already pending).
    pub(crate) async fn retry_job_impl(
        &self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state = 'dead'",
        )
        .bind(ms(now))
        .bind(ms(now))
        .bind(job)
        .execute(&self.pool)
        .await;
        match result {
            Ok(r) => Ok(r.rows_affected() == 1),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(map_sqlx_error(e)),
        }
    }
}
