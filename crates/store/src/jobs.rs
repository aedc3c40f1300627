//! The job queue, one body for both databases: dedupe on enqueue, atomic claims with leases,
//! retries with backoff.
//!
//! What differs, and why: the claim. Both databases claim in one
//! `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …` statement. SQLite takes its write lock
//! before reading, so no two claimers can pick the same row; PostgreSQL claims concurrently
//! from many processes, so the subquery locks the row it picks and skips rows other claimers
//! hold (`FOR UPDATE SKIP LOCKED`). The claimable kinds are one array on PostgreSQL
//! (`kind = ANY($4)`) and a list of binds on SQLite, which has no arrays (`kind IN ($4, …)`).
//! The sweep of jobs whose workers keep vanishing skips locked rows on PostgreSQL too.

use std::time::Duration;

use chrono::{DateTime, Utc};
use podsift_core::jobs::{FailureKind, Job, JobId, JobKind, JobState, NewJob};
use podsift_core::store::StoreError;

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::{is_unique_violation, map_sqlx_error};
use crate::rows::{JOB_COLUMNS, job_from_row, parse_job_state};

/// Longest dedupe key accepted.
pub const MAX_DEDUPE_KEY: usize = 1024;
/// Longest worker name accepted.
pub const MAX_WORKER_NAME: usize = 256;
/// How many more times than `max_attempts` a job is taken over after its worker vanished
/// (its lease expired) before it goes dead. Written into the SQL as `+ 4` (the sweep in
/// `Db::claim` and `rows::JOB_BACKLOG_SQL`).
pub const CRASH_ALLOWANCE: u32 = 4;

pub(crate) fn check_worker(worker: &str) -> Result<(), StoreError> {
    if worker.is_empty() || worker.len() > MAX_WORKER_NAME {
        return Err(StoreError::Permanent(format!(
            "worker name must be 1..={MAX_WORKER_NAME} bytes"
        )));
    }
    Ok(())
}

/// `" FOR UPDATE SKIP LOCKED"` on PostgreSQL (concurrent claimers skip each other's rows
/// instead of waiting), nothing on SQLite (its write lock is taken before reading).
fn skip_locked(pg: bool) -> &'static str {
    if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
}

/// Jobs whose workers vanished on every allowed attempt go dead. Binds: now.
fn sweep_sql(pg: bool) -> String {
    format!(
        "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL, \
         last_error = COALESCE(last_error || '; ', '') || 'its worker vanished while running it on every allowed attempt', \
         updated_at = $1 \
         WHERE id IN (SELECT id FROM jobs WHERE state = 'running' \
         AND lease_expires_at <= $1 AND attempts >= max_attempts + 4{})",
        skip_locked(pg)
    )
}

/// The claim, one statement. Binds: worker, lease end, now, then the kinds: one array on
/// PostgreSQL, `kinds` binds on SQLite.
fn claim_sql(pg: bool, kinds: usize) -> String {
    let kind_test = if pg {
        "kind = ANY($4)".to_string()
    } else {
        let binds: Vec<String> = (4..4 + kinds).map(|n| format!("${n}")).collect();
        format!("kind IN ({})", binds.join(", "))
    };
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
         lease_expires_at = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE {kind_test} \
         AND ((state = 'queued' AND run_after <= $3) \
         OR (state = 'running' AND lease_expires_at <= $3)) \
         ORDER BY run_after, id LIMIT 1{}) \
         RETURNING {JOB_COLUMNS}",
        skip_locked(pg)
    )
}

