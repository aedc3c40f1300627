//! Users with a schedule and the monitoring counts (PostgreSQL).

use chrono::{DateTime, Utc};
use podsift_core::model::UserId;
use podsift_core::store::StoreError;
use podsift_core::users::{NewUserProfile, ServiceCounts, UserProfile};

use super::PgStore;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::users::{
    DELIVERY_COUNTS_SQL, DIGEST_COUNT_SQL, FEED_COUNT_SQL, JOB_COUNTS_SQL, PROFILE_COLUMNS,
    check_new_user, counts_from_rows, map_insert_error, profile_from_row,
};

impl PgStore {
    pub(crate) async fn add_user_impl(
        &self,
        user: &NewUserProfile,
        now: DateTime<Utc>,
    ) -> Result<UserProfile, StoreError> {
        check_new_user(user)?;
        let sql = format!(
            "INSERT INTO users (name, email, time_zone, delivery_time, digest_size, interests, \
             channels, next_digest_at, feed_token, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PROFILE_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&user.email)
            .bind(&user.email)
            .bind(&user.time_zone)
            .bind(&user.delivery_time)
            .bind(i64::from(user.digest_size))
            .bind(&user.interests)
            .bind(to_json(&user.channels, "user channels")?)
            .bind(user.next_digest_at.map(ms))
            .bind(&user.feed_token)
            .bind(ms(now))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_insert_error(e, &user.email))?;
        profile_from_row(&row)
    }

    async fn profiles_where(
        &self,
        clause: &str,
        arg: Option<&str>,
    ) -> Result<Vec<UserProfile>, StoreError> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM users WHERE {clause} ORDER BY id");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(a) = arg {
            q = q.bind(a.to_string());
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_sqlx_error)?;
        rows.iter().map(profile_from_row).collect()
    }

    pub(crate) async fn list_users_impl(&self) -> Result<Vec<UserProfile>, StoreError> {
        self.profiles_where("email IS NOT NULL", None).await
    }

    pub(crate) async fn user_by_email_impl(
        &self,
        email: &str,
    ) -> Result<Option<UserProfile>, StoreError> {
        Ok(self
            .profiles_where("email = $1", Some(email))
            .await?
            .into_iter()
            .next())
    }

    pub(crate) async fn user_by_feed_token_impl(
        &self,
        token: &str,
    ) -> Result<Option<UserProfile>, StoreError> {
        Ok(self
            .profiles_where("feed_token = $1", Some(token))
            .await?
            .into_iter()
            .next())
    }

    pub(crate) async fn remove_user_impl(&self, email: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1 FOR UPDATE")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        let Some(id) = id else {
            return Ok(false);
        };
        for sql in [
            "DELETE FROM deliveries WHERE user_id = $1",
            "DELETE FROM digest_items WHERE user_id = $1",
            "DELETE FROM users WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok(true)
    }

    pub(crate) async fn advance_next_digest_impl(
        &self,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET next_digest_at = $1 WHERE id = $2 \
             AND next_digest_at IS NOT DISTINCT FROM $3",
        )
        .bind(next.map(ms))
        .bind(user)
        .bind(expected.map(ms))
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn service_counts_impl(&self) -> Result<ServiceCounts, StoreError> {
        let jobs = sqlx::query(JOB_COUNTS_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        let feeds: i64 = sqlx::query_scalar(FEED_COUNT_SQL)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        let digests: i64 = sqlx::query_scalar(DIGEST_COUNT_SQL)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        let deliveries = sqlx::query(DELIVERY_COUNTS_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        counts_from_rows(&jobs, feeds, digests, &deliveries)
    }
}
