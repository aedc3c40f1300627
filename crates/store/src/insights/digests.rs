//! Digests and the delivery outbox, one body for both databases (a part of
//! [`crate::insights`]). The statements are the same on both; a digest's creation relies on
//! `ON CONFLICT (user_id, day) DO NOTHING`, which on PostgreSQL makes a second process
//! creating the same digest wait on the first's row and then insert nothing, and on SQLite
//! meets a row the write lock already let the first commit.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::insight::{Delivery, DeliveryOutcome, Digest};
use podsift_core::model::UserId;
use podsift_core::store::StoreError;

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::rows::{DELIVERY_COLUMNS, delivery_from_row, digest_from_row};

/// A concurrent creation of the same (user, day) makes this wait for it (PostgreSQL) and then
/// insert nothing; on SQLite the write transaction already runs alone.
const INSERT_DIGEST_SQL: &str = "INSERT INTO digests (user_id, day, body, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, day) DO NOTHING RETURNING id";

const DIGEST_ITEM_SQL: &str = "INSERT INTO digest_items (digest_id, insight_id, user_id, rank) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (digest_id, insight_id) DO NOTHING";

const DELIVERY_OUTBOX_SQL: &str = "INSERT INTO deliveries \
     (digest_id, user_id, channel, state, next_attempt_at) \
     VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (digest_id, channel) DO NOTHING";

/// Binds: now, stale cutoff.
const DUE_DELIVERIES_SQL: &str = "WHERE (state = 'pending' AND next_attempt_at <= $1) \
     OR (state = 'sending' AND started_at <= $2) ORDER BY next_attempt_at, id";

/// One statement: of two processes starting the same delivery, the second re-checks the row
/// after the first commits and finds it no longer due. Binds: now, id, stale cutoff.
const START_DELIVERY_SQL: &str = "UPDATE deliveries SET state = 'sending', \
     attempts = attempts + 1, started_at = $1 \
     WHERE id = $2 AND ((state = 'pending' AND next_attempt_at <= $1) \
     OR (state = 'sending' AND started_at <= $3))";

/// The cutoff before which a `sending` delivery counts as abandoned.
fn stale_cutoff(now: DateTime<Utc>, stale: Duration) -> i64 {
    ms(now).saturating_sub(duration_ms(stale))
}

impl Db {
    pub(crate) async fn create_digest(
        &self,
        user: UserId,
        digest: &Digest,
        channels: &[String],
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        let day = digest.date.to_string();
        let body = to_json(digest, "digest")?;
        let ranks = digest
            .insights
            .iter()
            .map(|item| Ok((item.insight_id, to_i64(item.rank, "rank")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        db_run!(self, |pool| {
            // The digest, its items and its outbox rows commit together or not at all. Of two
            // processes creating the same (user, day), PostgreSQL makes the second wait on the
            // first's row and then insert nothing (ON CONFLICT DO NOTHING); on SQLite the
            // second waits for the write lock and finds the row.
            let mut tx = pool.begin_write().await?;
            let inserted: Option<i64> = sqlx::query_scalar(INSERT_DIGEST_SQL)
                .bind(user)
                .bind(&day)
                .bind(&body)
                .bind(ms(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let Some(id) = inserted else {
                let existing: i64 =
                    sqlx::query_scalar("SELECT id FROM digests WHERE user_id = $1 AND day = $2")
                        .bind(user)
                        .bind(&day)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_sqlx_error)?;
                return Ok((existing, false));
            };
            for (insight_id, rank) in &ranks {
                sqlx::query(DIGEST_ITEM_SQL)
                    .bind(id)
                    .bind(*insight_id)
                    .bind(user)
                    .bind(*rank)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            }
            for channel in channels {
                sqlx::query(DELIVERY_OUTBOX_SQL)
                    .bind(id)
                    .bind(user)
                    .bind(channel)
                    .bind(ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            }
            tx.commit().await.map_err(map_sqlx_error)?;
            Ok((id, true))
        })
    }

    pub(crate) async fn get_digest(
        &self,
        user: UserId,
        date: NaiveDate,
    ) -> Result<Option<(i64, Digest)>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query("SELECT id, body FROM digests WHERE user_id = $1 AND day = $2")
                .bind(user)
                .bind(date.to_string())
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(digest_from_row).transpose()
        })
    }

    pub(crate) async fn digest_by_id(&self, id: i64) -> Result<Option<Digest>, StoreError> {
        let found = db_run!(self, |pool| {
            let row = sqlx::query("SELECT id, body FROM digests WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(digest_from_row).transpose()?
        });
        Ok(found.map(|(_, d)| d))
    }

    pub(crate) async fn latest_digest(
        &self,
        user: UserId,
    ) -> Result<Option<(i64, Digest)>, StoreError> {
        const SQL: &str =
            "SELECT id, body FROM digests WHERE user_id = $1 ORDER BY day DESC, id DESC LIMIT 1";
        db_run!(self, |pool| {
            let row = sqlx::query(SQL)
                .bind(user)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(digest_from_row).transpose()
        })
    }

    pub(crate) async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries {DUE_DELIVERIES_SQL}");
        db_run!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ms(now))
                .bind(stale_cutoff(now, stale))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(delivery_from_row).collect()
        })
    }

    pub(crate) async fn start_delivery(
        &self,
        delivery: i64,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        let done = db_run!(self, |pool| sqlx::query(START_DELIVERY_SQL)
            .bind(ms(now))
            .bind(delivery)
            .bind(stale_cutoff(now, stale))
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn finish_delivery(
        &self,
        delivery: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = db_run!(self, |pool| {
            let q = match outcome {
                DeliveryOutcome::Sent { receipt } => sqlx::query(
                    "UPDATE deliveries SET state = 'sent', receipt = $1, sent_at = $2, \
                     last_error = NULL WHERE id = $3",
                )
                .bind(truncate(receipt, MAX_ERROR_TEXT).to_string())
                .bind(ms(now)),
                DeliveryOutcome::Retry { error, retry_at } => sqlx::query(
                    "UPDATE deliveries SET state = 'pending', last_error = $1, \
                     next_attempt_at = $2 WHERE id = $3",
                )
                .bind(truncate(error, MAX_ERROR_TEXT).to_string())
                .bind(ms(*retry_at)),
                DeliveryOutcome::Dead { error } => sqlx::query(
                    "UPDATE deliveries SET state = 'dead', last_error = $1 WHERE id = $2",
                )
                .bind(truncate(error, MAX_ERROR_TEXT).to_string()),
            };
            q.bind(delivery)
                .execute(pool)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("delivery {delivery}")));
        }
        Ok(())
    }

    pub(crate) async fn list_deliveries(&self, digest: i64) -> Result<Vec<Delivery>, StoreError> {
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE digest_id = $1 ORDER BY id");
        db_run!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(digest)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(delivery_from_row).collect()
        })
    }
}