impl Db {
    pub(crate) async fn enqueue(
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
        // The partial unique index on unfinished jobs turns a duplicate into "no row" (on
        // PostgreSQL a concurrent enqueue of the same key waits for the first one, then does
        // nothing).
        const SQL: &str = "INSERT INTO jobs (kind, dedupe_key, payload, state, attempts, \
             max_attempts, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) \
             ON CONFLICT DO NOTHING RETURNING id";
        db_run!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(job.kind.as_str())
            .bind(&job.dedupe_key)
            .bind(&payload)
            .bind(i64::from(job.max_attempts))
            .bind(ms(job.run_after))
            .bind(ms(now))
            .fetch_optional(pool)
            .await
            .map_err(map_sqlx_error))
    }

    pub(crate) async fn claim(
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
        let lease_end = now_ms.saturating_add(duration_ms(lease));
        // A job whose workers keep vanishing while they run it (killed, OOM) is taken over by
        // another worker, up to CRASH_ALLOWANCE (4, in the SQL) times more than it may fail:
        // restarts of healthy workers do not kill it, while a job that crashes every worker
        // does not loop forever. It goes dead, visible and retryable by hand. On PostgreSQL,
        // rows another claimer holds are skipped, not waited for.
        db_run!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sweep_sql(pool.is_pg())))
                .bind(now_ms)
                .execute(pool)
                .await
                .map_err(map_sqlx_error)?;
        });

        // One statement, whose kinds are bound differently (a dialect arm, not `db_run!`:
        // SQLite cannot bind an array). SQLite takes the write lock before reading, so no two
        // claimers can pick the same row. On PostgreSQL the scalar subquery runs once (an
        // InitPlan) and locks the row it picks; a concurrent claimer skips that row. A row
        // another claimer changed and committed meanwhile is re-checked against the WHERE
        // clause after locking, so a job that just became `running` with a live lease is not
        // taken again.
        match self {
            Db::Sqlite(pool) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(claim_sql(false, kinds.len())))
                    .bind(worker)
                    .bind(lease_end)
                    .bind(now_ms);
                for kind in kinds {
                    q = q.bind(kind.as_str());
                }
                let row = q.fetch_optional(pool).await.map_err(map_sqlx_error)?;
                row.as_ref().map(job_from_row).transpose()
            }
            Db::Pg(pool) => {
                let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                let row = sqlx::query(sqlx::AssertSqlSafe(claim_sql(true, 1)))
                    .bind(worker)
                    .bind(lease_end)
                    .bind(now_ms)
                    .bind(&kinds)
                    .fetch_optional(pool)
                    .await
                    .map_err(map_sqlx_error)?;
                row.as_ref().map(job_from_row).transpose()
            }
        }
    }

    pub(crate) async fn heartbeat(
        &self,
        job: JobId,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now_ms = ms(now);
        const SQL: &str = "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'running' AND lease_owner = $4";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(now_ms.saturating_add(duration_ms(lease)))
            .bind(now_ms)
            .bind(job)
            .bind(worker)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n == 1)
    }

    pub(crate) async fn complete(
        &self,
        job: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'done', lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND state = 'running' AND lease_owner = $3";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(ms(now))
            .bind(job)
            .bind(worker)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n == 1)
    }

    /// When `worker` does not hold the lease nothing changes and the job's current state is
    /// returned (`Running` under another worker, `Done`, ...); a missing job is `NotFound`.
    pub(crate) async fn fail(
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
        const SQL: &str = "UPDATE jobs SET \
             state = CASE WHEN $1 OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
             run_after = CASE WHEN $1 OR attempts >= max_attempts THEN run_after ELSE $2 END, \
             last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $5 AND state = 'running' AND lease_owner = $6 RETURNING state";
        let state: String = db_run!(self, |pool| {
            let state: Option<String> = sqlx::query_scalar(SQL)
                .bind(permanent)
                .bind(now_ms.saturating_add(duration_ms(backoff)))
                .bind(truncate(error, MAX_ERROR_TEXT))
                .bind(now_ms)
                .bind(job)
                .bind(worker)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            match state {
                Some(s) => s,
                None => sqlx::query_scalar::<_, String>("SELECT state FROM jobs WHERE id = $1")
                    .bind(job)
                    .fetch_optional(pool)
                    .await
                    .map_err(map_sqlx_error)?
                    .ok_or_else(|| StoreError::NotFound(format!("job {job}")))?,
            }
        });
        parse_job_state(&state)
    }

    pub(crate) async fn job_backlog(
        &self,
        kinds: &[JobKind],
        now: DateTime<Utc>,
    ) -> Result<podsift_core::jobs::JobBacklog, StoreError> {
        db_run!(self, |pool| {
            let rows = sqlx::query(crate::rows::JOB_BACKLOG_SQL)
                .bind(ms(now))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            crate::rows::job_backlog_from_rows(&rows, kinds)
        })
    }

    /// Most recently created first.
    pub(crate) async fn list_jobs(
        &self,
        state: Option<JobState>,
        max: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = match state {
            Some(_) => {
                format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2")
            }
            None => format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"),
        };
        db_run!(self, |pool| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(state) = state {
                q = q.bind(state.as_str());
            }
            let rows = q
                .bind(limit(max))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// [`podsift_core::Store::queued_episode_jobs`].
    pub(crate) async fn queued_episode_jobs(&self, user: i64) -> Result<u64, StoreError> {
        use crate::rows::QUEUED_EPISODE_JOBS as SQL;
        let n: i64 = db_run!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(user)
            .fetch_one(pool)
            .await
            .map_err(map_sqlx_error)?);
        Ok(n.max(0) as u64)
    }

    /// [`podsift_core::Store::feed_subscribers`].
    pub(crate) async fn feed_subscribers(&self, feed: i64) -> Result<Vec<i64>, StoreError> {
        use crate::rows::FEED_SUBSCRIBERS as SQL;
        db_run!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(feed)
            .fetch_all(pool)
            .await
            .map_err(map_sqlx_error))
    }

    /// [`podsift_core::Store::audio_seconds_used`].
    pub(crate) async fn audio_seconds_used(
        &self,
        user: i64,
        day: chrono::NaiveDate,
    ) -> Result<f64, StoreError> {
        use crate::rows::AUDIO_USED as SQL;
        let used: Option<f64> = db_run!(self, |pool| sqlx::query_scalar::<_, f64>(SQL)
            .bind(user)
            .bind(day.to_string())
            .fetch_optional(pool)
            .await
            .map_err(map_sqlx_error)?);
        Ok(used.unwrap_or(0.0))
    }

    /// [`podsift_core::Store::add_audio_seconds`].
    pub(crate) async fn add_audio_seconds(
        &self,
        user: i64,
        day: chrono::NaiveDate,
        secs: f64,
    ) -> Result<(), StoreError> {
        db_run!(self, |pool| {
            sqlx::query(crate::rows::AUDIO_ADD)
                .bind(user)
                .bind(day.to_string())
                .bind(secs)
                .execute(pool)
                .await
                .map_err(map_sqlx_error)?;
        });
        Ok(())
    }

    /// [`podsift_core::Store::get_job`].
    pub(crate) async fn get_job(&self, job: JobId) -> Result<Option<Job>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query(crate::rows::GET_JOB)
                .bind(job)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    /// [`podsift_core::Store::feed_adds`].
    pub(crate) async fn feed_adds(
        &self,
        user: i64,
        since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let pattern = format!("{}%", podsift_core::jobs::subscribe_key_prefix(user));
        db_run!(self, |pool| {
            let rows = sqlx::query(crate::rows::FEED_ADDS)
                .bind(&pattern)
                .bind(ms(since))
                .bind(limit(max))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// [`podsift_core::Store::episode_jobs`].
    pub(crate) async fn episode_jobs(&self, episode: i64) -> Result<Vec<Job>, StoreError> {
        db_run!(self, |pool| {
            let mut q = sqlx::query(crate::rows::EPISODE_JOBS);
            for key in crate::rows::episode_job_keys(episode) {
                q = q.bind(key);
            }
            let rows = q.fetch_all(pool).await.map_err(map_sqlx_error)?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// False when the job is not dead, or when an unfinished job with the same dedupe key
    /// was enqueued since (the same work is already pending).
    pub(crate) async fn retry_job(
        &self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND state = 'dead'";
        let result = db_run!(self, |pool| sqlx::query(SQL)
            .bind(ms(now))
            .bind(job)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()));
        match result {
            Ok(n) => Ok(n == 1),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(map_sqlx_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_sql_binds_the_kinds_per_dialect() {
        let sqlite = claim_sql(false, 3);
        assert!(sqlite.contains("kind IN ($4, $5, $6)"), "{sqlite}");
        assert!(!sqlite.contains("SKIP LOCKED"), "{sqlite}");
        let pg = claim_sql(true, 3);
        assert!(pg.contains("kind = ANY($4)"), "{pg}");
        assert!(pg.contains("LIMIT 1 FOR UPDATE SKIP LOCKED)"), "{pg}");
        assert!(sweep_sql(true).ends_with("+ 4 FOR UPDATE SKIP LOCKED)"));
        assert!(sweep_sql(false).ends_with("+ 4)"));
    }
}
